import Foundation

/// A WebAssembly module the operator pre-loads into every stateless run (`--wasm-module`,
/// `--wasm-config`): its exports on the global `name` when it imports nothing, and its compiled
/// module as `__wasm_<name>` always.
public struct WasmModuleSpec: Codable, Sendable, Equatable {
    public var name: String
    public var path: String

    /// `name=path` flags and a `{"name": "path"}` config file, merged; a name given twice is an error.
    public static func parse(flags: [String], configFile: String?) throws -> [WasmModuleSpec] {
        var specs = try flags.map { flag -> WasmModuleSpec in
            let parts = flag.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw WasmModuleError("--wasm-module '\(flag)' is not NAME=PATH (such as math=./math.wasm)")
            }
            return WasmModuleSpec(name: parts[0], path: parts[1])
        }
        if let configFile {
            guard let data = FileManager.default.contents(atPath: configFile),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw WasmModuleError("--wasm-config \(configFile) is not a readable JSON object of {\"name\": \"path\"}")
            }
            for (name, path) in object.sorted(by: { $0.key < $1.key }) {
                guard let path = path as? String else {
                    throw WasmModuleError("--wasm-config \(configFile): the path of '\(name)' must be a string")
                }
                specs.append(WasmModuleSpec(name: name, path: path))
            }
        }
        var seen: Set<String> = []
        for spec in specs {
            guard spec.name.isJavaScriptIdentifier else {
                throw WasmModuleError("WebAssembly module name '\(spec.name)' must be a JavaScript identifier (letters, digits, _ and $)")
            }
            guard seen.insert(spec.name).inserted else {
                throw WasmModuleError("the WebAssembly module name '\(spec.name)' is given twice (--wasm-module and --wasm-config are merged)")
            }
        }
        return specs.map { WasmModuleSpec(name: $0.name, path: URL(fileURLWithPath: $0.path).standardizedFileURL.path) }
    }

}

extension String {
    /// A plain JavaScript identifier (ASCII letters, digits, _ and $, not starting with a digit):
    /// a name the host may define as a global.
    var isJavaScriptIdentifier: Bool {
        guard let first = unicodeScalars.first, first.isASCII,
              CharacterSet.letters.contains(first) || first == "_" || first == "$" else { return false }
        return unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "$")
        }
    }
}

struct WasmModuleError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
