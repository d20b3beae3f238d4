import ArgumentParser
import Foundation
import Logging

/// The `mcp-v8` command line.
public struct MCPV8Command: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mcp-v8",
        abstract: "An MCP server that runs JavaScript in sandboxed V8 isolates.",
        discussion: """
            Serves the Model Context Protocol on stdin/stdout. Each run_js call runs in a fresh \
            V8 isolate inside a worker process, within the heap, time and output limits below.
            """,
        version: MCPV8Version.current)

    @Flag(help: "Run each call in a fresh isolate and return its result inline; nothing is stored.")
    var stateless = false

    @Option(name: .customLong("directory-path"),
            help: "Directory for heap snapshots in stateful mode (default: /tmp/mcp-v8-heaps).")
    var directoryPath: String?

    @Option(name: .customLong("session-db-path"),
            help: "Directory of the SQLite file of sessions, heap tags and finished executions in stateful mode (default: /tmp/mcp-v8-sessions).")
    var sessionDBPath: String?

    @Option(name: .customLong("inline-wait-ms"),
            help: "Stateful mode: how long run_js waits for a run to end and answer inline, in ms (0-60000; 0: only the execution_id). A call may set inline_wait_ms.")
    var inlineWaitMilliseconds = 2000

    @Option(name: .customLong("heap-memory-max"),
            help: "Default heap limit of a run, in MB (1-64). A call may ask for 4-64 MB with heap_memory_max_mb.")
    var heapMemoryMax = 8

    @Option(name: .customLong("execution-timeout"),
            help: "Default wall-clock limit of a run, in seconds (1-300). A call may set execution_timeout_secs.")
    var executionTimeout = 30

    @Option(name: .customLong("max-concurrent-executions"),
            help: "Runs executing at once, each in its own worker process (1-64; default: the number of cores).")
    var maxConcurrentExecutions: Int?

    @Option(name: .customLong("max-queued-executions"),
            help: "Runs allowed to wait for a free worker (0-100000); beyond this a call fails at once as busy.")
    var maxQueuedExecutions = 1000

    @Option(name: .customLong("max-output-bytes"),
            help: "Console output kept per run, in bytes (1024-67108864); the rest is dropped with a note.")
    var maxOutputBytes = 1_048_576

    @Option(help: "Server instructions sent to the client at initialize: text, or @FILE to read them from a file.")
    var instructions: String?

    @Option(name: .customLong("run-js-description"),
            help: "Description of the run_js tool: text, or @FILE to read it from a file.")
    var runJSDescription: String?

    @Flag(name: .customLong("worker"), help: .hidden)
    var workerRole = false

    public init() {}

    /// Parses the command line and runs. (Called from main.swift, where the inherited
    /// `main()` would resolve to the synchronous overload.)
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    public mutating func validate() throws {
        try Self.check("--heap-memory-max", heapMemoryMax, in: ExecutionLimits.serverHeapMB, unit: " MB")
        try Self.check("--execution-timeout", executionTimeout, in: ExecutionLimits.timeoutSeconds, unit: " s")
        if let maxConcurrentExecutions {
            try Self.check("--max-concurrent-executions", maxConcurrentExecutions,
                           in: ExecutionLimits.concurrentExecutions)
        }
        try Self.check("--max-queued-executions", maxQueuedExecutions, in: ExecutionLimits.queuedExecutions)
        try Self.check("--max-output-bytes", maxOutputBytes, in: ExecutionLimits.outputBytes, unit: " bytes")
        try Self.check("--inline-wait-ms", inlineWaitMilliseconds, in: StatefulTools.inlineWaitMilliseconds, unit: " ms")
        if stateless && directoryPath != nil {
            throw ValidationError("--stateless and --directory-path conflict: stateless mode stores no heaps.")
        }
        if stateless && sessionDBPath != nil {
            throw ValidationError("--stateless and --session-db-path conflict: stateless mode logs no sessions.")
        }
    }

    static func check(_ flag: String, _ value: Int, in range: ClosedRange<Int>, unit: String = "") throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(flag) must be between \(range.lowerBound) and \(range.upperBound)\(unit); got \(value).")
        }
    }

    public func run() async throws {
        if workerRole { WorkerMain.run(defaultHeapLimitMB: heapMemoryMax) }

        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "mcp-v8")
        logger.logLevel = .info
        let instructionsText = try instructions.map { try Self.textOrFile($0, flag: "--instructions") }
        let descriptionText = try runJSDescription.map { try Self.textOrFile($0, flag: "--run-js-description") }

        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                workerCount: maxConcurrentExecutions ?? min(ProcessInfo.processInfo.activeProcessorCount, 64),
                maximumQueued: maxQueuedExecutions,
                defaultHeapLimitMB: heapMemoryMax,
                executablePath: Self.executablePath()),
            logger: logger)
        pool.start()
        defer { pool.shutdown() }
        let defaults = ExecutionDefaults(heapMB: heapMemoryMax, timeoutSeconds: executionTimeout,
                                         outputLimitBytes: maxOutputBytes)
        let mode: MCPServerSetup.Mode
        if stateless {
            mode = .stateless(StatelessExecutor(pool: pool, defaults: defaults))
        } else {
            let directory = URL(fileURLWithPath: directoryPath ?? Self.defaultHeapDirectory)
            let store: DirectoryHeapStore
            do {
                store = try DirectoryHeapStore(directory: directory)
            } catch {
                throw ValidationError("--directory-path: \(error)")
            }
            let metadata: MetadataDatabase
            do {
                metadata = try MetadataDatabase(directory: URL(fileURLWithPath: sessionDBPath ?? Self.defaultSessionDirectory))
            } catch {
                throw ValidationError("--session-db-path: \(error)")
            }
            mode = .stateful(ExecutionRegistry(pool: pool, store: store, metadata: metadata, defaults: defaults),
                             inlineWaitMilliseconds: inlineWaitMilliseconds)
        }
        let setup = MCPServerSetup(instructions: instructionsText, runJSDescription: descriptionText, mode: mode)
        let modeDescription = stateless ? "stateless" : "stateful, heaps in \(directoryPath ?? Self.defaultHeapDirectory)"
        logger.info("mcp-v8 \(MCPV8Version.current) serving MCP on stdio (\(modeDescription))")
        try await setup.serveStdio(logger: logger)
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

    /// This binary, to start again in the worker role.
    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
