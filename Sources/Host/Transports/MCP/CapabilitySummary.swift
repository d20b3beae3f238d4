/// What one capability set gives its callers' runs beyond plain JavaScript, as the texts and tools
/// a caller is shown must tell it: the plugins loaded for the set and the pre-loaded WebAssembly
/// modules. A set is named by its tenant; "" is the server's own (the top-level flags), the only
/// one without tenants.
public struct CapabilitySummary: Sendable {
    /// In load order.
    public var plugins: [PluginDescription]
    public var wasmModules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)]

    public static let none = CapabilitySummary(plugins: [], wasmModules: [])

    public init(plugins: [PluginDescription], wasmModules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)]) {
        self.plugins = plugins
        self.wasmModules = wasmModules
    }

    /// Whether `other` gives runs the same plugins and modules, so the texts built from either are the same.
    func describesTheSameAs(_ other: CapabilitySummary) -> Bool {
        plugins == other.plugins && wasmModules.map(\.spec.name) == other.wasmModules.map(\.spec.name)
    }

    /// Whether its runs can call the upstream MCP servers (`mcp.callTool`), so their tools' stubs
    /// are listed.
    var reachesUpstreamServers: Bool { plugins.contains { $0.category == "mcp_tools" } }

    /// The run_js description's lines about the plugins, one each: the plugin's own usage line
    /// (ABI 1.1), else one made from what every plugin declares.
    var pluginLines: [String] {
        plugins.map { plugin in
            if let usage = plugin.usage { return "- \(usage)" }
            let globals = plugin.globals.isEmpty ? "no globals" : "globals \(plugin.globals.joined(separator: ", "))"
            return "- the \(plugin.name) plugin (\(plugin.category) category): \(globals)"
        }
    }

    /// The `stateless` or stateful run_js description: the fixed text about the isolate, then the
    /// truth about the outside world (none, or one line per plugin).
    func runJSDescription(stateless: Bool) -> String {
        let lines = pluginLines
        var text: String
        if stateless {
            text = """
                Run JavaScript or TypeScript in a fresh, sandboxed V8 isolate and return its console output \
                and result. The result is the value of the last expression (a returned Promise is awaited). \
                Code using import/export or top-level await runs as an ES module; its result is the value of \
                its last top-level expression statement. Available: console, setTimeout/setInterval, \
                queueMicrotask, structuredClone, TextEncoder/TextDecoder, atob/btoa, URL/URLSearchParams, \
                performance.now, WebAssembly.
                """
            if lines.isEmpty { text += " No network, filesystem or Node APIs." }
            if !wasmModules.isEmpty {
                text += " Pre-loaded WebAssembly modules: \(wasmModules.map(\.spec.name).joined(separator: ", ")) "
                    + "(the runjs__wasm__<name> tools say how to use them)."
            }
            text += " Nothing persists between calls."
        } else {
            text = """
                Run JavaScript in a sandboxed V8 isolate whose state persists as a heap snapshot. Pass the \
                `heap` returned by an earlier run to continue from its state (global variables, functions, \
                objects); omit it to start fresh. Returns an execution_id; when the run ends within \
                inline_wait_ms (default set by the server), the status, result, heap and first page of console \
                output come back at once, otherwise poll get_execution and get_execution_output. The result \
                is the value of the last expression.
                """
            text += lines.isEmpty ? " No network, filesystem or Node APIs; Intl" : " Intl"
            text += " and FinalizationRegistry are unavailable in stateful runs."
        }
        guard !lines.isEmpty else { return text }
        return text + "\nAlso available, each call allowed or denied by the operator's policies:\n"
            + lines.joined(separator: "\n")
    }

    /// The server instructions: what run_js is for, and which ways out of the sandbox the runs have.
    var instructions: String {
        var text = """
            mcp-v8 runs JavaScript in sandboxed V8 isolates. Use the run_js tool to compute, \
            transform data or test code: write a program instead of reasoning step by step. Print with \
            console.log; the value of the last expression is returned as the result.
            """
        if !plugins.isEmpty {
            let categories = plugins.map(\.category)
            let named = categories.count == 1
                ? categories[0] : categories.dropLast().joined(separator: ", ") + " and " + categories.last!
            text += " Runs can also use \(named) (the run_js description shows how); the operator's policies "
                + "decide what each call may reach."
        }
        return text
    }
}
