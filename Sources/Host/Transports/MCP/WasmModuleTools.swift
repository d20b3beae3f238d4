import MCP

/// Each pre-loaded WebAssembly module is advertised as a tool, `runjs__wasm__<name>`, so an agent
/// learns it exists; calling it only says how to use the module from run_js.
enum WasmModuleTools {
    static let prefix = "runjs__wasm__"

    static func definitions(_ modules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)]) -> [Tool] {
        modules.map { module in
            Tool(name: prefix + module.spec.name, description: usage(module.spec, module.summary),
                 inputSchema: .object(["type": "object", "properties": .object([:])]))
        }
    }

    static func answer(_ tool: Tool) -> ToolAnswer {
        ToolAnswer(fields: ["error": .string("\(tool.name) is not run directly. \(tool.description ?? "")")], isError: true)
    }

    private static func usage(_ spec: WasmModuleSpec, _ summary: WasmModuleSummary) -> String {
        let name = spec.name
        var text = "The WebAssembly module '\(name)' is pre-loaded in every run_js run: use it from run_js code, not "
            + "through this tool. Its compiled module is the global __wasm_\(name)."
        if summary.imports.isEmpty {
            let exports = summary.exports.joined(separator: ", ")
            text += " Its exports (\(exports.isEmpty ? "none" : exports)) are on the global \(name)"
            text += summary.exports.first.map { ", e.g. \(name).\($0)(...)." } ?? "."
        } else {
            text += " It imports \(summary.imports.joined(separator: ", ")), so it is not instantiated for you: "
            text += "new WebAssembly.Instance(__wasm_\(name), imports)"
            if summary.imports.contains(where: { $0.hasPrefix("wasi_snapshot_preview1.") }) {
                text += "; for WASI: const wasi = new WASI({args: ['\(name)']}); "
                    + "wasi.start(new WebAssembly.Instance(__wasm_\(name), wasi.getImportObject())) returns the exit code "
                    + "and prints its output"
            }
            text += "."
        }
        return text
    }
}
