import Logging
import MCP

/// The MCP face of mcp-v8: tool listing and tool calls, over any swift-sdk transport. The REST
/// API answers through the same `answer(tool:arguments:)`.
public struct MCPServerSetup: Sendable {
    /// What runs the code: fresh isolates answering inline, or executions over stored heaps.
    public enum Mode: Sendable {
        case stateless(StatelessExecutor)
        case stateful(ExecutionRegistry, inlineWaitMilliseconds: Int)
    }

    public var instructions: String
    public var runJSDescription: String
    public let mode: Mode
    /// The tools every client sees; `allTools` adds the upstream servers' stubs found so far.
    public let tools: [Tool]
    public let upstreamTools: UpstreamTools?
    /// Whose limits (and capability set) a caller's namespace stands for.
    public let tenants: TenantDirectory

    public static let defaultInstructions = """
        mcp-v8 runs JavaScript in sandboxed V8 isolates. Use the run_js tool to compute, \
        transform data or test code: write a program instead of reasoning step by step. Print with \
        console.log; the value of the last expression is returned as the result.
        """

    public init(instructions: String?, runJSDescription: String?, mode: Mode, tenants: TenantDirectory,
                wasmModules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)] = [],
                upstreamTools: UpstreamTools? = nil) {
        self.instructions = instructions ?? Self.defaultInstructions
        self.mode = mode
        self.tenants = tenants
        self.upstreamTools = upstreamTools
        switch mode {
        case .stateless(let executor):
            self.runJSDescription = runJSDescription ?? RunJSTool.defaultDescription
            tools = [RunJSTool.definition(description: self.runJSDescription, defaults: executor.defaults)]
                + WasmModuleTools.definitions(wasmModules)
        case .stateful(let registry, let wait):
            self.runJSDescription = runJSDescription ?? StatefulTools.runJSDescription
            tools = StatefulTools.definitions(runJSDescription: self.runJSDescription, defaults: registry.defaults,
                                              inlineWaitMilliseconds: wait)
        }
    }

    /// Carries out a call of one of `tools` in the caller's `namespace`. Throws what
    /// `ToolFailure.classify` names when the call cannot be carried out for a reason the caller
    /// should hear.
    public func answer(tool name: String, arguments: [String: Value]?, namespace: Namespace) async throws -> ToolAnswer {
        if let stub = upstreamTools?.tools.first(where: { $0.name == name }) { return UpstreamTools.answer(stub) }
        guard let tool = tools.first(where: { $0.name == name }) else {
            throw UnknownToolError(name: name, available: allTools.map(\.name))
        }
        if name.hasPrefix(WasmModuleTools.prefix) { return WasmModuleTools.answer(tool) }
        // Resolved once for the call: a reload meanwhile does not change its limits.
        let tenant = try tenants.tenant(of: namespace)
        switch mode {
        case .stateless(let executor):
            let parameters = try RunJSTool.parameters(from: arguments, tenant: tenant)
            return RunJSTool.answer(try await executor.execute(parameters, in: namespace, defaults: tenant.limits.defaults))
        case .stateful(let registry, let wait):
            return try await StatefulTools.answer(name, arguments, registry: registry, inlineWaitMilliseconds: wait,
                                                  namespace: namespace, tenant: tenant)
        }
    }

    /// The names of `tools`, which the upstream servers' stubs may not take.
    public var toolNames: Set<String> { Set(tools.map(\.name)) }

    /// The tools a client is offered now.
    public var allTools: [Tool] { tools + (upstreamTools?.tools ?? []) }

    /// Serves one client connection on `transport`, whose calls are answered in `namespace`.
    public func startServer(on transport: any Transport, namespace: Namespace = .default) async throws -> Server {
        let server = Server(name: "mcp-v8", version: MCPV8Version.current, instructions: instructions,
                            capabilities: .init(tools: .init(listChanged: upstreamTools != nil)))
        upstreamTools?.register(server)
        let setAside = SetAsideArguments()
        await server.withMethodHandler(ListTools.self) { [self] _ in ListTools.Result(tools: allTools) }
        await server.withMethodHandler(CallTool.self) { [self] call in
            do {
                let answer = try await answer(tool: call.name, arguments: setAside.take(call.arguments), namespace: namespace)
                return RunJSTool.structured(answer.fields, isError: answer.isError)
            } catch let error as UnknownToolError {
                throw MCPError.invalidParams(error.description)
            } catch {
                guard let (_, message) = ToolFailure.classify(error) else { throw error }
                // Stateless answers always carry `output`, as its output schema promises.
                var fields: [String: Value] = ["error": .string(message)]
                if case .stateless = mode { fields["output"] = "" }
                return RunJSTool.structured(fields, isError: true)
            }
        }
        try await server.start(transport: JSONRPCCheckingTransport(transport, arguments: setAside,
                                                                   logger: await transport.logger))
        return server
    }
}

public struct UnknownToolError: Error, CustomStringConvertible {
    let name: String
    let available: [String]

    public var description: String {
        "Unknown tool '\(name)'; available: \(available.joined(separator: ", "))."
    }
}

public enum MCPV8Version {
    public static let current = "0.1.0"
}
