import Foundation

/// The worker pool's decisions as a state machine, in the manner of async-http-client's
/// `HTTPConnectionPool.StateMachine`: the pool (the shell) feeds it events (a run submitted, a worker
/// ready, a worker gone, a tick of the clock) and carries out the actions it returns (write to a
/// worker, start or kill one, resume a caller). No locks, no I/O, no clock: time comes in as `now`,
/// seconds on the shell's monotonic clock, so tests replay any interleaving exactly.
///
/// A slot is a worker's place; each process started for it gets a new generation, and events of a
/// process already replaced are ignored. A job ends exactly once, with `resume` or `fail`.
struct WorkerScheduler {
    typealias JobID = UInt64

    struct Configuration: Sendable {
        var workerCount: Int
        var admission: ExecutionAdmission
        /// How long past its deadline a running job's worker is killed (the in-worker watchdog should
        /// have stopped the run; this is the backstop).
        var overrunGrace: TimeInterval = 2
        /// A worker that dies before it is ready is restarted after this pause, not in a tight loop.
        var restartPause: TimeInterval = 1
    }

    enum Message: Equatable, Sendable {
        case run(JobID)
        case cancel(JobID)
    }

    enum Action: Equatable, Sendable {
        /// Start a worker process in `slot`; its events carry `generation`.
        case spawn(slot: Int, generation: Int)
        /// Write `message` to the worker in `slot`.
        case send(Message, slot: Int)
        /// Kill the worker in `slot`: its run outlived its deadline by `overrunGrace`.
        case kill(slot: Int)
        /// Close the request pipe of the worker in `slot`, which tells it to exit.
        case close(slot: Int)
        /// The job's worker took it: tell its caller.
        case started(JobID)
        /// End the job with this outcome.
        case resume(JobID, RunOutcome)
        /// Refuse the job: its caller gets this error.
        case fail(JobID, ServerBusyError)
        /// The worker in `slot` ended (`how`) and was replaced, or will be in `retryIn` seconds.
        case replaced(slot: Int, how: String, retryIn: TimeInterval?)
    }

    enum SlotState: Equatable, Sendable {
        case starting
        case idle
        case busy(JobID)
        /// No process; one is started at the first tick at or after `restartAt`.
        case down(restartAt: TimeInterval)
    }

    struct Slot: Sendable {
        var generation = 0
        var state = SlotState.down(restartAt: -.infinity)
        /// The `workerConfiguration` its process was started with.
        var workerConfiguration = 0
    }

    struct Job: Sendable {
        let namespace: Namespace
        let timeout: TimeInterval
        let queuedAt: TimeInterval
        var slot: Int?
        /// Once running: when the worker is killed if the run has not ended by itself.
        var killAt = TimeInterval.infinity
        /// The outcome reported if its worker is killed (rather than "crashed").
        var killOutcome: RunOutcome?
        var killed = false
        /// The worker said it took the job; until then a dying worker never ran it.
        var started = false
    }

    enum Phase: Equatable, Sendable {
        case serving
        /// Takes no new runs (except those promised a place), finishes the ones it has.
        case draining
        case stopped
    }

    /// Replaced in part by `updateTenantLimits` (a reload of the tenants file).
    private(set) var configuration: Configuration
    private(set) var slots: [Slot]
    /// Jobs queued or running.
    private(set) var jobs: [JobID: Job] = [:]
    private(set) var queue = ExecutionQueue()
    private(set) var phase = Phase.serving
    /// The number of times a worker died and was replaced.
    private(set) var restarts = 0
    /// Counts `reconfigure`s: workers started before the last one serve no new run.
    private(set) var workerConfiguration = 0
    /// Ids handed out by `issueJobID` whose run is not queued yet: only these can be cancelled ahead of it.
    private var issuedNotQueued: Set<JobID> = []
    private var cancelledBeforeQueued: Set<JobID> = []
    /// Places in the queue promised by `reserve` to runs not submitted yet, by namespace.
    private var reservedPlaces: [Namespace: Int] = [:]
    /// Free workers go to tenants in turn, and within a tenant to its callers in turn.
    private var tenantDispatch = FairDispatch<String>()
    private var callerDispatch = FairDispatch<Namespace>()
    private var nextJobID: JobID = 1

    init(configuration: Configuration) {
        self.configuration = configuration
        slots = Array(repeating: Slot(), count: configuration.workerCount)
    }

    // MARK: Events

    /// A job id for a run not submitted yet (it can be cancelled before it is).
    mutating func issueJobID() -> JobID {
        defer { nextJobID += 1 }
        issuedNotQueued.insert(nextJobID)
        return nextJobID
    }

    /// Promises `namespace` a place for a run submitted later with `reserved: true`, or says why not.
    mutating func reserve(namespace: Namespace) -> ServerBusyError? {
        let namespace = namespace.caller
        if let refusal = refusal(namespace: namespace) { return refusal }
        reservedPlaces[namespace, default: 0] += 1
        return nil
    }

    mutating func enqueue(_ id: JobID, namespace: Namespace, timeout: TimeInterval, reserved: Bool,
                          now: TimeInterval) -> [Action] {
        let namespace = namespace.caller
        issuedNotQueued.remove(id)
        if reserved {
            reservedPlaces[namespace, default: 0] -= 1
            if reservedPlaces[namespace] == 0 { reservedPlaces[namespace] = nil }
        }
        if cancelledBeforeQueued.remove(id) != nil { return [.resume(id, Self.cancelled)] }
        if phase == .stopped { return [.resume(id, Self.shuttingDown)] }
        if !reserved, let refusal = refusal(namespace: namespace) { return [.fail(id, refusal)] }
        jobs[id] = Job(namespace: namespace, timeout: timeout, queuedAt: now)
        queue.append(id, namespace: namespace)
        return dispatch(now: now)
    }

    mutating func workerReady(slot: Int, generation: Int, now: TimeInterval) -> [Action] {
        guard phase != .stopped, slots[slot].generation == generation, slots[slot].state == .starting else { return [] }
        slots[slot].state = .idle
        return dispatch(now: now)
    }

    mutating func workerStarted(slot: Int, generation: Int, job id: JobID) -> [Action] {
        guard isCurrent(slot, generation, running: id), jobs[id]?.started == false else { return [] }
        jobs[id]?.started = true
        return [.started(id)]
    }

    /// The worker announced it is about to die running `id` (V8's fatal error): the job ends with
    /// `outcome` when its exit is seen.
    mutating func workerDying(slot: Int, generation: Int, job id: JobID, outcome: RunOutcome) -> [Action] {
        guard isCurrent(slot, generation, running: id) else { return [] }
        jobs[id]?.killed = true
        jobs[id]?.killOutcome = outcome
        return []
    }

    mutating func workerFinished(slot: Int, generation: Int, job id: JobID, outcome: RunOutcome,
                                 now: TimeInterval) -> [Action] {
        guard isCurrent(slot, generation, running: id) else { return [] }
        jobs[id] = nil
        slots[slot].state = .idle
        // A worker of an older configuration finished its last run: it is replaced, not reused.
        let replacement = slots[slot].workerConfiguration == workerConfiguration ? [] : replaceIdle(slot)
        return [.resume(id, outcome)] + replacement + dispatch(now: now)
    }

    /// The workers' configuration changed (a reload of the capability sets): idle and starting
    /// workers are replaced now, busy ones once their run ends (it finishes under the configuration
    /// it started with). Only workers started since take runs.
    mutating func reconfigure() -> [Action] {
        guard phase != .stopped else { return [] }
        workerConfiguration += 1
        var actions: [Action] = []
        for index in slots.indices {
            switch slots[index].state {
            case .idle, .starting: actions += replaceIdle(index)
            case .busy, .down: break  // a down slot's next process gets the new configuration
            }
        }
        return actions
    }

    /// The worker in `slot` ended (`how`, e.g. "was killed by signal 9"). A job it had not taken yet
    /// goes back to the front of the queue; one it had taken fails.
    mutating func workerExited(slot: Int, generation: Int, how: String, now: TimeInterval) -> [Action] {
        // A slot that is down has no process (its last one's exit was seen already).
        guard phase != .stopped, slots[slot].generation == generation else { return [] }
        if case .down = slots[slot].state { return [] }
        var actions: [Action] = []
        var diedBeforeReady = false
        switch slots[slot].state {
        case .busy(let id):
            guard var job = jobs[id] else { break }
            if !job.started && job.killOutcome?.status != .cancelled {
                // It died before it took the job (a request can even land in its pipe as it goes):
                // the job never ran, so another worker runs it.
                job.slot = nil
                jobs[id] = job
                queue.pushFront(id, namespace: job.namespace)
            } else {
                jobs[id] = nil
                // V8's own fatal errors arrive first as `workerDying` with their reason; this is what
                // is left: a signal or an exit nobody announced.
                let crashed = RunOutcome(status: .crashed, error:
                    "The worker process running this code \(how) without reporting why. The server "
                    + "replaced the worker and keeps serving.")
                actions.append(.resume(id, job.killed ? job.killOutcome ?? crashed : crashed))
            }
        case .starting:
            diedBeforeReady = true
        case .idle, .down:
            break
        }
        restarts += 1
        if diedBeforeReady {
            slots[slot].state = .down(restartAt: now + configuration.restartPause)
            actions.append(.replaced(slot: slot, how: how, retryIn: configuration.restartPause))
        } else {
            actions.append(.replaced(slot: slot, how: how, retryIn: nil))
            actions.append(spawn(slot))
        }
        return actions + dispatch(now: now)
    }

    /// The shell could not start the process of `spawn(slot:generation:)`.
    mutating func spawnFailed(slot: Int, generation: Int, now: TimeInterval) {
        guard slots[slot].generation == generation, slots[slot].state == .starting else { return }
        slots[slot].state = .down(restartAt: now + configuration.restartPause)
    }

    /// Cancels a queued or running job. An id issued but not queued yet is remembered, so the run
    /// submitted under it ends as cancelled at once (a cancel can overtake its run); the id of a run
    /// that already ended is forgotten.
    mutating func cancel(_ id: JobID, now: TimeInterval) -> [Action] {
        guard var job = jobs[id] else {
            if issuedNotQueued.contains(id) { cancelledBeforeQueued.insert(id) }
            return []
        }
        guard let slot = job.slot else {
            _ = queue.remove(id, namespace: job.namespace)
            jobs[id] = nil
            return [.resume(id, Self.cancelled)]
        }
        // Running: the worker stops it and reports; if it does not, the backstop kills the worker.
        job.killOutcome = Self.cancelled
        job.killAt = min(job.killAt, now + configuration.overrunGrace)
        jobs[id] = job
        return [.send(.cancel(id), slot: slot)]
    }

    /// What the clock decides: queued jobs past their timeout end, workers whose run overran are
    /// killed, slots that are down get a new worker.
    mutating func tick(now: TimeInterval) -> [Action] {
        guard phase != .stopped else { return [] }
        var actions: [Action] = []
        let expired = queue.removeAll { id in jobs[id].map { now - $0.queuedAt > $0.timeout } ?? false }
        for id in expired {
            guard let job = jobs.removeValue(forKey: id) else { continue }
            actions.append(.resume(id, RunOutcome(status: .timedOut, error: LimitMessage.timedOutWaiting(
                seconds: Int(job.timeout), workers: configuration.workerCount))))
        }
        for (id, job) in jobs where !job.killed && job.killAt <= now {
            guard let slot = job.slot else { continue }
            jobs[id]?.killed = true
            actions.append(.kill(slot: slot))
        }
        for index in slots.indices {
            if case .down(let restartAt) = slots[index].state, restartAt <= now { actions.append(spawn(index)) }
        }
        return actions
    }

    /// Gives the tenants new bounds (a reload of the tenants file). Runs admitted already keep their
    /// place; new runs meet the new bounds, and a raised cap lets waiting runs take free workers now.
    mutating func updateTenantLimits(_ tenants: [String: TenantQueueLimits], now: TimeInterval) -> [Action] {
        configuration.admission.tenants = tenants
        return dispatch(now: now)
    }

    /// Takes no new runs from now on, except those promised a place; queued and running ones go on.
    mutating func beginDraining() {
        if phase == .serving { phase = .draining }
    }

    /// Stops: every job still queued or running ends as cancelled, busy workers are killed, the
    /// others told to exit. Later events are ignored; later runs end as cancelled.
    mutating func shutdown() -> [Action] {
        guard phase != .stopped else { return [] }
        phase = .stopped
        var actions: [Action] = []
        // Closed, not killed, even mid-run: a worker exits at the end of its pipe and first kills the
        // processes its runs started. Killed, it would leave them to a host that is about to exit.
        for index in slots.indices {
            switch slots[index].state {
            case .busy, .idle, .starting: actions.append(.close(slot: index))
            case .down: break
            }
            slots[index].state = .down(restartAt: .infinity)
        }
        actions += jobs.keys.sorted().map { .resume($0, Self.shuttingDown) }
        jobs.removeAll()
        queue = ExecutionQueue()
        return actions
    }

    // MARK: Reading

    var busyWorkers: Int { slots.count { if case .busy = $0.state { true } else { false } } }

    /// Runs waiting for a worker, by tenant: every tenant with bounds of its own is listed (0 when
    /// none of its runs waits), and the implicit tenant "" of a server without tenants.
    var queuedPerTenant: [String: Int] {
        var queued = configuration.admission.tenants.isEmpty ? ["": 0] : configuration.admission.tenants.mapValues { _ in 0 }
        for namespace in queue.namespaces { queued[namespace.tenant, default: 0] += queue.count(of: namespace) }
        return queued
    }

    /// The tenant of the run on the worker in `slot`, if it runs one.
    func tenant(ofRunOn slot: Int) -> String? {
        guard case .busy(let id) = slots[slot].state else { return nil }
        return jobs[id]?.namespace.tenant
    }

    /// Job ids kept outside `jobs` (issued but not queued, or cancelled before queued).
    var rememberedJobIDs: Int { issuedNotQueued.count + cancelledBeforeQueued.count }

    // MARK: Inside

    static let cancelled = RunOutcome(status: .cancelled, error: cancelledMessage)
    static let shuttingDown = RunOutcome(status: .cancelled, error: "The server is shutting down.")

    private func isCurrent(_ slot: Int, _ generation: Int, running id: JobID) -> Bool {
        phase != .stopped && slots[slot].generation == generation && slots[slot].state == .busy(id)
    }

    private mutating func spawn(_ slot: Int) -> Action {
        slots[slot].generation += 1
        slots[slot].state = .starting
        slots[slot].workerConfiguration = workerConfiguration
        return .spawn(slot: slot, generation: slots[slot].generation)
    }

    /// Tells the process of an idle (or starting) slot to exit and starts a new one in its place; the
    /// old one's exit then belongs to a past generation and is ignored.
    private mutating func replaceIdle(_ slot: Int) -> [Action] {
        [.close(slot: slot), spawn(slot)]
    }

    /// Pairs queued jobs with idle workers: a free worker goes to a tenant below its concurrency cap,
    /// in turn, then to one of that tenant's callers, in turn. Workers no tenant may take stay idle.
    private mutating func dispatch(now: TimeInterval) -> [Action] {
        var actions: [Action] = []
        for index in slots.indices where !queue.isEmpty && slots[index].state == .idle {
            let waiting = queue.namespacesByOldestRun
            let running = runningPerNamespace()
            var runningPerTenant: [String: Int] = [:]
            for (namespace, count) in running { runningPerTenant[namespace.tenant, default: 0] += count }
            let admissible = waiting.map(\.tenant).filter { tenant in
                configuration.admission.concurrencyCap(of: tenant).map { runningPerTenant[tenant, default: 0] < $0 } ?? true
            }
            guard let tenantIndex = tenantDispatch.next(queue: admissible, running: runningPerTenant) else { break }
            let callers = waiting.filter { $0.tenant == admissible[tenantIndex] }
            guard let next = callerDispatch.next(queue: callers, running: running),
                  let id = queue.popFirst(of: callers[next]), var job = jobs[id] else { continue }
            job.slot = index
            job.started = false
            job.killed = false
            job.killAt = now + job.timeout + configuration.overrunGrace
            job.killOutcome = timedOutOutcome(seconds: Int(job.timeout))
            jobs[id] = job
            slots[index].state = .busy(id)
            actions.append(.send(.run(id), slot: index))
        }
        // Every job is queued or on a worker: the callers and tenants present come from those, not
        // from every job (thousands, when a client pipelines its calls).
        if !actions.isEmpty {
            let present = Set(queue.namespaces).union(runningPerNamespace().keys)
            callerDispatch.keep(only: present)
            tenantDispatch.keep(only: Set(present.map(\.tenant)))
        }
        return actions
    }

    /// How many runs each namespace has on workers now.
    private func runningPerNamespace() -> [Namespace: Int] {
        var running: [Namespace: Int] = [:]
        for slot in slots {
            guard case .busy(let id) = slot.state, let job = jobs[id] else { continue }
            running[job.namespace, default: 0] += 1
        }
        return running
    }

    /// Why a new run of `namespace` may not join, or nil when it may.
    private func refusal(namespace: Namespace) -> ServerBusyError? {
        guard phase == .serving else {
            return ServerBusyError(description: "The server is shutting down: it takes no new executions.")
        }
        // Workers still starting (or restarting) will take a job each soon: only jobs beyond them
        // count as waiting. Counted from the queue and the workers, not every job (see `dispatch`).
        let tenant = namespace.tenant
        let running = runningPerNamespace()
        let load = ExecutionAdmission.Load(
            waiting: queue.count + reservedPlaces.values.reduce(0, +),
            workersNotBusy: slots.count - busyWorkers,
            namespacePending: queue.count(of: namespace) + running[namespace, default: 0]
                + reservedPlaces[namespace, default: 0],
            tenantWaiting: queue.namespaces.filter { $0.tenant == tenant }.reduce(0) { $0 + queue.count(of: $1) }
                + reservedPlaces.filter { $0.key.tenant == tenant }.values.reduce(0, +),
            tenantRunning: running.filter { $0.key.tenant == tenant }.values.reduce(0, +))
        switch configuration.admission.decide(namespace: namespace, load: load) {
        case .admit:
            return nil
        case .poolFull:
            return ServerBusyError(description:
                "Server busy: \(configuration.workerCount) executions are running and "
                + "\(configuration.admission.maximumQueued) are waiting, the most allowed "
                + "(--max-concurrent-executions, --max-queued-executions). Retry shortly.")
        case .tenantFull(let tenant, let limit):
            return ServerBusyError(description:
                "Server busy for tenant '\(tenant)': \(limit) of its executions are waiting for a worker, the most "
                + "it may queue (max_queued_executions \(limit) in the tenants file). Retry shortly.")
        case .namespaceFull(let limit):
            return ServerBusyError(description:
                "Too many executions: \(limit) of yours are queued or running, the most one caller may have "
                + "(--max-executions-per-subject \(limit)). Wait for one to finish or cancel one, then retry.")
        }
    }
}

public struct ServerBusyError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
}
