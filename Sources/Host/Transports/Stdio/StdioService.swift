import Foundation
import Logging
import MCP
import ServiceLifecycle

/// The MCP server on stdin/stdout as a swift-service-lifecycle `Service`. Run in one group after the
/// worker pool, SIGTERM and SIGINT shut stdio mode down as they do HTTP mode: the pool (shut down
/// first) lets its runs end within its grace or cancels them, then this service waits for their
/// answers to be written, and stops. The end of stdin ends the server at once: runs still going are
/// cancelled, since nobody is left to read their answers.
struct StdioService: Service {
    /// How long a graceful shutdown waits for answers once the pool has ended their runs.
    static let answerWait: Duration = .seconds(2)

    let setup: MCPServerSetup
    let pool: WorkerPool
    /// Longer lines are answered with an error and skipped.
    let maximumMessageBytes: Int
    /// The one client's: the default, or with `--tenants` that of `--tenant`.
    let namespace: Namespace
    let logger: Logger

    init(setup: MCPServerSetup, pool: WorkerPool, maximumMessageBytes: Int, namespace: Namespace, logger: Logger) {
        self.setup = setup
        self.namespace = namespace
        self.pool = pool
        self.maximumMessageBytes = maximumMessageBytes
        self.logger = logger
    }

    /// What a person who started the server in a terminal sees, rather than a silent prompt.
    static let terminalGreeting = """
        mcp-v8 \(MCPV8Version.current) is waiting for an MCP client on stdin (JSON-RPC, one message per line). \
        It is meant to be started by one: see "Quick start: connect a client" in the README, \
        or serve HTTP with --http-port. Ctrl-D or Ctrl-C stops it.

        """

    func run() async throws {
        if isatty(STDIN_FILENO) == 1 { FileHandle.standardError.write(Data(Self.terminalGreeting.utf8)) }
        let transport = UnansweredRequests(
            BlockingStdioTransport(maximumMessageBytes: maximumMessageBytes, logger: logger), logger: logger)
        let server = try await setup.startServer(on: transport, namespace: namespace)
        await withGracefulShutdownHandler {
            await server.waitUntilCompleted()
        } onGracefulShutdown: {
            Task {
                await transport.waitUntilAnswered(within: Self.answerWait)
                await server.stop()
            }
        }
        guard !Task.isShuttingDownGracefully else { return }
        // Stdin ended. If a signal began the shutdown before, this service's turn comes after the
        // pool's: returning sooner would end the group with an error.
        let signalled = !pool.isServing
        pool.shutdown()
        if signalled { try? await gracefulShutdown() }
    }
}

extension MCPServerSetup {
    /// Serves one client on stdin/stdout until it disconnects or SIGTERM/SIGINT shut the server down
    /// gracefully; a line longer than `maximumMessageBytes` is answered with an error and skipped.
    public func serveStdio(maximumMessageBytes: Int, pool: WorkerPool, namespace: Namespace,
                           logger: Logger) async throws {
        let stdio = StdioService(setup: self, pool: pool, maximumMessageBytes: maximumMessageBytes, namespace: namespace,
                                 logger: logger)
        // Shutdown runs in reverse order: the pool first, so runs end before stdio stops answering.
        // The end of stdin shuts the group down too.
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: stdio, successTerminationBehavior: .gracefullyShutdownGroup), .init(service: pool)]
        try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                    logger: logger)).run()
    }
}

/// Passes messages through and keeps the ids of the requests read and not answered yet, so a
/// shutdown can wait for their answers.
actor UnansweredRequests: Transport {
    nonisolated let logger: Logger
    private let client: any Transport
    private var unanswered: Set<Value> = []

    init(_ client: any Transport, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    func connect() async throws { try await client.connect() }

    func disconnect() async { await client.disconnect() }

    func send(_ data: Data) async throws {
        try await client.send(data)
        for head in JSONRPCHead.heads(in: data) where !head.hasMethod {
            if let id = head.id { unanswered.remove(id) }
        }
    }

    func receive() -> AsyncThrowingStream<Data, Error> {
        let (messages, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        let client = self.client
        let forwarding = Task {
            do {
                for try await data in await client.receive() {
                    note(data)
                    continuation.yield(data)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in forwarding.cancel() }
        return messages
    }

    /// Returns once every request read has been answered, or after `limit`.
    func waitUntilAnswered(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while !unanswered.isEmpty, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    private func note(_ data: Data) {
        for head in JSONRPCHead.heads(in: data) where head.hasMethod {
            if let id = head.id { unanswered.insert(id) }
        }
    }
}
