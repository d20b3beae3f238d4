import CV8
import Foundation
import Logging

public struct WorkerPoolConfiguration: Sendable {
    /// Worker processes, each running one execution at a time.
    public var workerCount: Int
    /// Executions allowed to wait for a worker; beyond this, `run` fails at once as busy.
    public var maximumQueued: Int
    /// Executions one token subject may have queued or running; nil: no per-subject cap.
    public var maximumPerSubject: Int?
    /// The heap limit each worker keeps an isolate ready for.
    public var defaultHeapLimitMB: Int
    /// Each worker's memory limit (`--worker-memory-max`).
    public var workerMemoryLimitMB: Int
    /// The largest sealed heap a stateful run may leave; the worker fails a run over it.
    public var maximumHeapBytes: Int
    /// This binary, started again in the worker role.
    public var executablePath: String
    /// The plugins and policies every worker loads.
    public var capabilities: CapabilityConfiguration

    public init(workerCount: Int, maximumQueued: Int, maximumPerSubject: Int? = nil, defaultHeapLimitMB: Int,
                workerMemoryLimitMB: Int = 1024, maximumHeapBytes: Int = ExecutionLimits.defaultHeapBytes,
                executablePath: String,
                capabilities: CapabilityConfiguration = CapabilityConfiguration()) {
        self.workerCount = workerCount
        self.maximumQueued = maximumQueued
        self.maximumPerSubject = maximumPerSubject
        self.defaultHeapLimitMB = defaultHeapLimitMB
        self.workerMemoryLimitMB = workerMemoryLimitMB
        self.maximumHeapBytes = maximumHeapBytes
        self.executablePath = executablePath
        self.capabilities = capabilities
    }
}

public struct ServerBusyError: Error, CustomStringConvertible {
    public let description: String
}

/// What a caller asks the pool to run.
public struct RunRequest: Sendable {
    public var code: String
    public var heapLimitMB: Int
    public var timeoutSeconds: Int
    public var outputLimitBytes: Int
    /// Set for a stateful run; its outcome then carries the new heap when it completes.
    public var checkpoint: CheckpointInput?
    /// The caller's namespace, whose share of the pool the run takes.
    public var namespace: Namespace

    public init(code: String, heapLimitMB: Int, timeoutSeconds: Int, outputLimitBytes: Int,
                checkpoint: CheckpointInput? = nil, namespace: Namespace = .default) {
        self.code = code
        self.heapLimitMB = heapLimitMB
        self.timeoutSeconds = timeoutSeconds
        self.outputLimitBytes = outputLimitBytes
        self.checkpoint = checkpoint
        self.namespace = namespace
    }
}

/// Supervises the worker processes: queues executions (bounded), hands each to an idle worker,
/// replaces workers that die, and kills a worker whose run outlives its deadline by
/// `overrunGrace` (the in-worker watchdog should have stopped it; this is the backstop).
public final class WorkerPool: @unchecked Sendable {
    static let overrunGrace: TimeInterval = 2
    static let sweepInterval: DispatchTimeInterval = .milliseconds(50)
    /// A worker that dies before it is ready is restarted after this pause, not in a tight loop.
    static let restartPause: TimeInterval = 1

    private final class Job {
        let request: RunJob
        let namespace: Namespace
        let onStarted: @Sendable () -> Void
        let onOutput: @Sendable ([OutputLine]) -> Void
        let continuation: CheckedContinuation<RunOutcome, Error>
        let timeout: TimeInterval
        let queuedAt = Date()
        var slot: Int?
        /// Once running: when the host kills the worker if the run has not ended by itself.
        var killAt = Date.distantFuture
        /// The outcome reported if the host kills this job's worker (rather than "crashed").
        var killOutcome: RunOutcome?
        var killed = false
        /// The worker said it took the job (WorkerEvent.started); until then a dying worker never ran it.
        var started = false

        init(request: RunJob, namespace: Namespace, timeout: TimeInterval, onStarted: @escaping @Sendable () -> Void,
             onOutput: @escaping @Sendable ([OutputLine]) -> Void, continuation: CheckedContinuation<RunOutcome, Error>) {
            self.request = request
            self.namespace = namespace
            self.timeout = timeout
            self.onStarted = onStarted
            self.onOutput = onOutput
            self.continuation = continuation
        }
    }

    private enum SlotState {
        case starting(since: Date)
        case idle
        case busy(jobID: UInt64)
        case down(restartAt: Date)
    }

    private struct Slot {
        var process: WorkerProcess?
        var generation = 0
        var state = SlotState.down(restartAt: .distantPast)
    }

    public let configuration: WorkerPoolConfiguration
    private let admission: ExecutionAdmission
    private let logger: Logger
    private let lock = NSLock()
    private var slots: [Slot]
    private var queue: [Job] = []
    private var jobs: [UInt64: Job] = [:]
    /// Ids handed out by `makeJobID` whose run is not queued yet: only these can be cancelled ahead of it.
    private var issuedNotQueued: Set<UInt64> = []
    private var cancelledBeforeQueued: Set<UInt64> = []
    /// Places in the queue promised by `reserve(namespace:)` to runs not submitted yet, by namespace.
    private var reservedPlaces: [Namespace: Int] = [:]
    /// Which queued run a free worker takes: not simply the oldest, so one caller's backlog is not everyone's.
    private var fairDispatch = FairDispatch()
    private var nextJobID: UInt64 = 1
    private var workerRestarts = 0
    private var sweeper: DispatchSourceTimer?
    private var stopped = false

    public init(configuration: WorkerPoolConfiguration, logger: Logger) {
        self.configuration = configuration
        admission = ExecutionAdmission(maximumQueued: configuration.maximumQueued,
                                       perSubject: configuration.maximumPerSubject)
        self.logger = logger
        slots = Array(repeating: Slot(), count: configuration.workerCount)
    }

    /// Starts the workers; they get ready in the background (tens of milliseconds).
    public func start() {
        // A worker that dies leaves the processes its run detached to the server, not to PID 1:
        // handleExit kills them.
        _ = cv8_become_subreaper()
        lock.lock()
        for index in slots.indices { spawnLocked(index) }
        lock.unlock()
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mcp-v8.pool.sweeper"))
        timer.schedule(deadline: .now() + Self.sweepInterval, repeating: Self.sweepInterval)
        timer.setEventHandler { [weak self] in self?.sweep() }
        timer.resume()
        sweeper = timer
    }

    /// Stops every worker; executions still queued or running end as cancelled.
    public func shutdown() {
        lock.lock()
        stopped = true
        sweeper?.cancel()
        let abandoned = Array(jobs.values)
        jobs.removeAll()
        queue.removeAll()
        let processes = slots.compactMap(\.process)
        lock.unlock()
        processes.forEach { $0.close() }
        for job in abandoned {
            job.continuation.resume(returning: RunOutcome(status: .cancelled, error: "The server is shutting down."))
        }
    }

    /// The number of times a worker died and was replaced.
    public var restarts: Int {
        lock.lock()
        defer { lock.unlock() }
        return workerRestarts
    }

    /// A job id to pass to `run` and, from elsewhere, to `cancel`.
    public func makeJobID() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        nextJobID += 1
        issuedNotQueued.insert(nextJobID - 1)
        return nextJobID - 1
    }

    /// Job ids the pool keeps outside its jobs (issued but not queued, or cancelled before queued).
    var rememberedJobIDs: Int {
        lock.lock()
        defer { lock.unlock() }
        return issuedNotQueued.count + cancelledBeforeQueued.count
    }

    /// Runs code on the next free worker. Throws `ServerBusyError` when the queue, or the
    /// request's namespace's share of the pool, is full. Cancelling the calling task cancels the execution.
    /// `reserved`: the caller holds a place from `reserve(namespace:)`, which this run uses up (it is then
    /// never refused as busy). `onStarted` is called once a worker has taken the run.
    public func run(_ request: RunRequest, jobID: UInt64? = nil, reserved: Bool = false,
                    onStarted: @escaping @Sendable () -> Void = {},
                    onOutput: @escaping @Sendable ([OutputLine]) -> Void) async throws -> RunOutcome {
        let jobID = jobID ?? makeJobID()
        let job = RunJob(jobID: jobID, code: request.code, heapLimitMB: request.heapLimitMB,
                         timeoutMilliseconds: request.timeoutSeconds * 1000,
                         outputLimitBytes: request.outputLimitBytes, checkpoint: request.checkpoint)
        let started = ContinuousClock.now
        let outcome = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(Job(request: job, namespace: request.namespace, timeout: TimeInterval(request.timeoutSeconds),
                            onStarted: onStarted, onOutput: onOutput, continuation: continuation), reserved: reserved)
            }
        } onCancel: {
            cancel(jobID: jobID)
        }
        ExecutionMetrics.finished(outcome.status, after: ContinuousClock.now - started)
        ExecutionMetrics.policyDecisions(outcome.policyDecisions)
        return outcome
    }

    /// Holds a place in the queue for a run of `namespace` the caller will submit with
    /// `run(reserved: true)`, or throws `ServerBusyError` now: for callers that answer before
    /// they submit the run.
    public func reserve(namespace: Namespace) throws(ServerBusyError) {
        lock.lock()
        defer { lock.unlock() }
        if let busy = busyErrorLocked(namespace: namespace) {
            ExecutionMetrics.refusedBusy()
            throw busy
        }
        reservedPlaces[namespace, default: 0] += 1
    }

    /// Runs queued or running.
    public var pendingJobs: Int {
        lock.lock()
        defer { lock.unlock() }
        return jobs.count
    }

    /// Runs waiting for a free worker.
    public var queueDepth: Int {
        lock.lock()
        defer { lock.unlock() }
        return queue.count
    }

    /// Workers running a job now.
    public var busyWorkers: Int {
        lock.lock()
        defer { lock.unlock() }
        return slots.filter { if case .busy = $0.state { true } else { false } }.count
    }

    private func busyErrorLocked(namespace: Namespace) -> ServerBusyError? {
        // Workers still starting (or restarting) will take a job each soon: only jobs beyond
        // them count as waiting.
        let load = ExecutionAdmission.Load(
            waiting: queue.count + reservedPlaces.values.reduce(0, +),
            workersNotBusy: slots.count { if case .busy = $0.state { false } else { true } },
            namespacePending: jobs.values.count { $0.namespace == namespace } + reservedPlaces[namespace, default: 0])
        switch admission.decide(namespace: namespace, load: load) {
        case .admit:
            return nil
        case .poolFull:
            return ServerBusyError(description:
                "Server busy: \(configuration.workerCount) executions are running and "
                + "\(configuration.maximumQueued) are waiting, the most allowed "
                + "(--max-concurrent-executions, --max-queued-executions). Retry shortly.")
        case .namespaceFull(let limit):
            return ServerBusyError(description:
                "Too many executions: \(limit) of yours are queued or running, the most one caller may have "
                + "(--max-executions-per-subject \(limit)). Wait for one to finish or cancel one, then retry.")
        }
    }

    /// Cancels a queued or running execution. An id issued but not queued yet is remembered, so the
    /// run submitted under it ends as cancelled at once (a cancel can overtake its run); the id of a
    /// run that already ended is ignored.
    public func cancel(jobID: UInt64) {
        lock.lock()
        guard let job = jobs[jobID] else {
            if issuedNotQueued.contains(jobID) { cancelledBeforeQueued.insert(jobID) }
            lock.unlock()
            return
        }
        let outcome = RunOutcome(status: .cancelled, error: cancelledMessage)
        if job.slot == nil {
            queue.removeAll { $0 === job }
            jobs[jobID] = nil
            lock.unlock()
            job.continuation.resume(returning: outcome)
            return
        }
        job.killOutcome = outcome
        job.killAt = min(job.killAt, Date().addingTimeInterval(Self.overrunGrace))
        let process = job.slot.flatMap { slots[$0].process }
        lock.unlock()
        process?.send(.cancel(jobID: jobID))
    }

    private func enqueue(_ job: Job, reserved: Bool) {
        lock.lock()
        let jobID = job.request.jobID
        issuedNotQueued.remove(jobID)
        if reserved {
            reservedPlaces[job.namespace, default: 0] -= 1
            if reservedPlaces[job.namespace] == 0 { reservedPlaces[job.namespace] = nil }
        }
        if cancelledBeforeQueued.remove(jobID) != nil || stopped {
            lock.unlock()
            job.continuation.resume(returning: RunOutcome(status: .cancelled, error: cancelledMessage))
            return
        }
        if !reserved, let busy = busyErrorLocked(namespace: job.namespace) {
            lock.unlock()
            ExecutionMetrics.refusedBusy()
            job.continuation.resume(throwing: busy)
            return
        }
        jobs[jobID] = job
        queue.append(job)
        let dispatches = dispatchLocked()
        lock.unlock()
        send(dispatches)
    }

    /// Pairs queued jobs with idle workers; the caller sends the requests after unlocking.
    private func dispatchLocked() -> [(WorkerProcess, RunJob)] {
        var dispatches: [(WorkerProcess, RunJob)] = []
        for index in slots.indices where !queue.isEmpty {
            guard case .idle = slots[index].state, let process = slots[index].process,
                  let next = fairDispatch.next(queue: queue.map(\.namespace), running: runningPerNamespaceLocked())
            else { continue }
            let job = queue.remove(at: next)
            job.slot = index
            job.killAt = Date().addingTimeInterval(job.timeout + Self.overrunGrace)
            job.killOutcome = timedOutOutcome(seconds: Int(job.timeout))
            slots[index].state = .busy(jobID: job.request.jobID)
            dispatches.append((process, job.request))
        }
        if !dispatches.isEmpty { fairDispatch.keep(only: Set(jobs.values.map(\.namespace))) }
        return dispatches
    }

    /// How many runs each namespace has on workers now.
    private func runningPerNamespaceLocked() -> [Namespace: Int] {
        var running: [Namespace: Int] = [:]
        for slot in slots {
            guard case .busy(let jobID) = slot.state, let job = jobs[jobID] else { continue }
            running[job.namespace, default: 0] += 1
        }
        return running
    }

    private func send(_ dispatches: [(WorkerProcess, RunJob)]) {
        // A failed send means the worker is dying; its exit handler settles the job.
        for (process, job) in dispatches { process.send(.run(job)) }
    }

    private func spawnLocked(_ index: Int) {
        slots[index].generation += 1
        let generation = slots[index].generation
        do {
            slots[index].process = try WorkerProcess(
                executable: configuration.executablePath,
                arguments: ["--worker", "--heap-memory-max", String(configuration.defaultHeapLimitMB),
                            "--worker-memory-max", String(configuration.workerMemoryLimitMB),
                            "--max-heap-bytes", String(configuration.maximumHeapBytes)],
                configuration: configuration.capabilities,
                onEvent: { [weak self] event in self?.handle(event, slot: index, generation: generation) },
                onExit: { [weak self] how in self?.handleExit(slot: index, generation: generation, how: how) })
            slots[index].state = .starting(since: Date())
        } catch {
            logger.error("worker \(index): \(error)")
            slots[index].process = nil
            slots[index].state = .down(restartAt: Date().addingTimeInterval(Self.restartPause))
        }
    }

    private func handle(_ event: WorkerEvent, slot index: Int, generation: Int) {
        switch event {
        case .ready:
            lock.lock()
            guard slots[index].generation == generation else { return lock.unlock() }
            slots[index].state = .idle
            let dispatches = dispatchLocked()
            lock.unlock()
            send(dispatches)
        case .started(let jobID):
            lock.lock()
            let job = jobs[jobID]
            job?.started = true
            lock.unlock()
            job?.onStarted()
        case .output(let jobID, let lines):
            lock.lock()
            let job = jobs[jobID]
            lock.unlock()
            job?.onOutput(lines)
        case .finished(let jobID, let outcome):
            lock.lock()
            let job = jobs.removeValue(forKey: jobID)
            if slots[index].generation == generation { slots[index].state = .idle }
            let dispatches = dispatchLocked()
            lock.unlock()
            send(dispatches)
            job?.continuation.resume(returning: outcome)
        case .dying(let jobID, let outcome):
            // The job fails with this reason when the worker's exit is seen, and the slot
            // takes no new job meanwhile.
            lock.lock()
            if let job = jobs[jobID] {
                job.killed = true
                job.killOutcome = outcome
            }
            lock.unlock()
        }
    }

    private func handleExit(slot index: Int, generation: Int, how: String) {
        let orphans = cv8_kill_processes_of_runs()
        if orphans > 0 { logger.warning("killed \(orphans) processes the dead worker's run had started") }
        lock.lock()
        guard slots[index].generation == generation, !stopped else { return lock.unlock() }
        var failed: (Job, RunOutcome)?
        var diedBeforeReady = false
        switch slots[index].state {
        case .busy(let jobID):
            guard let job = jobs[jobID] else { break }
            if !job.started && job.killOutcome?.status != .cancelled {
                // It died before it took the job (a request can even land in its pipe as it
                // goes): the job never ran, so another worker runs it.
                job.slot = nil
                queue.insert(job, at: 0)
            } else {
                jobs.removeValue(forKey: jobID)
                // V8's own fatal errors arrive first as a `dying` event with their reason; this
                // is what is left: a signal or an exit nobody announced.
                let crashed = RunOutcome(status: .crashed, error:
                    "The worker process running this code \(how) without reporting why. The server "
                    + "replaced the worker and keeps serving.")
                failed = (job, job.killed ? job.killOutcome ?? crashed : crashed)
            }
        case .starting:
            diedBeforeReady = true
        case .idle, .down:
            break
        }
        workerRestarts += 1
        ExecutionMetrics.workerReplaced()
        slots[index].process = nil
        if diedBeforeReady {
            logger.error("worker process \(how) before it was ready; retrying in \(Self.restartPause)s")
            slots[index].state = .down(restartAt: Date().addingTimeInterval(Self.restartPause))
        } else {
            logger.warning("worker process \(how); starting a replacement")
            spawnLocked(index)
        }
        let dispatches = dispatchLocked()
        lock.unlock()
        send(dispatches)
        if let (job, outcome) = failed { job.continuation.resume(returning: outcome) }
    }

    /// Runs every `sweepInterval`: expires queued jobs, kills overrunning workers, restarts
    /// workers that are down.
    private func sweep() {
        let now = Date()
        lock.lock()
        guard !stopped else { return lock.unlock() }
        var expired: [Job] = []
        queue.removeAll { job in
            guard now.timeIntervalSince(job.queuedAt) > job.timeout else { return false }
            jobs[job.request.jobID] = nil
            expired.append(job)
            return true
        }
        var overrunning: [WorkerProcess] = []
        for job in jobs.values where !job.killed && job.killAt <= now {
            guard let slot = job.slot, let process = slots[slot].process else { continue }
            job.killed = true
            overrunning.append(process)
        }
        for index in slots.indices {
            if case .down(let restartAt) = slots[index].state, restartAt <= now { spawnLocked(index) }
        }
        lock.unlock()
        for job in expired {
            job.continuation.resume(returning: RunOutcome(status: .timedOut, error:
                "Execution timed out after waiting \(Int(job.timeout))s for a free worker: the server is "
                + "saturated (--max-concurrent-executions \(configuration.workerCount))."))
        }
        for process in overrunning {
            logger.warning("killing worker \(process.pid): its run outlived its deadline")
            process.kill()
        }
    }
}

func timedOutOutcome(seconds: Int) -> RunOutcome {
    RunOutcome(status: .timedOut, error:
        "Execution timed out after \(seconds)s (raise execution_timeout_secs or --execution-timeout, 1-300).")
}
