import CV8
import Foundation
import Logging
import ServiceLifecycle

public struct WorkerPoolConfiguration: Sendable {
    /// Worker processes, each running one execution at a time.
    public var workerCount: Int
    /// Executions allowed to wait for a worker; beyond this, `run` fails at once as busy.
    public var maximumQueued: Int
    /// Executions one token subject may have queued or running; nil: no per-subject cap.
    public var maximumPerSubject: Int?
    /// With tenants, every tenant by name with its bounds (nil fields where it sets none); empty
    /// without tenants. `WorkerPool.updateTenantLimits` replaces it on a reload.
    public var tenantLimits: [String: TenantQueueLimits]
    /// The heap limit each worker keeps an isolate ready for.
    public var defaultHeapLimitMB: Int
    /// Each worker's memory limit (`--worker-memory-max`).
    public var workerMemoryLimitMB: Int
    /// The largest sealed heap a stateful run may leave; the worker fails a run over it.
    public var maximumHeapBytes: Int
    /// This binary, started again in the worker role.
    public var executablePath: String
    /// The capability sets every worker serves, at start (`WorkerPool.reconfigure` changes them).
    public var capabilities: WorkerCapabilities
    /// After a graceful shutdown begins, how long runs queued or running may go on before they are
    /// cancelled (`--shutdown-timeout`).
    public var shutdownGrace: Duration

    public init(workerCount: Int, maximumQueued: Int, maximumPerSubject: Int? = nil,
                tenantLimits: [String: TenantQueueLimits] = [:], defaultHeapLimitMB: Int,
                workerMemoryLimitMB: Int = 1024, maximumHeapBytes: Int = ExecutionLimits.defaultHeapBytes,
                executablePath: String,
                capabilities: WorkerCapabilities = WorkerCapabilities(), shutdownGrace: Duration = .seconds(10)) {
        self.workerCount = workerCount
        self.maximumQueued = maximumQueued
        self.maximumPerSubject = maximumPerSubject
        self.tenantLimits = tenantLimits
        self.defaultHeapLimitMB = defaultHeapLimitMB
        self.workerMemoryLimitMB = workerMemoryLimitMB
        self.maximumHeapBytes = maximumHeapBytes
        self.executablePath = executablePath
        self.capabilities = capabilities
        self.shutdownGrace = shutdownGrace
    }
}

/// What a caller asks the pool to run.
public struct RunRequest: Sendable {
    public var code: String
    public var heapLimitMB: Int
    public var timeoutSeconds: Int
    public var outputLimitBytes: Int
    /// Set for a stateful run; its outcome then carries the new heap when it completes.
    public var checkpoint: CheckpointInput?
    /// The caller's namespace, whose share of the pool the run takes; its tenant and subject are
    /// the `caller` of the run's policy inputs.
    public var namespace: Namespace
    /// The capability set the run has: its tenant's unless named; a name the workers do not have
    /// fails the run.
    public var capabilitySet: String

    public init(code: String, heapLimitMB: Int, timeoutSeconds: Int, outputLimitBytes: Int,
                checkpoint: CheckpointInput? = nil, namespace: Namespace = .default, capabilitySet: String? = nil) {
        self.code = code
        self.heapLimitMB = heapLimitMB
        self.timeoutSeconds = timeoutSeconds
        self.outputLimitBytes = outputLimitBytes
        self.checkpoint = checkpoint
        self.namespace = namespace
        self.capabilitySet = capabilitySet ?? namespace.tenant
    }
}

/// Supervises the worker processes: a thin shell around `WorkerScheduler`, which makes every
/// decision (queueing, which worker takes which run, requeues, kills, restarts). The shell owns the
/// lock, the processes and their pipes, and the callers waiting for their runs; it feeds the
/// scheduler what happens and carries out what it answers. As a swift-service-lifecycle `Service`
/// it drains on a graceful shutdown.
public final class WorkerPool: Service, @unchecked Sendable {
    static let sweepInterval: DispatchTimeInterval = .milliseconds(50)

    /// A run's caller, waiting for its outcome.
    private struct Caller {
        let request: RunJob
        /// The run's tenant, for its metrics ("" without tenants).
        let tenant: String
        let onStarted: @Sendable () -> Void
        let onOutput: @Sendable ([OutputLine]) -> Void
        let continuation: CheckedContinuation<RunOutcome, Error>
    }

    public let configuration: WorkerPoolConfiguration
    private let logger: Logger
    private let lock = NSLock()
    private var scheduler: WorkerScheduler
    private var callers: [UInt64: Caller] = [:]
    /// What workers started from now on load: `configuration.capabilities` until a `reconfigure`.
    private var capabilities: WorkerCapabilities
    /// Each slot's worker process, while it has one.
    private var processes: [WorkerProcess?]
    private var sweeper: DispatchSourceTimer?

    public init(configuration: WorkerPoolConfiguration, logger: Logger) {
        self.configuration = configuration
        scheduler = WorkerScheduler(configuration: .init(
            workerCount: configuration.workerCount,
            admission: ExecutionAdmission(maximumQueued: configuration.maximumQueued,
                                          perSubject: configuration.maximumPerSubject,
                                          tenants: configuration.tenantLimits)))
        self.logger = logger
        capabilities = configuration.capabilities
        processes = Array(repeating: nil, count: configuration.workerCount)
    }

    /// New capability sets (a reload): runs from now on go to workers that serve them; a run in
    /// flight finishes under the sets its worker was started with, and that worker is replaced then.
    public func reconfigure(sets: [String: CapabilityConfiguration]) {
        lock.lock()
        capabilities.sets = sets
        perform(scheduler.reconfigure())
    }

    /// The scheduler's clock: monotonic seconds.
    private static var now: TimeInterval { TimeInterval(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Starts the workers; they get ready in the background (tens of milliseconds).
    public func start() {
        // A worker that dies leaves the processes its run detached to the server, not to PID 1:
        // handleExit kills them.
        _ = cv8_become_subreaper()
        lock.lock()
        perform(scheduler.tick(now: Self.now))
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mcp-v8.pool.sweeper"))
        timer.schedule(deadline: .now() + Self.sweepInterval, repeating: Self.sweepInterval)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        sweeper = timer
    }

    /// Lives until a graceful shutdown begins, then takes no new runs, gives the runs queued or
    /// running `configuration.shutdownGrace` to end, and stops every worker (runs still going end as
    /// cancelled). Cancelled instead, it stops at once.
    public func run() async throws {
        if (try? await gracefulShutdown()) != nil {
            locked { scheduler.beginDraining() }
            let deadline = ContinuousClock.now + configuration.shutdownGrace
            while pendingJobs > 0, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if pendingJobs > 0 { logger.info("shutting down: \(pendingJobs) executions still running are cancelled") }
        }
        shutdown()
    }

    /// Stops every worker; executions still queued or running end as cancelled.
    public func shutdown() {
        lock.lock()
        sweeper?.cancel()
        perform(scheduler.shutdown())
    }

    /// The number of times a worker died and was replaced.
    public var restarts: Int { locked { scheduler.restarts } }

    /// A job id to pass to `run` and, from elsewhere, to `cancel`.
    public func makeJobID() -> UInt64 { locked { scheduler.issueJobID() } }

    /// Job ids the pool keeps outside its jobs (issued but not queued, or cancelled before queued).
    var rememberedJobIDs: Int { locked { scheduler.rememberedJobIDs } }

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
                         outputLimitBytes: request.outputLimitBytes, checkpoint: request.checkpoint,
                         capabilitySet: request.capabilitySet, caller: RunCaller(request.namespace))
        let started = ContinuousClock.now
        let outcome = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                callers[jobID] = Caller(request: job, tenant: request.namespace.tenant, onStarted: onStarted,
                                        onOutput: onOutput, continuation: continuation)
                perform(scheduler.enqueue(jobID, namespace: request.namespace,
                                          timeout: TimeInterval(request.timeoutSeconds), reserved: reserved,
                                          now: Self.now))
            }
        } onCancel: {
            cancel(jobID: jobID)
        }
        ExecutionMetrics.finished(outcome.status, after: ContinuousClock.now - started, tenant: request.namespace.tenant)
        ExecutionMetrics.policyDecisions(outcome.policyDecisions, tenant: request.namespace.tenant)
        return outcome
    }

    /// Holds a place in the queue for a run of `namespace` the caller will submit with
    /// `run(reserved: true)`, or throws `ServerBusyError` now: for callers that answer before
    /// they submit the run.
    public func reserve(namespace: Namespace) throws(ServerBusyError) {
        if let refusal = locked({ scheduler.reserve(namespace: namespace) }) {
            ExecutionMetrics.refusedBusy(tenant: namespace.tenant)
            throw refusal
        }
    }

    /// Whether the pool still takes new runs (no shutdown has begun).
    var isServing: Bool { locked { scheduler.phase == .serving } }

    /// Runs queued or running.
    public var pendingJobs: Int { locked { scheduler.jobs.count } }

    /// Runs waiting for a free worker, by tenant ("" without tenants).
    public var queueDepthPerTenant: [String: Int] { locked { scheduler.queuedPerTenant } }

    /// Gives the tenants new bounds (a reload of the tenants file): runs queued or running keep their
    /// place, new runs meet the new bounds.
    public func updateTenantLimits(_ tenants: [String: TenantQueueLimits]) {
        lock.lock()
        perform(scheduler.updateTenantLimits(tenants, now: Self.now))
    }

    /// Workers running a job now.
    public var busyWorkers: Int { locked { scheduler.busyWorkers } }

    /// Cancels a queued or running execution. An id issued but not queued yet is remembered, so the
    /// run submitted under it ends as cancelled at once (a cancel can overtake its run); the id of a
    /// run that already ended is ignored.
    public func cancel(jobID: UInt64) {
        lock.lock()
        perform(scheduler.cancel(jobID, now: Self.now))
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Carries out the scheduler's `actions`. Called with the lock held, it releases it: processes
    /// are started and looked up under the lock, written to, killed and callers resumed after it.
    /// A run's log lines name its tenant, when there are tenants ("" is none).
    private static func tenantMetadata(_ tenant: String) -> Logger.Metadata? {
        tenant.isEmpty ? nil : ["tenant": .string(tenant)]
    }

    private func perform(_ actions: [WorkerScheduler.Action]) {
        var effects: [() -> Void] = []
        for action in actions {
            switch action {
            case .spawn(let slot, let generation):
                spawnLocked(slot, generation: generation)
            case .send(let message, let slot):
                guard let process = processes[slot] else { continue }
                let request: WorkerRequest
                switch message {
                case .run(let id):
                    guard let caller = callers[id] else { continue }
                    request = .run(caller.request)
                case .cancel(let id):
                    request = .cancel(jobID: id)
                }
                // A failed send means the worker is dying; its exit settles the job.
                effects.append { process.send(request) }
            case .kill(let slot):
                guard let process = processes[slot] else { continue }
                let logger = self.logger
                let tenant = scheduler.tenant(ofRunOn: slot) ?? ""
                effects.append {
                    logger.warning("killing worker \(process.pid): its run outlived its deadline",
                                   metadata: Self.tenantMetadata(tenant))
                    process.kill()
                }
            case .close(let slot):
                guard let process = processes[slot] else { continue }
                effects.append { process.close() }
            case .started(let id):
                guard let caller = callers[id] else { continue }
                let logger = self.logger
                effects.append {
                    logger.debug("execution \(id) started", metadata: Self.tenantMetadata(caller.tenant))
                    caller.onStarted()
                }
            case .resume(let id, let outcome):
                guard let caller = callers.removeValue(forKey: id) else { continue }
                let logger = self.logger
                effects.append {
                    logger.debug("execution \(id) ended: \(outcome.status)\(outcome.error.map { " (\($0.prefix(200)))" } ?? "")",
                                 metadata: Self.tenantMetadata(caller.tenant))
                    caller.continuation.resume(returning: outcome)
                }
            case .fail(let id, let error):
                guard let caller = callers.removeValue(forKey: id) else { continue }
                effects.append {
                    ExecutionMetrics.refusedBusy(tenant: caller.tenant)
                    caller.continuation.resume(throwing: error)
                }
            case .replaced(let slot, let how, let retryIn):
                processes[slot] = nil
                let logger = self.logger
                effects.append {
                    ExecutionMetrics.workerReplaced()
                    if let retryIn {
                        logger.error("worker process \(how) before it was ready; retrying in \(retryIn)s")
                    } else {
                        logger.warning("worker process \(how); starting a replacement")
                    }
                }
            }
        }
        lock.unlock()
        for effect in effects { effect() }
    }

    private func spawnLocked(_ slot: Int, generation: Int) {
        do {
            processes[slot] = try WorkerProcess(
                executable: configuration.executablePath,
                arguments: ["--worker", "--heap-memory-max", String(configuration.defaultHeapLimitMB),
                            "--worker-memory-max", String(configuration.workerMemoryLimitMB),
                            "--max-heap-bytes", String(configuration.maximumHeapBytes)],
                configuration: capabilities,
                onEvent: { [weak self] event in self?.handle(event, slot: slot, generation: generation) },
                onExit: { [weak self] how in self?.handleExit(slot: slot, generation: generation, how: how) })
        } catch {
            logger.error("worker \(slot): \(error)")
            processes[slot] = nil
            scheduler.spawnFailed(slot: slot, generation: generation, now: Self.now)
        }
    }

    private func handle(_ event: WorkerEvent, slot: Int, generation: Int) {
        lock.lock()
        switch event {
        case .ready:
            perform(scheduler.workerReady(slot: slot, generation: generation, now: Self.now))
        case .started(let jobID):
            perform(scheduler.workerStarted(slot: slot, generation: generation, job: jobID))
        case .output(let jobID, let lines):
            let caller = callers[jobID]
            lock.unlock()
            caller?.onOutput(lines)
        case .finished(let jobID, let outcome):
            perform(scheduler.workerFinished(slot: slot, generation: generation, job: jobID, outcome: outcome,
                                             now: Self.now))
        case .dying(let jobID, let outcome):
            perform(scheduler.workerDying(slot: slot, generation: generation, job: jobID, outcome: outcome))
        }
    }

    private func handleExit(slot: Int, generation: Int, how: String) {
        let orphans = cv8_kill_processes_of_runs()
        if orphans > 0 { logger.warning("killed \(orphans) processes the dead worker's run had started") }
        lock.lock()
        perform(scheduler.workerExited(slot: slot, generation: generation, how: how, now: Self.now))
    }

    /// Every `sweepInterval`: what the clock decides (see `WorkerScheduler.tick`).
    private func tick() {
        lock.lock()
        perform(scheduler.tick(now: Self.now))
    }
}
