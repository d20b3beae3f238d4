import Foundation
import Hummingbird
import NIOCore
import Logging
import MCP

/// MCP over the 2024-11-05 HTTP+SSE transport: `GET /sse` opens an event stream whose first
/// event names the endpoint (`/message?sessionId=...`) where the client posts its messages; the
/// server's messages come back as `message` events on the stream.
actor LegacySSESessions {
    private struct Session {
        let server: Server
        let transport: SSESessionTransport
        /// Who opened it: only the same caller (tenant and subject) may use it.
        let caller: Namespace
        /// The connection carrying the event stream, closed with the session.
        let connection: any Channel
    }

    private let setup: MCPServerSetup
    private let logger: Logger
    private var sessions: [String: Session] = [:]
    private var caps: SessionCaps
    /// Bytes of events one session may have waiting for its client to read them.
    private let maximumQueuedBytes: Int
    private let node: NodeName
    /// A comment line this often lets a dead connection be noticed and its session closed.
    static let keepAliveInterval: Duration = .seconds(15)

    init(setup: MCPServerSetup, caps: SessionCaps, maximumQueuedBytes: Int, node: NodeName, logger: Logger) {
        self.setup = setup
        self.caps = caps
        self.maximumQueuedBytes = maximumQueuedBytes
        self.node = node
        self.logger = logger
    }

    nonisolated func register(on router: Router<MCPV8RequestContext>, maxRequestBytes: Int, draining: ShutdownState) {
        router.get("/sse") { _, context in
            guard !draining.isDraining else { throw ShutdownState.refusal }
            let (id, transport) = try await self.open(caller: context.namespace, connection: context.connection)
            let events = transport.events
            let body = ResponseBody { writer in
                defer { Task { await self.close(id) } }
                for await event in events {
                    try await writer.write(ByteBuffer(string: event))
                    await transport.written(event.utf8.count)
                }
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
            guard let transport = await self.use(id, caller: context.namespace) else {
                throw HTTPEndpointError(.notFound, "Session '\(id.prefix(80))' is unknown or closed; open a new "
                    + "one with GET /sse.")
            }
            await transport.deliver(try await HTTPMessages.jsonBody(of: request, limit: maxRequestBytes).data)
            return Response(status: .accepted)
        }
    }

    private func open(caller: Namespace, connection: any Channel) async throws -> (String, SSESessionTransport) {
        let id = node.newSessionID()
        caps.share(among: setup.tenants.configuration.sessionShares)
        switch caps.admit(id, namespace: caller) {
        case .refuse(let reason):
            throw HTTPEndpointError(.serviceUnavailable, "\(reason); close unused ones by ending their /sse streams.")
        case .open(let evicting):
            if let evicting {
                logger.info("SSE session \(evicting) closed: its caller opened more than --max-sessions-per-subject (\(caps.perSubject)) and it was the least recently used")
                await close(evicting)
            }
        }
        let transport = SSESessionTransport(endpoint: "/message?sessionId=\(id)", maximumQueuedBytes: maximumQueuedBytes,
                                            logger: logger) {
            Task { await self.close(id) }
        }
        let server: Server
        do {
            server = try await setup.startServer(on: transport, namespace: caller)
        } catch {
            caps.remove(id)
            throw error
        }
        guard caps.holds(id) else {
            // The caller's newer sessions displaced this one while it started.
            await server.stop()
            throw HTTPEndpointError(.serviceUnavailable, "The MCP session was closed while it opened: its caller "
                + "opened more than \(caps.perSubject) at once (--max-sessions-per-subject).")
        }
        sessions[id] = Session(server: server, transport: transport, caller: caller, connection: connection)
        return (id, transport)
    }

    /// The session's transport, for a message from its own caller.
    private func use(_ id: String, caller: Namespace) -> SSESessionTransport? {
        guard let session = sessions[id], session.caller.isSameCaller(as: caller) else { return nil }
        caps.touch(id)
        return session.transport
    }

    private func close(_ id: String) async {
        caps.remove(id)
        guard let session = sessions.removeValue(forKey: id) else { return }
        await session.server.stop()
        await session.transport.disconnect()
        // An evicted or overflowing client may not be reading: a write to it could wait forever.
        session.connection.close(promise: nil)
    }

    func closeAll() async {
        for id in Array(sessions.keys) { await close(id) }
    }
}

/// One SSE session as a swift-sdk transport: posted messages in, events out. Events wait for the
/// client to read them up to `maximumQueuedBytes`; a client that lets more pile up is dropped.
actor SSESessionTransport: Transport {
    let logger: Logger
    private let incoming: AsyncThrowingStream<Data, Error>
    private let incomingContinuation: AsyncThrowingStream<Data, Error>.Continuation
    /// The event stream's text, ready to write: the endpoint event, messages, keep-alives.
    let events: AsyncStream<String>
    private let eventsContinuation: AsyncStream<String>.Continuation
    private let maximumQueuedBytes: Int
    /// Bytes yielded to `events` and not yet written out.
    private var queuedBytes = 0
    private var overflowed = false
    private let onOverflow: @Sendable () -> Void
    private var keepAlive: Task<Void, Never>?

    init(endpoint: String, maximumQueuedBytes: Int, logger: Logger, onOverflow: @escaping @Sendable () -> Void) {
        self.logger = logger
        self.maximumQueuedBytes = maximumQueuedBytes
        self.onOverflow = onOverflow
        (incoming, incomingContinuation) = AsyncThrowingStream.makeStream()
        (events, eventsContinuation) = AsyncStream.makeStream()
        eventsContinuation.yield("event: endpoint\ndata: \(endpoint)\n\n")
    }

    func connect() async throws {
        keepAlive = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: LegacySSESessions.keepAliveInterval)
                await self?.enqueue(": keep-alive\n\n")
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
        enqueue("event: message\ndata: \(String(decoding: data, as: UTF8.self))\n\n")
    }

    /// The response body wrote `bytes` of the queued events.
    func written(_ bytes: Int) {
        queuedBytes -= bytes
    }

    private func enqueue(_ event: String) {
        guard !overflowed else { return }
        let bytes = event.utf8.count
        // A single event larger than the bound still goes out when nothing else is waiting.
        guard queuedBytes == 0 || queuedBytes + bytes <= maximumQueuedBytes else {
            overflowed = true
            logger.warning("SSE client dropped: \(queuedBytes + bytes) bytes of events would wait for it to read, over the \(maximumQueuedBytes) allowed (--sse-max-queued-bytes)")
            keepAlive?.cancel()
            eventsContinuation.finish()
            onOverflow()
            return
        }
        queuedBytes += bytes
        eventsContinuation.yield(event)
    }

    func receive() -> AsyncThrowingStream<Data, Error> { incoming }

    func deliver(_ message: Data) {
        incomingContinuation.yield(message)
    }
}
