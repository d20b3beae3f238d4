import Foundation
import HostSupport
import Logging
import MCP

/// One upstream MCP server as a client of it: connected on first use, and again on the next
/// request after it went away. Requests are bounded in time; one that fails leaves the others be.
public actor UpstreamConnection {
    public nonisolated let server: UpstreamServer
    private let connectTimeout: Duration
    /// The longest a single HTTP exchange may take (a POST answered with a tool's result included).
    private let requestTimeout: Duration
    private let report: @Sendable (String) -> Void
    private var client: Client?
    /// The client being connected, so that its child exiting fails the handshake at once.
    private var candidate: Client?
    private var attempt: Task<Client, Error>?
    /// Each connection attempt gets a number; a transport's close only counts for its own.
    private var generation = 0
    /// Why connection N went away, once it did.
    private var lostReasons: [Int: String] = [:]

    /// `report` hears what an operator should know (a connection lost); nothing else is logged.
    public init(server: UpstreamServer, connectTimeout: Duration, requestTimeout: Duration,
                report: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.report = report
    }

    /// Every tool the server lists (all pages).
    public func listTools(timeout: Duration) async throws -> [Tool] {
        let (client, generation) = try await connected()
        let name = server.name
        do {
            return try await withDeadline(timeout, onTimeout: {
                UpstreamError.timedOut(name, what: "tools/list", milliseconds: timeout.milliseconds)
            }) {
                var tools: [Tool] = []
                var cursor: String?
                repeat {
                    let page = try await client.listTools(cursor: cursor)
                    tools += page.tools
                    cursor = page.nextCursor
                } while cursor != nil && tools.count < 100_000
                return tools
            }
        } catch {
            throw explain(error, generation: generation, what: "tools/list")
        }
    }

    /// Calls `tool`; a timeout or cancellation also tells the server to stop (notifications/cancelled).
    public func callTool(_ tool: String, arguments: [String: Value], timeout: Duration) async throws -> CallTool.Result {
        let (client, generation) = try await connected()
        let name = server.name
        let what = "tools/call of '\(tool)'"
        let context: RequestContext<CallTool.Result>
        do {
            context = try await client.send(CallTool.request(.init(name: tool, arguments: arguments)))
        } catch {
            throw explain(error, generation: generation, what: what)
        }
        do {
            return try await withDeadline(timeout, onTimeout: {
                UpstreamError.timedOut(name, what: what, milliseconds: timeout.milliseconds)
            }) {
                try await context.value
            }
        } catch {
            if error is CancellationError || (error as? UpstreamError).map({ if case .timedOut = $0 { true } else { false } }) == true {
                let reason = error is CancellationError ? "the run that asked for it ended" : "timed out"
                Task { try? await client.cancelRequest(context.requestID, reason: reason) }
            }
            throw explain(error, generation: generation, what: what)
        }
    }

    /// Disconnects (a stdio server is killed); the next request connects again.
    public func close() async {
        attempt?.cancel()
        let clients = [client, candidate].compactMap { $0 }
        client = nil
        candidate = nil
        generation += 1
        for client in clients { await client.disconnect() }
    }

    private func connected() async throws -> (Client, Int) {
        if let client { return (client, generation) }
        if let attempt {
            let current = generation
            do {
                return (try await attempt.value, current)
            } catch {
                throw unreachable(error)
            }
        }
        generation += 1
        let current = generation
        let task = Task { try await self.open(generation: current) }
        attempt = task
        defer {
            if generation == current { attempt = nil }
        }
        do {
            let opened = try await task.value
            if let reason = lostReasons[current] {
                await opened.disconnect()
                throw UpstreamError.unreachable(server.name, reason: reason)
            }
            guard generation == current else {
                // close() ran meanwhile: nothing may keep this connection (or its child) alive.
                await opened.disconnect()
                throw UpstreamError.unreachable(server.name, reason: "the connection was closed")
            }
            client = opened
            return (opened, current)
        } catch {
            throw unreachable(error)
        }
    }

    private func open(generation current: Int) async throws -> Client {
        let onClose: @Sendable (String) -> Void = { [weak self] reason in
            Task { await self?.lost(generation: current, reason: reason) }
        }
        let quiet = Logger(label: "mcp-v8.mcp-upstream", factory: { _ in SwiftLogNoOpLogHandler() })
        let transport: any Transport
        switch server.transport {
        case .stdio:
            transport = ChildProcessTransport(server: server, logger: quiet, onClose: onClose)
        case .http:
            transport = StreamableHTTPTransport(server: server.name, endpoint: URL(string: server.url ?? "")!,
                                                headers: server.headers ?? [:], requestTimeout: Self.seconds(requestTimeout), logger: quiet, onClose: onClose)
        case .sse:
            transport = LegacySSETransport(server: server.name, url: URL(string: server.url ?? "")!,
                                           headers: server.headers ?? [:], requestTimeout: Self.seconds(requestTimeout), logger: quiet, onClose: onClose)
        }
        let client = Client(name: "mcp-v8", version: "0.1.0")
        candidate = client
        defer { if generation == current { candidate = nil } }
        let (name, timeout) = (server.name, connectTimeout)
        do {
            try await withDeadline(timeout, onTimeout: {
                UpstreamError.unreachable(name, reason: "it did not complete the MCP handshake within \(timeout.milliseconds) ms")
            }) {
                _ = try await client.connect(transport: transport)
            }
        } catch {
            await client.disconnect()
            await transport.disconnect()
            if let reason = lostReasons[current] { throw UpstreamError.unreachable(name, reason: reason) }
            throw error
        }
        return client
    }

    /// The transport of connection `lost` closed: requests in flight on it fail, and the next
    /// request connects again.
    private func lost(generation lost: Int, reason: String) async {
        guard lostReasons[lost] == nil else { return }
        lostReasons[lost] = reason
        // Requests of older connections have all ended by now.
        lostReasons = lostReasons.filter { $0.key >= generation - 2 }
        guard lost == generation else { return }
        let victims = [client, candidate].compactMap { $0 }
        client = nil
        if !victims.isEmpty { report("MCP server '\(server.name)' went away (\(reason)); the next request reconnects") }
        for victim in victims { await victim.disconnect() }
    }

    private func unreachable(_ error: Error) -> Error {
        switch error {
        case is CancellationError: error
        case let error as UpstreamError:
            if case .unreachable = error { error } else { UpstreamError.unreachable(server.name, reason: error.reason) }
        default: UpstreamError.unreachable(server.name, reason: Self.describe(error))
        }
    }

    private func explain(_ error: Error, generation: Int, what: String) -> Error {
        if error is CancellationError || error is UpstreamError { return error }
        if let reason = lostReasons[generation] { return UpstreamError.lost(server.name, reason: reason) }
        return UpstreamError.refused(server.name, what: what, message: Self.describe(error))
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? LocalizedError, let text = error.errorDescription { return text }
        return String(describing: error)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        TimeInterval(duration.milliseconds) / 1000
    }
}
