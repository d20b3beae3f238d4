import ArgumentParser
import Foundation
import Logging
import MCPBridge

/// The `mcp-v8` command line.
public struct MCPV8Command: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mcp-v8",
        abstract: "An MCP server that runs JavaScript in sandboxed V8 isolates.",
        discussion: """
            Serves the Model Context Protocol on stdin/stdout, or over HTTP with --http-port or \
            --sse-port. Code runs in V8 isolates inside worker processes, within the heap, time and \
            output limits below.
            """,
        version: MCPV8Version.withCommit)

    @Flag(help: "Run each call in a fresh isolate and return its result inline; nothing is stored.")
    var stateless = false

    @Option(name: .customLong("directory-path"),
            help: "Directory for heap snapshots in stateful mode (default: /tmp/mcp-v8-heaps).")
    var directoryPath: String?

    @Option(name: .customLong("s3-bucket"),
            help: "Keep heap snapshots in this S3 bucket instead of a directory; credentials, region and endpoint as the AWS SDKs read them (docs/storage.md).")
    var s3Bucket: String?

    @Option(name: .customLong("s3-prefix"), help: "With --s3-bucket: a prefix of the heaps' object keys, such as heaps/.")
    var s3Prefix: String?

    @Option(name: .customLong("cache-dir"),
            help: "With --s3-bucket: keep the heaps used last in this directory, a write-through cache (docs/storage.md).")
    var cacheDir: String?

    @Option(name: .customLong("cache-max-bytes"),
            help: "With --cache-dir: the most the cached heaps may take, least recently used out first (default: 8 GiB).")
    var cacheMaxBytes: Int?

    @Option(name: .customLong("heap-retention-days"),
            help: "Stateful mode: delete heaps that no session log, tag or kept execution names and that were neither stored nor resumed for this many days (fractions allowed; default: keep forever). docs/storage.md")
    var heapRetentionDays: Double?

    @Option(name: .customLong("heap-store-max-bytes"),
            help: "Stateful mode: when the heap store holds more than this, delete unreferenced heaps, least recently used first, until it does not (default: no bound).")
    var heapStoreMaxBytes: Int?

    @Option(name: .customLong("heap-sweep-interval"),
            help: "With --heap-retention-days or --heap-store-max-bytes: seconds between retention sweeps, the first at start (0.1-604800; default: 3600).")
    var heapSweepInterval: Double?

    @Option(name: .customLong("max-stored-executions"),
            help: "Stateful mode: finished executions kept in the metadata store, the oldest deleted first (1-10000000; default: 10000). A kept execution keeps its heap from retention.")
    var maxStoredExecutions = defaultRetainedExecutions

    @Option(name: .customLong("session-db-path"),
            help: "Directory of the SQLite file of sessions, heap tags and finished executions in stateful mode (default: /tmp/mcp-v8-sessions).")
    var sessionDBPath: String?

    @Option(name: .customLong("database-url"),
            help: "Keep sessions, heap tags and owners, and finished executions in PostgreSQL instead of SQLite, shared by every node naming the same database: postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full].")
    var databaseURL: String?

    @Option(name: .customLong("node-name"),
            help: "This node's name among the nodes sharing one --database-url: it starts the ids of the MCP sessions it opens (for a load balancer's routing, docs/deploy/cluster.md) and names the node in executions it leaves behind. Letters, digits and '-' (default: the host name).")
    var nodeName: String?

    @Option(name: .customLong("inline-wait-ms"),
            help: "Stateful mode: how long run_js waits for a run to end and answer inline, in ms (0-60000; 0: only the execution_id). A call may set inline_wait_ms.")
    var inlineWaitMilliseconds = 2000

    @Option(name: .customLong("heap-memory-max"),
            help: "Default heap limit of a run, in MB (1-64). A call may ask for 4-64 MB with heap_memory_max_mb.")
    var heapMemoryMax = 8

    @Option(name: .customLong("worker-memory-max"),
            help: "Memory limit of each worker process, in MB (256-65536): everything its runs hold, ArrayBuffers included. Past it the run fails with a memory-limit error.")
    var workerMemoryMax = 1024

    @Option(name: .customLong("execution-timeout"),
            help: "Default wall-clock limit of a run, in seconds (1-300). A call may set execution_timeout_secs.")
    var executionTimeout = 30

    @Option(name: .customLong("max-concurrent-executions"),
            help: "Runs executing at once, each in its own worker process (1-64; default: the number of cores).")
    var maxConcurrentExecutions: Int?

    @Option(name: .customLong("max-queued-executions"),
            help: "Runs allowed to wait for a free worker (0-100000); beyond this a call fails at once as busy.")
    var maxQueuedExecutions = 1000

    @Option(name: .customLong("max-executions-per-subject"),
            help: "Runs one token subject may have queued or running at once (1-100000); beyond this its calls fail as busy while others' runs still get in. Without --jwks-url there are no subjects and only the queue bound applies.")
    var maxExecutionsPerSubject = 32

    @Option(name: .customLong("max-heap-bytes"),
            help: "Largest heap snapshot a stateful run may leave, in bytes (1048576-268435456); a run over it fails and stores nothing.")
    var maxHeapBytes = ExecutionLimits.defaultHeapBytes

    @Option(name: .customLong("max-output-bytes"),
            help: "Console output kept per run, in bytes (1024-67108864); the rest is dropped with a note.")
    var maxOutputBytes = 1_048_576

    @Option(help: "Server instructions sent to the client at initialize: text, or @FILE to read them from a file.")
    var instructions: String?

    @Option(name: .customLong("run-js-description"),
            help: "Description of the run_js tool: text, or @FILE to read it from a file.")
    var runJSDescription: String?

    @Option(name: .customLong("http-port"),
            help: "Serve MCP over Streamable HTTP at /mcp, plus the REST API at /api, on this port (0: any free port) instead of stdio.")
    var httpPort: Int?

    @Option(name: .customLong("sse-port"),
            help: "Serve MCP over legacy SSE (/sse and /message), plus the REST API at /api, on this port (0: any free port) instead of stdio.")
    var ssePort: Int?

    @Option(name: .customLong("bind-host"), help: "Address the HTTP server listens on.")
    var bindHost = "127.0.0.1"

    @Option(name: .customLong("allowed-hosts"),
            help: "Comma-separated Host header values the HTTP server accepts (NAME:* for any port, * for all; default: localhost, 127.0.0.1, [::1] and --bind-host, any port).")
    var allowedHosts: String?

    @Option(name: .customLong("allowed-origins"),
            help: "Comma-separated Origin header values the HTTP server accepts when one is sent (default: http://localhost, http://127.0.0.1, http://[::1], any port).")
    var allowedOrigins: String?

    @Option(name: .customLong("max-request-bytes"),
            help: "Largest request accepted, in bytes (1024-67108864): an HTTP body (larger ones get 413) or a stdio line (answered with a JSON-RPC error and skipped).")
    var maxRequestBytes = 4_194_304

    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds running executions may go on after SIGTERM/SIGINT before they are cancelled (0-3600).")
    var shutdownTimeout = 10

    @Option(name: .customLong("max-sessions-per-subject"),
            help: "HTTP server: MCP sessions one token subject (all callers without a token count as one) may hold open (1-10000); opening more closes its least recently used one.")
    var maxSessionsPerSubject = 100

    @Option(name: .customLong("sse-max-queued-bytes"),
            help: "--sse-port: bytes of events an SSE session may have waiting for its client to read (65536-1073741824); a client that lets more pile up is disconnected.")
    var sseMaxQueuedBytes = 16_777_216

    @Option(name: .customLong("http-header-timeout"),
            help: "HTTP server: seconds a request head may take, from the connection opening or the request's first byte (1-3600); slower connections are closed.")
    var httpHeaderTimeout = 10

    @Option(name: .customLong("http-idle-timeout"),
            help: "HTTP server: seconds a connection may sit without a request, or with a stalled request body, before it is closed (1-86400).")
    var httpIdleTimeout = 60

    @Option(name: .customLong("max-connections"),
            help: "HTTP server: connections open at once (1-100000); further ones wait in the accept backlog until one closes.")
    var maxConnections = 512

    @Option(name: .customLong("jwks-url"),
            help: "HTTP server: require a bearer JWT on /mcp, /sse, /message, /api/* and /metrics, verified against the JSON Web Key Set at this http(s) URL.")
    var jwksURL: String?

    @Option(name: .customLong("jwt-issuer"), help: "With --jwks-url: the 'iss' tokens must carry.")
    var jwtIssuer: String?

    @Option(name: .customLong("jwt-audience"), help: "With --jwks-url: an 'aud' tokens must include.")
    var jwtAudience: String?

    @Option(name: .customLong("tenants"),
            help: ArgumentHelp("A JSON file of tenants, each with its own policies, fetch headers, plugin settings, limits and state (docs/tenants.md); SIGHUP reloads it.",
                               valueName: "path"))
    var tenantsFile: String?

    @Option(name: .customLong("tenant-claim"),
            help: "With --tenants and --jwks-url: the JWT claim naming the caller's tenant.")
    var tenantClaim = "tenant"

    @Option(name: .customLong("tenant"),
            help: "With --tenants and no --jwks-url (stdio, or HTTP without tokens): the tenant every caller is.")
    var fixedTenant: String?

    @Option(name: .customLong("policies-json"),
            help: ArgumentHelp("Capability policies by category, as JSON or the path of a JSON file (see docs/policies.md). A capability's globals exist only when its category has a policy.",
                               valueName: "json-or-path"))
    var policiesJSON: String?

    @Option(name: .customLong("opa-url"),
            help: "Enable fetch, allowed per request by the OPA server at this http(s) URL (POST /v1/data/<--opa-fetch-policy>).")
    var opaURL: String?

    @Option(name: .customLong("opa-fetch-policy"), help: "With --opa-url: the OPA policy path of the fetch decision.")
    var opaFetchPolicy = "mcp/fetch"

    @Option(name: .customLong("fetch-header"),
            help: ArgumentHelp("Add a header to fetch requests for a host (repeatable; needs a fetch policy). Headers the guest sets win.",
                               valueName: "host=<host>,header=<name>,value=<value>[,methods=GET;POST]"))
    var fetchHeaders: [String] = []

    @Option(name: .customLong("fetch-header-config"),
            help: ArgumentHelp(#"A JSON file of fetch header rules: [{"host": "*.example.com", "methods": ["GET"], "headers": {"X-Key": "..."}}]."#,
                               valueName: "path"))
    var fetchHeaderConfig: String?

    @Flag(name: .customLong("allow-external-modules"),
          help: "Let guests import ES modules (npm:, jsr:, http(s) URLs), each import allowed by the modules policy (needs one in --policies-json).")
    var allowExternalModules = false

    @Option(name: .customLong("module-cdn-url"),
            help: ArgumentHelp("With --allow-external-modules: the ES-module CDN npm: and jsr: imports resolve to (npm:x@1 -> <url>/x@1, jsr:@s/p@1 -> <url>/jsr/@s/p@1).",
                               valueName: "url"))
    var moduleCDNURL = "https://esm.sh"

    @Option(name: .customLong("mcp-server"),
            help: ArgumentHelp("An MCP server whose tools guests may call with mcp.callTool (repeatable; needs an mcp_tools policy). Its tools are listed as runjs__<name>__<tool>.",
                               valueName: "name=stdio:<command> <args>|name=http:<url>|name=sse:<url>"))
    var mcpServers: [String] = []

    @Option(name: .customLong("mcp-config"),
            help: ArgumentHelp(#"A JSON file of MCP servers, merged with --mcp-server: {"mcpServers": {"name": {"command": "...", "args": [...], "env": {...}} or {"url": "...", "transport": "http"|"sse", "headers": {...}}}}."#,
                               valueName: "path"))
    var mcpConfig: String?

    @Option(name: .customLong("plugin"),
            help: ArgumentHelp("Load a capability plugin (.so built against mcpv8_capability.h; repeatable). It is used only when its category has a policy.",
                               valueName: "path"))
    var plugins: [String] = []

    @Option(name: .customLong("plugin-config"),
            help: ArgumentHelp("A setting for a plugin (repeatable), such as fetch.timeout_ms=10000.", valueName: "name.key=value"))
    var pluginConfig: [String] = []

    @Option(name: .customLong("max-capability-calls"),
            help: "Capability calls (fetch, file, subprocess, import, MCP tool) one run may have in flight, 1-1024; the rest wait in order.")
    var maxCapabilityCalls = CapabilityConfiguration.defaultCallsInFlightPerRun

    @Option(name: .customLong("rego-library"),
            help: ArgumentHelp("rego-cpp's librego_shared.so, for local Rego policies (default: ../lib beside this binary in a release bundle, else vendor/regopy above it, where scripts/setup puts it).",
                               valueName: "path"))
    var regoLibrary: String?

    @Option(name: .customLong("wasm-module"),
            help: ArgumentHelp("Pre-load a WebAssembly module into every run (repeatable; needs --stateless): its exports on the global NAME, its module as __wasm_NAME.",
                               valueName: "name=path"))
    var wasmModules: [String] = []

    @Option(name: .customLong("wasm-config"),
            help: ArgumentHelp(#"A JSON file of WebAssembly modules to pre-load, {"name": "path"}, merged with --wasm-module."#,
                               valueName: "path"))
    var wasmConfig: String?

    @Option(name: .customLong("log-level"),
            help: "Least severe log level written to stderr: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(name: .customLong("print-openapi"), help: "Print the REST API's OpenAPI 3 document and exit.")
    var printOpenAPI = false

    @Option(name: .customLong("config"),
            help: "Read flags from this TOML (.toml) or JSON (.json) file: each key a long flag name with _ for - (http_port = 8080). The command line wins over MCP_V8_<FLAG> variables, which win over the file (docs/configuration.md). Also MCP_V8_CONFIG.")
    var configFile: String?

    @Flag(name: .customLong("print-config"),
          help: "Print the effective configuration as TOML, each value with where it came from (secrets masked), and exit.")
    var printConfig = false

    @Flag(name: .customLong("worker"), help: .hidden)
    var workerRole = false

    public init() {}

    /// Parses the command line and runs. (Called from main.swift, where the inherited
    /// `main()` would resolve to the synchronous overload.)
    public static func runFromCommandLine() async {
        let commandLine = Array(CommandLine.arguments.dropFirst())
        var layers: LayeredConfiguration?
        do {
            // A worker is started with exactly the arguments its server chose.
            if !commandLine.contains("--worker") {
                layers = try LayeredConfiguration(commandLine: commandLine, environment: ProcessInfo.processInfo.environment,
                                                  catalog: .mcpV8, readFile: ConfigFile.read, inlineDocument: InlineDocument.make)
            }
            var command = try parseAsRoot(layers?.arguments ?? commandLine)
            if let layers, (command as? MCPV8Command)?.printConfig == true {
                print(EffectiveConfiguration(configuration: layers, commandLine: commandLine).render())
                return
            }
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // A bad value from a file or variable: say which, since the message names only the flag.
            let code = exitCode(for: error)
            if code != .success, let note = layers?.provenance(ofFlagsIn: fullMessage(for: error)) {
                FileHandle.standardError.write(Data("\(fullMessage(for: error))\n(\(note))\n".utf8))
                Foundation.exit(code.rawValue)
            }
            exit(withError: error)
        }
    }

    public mutating func validate() throws {
        try Self.check("--heap-memory-max", heapMemoryMax, in: ExecutionLimits.serverHeapMB, unit: " MB")
        try Self.check("--worker-memory-max", workerMemoryMax, in: ExecutionLimits.workerMemoryMB, unit: " MB")
        try Self.check("--execution-timeout", executionTimeout, in: ExecutionLimits.timeoutSeconds, unit: " s")
        if let maxConcurrentExecutions {
            try Self.check("--max-concurrent-executions", maxConcurrentExecutions,
                           in: ExecutionLimits.concurrentExecutions)
        }
        try Self.check("--max-queued-executions", maxQueuedExecutions, in: ExecutionLimits.queuedExecutions)
        try Self.check("--max-executions-per-subject", maxExecutionsPerSubject, in: ExecutionLimits.executionsPerSubject)
        try Self.check("--max-heap-bytes", maxHeapBytes, in: ExecutionLimits.heapBytes, unit: " bytes")
        try Self.check("--max-output-bytes", maxOutputBytes, in: ExecutionLimits.outputBytes, unit: " bytes")
        try Self.check("--max-capability-calls", maxCapabilityCalls, in: CapabilityConfiguration.callsInFlightPerRunRange)
        try Self.check("--inline-wait-ms", inlineWaitMilliseconds, in: StatefulTools.inlineWaitMilliseconds, unit: " ms")
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; "
                + "got '\(logLevel)'.")
        }
        if let httpPort { try Self.check("--http-port", httpPort, in: 0...65535) }
        if let ssePort { try Self.check("--sse-port", ssePort, in: 0...65535) }
        if httpPort != nil && ssePort != nil {
            throw ValidationError("--http-port and --sse-port conflict: the server speaks one MCP transport; "
                + "use --http-port for Streamable HTTP or --sse-port for legacy SSE clients.")
        }
        if let jwksURL {
            guard httpPort != nil || ssePort != nil else {
                throw ValidationError("--jwks-url needs --http-port or --sse-port: tokens are checked on HTTP requests.")
            }
            guard let url = URL(string: jwksURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--jwks-url must be an http:// or https:// URL; got '\(jwksURL)'.")
            }
        } else if jwtIssuer != nil || jwtAudience != nil {
            throw ValidationError("--jwt-issuer and --jwt-audience need --jwks-url.")
        }
        try Self.check("--max-request-bytes", maxRequestBytes, in: 1024...67_108_864, unit: " bytes")
        try Self.check("--shutdown-timeout", shutdownTimeout, in: 0...3600, unit: " s")
        try Self.check("--max-sessions-per-subject", maxSessionsPerSubject, in: 1...10_000)
        try Self.check("--sse-max-queued-bytes", sseMaxQueuedBytes, in: 65_536...1_073_741_824, unit: " bytes")
        try Self.check("--http-header-timeout", httpHeaderTimeout, in: 1...3600, unit: " s")
        try Self.check("--http-idle-timeout", httpIdleTimeout, in: 1...86_400, unit: " s")
        try Self.check("--max-connections", maxConnections, in: 1...100_000)
        try Self.check("--max-stored-executions", maxStoredExecutions, in: 1...10_000_000)
        if stateless && directoryPath != nil {
            throw ValidationError("--stateless and --directory-path conflict: stateless mode stores no heaps.")
        }
        try validateHeapStoreFlags()
        try validateRetentionFlags()
        if opaURL == nil && opaFetchPolicy != "mcp/fetch" {
            throw ValidationError("--opa-fetch-policy needs --opa-url.")
        }
        if !stateless && (!wasmModules.isEmpty || wasmConfig != nil) {
            throw ValidationError("--wasm-module and --wasm-config need --stateless: a stateful run resumes from a heap "
                                  + "snapshot, and V8 cannot keep WebAssembly objects in one.")
        }
        if stateless && sessionDBPath != nil {
            throw ValidationError("--stateless and --session-db-path conflict: stateless mode logs no sessions.")
        }
        if let databaseURL {
            if stateless { throw ValidationError("--stateless and --database-url conflict: stateless mode stores no metadata.") }
            if sessionDBPath != nil {
                throw ValidationError("--session-db-path and --database-url conflict: the metadata is in one of them.")
            }
            do { _ = try PostgresURL(databaseURL) } catch { throw ValidationError(error.description) }
        }
        if let nodeName {
            do { _ = try NodeName(validating: nodeName) } catch { throw ValidationError(error.description) }
        }
        try validateTenantFlags()
    }

    /// PostgreSQL with --database-url (refused here when it cannot be used), else SQLite.
    private func openMetadataStore(logger: Logger) async throws -> any MetadataStore {
        if let databaseURL {
            let url = try PostgresURL(databaseURL)
            do {
                return try await PostgresMetadataStore.open(url: url, retainedExecutions: maxStoredExecutions, logger: logger)
            } catch {
                throw ValidationError("--database-url: \(error)")
            }
        }
        return try Self.openStore(in: sessionDBPath ?? Self.defaultSessionDirectory, flag: "--session-db-path") {
            directory in try SQLiteMetadataStore(directory: directory, retainedExecutions: maxStoredExecutions)
        }
    }

    private func validateTenantFlags() throws {
        guard tenantsFile != nil else {
            if fixedTenant != nil || tenantClaim != "tenant" {
                throw ValidationError("--tenant and --tenant-claim need --tenants.")
            }
            return
        }
        if jwksURL != nil {
            guard fixedTenant == nil else {
                throw ValidationError("--tenant conflicts with --jwks-url: each token's --tenant-claim names its tenant.")
            }
            guard !tenantClaim.isEmpty else { throw ValidationError("--tenant-claim must name a JWT claim, such as tenant.") }
        } else {
            guard tenantClaim == "tenant" else { throw ValidationError("--tenant-claim needs --jwks-url.") }
            guard fixedTenant != nil else {
                throw ValidationError("--tenants without --jwks-url needs --tenant NAME: the tenant every caller is, "
                    + "since no token names one.")
            }
        }
    }

    static func check(_ flag: String, _ value: Int, in range: ClosedRange<Int>, unit: String = "") throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(flag) must be between \(range.lowerBound) and \(range.upperBound)\(unit); got \(value).")
        }
    }

    public func run() async throws {
        if workerRole {
            WorkerMain.run(defaultHeapLimitMB: heapMemoryMax, memoryLimitMB: workerMemoryMax, maximumHeapBytes: maxHeapBytes)
        }
        if printOpenAPI {
            print(OpenAPIDocument.text, terminator: "")
            return
        }

        // A write to a worker that just died (or to a client that went away) must fail with EPIPE,
        // which its caller handles, not end the server.
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "mcp-v8")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let instructionsText = try instructions.map { try Self.textOrFile($0, flag: "--instructions") }
        let descriptionText = try runJSDescription.map { try Self.textOrFile($0, flag: "--run-js-description") }

        let plan = try capabilityPlan(logger: logger)
        let wasm = try preloadedWasmModules()
        let workerCount = maxConcurrentExecutions ?? min(ProcessInfo.processInfo.activeProcessorCount, 64)
        let defaults = ExecutionDefaults(heapMB: heapMemoryMax, timeoutSeconds: executionTimeout,
                                         outputLimitBytes: maxOutputBytes)
        let tenantsLoader = try tenantsLoader(defaults: defaults, workerCount: workerCount, wasm: wasm, logger: logger)
        let tenants = TenantDirectory(try tenantsLoader.map(loadTenants)
            ?? .implicit(limits: TenantLimits(server: defaults), capabilities: plan.configuration,
                         summary: CapabilitySummary(plugins: plan.plugins.map(\.description), wasmModules: wasm)))
        var workerCapabilities = WorkerCapabilities(sets: tenants.configuration.capabilitySets)
        workerCapabilities.regoLibraryPath = regoLibrary
        workerCapabilities.logLevel = logLevel
        workerCapabilities.wasmModules = wasm.map(\.spec)
        workerCapabilities.maxCallsInFlightPerRun = maxCapabilityCalls
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                workerCount: workerCount,
                maximumQueued: maxQueuedExecutions,
                maximumPerSubject: maxExecutionsPerSubject,
                tenantLimits: tenants.configuration.queueLimits,
                defaultHeapLimitMB: heapMemoryMax,
                workerMemoryLimitMB: workerMemoryMax,
                maximumHeapBytes: maxHeapBytes,
                executablePath: ThisBinary.path,
                capabilities: workerCapabilities,
                shutdownGrace: .seconds(shutdownTimeout)),
            logger: logger)
        pool.start()
        defer { pool.shutdown() }
        let reload = tenantsLoader?.reloadOnHangup(into: tenants, logger: logger) { configuration in
            pool.reconfigure(sets: configuration.capabilitySets)
            pool.updateTenantLimits(configuration.queueLimits)
        }
        defer { reload?.cancel() }
        let node = try nodeName.map { try NodeName(validating: $0) } ?? NodeName.ofThisHost()
        let mode: MCPServerSetup.Mode
        var sweeping: Task<Void, Never>?
        defer { sweeping?.cancel() }
        if stateless {
            mode = .stateless(StatelessExecutor(pool: pool, defaults: defaults))
        } else {
            let store = try heapStore(logger: logger)
            let metadata = try await openMetadataStore(logger: logger)
            sweeping = heapSweeper(store: store, metadata: metadata, logger: logger)?.start()
            let cluster = try await ClusterNode.join(as: node, metadata: metadata, logger: logger)
            mode = .stateful(ExecutionRegistry(pool: pool, store: store, metadata: metadata, defaults: defaults,
                                               cluster: cluster, logger: logger),
                             inlineWaitMilliseconds: inlineWaitMilliseconds)
        }
        // The MCP servers are the server's, shared by every set with an mcp_tools policy.
        let bridged = tenants.configuration.tenants.values.map(\.capabilities).first { upstreamTools($0) != nil }
        let upstream = bridged.flatMap(upstreamTools)
        defer { upstream?.stopDiscovery() }
        let setup = MCPServerSetup(instructions: instructionsText, runJSDescription: descriptionText, mode: mode,
                                   tenants: tenants, upstreamTools: upstream)
        if let upstream, let bridged {
            startDiscovery(upstream, capabilities: bridged, reserved: setup.toolNames, logger: logger)
        }
        let modeDescription = stateless ? "stateless" : "stateful, heaps in \(heapStoreDescription)"
        guard let port = httpPort ?? ssePort else {
            logger.info("mcp-v8 \(MCPV8Version.current) serving MCP on stdio (\(modeDescription))")
            let namespace = try fixedTenant.map { try tenants.fixedTenant($0).namespace(subject: nil) } ?? .default
            try await setup.serveStdio(maximumMessageBytes: maxRequestBytes, pool: pool, namespace: namespace,
                                       logger: logger)
            return await waitUntilSaved(mode)
        }
        logger.info("mcp-v8 \(MCPV8Version.current) starting the HTTP server (\(modeDescription))")
        var configuration = HTTPService.Configuration(
            host: bindHost, port: port, endpoint: httpPort != nil ? .streamableHTTP : .legacySSE,
            maxRequestBytes: maxRequestBytes,
            allowedHosts: allowedHosts.map(Self.list) ?? HTTPService.localHosts + ["\(bindHost):*"],
            allowedOrigins: allowedOrigins.map(Self.list) ?? HTTPService.localOrigins,
            jwksURL: jwksURL, jwtIssuer: jwtIssuer, jwtAudience: jwtAudience)
        if tenantsFile != nil {
            configuration.tenantClaim = jwksURL != nil ? tenantClaim : nil
            configuration.fixedTenant = fixedTenant
        }
        configuration.maxSessionsPerSubject = maxSessionsPerSubject
        configuration.sseMaxQueuedBytes = sseMaxQueuedBytes
        configuration.headerTimeout = .seconds(httpHeaderTimeout)
        configuration.idleTimeout = .seconds(httpIdleTimeout)
        configuration.maxConnections = maxConnections
        configuration.nodeName = node
        do {
            try await HTTPService(configuration: configuration, setup: setup, pool: pool, logger: logger).run()
        } catch {
            throw listeningFailure(error, port: port) ?? error
        }
        await waitUntilSaved(mode)
    }

    /// Once the pool has ended every run, their ends are saved before the process exits (bounded,
    /// should the metadata store be unreachable).
    private func waitUntilSaved(_ mode: MCPServerSetup.Mode) async {
        if case .stateful(let registry, _) = mode { await registry.waitUntilSaved(within: .seconds(5)) }
    }

    /// The policies, plugins and plugin settings the flags ask for (`CapabilityPlan`), each checked
    /// now: the plugins in a child process, the policies compiled here.
    func capabilityPlan(logger: Logger) throws -> CapabilityPlan {
        do {
            return try Self.checkedCapabilities(try capabilityFlags(), regoLibrary: regoLibrary, logLevel: logLevel,
                                                logger: logger)
        } catch let error as PolicyError {
            throw ValidationError(error.description)
        } catch let error as PluginError {
            throw ValidationError(error.description)
        } catch let error as UpstreamConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// The capability flags as given on the command line.
    func capabilityFlags() throws -> CapabilityFlags {
        var flags = CapabilityFlags()
        flags.policies = try policiesJSON.map { try PolicyConfiguration.parse($0) } ?? PolicyConfiguration()
        flags.opaURL = opaURL
        flags.opaFetchPolicy = opaFetchPolicy
        flags.plugins = plugins
        flags.pluginConfig = pluginConfig
        flags.fetchHeaderRules = try fetchHeaders.map(FetchHeaderRule.parse(flag:))
            + (try fetchHeaderConfig.map(FetchHeaderRule.parse(configFile:)) ?? [])
        flags.allowExternalModules = allowExternalModules
        flags.moduleCDNURL = moduleCDNURL
        flags.mcpServers = try UpstreamServer.checked(
            mcpServers.map(UpstreamServer.parse(flag:)) + (mcpConfig.map(UpstreamServer.parse(configFile:)) ?? []))
        flags.bundledPlugins = Self.bundledPlugins()
        return flags
    }

    /// The configuration `flags` ask for, checked: the plugins in a child process, the policies
    /// compiled here. `tenant` names whose flags they are in warnings.
    static func checkedCapabilities(_ flags: CapabilityFlags, tenant: String? = nil, regoLibrary: String?,
                                    logLevel: String, logger: Logger) throws -> CapabilityPlan {
        let plan = try CapabilityPlan.make(flags) { paths, settings in
            try PluginCheck.describe(paths, settings: settings, logLevel: logLevel, executable: ThisBinary.path)
        }
        plan.warnings.forEach { logger.warning("\(tenant.map { "tenant '\($0)': " } ?? "")\($0)") }
        _ = try PolicyEngine(configuration: plan.configuration.policies, regoLibraryPath: regoLibrary, logger: logger)
        if tenant == nil { for plugin in plan.plugins { logger.info("capability plugin \(plugin.path) loaded") } }
        return plan
    }

    /// With `--tenants`: what reads and checks the file, each tenant's capabilities built from the
    /// server's flags with its own policies, fetch headers and plugin settings.
    func tenantsLoader(defaults: ExecutionDefaults, workerCount: Int,
                       wasm: [(spec: WasmModuleSpec, summary: WasmModuleSummary)], logger: Logger) throws -> TenantsLoader? {
        guard let tenantsFile else { return nil }
        let flags = try capabilityFlags()
        let (regoLibrary, logLevel) = (regoLibrary, logLevel)
        return TenantsLoader(file: tenantsFile,
                             bounds: .init(workerCount: workerCount, maxQueuedExecutions: maxQueuedExecutions),
                             serverDefaults: defaults, wasmModules: wasm) { name, entry in
            try Self.checkedCapabilities(flags.forTenant(entry), tenant: name, regoLibrary: regoLibrary,
                                         logLevel: logLevel, logger: logger)
        }
    }

    /// The tenants at start-up; `--tenant` must be one of them.
    func loadTenants(_ loader: TenantsLoader) throws -> TenantConfiguration {
        let configuration: TenantConfiguration
        do {
            configuration = try loader.load()
        } catch {
            throw ValidationError(error.description)
        }
        if let fixedTenant, configuration.tenants[fixedTenant] == nil {
            throw ValidationError("--tenant '\(fixedTenant)' is not a tenant of --tenants \(loader.file) "
                + "(it has \(configuration.tenants.keys.sorted().joined(separator: ", ")))")
        }
        return configuration
    }

    /// The bundled plugins next to this binary (or in a release bundle's `lib/`), `libmcpv8-<category>.so`,
    /// by category; the first folder with a category wins.
    static func bundledPlugins() -> [String: String] {
        var bundled: [String: String] = [:]
        for folder in ThisBinary.libraryFolders {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for file in files where file.hasPrefix("libmcpv8-") && file.hasSuffix(".so") {
                let category = String(file.dropFirst("libmcpv8-".count).dropLast(".so".count))
                if bundled[category] == nil { bundled[category] = folder.appendingPathComponent(file).path }
            }
        }
        return bundled
    }

    /// The upstream MCP servers whose tools are listed: those of the bridge plugin, when it is loaded.
    func upstreamTools(_ capabilities: CapabilityConfiguration) -> UpstreamTools? {
        guard capabilities.policies.categories["mcp_tools"] != nil,
              let setting = capabilities.pluginSettings["mcp"]?["servers"],
              let servers = try? UpstreamServer.parse(setting: setting), !servers.isEmpty else { return nil }
        return UpstreamTools(servers: servers)
    }

    /// Lists the upstream servers' tools in the background, with the plugin's time limits.
    func startDiscovery(_ tools: UpstreamTools, capabilities: CapabilityConfiguration, reserved: Set<String>,
                        logger: Logger) {
        let milliseconds = { (key: String, fallback: Int) in
            Duration.milliseconds(capabilities.pluginSettings["mcp"]?[key].flatMap { Int($0) } ?? fallback)
        }
        tools.startDiscovery(connectTimeout: milliseconds("connect_timeout_ms", 10_000),
                             timeout: milliseconds("timeout_ms", 60_000), reserved: reserved,
                             logger: logger)
    }

    /// The modules `--wasm-module` and `--wasm-config` name, compiled here once so that a file that
    /// is not WebAssembly stops the server now, not every run.
    func preloadedWasmModules() throws -> [(spec: WasmModuleSpec, summary: WasmModuleSummary)] {
        do {
            let specs = try WasmModuleSpec.parse(flags: wasmModules, configFile: wasmConfig)
            guard !specs.isEmpty else { return [] }
            let compiled = try PreloadedWasmModules(specs: specs, runtime: JSRuntime())
            return Array(zip(compiled.specs, compiled.summaries))
        } catch let error as WasmModuleError {
            throw ValidationError(error.description)
        }
    }

    static func list(_ commaSeparated: String) -> [String] {
        commaSeparated.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static let defaultHeapDirectory = "/tmp/mcp-v8-heaps"
    static let defaultSessionDirectory = "/tmp/mcp-v8-sessions"

    /// `@path` reads the file at path; anything else is the text itself.
    static func textOrFile(_ value: String, flag: String) throws -> String {
        guard value.hasPrefix("@") else { return value }
        let path = String(value.dropFirst())
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(flag): cannot read the file '\(path)': \(error.localizedDescription)")
        }
    }

}
