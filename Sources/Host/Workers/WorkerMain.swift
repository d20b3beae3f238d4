import CV8
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The worker role of the binary: runs jobs from the host in V8, one at a time.
///
/// The host talks to a worker over two pipes, requests on fd 3 and events on fd 4, so nothing a
/// worker (or V8) prints can reach the host's stdout, where stdio clients read JSON-RPC.
public enum WorkerMain {
    static let requestFD: Int32 = 3
    static let eventFD: Int32 = 4

    public static func run(defaultHeapLimitMB: Int, memoryLimitMB: Int, maximumHeapBytes: Int) -> Never {
        signal(SIGPIPE, SIG_IGN)
        // Set before V8 starts, so that nothing this worker (or a run) holds can pass it.
        if cv8_limit_process_memory(UInt64(memoryLimitMB) << 20) != 0 {
            FileHandle.standardError.write(Data("mcp-v8 worker: could not set its memory limit\n".utf8))
            exit(70)
        }
        MemoryLimit.megabytes = memoryLimitMB
        // Processes the worker starts (esbuild, a plugin's children) must not hold the host's
        // pipes open: the host learns that a worker died when they close.
        _ = fcntl(requestFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(eventFD, F_SETFD, FD_CLOEXEC)
        // Processes a run detaches (setsid, a double fork) stay in this worker's tree, to be killed.
        _ = cv8_become_subreaper()

        let events = FrameWriter(fd: eventFD)
        let requests = FrameReader(fd: requestFD)
        let configuration: WorkerCapabilities
        switch requests.receive(WorkerRequest.self) {
        case .configure(let received): configuration = received
        case .checkPlugins(let received): PluginCheck.serve(received, events: events)
        case nil: exit(0)  // the host closed the pipe before configuring this worker: it is stopping
        default:
            FileHandle.standardError.write(Data("mcp-v8 worker: the host's first frame is not a configuration\n".utf8))
            exit(70)
        }
        let executor: JobExecutor
        do {
            executor = try JobExecutor(configuration: configuration, defaultHeapLimitMB: defaultHeapLimitMB,
                                       maximumHeapBytes: maximumHeapBytes, events: events)
        } catch {
            FileHandle.standardError.write(Data("mcp-v8 worker: \(error)\n".utf8))
            exit(70)
        }
        FatalErrorReport.install(events: events, executor: executor)
        executor.start()
        events.send(WorkerEvent.ready(v8Version: V8Process.version))

        while let request = requests.receive(WorkerRequest.self) {
            switch request {
            case .run(let job): executor.submit(job)
            case .cancel(let jobID): executor.cancel(jobID: jobID)
            case .configure, .checkPlugins: continue  // only ever the first frame
            }
        }
        // The host closed the pipe: it is shutting down or gone (even killed: the kernel closes
        // its end). Exit now, even mid-run, so no worker outlives its host, nor any process of
        // its runs. (PR_SET_PDEATHSIG would not do: it fires when the host *thread* that spawned
        // the worker ends.)
        cv8_kill_processes_of_runs()
        exit(0)
    }
}

/// Runs jobs on a thread of its own, with a stack large enough for V8's recursion budget.
final class JobExecutor: @unchecked Sendable {
    /// A run lets V8 use 1 MiB of stack below where it starts (cv8.h, at cv8_engine_run); the rest
    /// is room for the frames above it.
    private static let threadStackBytes = 16 * 1024 * 1024
    /// Each capability set, by name, with the runtime and engines of its preludes.
    private let sets: [String: ServedSet]
    private let events: FrameWriter
    /// `--max-heap-bytes`: the largest snapshot a stateful run may leave.
    private let maximumHeapBytes: Int

    private let lock = NSCondition()
    private var pending: [RunJob] = []
    private var cancelledBeforeStart: Set<UInt64> = []
    private var running: (job: RunJob, cancel: () -> Void)?

    /// The job running now, for the fatal-error report.
    var runningJob: RunJob? {
        lock.lock()
        defer { lock.unlock() }
        return running?.job
    }

    /// The plugins and policies of every set (nil when no set has a plugin); the host checked them at start-up.
    private let capabilities: CapabilitySets?

    init(configuration: WorkerCapabilities, defaultHeapLimitMB: Int, maximumHeapBytes: Int,
         events: FrameWriter) throws {
        let capabilities = try Self.loadCapabilities(configuration)
        self.capabilities = capabilities
        // Sets with the same preludes (the same plugins) share a runtime and its engines: a
        // worker pays for each list of preludes once, and the same code makes the same heap
        // bytes whichever of them runs it. What differs between them (policies, settings) is the
        // set's, handed to each run.
        var byPreludes: [[String]: PreludeEngines] = [:]
        var sets: [String: ServedSet] = [:]
        for name in configuration.orderedSetNames {
            let set = capabilities?.sets[name]
            let preludes = set?.preludes ?? []
            let engines = try byPreludes[preludes] ?? PreludeEngines(
                capabilities: set, wasmModules: configuration.wasmModules, defaultHeapLimitMB: defaultHeapLimitMB)
            byPreludes[preludes] = engines
            sets[name] = ServedSet(capabilities: set, engines: engines)
        }
        self.sets = sets
        self.events = events
        self.maximumHeapBytes = maximumHeapBytes
    }

    private static func loadCapabilities(_ configuration: WorkerCapabilities) throws -> CapabilitySets? {
        guard configuration.sets.values.contains(where: { !$0.pluginPaths.isEmpty }) else { return nil }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "mcp-v8.worker")
        logger.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
        return try CapabilitySets(configuration: configuration, logger: logger)
    }

    func start() {
        let thread = Thread { [self] in
            while true { execute(nextJob()) }
        }
        thread.stackSize = Self.threadStackBytes
        thread.start()
    }

    func submit(_ job: RunJob) {
        lock.lock()
        pending.append(job)
        lock.signal()
        lock.unlock()
    }

    func cancel(jobID: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        if let running, running.job.jobID == jobID {
            running.cancel()
        } else if pending.contains(where: { $0.jobID == jobID }) {
            cancelledBeforeStart.insert(jobID)
        }
    }

    private func nextJob() -> RunJob {
        lock.lock()
        defer { lock.unlock() }
        while pending.isEmpty { lock.wait() }
        return pending.removeFirst()
    }

    private func execute(_ job: RunJob) {
        events.send(WorkerEvent.started(jobID: job.jobID))
        guard let set = sets[job.capabilitySet] else {
            // Never another set's: its globals and policies are not this run's.
            events.send(WorkerEvent.finished(jobID: job.jobID, outcome: RunOutcome(
                status: .internalError,
                error: "This run names the capability set '\(job.capabilitySet)', which this server's workers do not "
                    + "have (its tenant may have been removed by a reload), so nothing ran.")))
            return
        }
        if job.checkpoint != nil {
            executeStateful(job, set: set)
            return
        }
        let engine: JSEngine
        do {
            engine = try set.engines.engine(heapLimitMB: job.heapLimitMB)
        } catch {
            events.send(WorkerEvent.finished(
                jobID: job.jobID, outcome: RunOutcome(status: .internalError, error: "\(error)")))
            return
        }
        let outcome = runUnlessCancelled(job, cancel: engine.cancel) { onOutput in
            TypeScript.runAllowingTypeScript(job.code) { code in
                engine.run(code: code, timeoutMilliseconds: job.timeoutMilliseconds,
                           outputLimitBytes: job.outputLimitBytes, capabilities: set.capabilities,
                           wasmModules: set.engines.wasmModules, onOutput: onOutput)
            }
        }
        finish(job, outcome)
        engine.prepare()
    }

    /// A stateful run: the input heap is verified here, before V8 sees a byte of it, and the new
    /// heap is sealed here, so the host only stores bytes.
    private func executeStateful(_ job: RunJob, set: ServedSet) {
        var payload: [UInt8]?
        if let heap = job.checkpoint?.heap {
            do {
                payload = try HeapEnvelope.open(heap)
            } catch {
                events.send(WorkerEvent.finished(
                    jobID: job.jobID, outcome: RunOutcome(status: .error, error: error.description)))
                return
            }
        }
        let checkpointer = JSCheckpointer(runtime: set.engines.runtime, heapLimitMB: job.heapLimitMB)
        var newHeap: [UInt8]?
        var outcome = runUnlessCancelled(job, cancel: checkpointer.cancel) { onOutput in
            TypeScript.runAllowingTypeScript(job.code) { code in
                let (outcome, heap) = checkpointer.run(code: code, heap: payload,
                                                       timeoutMilliseconds: job.timeoutMilliseconds,
                                                       outputLimitBytes: job.outputLimitBytes,
                                                       capabilities: set.capabilities, onOutput: onOutput)
                newHeap = heap
                return outcome
            }
        }
        if outcome.error?.contains("Array buffer allocation failed") == true {
            // A stateful isolate has no buffer cap of its own (V8 gives a snapshotting isolate its
            // own allocator): an ArrayBuffer is refused only at the worker's memory limit.
            outcome.error! += "\n" + MemoryLimit.explanation
        }
        if let size = newHeap?.count, size > maximumHeapBytes {
            // Checked here, before sealing or sending: the host must never receive (or store) it.
            outcome = RunOutcome(status: .error, error: Self.heapTooLargeMessage(size: size, limit: maximumHeapBytes))
        } else if let newHeap {
            do {
                outcome.newHeap = try HeapEnvelope.seal(newHeap)
            } catch {
                outcome = RunOutcome(status: .internalError, error: "could not seal the new heap: \(error)")
            }
        }
        finish(job, outcome)
    }

    static func heapTooLargeMessage(size: Int, limit: Int) -> String {
        func megabytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
        return "The heap would be \(megabytes(size)) MB, over the limit of \(megabytes(limit)) MB "
            + "(--max-heap-bytes \(limit)), so the run fails and nothing is stored. Keep less in global "
            + "variables (drop large arrays, strings or buffers before the run ends), or raise --max-heap-bytes."
    }

    /// Reports a job's end, with the policy decisions made since the last report.
    private func finish(_ job: RunJob, _ outcome: RunOutcome) {
        var outcome = outcome
        let decisions = capabilities?.takeDecisionCounts() ?? [:]
        outcome.policyDecisions = decisions.isEmpty ? nil : decisions
        // A run starts processes only through a capability its policy allowed; what it left
        // behind (detached from its call's process group) dies with it.
        if decisions.keys.contains(where: { $0.hasSuffix("/allowed") }) { cv8_kill_processes_of_runs() }
        events.send(WorkerEvent.finished(jobID: job.jobID, outcome: outcome))
    }

    /// Runs `body` as the current job unless it was cancelled while waiting, batching its output.
    private func runUnlessCancelled(_ job: RunJob, cancel: @escaping () -> Void,
                                    _ body: ((ConsoleLevel, String) -> Void) -> RunOutcome) -> RunOutcome {
        lock.lock()
        if cancelledBeforeStart.remove(job.jobID) != nil {
            lock.unlock()
            return RunOutcome(status: .cancelled, error: cancelledMessage)
        }
        running = (job, cancel)
        lock.unlock()

        let batcher = OutputBatcher(jobID: job.jobID, events: events)
        capabilities?.beginRun(caller: job.caller)
        PluginHostAPI.runTenant = job.caller.tenant
        let outcome = body(batcher.add)
        PluginHostAPI.runTenant = nil
        capabilities?.endRun()
        batcher.flush()

        lock.lock()
        running = nil
        lock.unlock()
        return outcome
    }

}

/// A capability set as a worker serves it: its plugins and policies, and the engines of its preludes.
private struct ServedSet {
    let capabilities: CapabilitySet?
    let engines: PreludeEngines
}

/// A runtime (a snapshot that ran only one list of capability preludes) and the engines made from
/// it, for every capability set with those preludes.
private final class PreludeEngines {
    /// Engines for heap limits other than the default, kept for reuse; beyond this many, the
    /// least recently used one is freed.
    private static let extraEnginesKept = 2

    let runtime: JSRuntime
    let wasmModules: PreloadedWasmModules?
    private let defaultEngine: JSEngine
    private var extraEngines: [JSEngine] = []

    /// `capabilities`: any set with the preludes; only its preludes are read.
    init(capabilities: CapabilitySet?, wasmModules modules: [WasmModuleSpec], defaultHeapLimitMB: Int) throws {
        runtime = try JSRuntime(capabilities: capabilities)
        wasmModules = modules.isEmpty ? nil : try PreloadedWasmModules(specs: modules, runtime: runtime)
        defaultEngine = try JSEngine(runtime: runtime, heapLimitMB: defaultHeapLimitMB)
        defaultEngine.prepare()
    }

    func engine(heapLimitMB: Int) throws -> JSEngine {
        if heapLimitMB == defaultEngine.heapLimitMB { return defaultEngine }
        if let index = extraEngines.firstIndex(where: { $0.heapLimitMB == heapLimitMB }) {
            let engine = extraEngines.remove(at: index)
            extraEngines.append(engine)
            return engine
        }
        let engine = try JSEngine(runtime: runtime, heapLimitMB: heapLimitMB)
        if extraEngines.count == Self.extraEnginesKept { extraEngines.removeFirst() }
        extraEngines.append(engine)
        return engine
    }
}

let cancelledMessage = "Execution cancelled."

/// When V8 is about to end the worker (an out-of-memory it cannot recover from), tells the host
/// why the running job failed, so the caller gets that reason rather than "the worker crashed".
enum FatalErrorReport {
    nonisolated(unsafe) private static var events: FrameWriter?
    nonisolated(unsafe) private static var executor: JobExecutor?

    static func install(events: FrameWriter, executor: JobExecutor) {
        Self.events = events
        Self.executor = executor
        cv8_set_fatal_error_handler { message, isOutOfMemory in
            FatalErrorReport.report(message: message.map { String(cString: $0) } ?? "", outOfMemory: isOutOfMemory)
        }
        // An allocation refused at the memory limit out of V8's reach (a C++ container while V8
        // writes a heap snapshot) aborts the process: at the limit, that is the reason to report.
        signal(SIGABRT) { _ in
            if cv8_process_memory_limit_reached() != 0 {
                FatalErrorReport.report(message: "aborted at the memory limit", outOfMemory: 2)
            }
            signal(SIGABRT, SIG_DFL)  // abort() raises again, and the process ends as it would have
        }
    }

    private static func report(message: String, outOfMemory: Int32) -> Never {
        if let job = executor?.runningJob {
            let outcome = outOfMemory == 2
                ? RunOutcome(status: .outOfMemory, error: MemoryLimit.explanation
                    + " The worker process was replaced; the server keeps serving.")
                : outOfMemory != 0
                ? RunOutcome(status: .outOfMemory, error: LimitMessage.outOfMemoryInOneStep(heapMB: job.heapLimitMB))
                : RunOutcome(status: .crashed, error: "V8 stopped the worker process: \(message)")
            events?.send(WorkerEvent.dying(jobID: job.jobID, outcome: outcome))
        }
        FileHandle.standardError.write(Data("mcp-v8 worker: \(message)\n".utf8))
        _exit(71)
    }
}

/// The worker's memory limit (`--worker-memory-max`), for the errors that name it.
enum MemoryLimit {
    nonisolated(unsafe) static var megabytes = 0

    static var explanation: String {
        "Memory limit: the worker process running this code reached its memory limit of \(megabytes) MB "
            + "(--worker-memory-max), which bounds everything its runs hold, ArrayBuffers included. Hold less at once."
    }
}

/// Groups console lines into few frames: a tight console.log loop would otherwise cost a frame
/// per line. A batch goes out when it is large or old enough for a reader to want it.
private final class OutputBatcher {
    private static let maximumBatchBytes = 64 * 1024
    private static let maximumBatchAge: TimeInterval = 0.025

    private let jobID: UInt64
    private let events: FrameWriter
    private var lines: [OutputLine] = []
    private var bytes = 0
    private var firstLineAt = Date.distantFuture

    init(jobID: UInt64, events: FrameWriter) {
        self.jobID = jobID
        self.events = events
    }

    func add(_ level: ConsoleLevel, _ text: String) {
        if lines.isEmpty { firstLineAt = Date() }
        lines.append(OutputLine(level: level, text: text))
        bytes += text.utf8.count + 1
        if bytes >= Self.maximumBatchBytes || Date().timeIntervalSince(firstLineAt) >= Self.maximumBatchAge {
            flush()
        }
    }

    func flush() {
        guard !lines.isEmpty else { return }
        events.send(WorkerEvent.output(jobID: jobID, lines: lines))
        lines.removeAll(keepingCapacity: true)
        bytes = 0
    }
}
