import Foundation

/// TypeScript support: code V8 rejects as JavaScript is given to esbuild (Debian's `esbuild`, kept
/// running as a service; type removal only, no type checking) and run again if that works. Plain JavaScript never pays
/// for it. Errors of the stripped code are mapped back to the user's lines through esbuild's
/// source map.
enum TypeScript {
    /// Debian's esbuild, installed by scripts/setup.
    static let esbuildPath = "/usr/bin/esbuild"
    /// esbuild strips a program in well under a millisecond; a hung one must not hold a worker.
    static let timeout: TimeInterval = 10
    /// V8 parses brackets nested up to about 2,000 deep within a run's stack, so deeper code can
    /// never run; esbuild's service dies on code nested 100,000 deep, so such code never reaches it.
    static let maxNestingDepth = 5_000

    enum Stripped {
        /// JavaScript to run, and the map from its positions to the user's.
        case javaScript(String, SourceMap)
        /// Not TypeScript either: what esbuild said, with the user's line and column.
        case invalid(String)
        /// esbuild is not installed.
        case unavailable
    }

    /// Runs `code`; when V8 rejects it as JavaScript, runs it again as TypeScript with its types
    /// removed, its error positions mapped back to the user's source.
    static func runAllowingTypeScript(_ code: String, _ run: (String) -> RunOutcome) -> RunOutcome {
        var outcome = run(code)
        guard outcome.status == .syntaxError else { return outcome }
        if nestsDeeperThan(maxNestingDepth, code) {
            outcome.status = .error
            outcome.error = "The code is nested too deeply to parse: its brackets nest more than \(maxNestingDepth) "
                + "levels deep, and V8 parses about 2,000. Nest fewer brackets, blocks or calls; build deep data at "
                + "run time, in a loop."
            return outcome
        }
        switch strip(code) {
        case .unavailable:
            return outcome
        case .invalid(let reason):
            outcome.error = (outcome.error ?? "") + "\nRead as TypeScript, it does not parse either: \(reason)"
            return outcome
        case .javaScript(let javaScript, let map):
            var stripped = run(javaScript)
            stripped.error = stripped.error.map(map.mapPositions)
            return stripped
        }
    }

    /// Whether `(`, `[`, `{` and `${` nest deeper than `limit` in `code`, outside strings and
    /// comments (a regular expression's brackets count too: an estimate that errs towards deeper).
    static func nestsDeeperThan(_ limit: Int, _ code: String) -> Bool {
        enum Mode { case code, quoted(UInt8), template, lineComment, blockComment }
        var mode = Mode.code
        // What each open bracket is; true for a template's `${`, whose `}` returns to the template.
        var open: [Bool] = []
        let bytes = Array(code.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index], next = index + 1 < bytes.count ? bytes[index + 1] : 0
            switch mode {
            case .code:
                switch byte {
                case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
                    open.append(false)
                    if open.count > limit { return true }
                case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if open.popLast() == true { mode = .template }
                case UInt8(ascii: "'"), UInt8(ascii: "\""): mode = .quoted(byte)
                case UInt8(ascii: "`"): mode = .template
                case UInt8(ascii: "/") where next == UInt8(ascii: "/"): mode = .lineComment
                case UInt8(ascii: "/") where next == UInt8(ascii: "*"): mode = .blockComment; index += 1
                default: break
                }
            case .quoted(let quote):
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == quote || byte == UInt8(ascii: "\n") { mode = .code }
            case .template:
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "`") {
                    mode = .code
                } else if byte == UInt8(ascii: "$"), next == UInt8(ascii: "{") {
                    open.append(true)
                    if open.count > limit { return true }
                    mode = .code
                    index += 1
                }
            case .lineComment:
                if byte == UInt8(ascii: "\n") { mode = .code }
            case .blockComment:
                if byte == UInt8(ascii: "*"), next == UInt8(ascii: "/") { mode = .code; index += 1 }
            }
            index += 1
        }
        return false
    }

    /// One esbuild service per worker process.
    private static let service = EsbuildService(executable: esbuildPath)

    static func strip(_ code: String) -> Stripped {
        guard FileManager.default.isExecutableFile(atPath: esbuildPath) else { return .unavailable }
        do {
            let stripped = try service.transform(code, loader: "ts", timeout: timeout)
            guard let map = SourceMap(json: Data(stripped.map.utf8)) else { return .invalid("esbuild returned no source map") }
            return .javaScript(stripped.code, map)
        } catch let failure as EsbuildService.Failure {
            if (try? service.transform(code, loader: "tsx", timeout: timeout)) != nil {
                return .invalid("JSX is not supported: run_js takes JavaScript or TypeScript without JSX/TSX elements.")
            }
            guard let line = failure.line, let column = failure.column else { return .invalid(failure.message) }
            return .invalid("\(failure.message) (main.ts:\(line):\(column))")
        } catch {
            return .invalid("esbuild failed: \(error)")
        }
    }
}

/// A version 3 source map: generated (line, column) → original (line, column), 0-based inside.
struct SourceMap {
    private struct Segment {
        let generatedColumn: Int
        let line: Int
        let column: Int
    }

    private let lines: [[Segment]]

    init?(json: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let mappings = object["mappings"] as? String else { return nil }
        var lines: [[Segment]] = []
        var sourceLine = 0, sourceColumn = 0, sourceIndex = 0, nameIndex = 0
        for lineText in mappings.split(separator: ";", omittingEmptySubsequences: false) {
            var generatedColumn = 0
            var segments: [Segment] = []
            for segmentText in lineText.split(separator: ",") {
                guard let fields = Self.decodeVLQ(segmentText), !fields.isEmpty else { return nil }
                generatedColumn += fields[0]
                if fields.count >= 4 {
                    sourceIndex += fields[1]
                    sourceLine += fields[2]
                    sourceColumn += fields[3]
                    if fields.count >= 5 { nameIndex += fields[4] }
                    segments.append(Segment(generatedColumn: generatedColumn, line: sourceLine, column: sourceColumn))
                }
            }
            lines.append(segments)
        }
        self.lines = lines
    }

    /// The user's 1-based line and column for a 1-based position in the generated code.
    func original(line: Int, column: Int) -> (line: Int, column: Int)? {
        guard line >= 1, line <= lines.count else { return nil }
        let segments = lines[line - 1]
        guard let segment = segments.last(where: { $0.generatedColumn <= column - 1 }) ?? segments.first else { return nil }
        return (segment.line + 1, segment.column + 1)
    }

    /// Rewrites every `main.js:LINE:COLUMN` in a message to the user's TypeScript position.
    func mapPositions(in text: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: #"main\.js:(\d+):(\d+)"#) else { return text }
        var result = text
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let range = Range(match.range, in: text),
                  let line = Int(text[Range(match.range(at: 1), in: text)!]),
                  let column = Int(text[Range(match.range(at: 2), in: text)!]),
                  let original = original(line: line, column: column) else { continue }
            result.replaceSubrange(range, with: "main.ts:\(original.line):\(original.column)")
        }
        return result
    }

    private static let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static func decodeVLQ(_ text: Substring) -> [Int]? {
        var values: [Int] = []
        var value = 0, shift = 0
        for character in text.utf8 {
            guard let digit = base64.firstIndex(of: character) else { return nil }
            value += (digit & 31) << shift
            if digit & 32 != 0 {
                shift += 5
            } else {
                values.append(value & 1 == 1 ? -(value >> 1) : value >> 1)
                value = 0
                shift = 0
            }
        }
        return values
    }
}
