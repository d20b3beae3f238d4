import CBuildInfo
import Logging
import MCP
import Synchronization

/// The MCP face of mcp-v8: tool listing and tool calls, over any swift-sdk transport. The REST
/// API answers through the same `answer(tool:arguments:)`.
public struct MCPServerSetup: Sendable {
    /// What runs the code: fresh isolates answering inline, or executions over stored heaps.
    public enum Mode: Sendable {
        case stateless(StatelessExecutor)
        case stateful(ExecutionRegistry, inlineWaitMilliseconds: Int)
    }

    public let mode: Mode
    public let upstreamTools: UpstreamTools?
    /// Whose limits and capability set a caller's namespace stands for.
    public let tenants: TenantDirectory
    /// The operator's texts (`--instructions`, `--run-js-description`): when given, every set shows
    /// them instead of the texts built from its capabilities.
    let operatorInstructions: String?
    let operatorRunJSDescription: String?
    private let offers = OfferCache()

    /// The instructions and tools the callers of one capability set see.
    struct Offer: Sendable {
        var instructions: String
        /// run_js and the tools of `mode`, then the set's pre-loaded WebAssembly modules' stubs.
        var tools: [Tool]
        /// Whether the upstream servers' stubs are listed too: the set's runs can call them.
        var listsUpstreamTools: Bool

        /// What a caller whose tenant is gone is offered: nothing to call.
        static let nothing = Offer(instructions: CapabilitySummary.none.instructions, tools: [], listsUpstreamTools: false)
    }

    public init(instructions: String?, runJSDescription: String?, mode: Mode, tenants: TenantDirectory,
                upstreamTools: UpstreamTools? = nil) {
        self.mode = mode
        self.tenants = tenants
        self.upstreamTools = upstreamTools
        operatorInstructions = instructions
        operatorRunJSDescription = runJSDescription
    }

    /// What callers of `tenant` are offered, built from its capability set the first time and again
    /// after a reload changed the set.
    func offer(for tenant: Tenant) -> Offer {
        offers.offer(for: tenant) { summary in
            let tools: [Tool]
            switch mode {
            case .stateless(let executor):
                let description = operatorRunJSDescription ?? summary.runJSDescription(stateless: true)
                tools = [RunJSTool.definition(description: description, defaults: executor.defaults)]
                    + WasmModuleTools.definitions(summary.wasmModules)
            case .stateful(let registry, let wait):
                let description = operatorRunJSDescription ?? summary.runJSDescription(stateless: false)
                tools = StatefulTools.definitions(runJSDescription: description, defaults: registry.defaults,
                                                  inlineWaitMilliseconds: wait)
            }
            return Offer(instructions: operatorInstructions ?? summary.instructions, tools: tools,
                         listsUpstreamTools: upstreamTools != nil && summary.reachesUpstreamServers)
        }
    }

    /// What the caller of `namespace` is offered; a tenant a reload removed is offered nothing.
    func offer(_ namespace: Namespace) -> Offer {
        (try? tenants.tenant(of: namespace)).map(offer(for:)) ?? .nothing
    }

    /// Carries out a call of one of the tools the caller's capability set offers, in the caller's
    /// `namespace`. Throws what `ToolFailure.classify` names when the call cannot be carried out
    /// for a reason the caller should hear, and `UnknownToolError` for a tool its set lacks.
    public func answer(tool name: String, arguments: [String: Value]?, namespace: Namespace) async throws -> ToolAnswer {
        // Resolved once for the call: a reload meanwhile does not change its limits or capabilities.
        let tenant = try tenants.tenant(of: namespace)
        let offer = offer(for: tenant)
        if offer.listsUpstreamTools, let stub = upstreamTools?.tools.first(where: { $0.name == name }) {
            return UpstreamTools.answer(stub)
        }
        guard let tool = offer.tools.first(where: { $0.name == name }) else {
            throw UnknownToolError(name: name, available: tools(offer).map(\.name))
        }
        if name.hasPrefix(WasmModuleTools.prefix) { return WasmModuleTools.answer(tool) }
        switch mode {
        case .stateless(let executor):
            let parameters = try RunJSTool.parameters(from: arguments, tenant: tenant)
            return RunJSTool.answer(try await executor.execute(parameters, in: namespace, defaults: tenant.limits.defaults))
        case .stateful(let registry, let wait):
            return try await StatefulTools.answer(name, arguments, registry: registry, inlineWaitMilliseconds: wait,
                                                  namespace: namespace, tenant: tenant)
        }
    }

    /// The names of every set's own tools, which the upstream servers' stubs may not take.
    public var toolNames: Set<String> {
        Set(tenants.configuration.tenants.values.flatMap { offer(for: $0).tools.map(\.name) })
    }

    /// The tools a client of `offer`'s set is offered now.
    func tools(_ offer: Offer) -> [Tool] {
        offer.tools + (offer.listsUpstreamTools ? upstreamTools?.tools ?? [] : [])
    }

    /// Serves one client connection on `transport`, whose calls are answered in `namespace`.
    /// It sees the instructions and tools of the namespace's capability set (its tenant's).
    public func startServer(on transport: any Transport, namespace: Namespace = .default) async throws -> Server {
        let offer = offer(namespace)
        let server = Server(name: "mcp-v8", version: MCPV8Version.current, instructions: offer.instructions,
                            capabilities: .init(resources: .init(), tools: .init(listChanged: offer.listsUpstreamTools)))
        if offer.listsUpstreamTools { upstreamTools?.register(server) }
        await DocumentationResources.register(on: server, instructions: offer.instructions) { [self] in tools(offer) }
        let setAside = SetAsideArguments()
        await server.withMethodHandler(ListTools.self) { [self] _ in ListTools.Result(tools: tools(offer)) }
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
        "Unknown tool '\(name)'; available: \(available.isEmpty ? "none" : available.joined(separator: ", "))."
    }
}

public enum MCPV8Version {
    public static let current = "0.1.0"
    /// The git commit of a release build (scripts/stamp-commit), or "unknown".
    public static let commit = String(cString: mcpv8_git_commit())
    /// What `--version` prints.
    public static let withCommit = "\(current) (commit \(commit))"
}

/// Each tenant's offer, kept while its capability set stays the same.
private final class OfferCache: Sendable {
    private let offers = Mutex<[String: (summary: CapabilitySummary, offer: MCPServerSetup.Offer)]>([:])

    func offer(for tenant: Tenant, build: (CapabilitySummary) -> MCPServerSetup.Offer) -> MCPServerSetup.Offer {
        if let kept = offers.withLock({ $0[tenant.name] }), kept.summary.describesTheSameAs(tenant.summary) {
            return kept.offer
        }
        let offer = build(tenant.summary)
        offers.withLock { $0[tenant.name] = (tenant.summary, offer) }
        return offer
    }
}
