import Foundation

/// One `file://` policy: its Rego modules compiled once into a rego-cpp bundle for the query
/// `data.mcp.<category>.allow`, then evaluated per decision.
final class RegoPolicy: @unchecked Sendable {
    private let library: RegoLibrary
    private let interpreter: RegoLibrary.Handle
    private let bundle: RegoLibrary.Handle
    /// One interpreter evaluates one query at a time.
    private let lock = NSLock()

    /// Loads `path` (a .rego file, or a folder whose .rego files, at any depth, are all loaded).
    /// Errors name the file, line and column rego-cpp complained about.
    init(library: RegoLibrary, path: String, category: String) throws {
        self.library = library
        let files = try Self.regoFiles(at: path)
        guard let interpreter = library.newInterpreter() else { throw PolicyError("rego-cpp could not create an interpreter") }
        var sources: [String: String] = [:]
        do {
            for file in files {
                let text: String
                do {
                    text = try String(contentsOfFile: file, encoding: .utf8)
                } catch {
                    throw PolicyError("cannot read the Rego file \(file): \(error.localizedDescription)")
                }
                sources[file] = text
                guard library.addModule(interpreter, file, text) == RegoLibrary.ok else {
                    throw PolicyError(Self.describe(library.lastError(interpreter), sources: sources))
                }
            }
            guard library.setQuery(interpreter, "data.mcp.\(category).allow") == RegoLibrary.ok else {
                throw PolicyError(Self.describe(library.lastError(interpreter), sources: sources))
            }
            guard let bundle = library.build(interpreter), library.bundleOK(bundle) else {
                throw PolicyError(Self.describe(library.lastError(interpreter), sources: sources))
            }
            self.bundle = bundle
        } catch {
            library.freeInterpreter(interpreter)
            throw error
        }
        self.interpreter = interpreter
    }

    deinit {
        library.freeBundle(bundle)
        library.freeInterpreter(interpreter)
    }

    /// True only when the rule's value is `true`: `false`, undefined (rego-cpp 1.5 reports a rule
    /// that only has a `default` as undefined) and anything else deny.
    func allows(inputJSON: String) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let input = PolicyDocument(parsing: inputJSON)
        if let input, !input.containsNUL, let built = library.newInput() {
            defer { library.freeInput(built) }
            guard push(input, into: built), library.setInput(interpreter, built) == RegoLibrary.ok else {
                throw PolicyError("rego-cpp rejected the input document: \(library.lastError(interpreter))")
            }
        } else {
            // C strings end at NUL, so a document holding one goes in as text, exactly.
            guard library.setInputTerm(interpreter, inputJSON) == RegoLibrary.ok else {
                throw PolicyError("rego-cpp rejected the input document: \(library.lastError(interpreter))")
            }
        }
        guard let output = library.bundleQuery(interpreter, bundle) else {
            throw PolicyError("evaluation failed: \(library.lastError(interpreter))")
        }
        defer { library.freeOutput(output) }
        // Only a real `true` allows: 1 or "true" deny.
        guard case .object(let fields) = PolicyDocument(parsing: library.outputText(output)) else { return false }
        return fields.first { $0.0 == "expressions" }?.1 == .array([.bool(true)])
    }

    /// Pushes `document` on rego-cpp's input builder: values on a stack, objects and arrays made
    /// from the top items.
    private func push(_ document: PolicyDocument, into input: RegoLibrary.Handle) -> Bool {
        switch document {
        case .null: return library.inputNull(input) == RegoLibrary.ok
        case .bool(let flag): return library.inputBoolean(input, flag) == RegoLibrary.ok
        case .int(let number): return library.inputInt(input, number) == RegoLibrary.ok
        case .float(let number): return library.inputFloat(input, number) == RegoLibrary.ok
        case .string(let text): return library.inputString(input, text) == RegoLibrary.ok
        case .array(let items):
            return items.allSatisfy { push($0, into: input) } && library.inputArray(input, UInt32(items.count)) == RegoLibrary.ok
        case .object(let fields):
            return fields.allSatisfy { key, value in
                library.inputString(input, key) == RegoLibrary.ok && push(value, into: input)
                    && library.inputObjectItem(input) == RegoLibrary.ok
            } && library.inputObject(input, UInt32(fields.count)) == RegoLibrary.ok
        }
    }

    private static func regoFiles(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolicyError("the policy file \(path) does not exist")
        }
        guard isDirectory.boolValue else { return [path] }
        let files = (FileManager.default.subpaths(atPath: path) ?? [])
            .filter { $0.hasSuffix(".rego") }
            .sorted()
            .map { (path as NSString).appendingPathComponent($0) }
        guard !files.isEmpty else { throw PolicyError("the policy folder \(path) holds no .rego files") }
        return files
    }

    /// rego-cpp reports errors as an S-expression, `(error 8:name.rego|40|2 (errormsg 24:text) ...)`,
    /// with byte offsets: this turns each into `name.rego:LINE:COLUMN: text`.
    static func describe(_ error: String, sources: [String: String]) -> String {
        let pattern = #"\(error \d+:([^|\n]*)\|(\d+)\|\d+\s*\(errormsg \d+:([^\n]*?)\)\s*(?:\n|$)"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return error }
        let text = error as NSString
        let lines = regex.matches(in: error, range: NSRange(location: 0, length: text.length)).map { match -> String in
            let file = text.substring(with: match.range(at: 1))
            let offset = Int(text.substring(with: match.range(at: 2))) ?? 0
            let message = text.substring(with: match.range(at: 3))
            guard let source = sources[file] else { return "\(file): \(message)" }
            let before = source.utf8.prefix(offset)
            let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
            return "\(file):\(line):\(column): \(message)"
        }
        return lines.isEmpty ? error : lines.joined(separator: "\n")
    }
}
