import Foundation
import HostSupport
import Hummingbird
import Logging
import MCP

/// MCP over Streamable HTTP at `/mcp`: one swift-sdk server and transport per session, found by
/// the `Mcp-Session-Id` header. An `initialize` POST without one opens a session.
actor StreamableHTTPSessions {
    private struct Session {
        let server: Server
        let transport: StatefulHTTPServerTransport
        /// Who opened it: only the same caller (tenant and subject) may use it.
        let caller: Namespace
        var lastUsed: ContinuousClock.Instant
    }

    private let setup: MCPServerSetup
    private let logger: Logger
    private var sessions: [String: Session] = [:]
    private var caps: SessionCaps
    private let node: NodeName
    /// Sessions unused this long are closed; clients open a new one with `initialize`.
    static let idleTimeout: Duration = .seconds(30 * 60)
    /// How often idle sessions are looked for.
    static let expiryInterval: Duration = .seconds(60)

    init(setup: MCPServerSetup, caps: SessionCaps, node: NodeName, logger: Logger) {
        self.setup = setup
        self.caps = caps
        self.node = node
        self.logger = logger
    }

    nonisolated func register(on router: Router<MCPV8RequestContext>, maxRequestBytes: Int, draining: ShutdownState) {
        let handler: @Sendable (Request, MCPV8RequestContext) async throws -> Response = { request, context in
            let body = request.method == .post ? try await HTTPMessages.body(of: request, limit: maxRequestBytes) : nil
            let mcpRequest = HTTPMessages.mcpRequest(request, body: body)
            return HTTPMessages.response(await self.handle(mcpRequest, caller: context.namespace, draining: draining))
        }
        router.post("/mcp", use: handler)
        router.get("/mcp", use: handler)
        router.delete("/mcp", use: handler)
    }

    func handle(_ request: MCP.HTTPRequest, caller: Namespace, draining: ShutdownState) async -> MCP.HTTPResponse {
        if let id = request.header(HTTPHeaderName.sessionID) {
            guard var session = sessions[id], session.caller.isSameCaller(as: caller) else {
                return .error(statusCode: 404, .invalidRequest("Session '\(id.prefix(80))' is unknown or expired; "
                    + "send initialize without Mcp-Session-Id to open a new one."))
            }
            session.lastUsed = .now
            sessions[id] = session
            caps.touch(id)
            let response = await session.transport.handleRequest(request)
            if request.method == "DELETE", response.statusCode == 200 { await close(id) }
            return response
        }
        guard request.method == "POST", let body = request.body, Self.isInitialize(body) else {
            return .error(statusCode: 400, .invalidRequest("Missing Mcp-Session-Id header: only an initialize "
                + "request may come without one."))
        }
        guard !draining.isDraining else {
            return .error(statusCode: 503, .internalError("The server is shutting down."))
        }
        let id = node.newSessionID()
        caps.share(among: setup.tenants.configuration.sessionShares)
        switch caps.admit(id, namespace: caller) {
        case .refuse(let reason):
            return .error(statusCode: 503, .internalError("\(reason); close unused ones with DELETE /mcp."))
        case .open(let evicting):
            if let evicting {
                logger.info("MCP session \(evicting) closed: its caller opened more than --max-sessions-per-subject (\(caps.perSubject)) and it was the least recently used")
                await close(evicting)
            }
        }
        return await open(id, request, caller: caller)
    }

    private static func isInitialize(_ body: Data) -> Bool {
        guard case .object(let message)? = try? PlainJSON.value(from: body) else { return false }
        return message["method"] == "initialize"
    }

    private func open(_ id: String, _ request: MCP.HTTPRequest, caller: Namespace) async -> MCP.HTTPResponse {
        let transport = StatefulHTTPServerTransport(
            sessionIDGenerator: FixedSessionID(id: id),
            // Host and Origin are checked for every route by RebindingGuardMiddleware.
            validationPipeline: StandardValidationPipeline(validators: [
                AcceptHeaderValidator(mode: .sseRequired), ContentTypeValidator(),
                ProtocolVersionValidator(), SessionValidator(),
            ]),
            logger: logger)
        let server: Server
        do {
            server = try await setup.startServer(on: transport, namespace: caller)
        } catch {
            caps.remove(id)
            return .error(statusCode: 500, .internalError("The MCP session could not start: \(error)"))
        }
        guard caps.holds(id) else {
            // The caller's newer sessions displaced this one while it started.
            await server.stop()
            return .error(statusCode: 503, .internalError("The MCP session was closed while it opened: its caller "
                + "opened more than \(caps.perSubject) at once (--max-sessions-per-subject)."))
        }
        sessions[id] = Session(server: server, transport: transport, caller: caller, lastUsed: .now)
        let response = await transport.handleRequest(request)
        if case .error = response { await close(id) }
        return response
    }

    private func close(_ id: String) async {
        caps.remove(id)
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
    }

    func closeIdle() async {
        let now = ContinuousClock.now
        for (id, session) in sessions where now - session.lastUsed > Self.idleTimeout { await close(id) }
    }

    func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }
}
