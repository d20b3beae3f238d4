import Foundation
import Hummingbird
import Logging
import MCP

/// MCP over the 2024-11-05 HTTP+SSE transport: `GET /sse` opens an event stream whose first
/// event names the endpoint (`/message?sessionId=...`) where the client posts its messages; the
/// server's messages come back as `message` events on the stream.
actor LegacySSESessions {
    private struct Session {
        let server: Server
        let transport: SSESessionTransport
        let subject: String?
    }

    private let setup: MCPServerSetup
    private let logger: Logger
    private var sessions: [String: Session] = [:]
    /// A comment line this often lets a dead connection be noticed and its session closed.
    static let keepAliveInterval: Duration = .seconds(15)

    init(setup: MCPServerSetup, logger: Logger) {
        self.setup = setup
        self.logger = logger
    }

    nonisolated func register(on router: Router<MCPV8RequestContext>, maxRequestBytes: Int, draining: ShutdownState) {
        router.get("/sse") { _, context in
            guard !draining.isDraining else { throw ShutdownState.refusal }
            let (id, transport) = try await self.open(subject: context.subject)
            let events = await transport.events
            let body = ResponseBody { writer in
                defer { Task { await self.close(id) } }
                for await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: body)
        }
        router.post("/message") { request, context in
            guard let id = request.uri.queryParameters["sessionId"].map(String.init) else {
                throw HTTPEndpointError(.badRequest, "Missing the sessionId query parameter: post to the endpoint "
                    + "the /sse stream announced.")
            }
            guard let transport = await self.transport(id, subject: context.subject) else {
                throw HTTPEndpointError(.notFound, "Session '\(id.prefix(80))' is unknown or closed; open a new "
                    + "one with GET /sse.")
            }
            await transport.deliver(try await HTTPMessages.jsonBody(of: request, limit: maxRequestBytes).data)
            return Response(status: .accepted)
        }
    }

    private func open(subject: String?) async throws -> (String, SSESessionTransport) {
        let id = UUID().uuidString.lowercased()
        let transport = SSESessionTransport(endpoint: "/message?sessionId=\(id)", logger: logger)
        let server = try await setup.startServer(on: transport, caller: subject)
        sessions[id] = Session(server: server, transport: transport, subject: subject)
        return (id, transport)
    }

    private func transport(_ id: String, subject: String?) -> SSESessionTransport? {
        guard let session = sessions[id], session.subject == subject else { return nil }
        return session.transport
    }

    private func close(_ id: String) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
        await session.transport.disconnect()
    }

    func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }
}

/// One SSE session as a swift-sdk transport: posted messages in, events out.
actor SSESessionTransport: Transport {
    let logger: Logger
    private let incoming: AsyncThrowingStream<Data, Error>
    private let incomingContinuation: AsyncThrowingStream<Data, Error>.Continuation
    /// The event stream's text, ready to write: the endpoint event, messages, keep-alives.
    let events: AsyncStream<String>
    private let eventsContinuation: AsyncStream<String>.Continuation
    private var keepAlive: Task<Void, Never>?

    init(endpoint: String, logger: Logger) {
        self.logger = logger
        (incoming, incomingContinuation) = AsyncThrowingStream.makeStream()
        (events, eventsContinuation) = AsyncStream.makeStream()
        eventsContinuation.yield("event: endpoint\ndata: \(endpoint)\n\n")
    }

    func connect() async throws {
        let continuation = eventsContinuation
        keepAlive = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: LegacySSESessions.keepAliveInterval)
                continuation.yield(": keep-alive\n\n")
            }
        }
    }

    func disconnect() async {
        keepAlive?.cancel()
        incomingContinuation.finish()
        eventsContinuation.finish()
    }

    func send(_ data: Data) async throws {
        // JSON text has no raw newlines, so one data line carries the whole message.
        eventsContinuation.yield("event: message\ndata: \(String(decoding: data, as: UTF8.self))\n\n")
    }

    func receive() -> AsyncThrowingStream<Data, Error> { incoming }

    func deliver(_ message: Data) {
        incomingContinuation.yield(message)
    }
}
