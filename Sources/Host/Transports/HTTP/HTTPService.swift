import Foundation
import Hummingbird
import Logging
import MCP
import ServiceLifecycle

/// The network face of mcp-v8: one HTTP server carrying an MCP endpoint (Streamable HTTP at
/// `/mcp`, or legacy SSE at `/sse` + `/message`), the REST API, its OpenAPI document,
/// `/healthz` and `/metrics` (Prometheus). SIGTERM or SIGINT shut it down gracefully.
public struct HTTPService: Sendable {
    public enum MCPEndpoint: Sendable {
        case streamableHTTP
        case legacySSE
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var endpoint: MCPEndpoint
        public var maxRequestBytes: Int
        public var allowedHosts: [String]
        public var allowedOrigins: [String]
        /// Where to check bearer tokens (nil: no tokens asked for).
        public var jwksURL: String?
        public var jwtIssuer: String?
        public var jwtAudience: String?
        /// With `--tenants`: the JWT claim naming the caller's tenant (with tokens), or the tenant
        /// every caller gets (without).
        public var tenantClaim: String?
        public var fixedTenant: String?
        /// MCP sessions one token subject may hold open; its least recently used one makes room.
        public var maxSessionsPerSubject = 100
        /// Bytes of events an SSE session may have waiting for its client to read them.
        public var sseMaxQueuedBytes = 16 << 20
        public var headerTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(60)
        public var maxConnections = 512
        /// Starts the id of every MCP session this node opens, for a load balancer's routing.
        public var nodeName = NodeName.ofThisHost()

        public init(host: String, port: Int, endpoint: MCPEndpoint, maxRequestBytes: Int, allowedHosts: [String],
                    allowedOrigins: [String], jwksURL: String? = nil,
                    jwtIssuer: String? = nil, jwtAudience: String? = nil) {
            self.host = host
            self.port = port
            self.endpoint = endpoint
            self.maxRequestBytes = maxRequestBytes
            self.allowedHosts = allowedHosts
            self.allowedOrigins = allowedOrigins
                self.jwksURL = jwksURL
            self.jwtIssuer = jwtIssuer
            self.jwtAudience = jwtAudience
        }
    }

    /// Host and Origin patterns allowed when none are given: this machine, any port.
    public static let localHosts = ["localhost:*", "127.0.0.1:*", "[::1]:*"]
    public static let localOrigins = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
    /// MCP sessions open at once, over all subjects.
    static let maximumSessions = 10_000

    /// Whether `host` names this machine only (127.0.0.0/8, ::1, localhost).
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    let configuration: Configuration
    let setup: MCPServerSetup
    let pool: WorkerPool
    let logger: Logger

    public init(configuration: Configuration, setup: MCPServerSetup, pool: WorkerPool, logger: Logger) {
        self.configuration = configuration
        self.setup = setup
        self.pool = pool
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT, then drains: new work is refused, MCP sessions close, and the
    /// pool (a service of the same group) gives running executions its shutdown grace to finish.
    public func run() async throws {
        if configuration.jwksURL == nil, !Self.isLoopback(configuration.host) {
            logger.warning("the HTTP server listens on \(configuration.host), which is not a loopback address, without --jwks-url: anyone who reaches it can run code and read /metrics; require tokens with --jwks-url")
        }
        let draining = ShutdownState()
        let router = Router(context: MCPV8RequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: RebindingGuardMiddleware(allowedHosts: configuration.allowedHosts,
                                                        allowedOrigins: configuration.allowedOrigins))
        if let jwksURL = configuration.jwksURL {
            let verifier = JWKSVerifier(configuration: .init(url: jwksURL, issuer: configuration.jwtIssuer,
                                                             audience: configuration.jwtAudience), logger: logger)
            await verifier.prefetch()
            router.add(middleware: BearerAuthMiddleware(verifier: verifier,
                                                        tenants: configuration.tenantClaim.map { (setup.tenants, $0) }))
        } else if let fixedTenant = configuration.fixedTenant {
            router.add(middleware: FixedTenantMiddleware(directory: setup.tenants, name: fixedTenant))
        }
        router.get("/healthz") { _, _ in
            HTTPMessages.json(["status": .string(draining.isDraining ? "shutting_down" : "ok")],
                              status: draining.isDraining ? .serviceUnavailable : .ok)
        }
        let metrics = ExecutionMetrics.bootstrapPrometheus(tenants: pool.queueDepthPerTenant.keys)
        router.get("/metrics") { [pool] _, _ in
            // Levels are read when scraped; counts and durations are recorded as runs end.
            ExecutionMetrics.levels(queuedPerTenant: pool.queueDepthPerTenant, busyWorkers: pool.busyWorkers)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
        }
        router.get(RouterPath(OpenAPIDocument.path)) { _, _ in
            Response(status: .ok, headers: [.contentType: HTTPMessages.jsonContentType],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
        }
        router.get("/llms.txt") { _, context in
            let offer = setup.offer(context.namespace)
            return Response(status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"], body: .init(
                byteBuffer: ByteBuffer(string: DocumentationResources.llmsText(instructions: offer.instructions,
                                                                               tools: setup.tools(offer)))))
        }
        RESTRoutes(setup: setup, maxRequestBytes: configuration.maxRequestBytes, draining: draining)
            .register(on: router)

        // Each tenant gets an equal share of the sessions, shared again after a reload (the endpoints).
        let caps = SessionCaps(perSubject: configuration.maxSessionsPerSubject, total: Self.maximumSessions,
                               tenants: setup.tenants.configuration.sessionShares)
        let closeSessions: @Sendable () async -> Void
        switch configuration.endpoint {
        case .streamableHTTP:
            let sessions = StreamableHTTPSessions(setup: setup, caps: caps, node: configuration.nodeName,
                                                  logger: logger)
            sessions.register(on: router, maxRequestBytes: configuration.maxRequestBytes, draining: draining)
            let expiry = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: StreamableHTTPSessions.expiryInterval)
                    await sessions.closeIdle()
                }
            }
            closeSessions = {
                expiry.cancel()
                await sessions.closeAll()
            }
        case .legacySSE:
            let sessions = LegacySSESessions(setup: setup, caps: caps, maximumQueuedBytes: configuration.sseMaxQueuedBytes,
                                             node: configuration.nodeName, logger: logger)
            sessions.register(on: router, maxRequestBytes: configuration.maxRequestBytes, draining: draining)
            closeSessions = { await sessions.closeAll() }
        }

        let endpointName = configuration.endpoint == .streamableHTTP ? "/mcp" : "/sse"
        let logger = self.logger
        let limits = HTTPConnectionLimits(headerTimeout: configuration.headerTimeout, idleTimeout: configuration.idleTimeout,
                                          maximumConnections: configuration.maxConnections)
        let app = Application(
            router: router,
            server: limits.serverBuilder(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil,
                                 availableConnectionsDelegate: limits.connectionCap),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("mcp-v8 \(MCPV8Version.current) listening on http://\(configuration.host):\(port) (MCP at \(endpointName), REST at /api)")
            },
            logger: logger)
        let drain = DrainOnShutdown {
            draining.beginDraining()
            await closeSessions()
        }
        // Shutdown runs in reverse order: the drain first, then the pool lets its runs end (or
        // cancels them at its grace), then the server stops accepting and finishes the requests in
        // flight (which the pool has let end).
        let group = ServiceGroup(configuration: .init(services: [app, pool, drain],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs `drain` when the service group begins a graceful shutdown.
private struct DrainOnShutdown: Service {
    let drain: @Sendable () async -> Void

    func run() async throws {
        // Cancelled (another service failed, the server never listened): nothing to drain or announce.
        guard (try? await gracefulShutdown()) != nil else { return }
        await drain()
    }
}

extension HTTPService.MCPEndpoint: Equatable {}
