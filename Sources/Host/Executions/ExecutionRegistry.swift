import Foundation
import Logging

/// What one stateful `run_js` asks for, validated.
public struct StatefulRunParameters: Sendable {
    public var code: String
    public var heap: HeapID?
    /// The named session to log the run under, if any.
    public var session: String?
    /// Tags to set on the run's new heap.
    public var tags: [String: String]
    public var heapMB: Int?
    public var timeoutSeconds: Int?

    public init(code: String, heap: HeapID? = nil, session: String? = nil, tags: [String: String] = [:],
                heapMB: Int? = nil, timeoutSeconds: Int? = nil) {
        self.code = code
        self.heap = heap
        self.session = session
        self.tags = tags
        self.heapMB = heapMB
        self.timeoutSeconds = timeoutSeconds
    }
}

public struct UnknownHeapError: Error, CustomStringConvertible {
    public let description: String

    init(description: String) { self.description = description }

    init(_ id: HeapID) {
        description = "heap \(id) was not found in the heap store; pass a heap returned by an earlier run_js, "
            + "or omit heap to start from an empty one"
    }
}

/// A point-in-time view of one execution, as the tools report it.
public struct ExecutionSummary: Sendable {
    public var id: String
    public var state: ExecutionLifecycle.State
    public var resultJSON: String?
    public var heap: HeapID?
    public var error: String?
    public var startedAt: Date
    public var completedAt: Date?
    /// The namespace that started it.
    public var owner: Namespace
}

/// The stateful executions of this server: each runs on the worker pool from its input heap,
/// and its new heap goes to the heap store. An execution is recorded in the metadata store when it
/// is accepted, under this node's lease (`ClusterNode`); its output is appended there in small
/// batches while it runs, and its end is committed there, so any node sharing the store (and
/// this one after a restart) reads it. Memory keeps this node's running executions and its most
/// recent finished ones; every other execution is read from the store.
public final class ExecutionRegistry: @unchecked Sendable {
    /// Its mutable fields are guarded by the registry's lock (`flusher` is set before it is shared).
    private final class Record: @unchecked Sendable {
        let id: String
        let jobID: UInt64
        let owner: Namespace
        /// The lease it runs under: the store takes its writes only while this lease owns it.
        let lease: NodeLease
        /// When it was accepted (reported as `started_at`); its deadline counts from here.
        let startedAt = Date()
        let timeoutSeconds: Int
        let output = ExecutionOutput()
        var lifecycle = ExecutionLifecycle()
        /// When a worker took it.
        var runningSince: Date?
        var outcome: RunOutcome?
        var heap: HeapID?
        var completedAt: Date?
        var waiters: [ResumeOnce] = []
        /// Its lease was lost: another node ended it in the store, which answers for it from then on.
        var fenced = false
        /// Writes its output to the store while it runs; `flushedLines` lines are there.
        var flusher: Task<Int, Never>?

        init(id: String, jobID: UInt64, owner: Namespace, lease: NodeLease, timeoutSeconds: Int) {
            self.id = id
            self.jobID = jobID
            self.owner = owner
            self.lease = lease
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public let pool: WorkerPool
    public let store: HeapStore
    public let metadata: any MetadataStore
    /// The server's own defaults, which the tools' schemas state; a run gets its tenant's.
    public let defaults: ExecutionDefaults
    public let cluster: ClusterNode
    private let logger: Logger
    private let lock = NSLock()
    private var records: [String: Record] = [:]
    /// Finished executions still in memory, oldest first; beyond `finishedKeptInMemory` the
    /// oldest is dropped (it stays readable from the database).
    private var finishedInMemory: [String] = []
    static let finishedKeptInMemory = 1000
    /// Runs accepted whose end is not saved yet, and who waits for none to be left (a shutdown).
    private var unsaved = 0
    private var savedWaiters: [ResumeOnce] = []
    /// How often a running execution's new output goes to the store, and the most lines one batch takes.
    static let outputFlushInterval: Duration = .milliseconds(100)
    static let outputBatchLines = 1000
    /// How long `cancel_execution` waits for another node to confirm a cancel before answering that it is pending.
    static let remoteCancelWait: Duration = .seconds(3)

    /// Starts `cluster`'s heartbeats and its listening for other nodes' cancels.
    public init(pool: WorkerPool, store: HeapStore, metadata: any MetadataStore, defaults: ExecutionDefaults,
                cluster: ClusterNode, logger: Logger) {
        self.pool = pool
        self.store = store
        self.metadata = metadata
        self.defaults = defaults
        self.cluster = cluster
        self.logger = logger
        cluster.start(onLeaseLost: { [weak self] in self?.leaseLost($0) },
                      // Every node hears every request; the one that runs the execution carries it out.
                      onCancelRequest: { [weak self] id in _ = self?.cancelLocally(id) })
    }

    /// Starts an execution for `namespace` and returns its id at once. Throws when the server, or
    /// the namespace's share of it, is busy or the input heap is unknown to the namespace or cannot be read; the run itself reports
    /// its failures through the execution.
    /// What the run does not ask for, it gets from its tenant's `defaults`.
    public func start(_ parameters: StatefulRunParameters, in namespace: Namespace,
                      defaults: ExecutionDefaults) async throws -> String {
        var inputHeap: SealedHeap?
        if let id = parameters.heap {
            // Another namespace's heap answers as a missing one, before a byte of it is read. The
            // resume is recorded before the read, so a retention sweep re-checking it keeps the heap.
            guard try await metadata.mayResume(id.hex, in: namespace) else { throw UnknownHeapError(id) }
            try await metadata.recordResume(of: id.hex, at: Date())
            guard let heap = try store.get(id) else { throw UnknownHeapError(id) }
            inputHeap = heap
        }
        try pool.reserve(namespace: namespace)
        let timeoutSeconds = parameters.timeoutSeconds ?? defaults.timeoutSeconds
        let record = Record(id: UUID().uuidString.lowercased(), jobID: pool.makeJobID(), owner: namespace,
                            lease: cluster.lease, timeoutSeconds: timeoutSeconds)
        let request = RunRequest(code: parameters.code, heapLimitMB: parameters.heapMB ?? defaults.heapMB,
                                 timeoutSeconds: timeoutSeconds,
                                 outputLimitBytes: defaults.outputLimitBytes,
                                 checkpoint: CheckpointInput(heap: inputHeap), namespace: namespace)
        do {
            try await metadata.recordStart(
                StoredExecution(id: record.id, status: record.lifecycle.state.storedName, startedAt: record.startedAt,
                                owner: namespace, node: record.lease.node),
                lease: record.lease)
        } catch {
            // Give the reserved place back: a run submitted under a job id cancelled before it is ends at once.
            pool.cancel(jobID: record.jobID)
            Task { [pool] in _ = try? await pool.run(request, jobID: record.jobID, reserved: true, onOutput: { _ in }) }
            throw error
        }
        record.flusher = Task { [self] in await flushOutput(of: record) }
        lock.withLock {
            records[record.id] = record
            unsaved += 1
        }

        Task { [self] in
            var outcome: RunOutcome
            do {
                outcome = try await pool.run(request, jobID: record.jobID, reserved: true,
                                             onStarted: { [self, id = record.id] in started(id) }, onOutput: record.output.append)
            } catch {
                outcome = RunOutcome(status: .error, error: "\(error)")
            }
            let ending = finalState(of: record, reporting: outcome.status)
            // A run that ends other than completed (a cancel that won the race included) stores nothing.
            if ending != .completed { outcome.newHeap = nil }
            if ending == .timedOut, outcome.status != .timedOut {
                // The host stopped it at its deadline, which the worker or the queue reports as a cancel.
                outcome.status = .timedOut
                outcome.error = deadlineMessage(for: record)
            }
            var newHeap: HeapID?
            if let heap = outcome.newHeap {
                do {
                    try store.put(heap)
                    newHeap = heap.id
                } catch {
                    outcome = RunOutcome(status: .internalError, error: "the new heap could not be stored: \(error)")
                }
            }
            do {
                if let newHeap {
                    try await metadata.recordOwner(namespace, of: newHeap.hex)
                    if !parameters.tags.isEmpty {
                        try await metadata.setTags(parameters.tags, on: newHeap.hex, in: namespace)
                    }
                }
                if let session = parameters.session {
                    try await metadata.append(session: session, in: namespace, inputHeap: parameters.heap?.hex,
                                        outputHeap: newHeap?.hex, code: parameters.code)
                }
            } catch {
                outcome = RunOutcome(status: .internalError, error: "the run's heap owner, session log or tags "
                    + "could not be written: \(error)")
                newHeap = nil
            }
            record.output.finish(outcome, outputLimitBytes: request.outputLimitBytes)
            await finish(record, outcome: outcome, heap: newHeap)
            let waiters = lock.withLock { () -> [ResumeOnce] in
                unsaved -= 1
                guard unsaved == 0 else { return [] }
                defer { savedWaiters = [] }
                return savedWaiters
            }
            waiters.forEach { $0.resume() }
        }
        // The wall-clock limit of a stateful execution counts from its acceptance, waiting for a
        // free worker included, so it ends within its limit (plus the stop's grace) of `run_js`:
        // the lifecycle decides what the deadline does to it, queued or running.
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeoutSeconds)) { [weak self, id = record.id] in
            self?.deadlinePassed(id)
        }
        return record.id
    }

    private func started(_ id: String) {
        lock.lock()
        guard let record = records[id] else { return lock.unlock() }
        record.runningSince = Date()
        _ = record.lifecycle.handle(.started)
        lock.unlock()
        Task { [metadata] in try? await metadata.markRunning(id, lease: record.lease) }
    }

    /// Appends the execution's new output to the store every `outputFlushInterval`, one batch a
    /// statement, until it ends (the task is cancelled) or its lease is lost; returns how many
    /// lines are stored, so its end commits the rest.
    private func flushOutput(of record: Record) async -> Int {
        var stored = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.outputFlushInterval)
            while !Task.isCancelled {
                let batch = record.output.lines(from: stored, limit: Self.outputBatchLines)
                guard !batch.isEmpty else { break }
                do {
                    guard try await metadata.appendOutput(batch, from: stored, of: record.id, lease: record.lease) else {
                        return stored
                    }
                    stored += batch.count
                } catch {
                    // The store is unreachable: the next tick tries again, and the end writes what is missing.
                    logger.debug("execution \(record.id): its output could not be stored yet: \(error)")
                    break
                }
            }
        }
        return stored
    }

    private func deadlinePassed(_ id: String) {
        lock.lock()
        guard let record = records[id] else { return lock.unlock() }
        let action = record.lifecycle.handle(.deadlinePassed)
        lock.unlock()
        carryOut(action, for: record)
    }

    /// Does what the lifecycle decided: the pool takes a queued run out of its queue, or asks the
    /// worker running it to stop (and kills that worker if it does not stop within the pool's grace).
    private func carryOut(_ action: ExecutionLifecycle.Action, for record: Record) {
        switch action {
        case .dequeue, .stopRun: pool.cancel(jobID: record.jobID)
        case .none, .alreadyFinished: break
        }
    }

    /// The error of a run the host stopped at its deadline: the wait for a worker counted.
    private func deadlineMessage(for record: Record) -> String {
        lock.lock()
        let runningSince = record.runningSince
        lock.unlock()
        let workers = pool.configuration.workerCount
        guard let runningSince else { return LimitMessage.timedOutWaiting(seconds: record.timeoutSeconds, workers: workers) }
        let waited = Int(runningSince.timeIntervalSince(record.startedAt).rounded())
        let timedOut = LimitMessage.timedOut(seconds: record.timeoutSeconds)
        return waited == 0 ? timedOut
            : timedOut + " It waited \(waited) s of them for a free worker (--max-concurrent-executions \(workers))."
    }

    /// The state the execution ends in when its worker reports `status`, without ending it yet (a cancel
    /// may still come in); once a worker reported a completion no cancel changes it, so a heap is
    /// stored only for that.
    private func finalState(of record: Record, reporting status: RunStatus) -> ExecutionLifecycle.State {
        lock.lock()
        var lifecycle = record.lifecycle
        lock.unlock()
        _ = lifecycle.handle(.finished(status))
        return lifecycle.state
    }

    private func finish(_ record: Record, outcome: RunOutcome, heap: HeapID?) async {
        let completedAt = Date()
        func stored(_ state: ExecutionLifecycle.State) -> StoredExecution {
            StoredExecution(
                id: record.id, status: state.storedName, resultJSON: outcome.resultJSON, heap: heap?.hex,
                error: outcome.error, startedAt: record.startedAt, completedAt: completedAt, owner: record.owner,
                node: record.lease.node)
        }
        record.flusher?.cancel()
        let flushed = await record.flusher?.value ?? 0
        let output = Array(record.output.allLines.dropFirst(flushed))
        let saved = stored(finalState(of: record, reporting: outcome.status))
        // Saved before it is reported finished, so whatever a caller reads next is stored. A
        // failure to save (the store unreachable) leaves it readable from memory, and it is saved
        // again in the background until the store takes it.
        let taken = try? await metadata.save(saved, output: output, from: flushed, lease: record.lease)
        if taken == false { return fencedOff(record, ending: saved.status) }
        let savedNow = taken != nil

        // The state, result and heap change together: a reader never sees one without the others.
        let (final, waiters) = lock.withLock {
            _ = record.lifecycle.handle(.finished(outcome.status))
            record.outcome = outcome
            record.heap = heap
            record.completedAt = completedAt
            let waiters = record.waiters
            record.waiters = []
            finishedInMemory.append(record.id)
            if finishedInMemory.count > Self.finishedKeptInMemory {
                records[finishedInMemory.removeFirst()] = nil
            }
            return (stored(record.lifecycle.state), waiters)
        }
        // A cancel that came in while saving can change the final status: save that instead.
        if savedNow, final != saved { _ = try? await metadata.save(final, output: [], from: flushed, lease: record.lease) }
        waiters.forEach { $0.resume() }
        if !savedNow { await keepSaving(final, output: output, from: flushed, lease: record.lease) }
    }

    /// The store refused the end of an execution because its lease is gone: another node declared
    /// this one dead and ended it, and that verdict stands. Memory forgets it, so every read answers
    /// from the store, as on every other node.
    private func fencedOff(_ record: Record, ending status: String) {
        logger.error("""
            execution \(record.id) ended \(status) on node \(record.lease.node), but its lease (epoch \
            \(record.lease.epoch)) was lost: another node declared this node dead and ended it; that end stands
            """)
        let waiters = lock.withLock {
            records[record.id] = nil
            let waiters = record.waiters
            record.waiters = []
            return waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Saves a finished execution, retrying with backoff while the store does not take it (a
    /// PostgreSQL restart), so a finished execution is not lost; gives up after about ten minutes.
    private func keepSaving(_ execution: StoredExecution, output: [String], from firstLine: Int, lease: NodeLease) async {
        var delay = Duration.milliseconds(100)
        let giveUp = ContinuousClock.now + .seconds(600)
        while true {
            do {
                try await metadata.save(execution, output: output, from: firstLine, lease: lease)
                return
            } catch {
                guard ContinuousClock.now < giveUp else { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Waits until every accepted run's end is saved, or `timeout` passes: a shutdown calls it once
    /// the pool has ended the runs (cancelling those past its grace), so their ends are not lost.
    public func waitUntilSaved(within timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = ResumeOnce(continuation)
            let done = lock.withLock {
                if unsaved > 0 { savedWaiters.append(waiter) }
                return unsaved == 0
            }
            if done { return waiter.resume() }
            waiter.resume(after: timeout)
        }
    }

    /// Waits until the execution ends or `timeout` passes, whichever is first.
    public func wait(for id: String, upTo timeout: Duration) async {
        guard timeout > .zero else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = ResumeOnce(continuation)
            lock.lock()
            guard let record = records[id], record.completedAt == nil else {
                lock.unlock()
                return waiter.resume()
            }
            record.waiters.append(waiter)
            lock.unlock()
            waiter.resume(after: timeout)
        }
    }

    /// The execution's summary: from memory while it is there, else from the store (which throws
    /// `MetadataUnavailableError` while it cannot be reached).
    public func summary(of id: String) async throws -> ExecutionSummary? {
        if let live = lock.withLock({ local(id).map(summary) }) { return live }
        return try await metadata.execution(id).map(Self.summary)
    }

    /// The execution, if this node answers for it from memory (not once its lease was lost).
    private func local(_ id: String) -> Record? {
        records[id].flatMap { $0.fenced ? nil : $0 }
    }

    private static func summary(_ stored: StoredExecution) -> ExecutionSummary {
        ExecutionSummary(id: stored.id, state: ExecutionLifecycle.state(storedAs: stored.status) ?? .failed,
                         resultJSON: stored.resultJSON, heap: stored.heap.flatMap { try? HeapID(validating: $0) },
                         error: stored.error, startedAt: stored.startedAt, completedAt: stored.completedAt,
                         owner: stored.owner)
    }

    private func summary(_ record: Record) -> ExecutionSummary {
        ExecutionSummary(id: record.id, state: record.lifecycle.state, resultJSON: record.outcome?.resultJSON,
                         heap: record.heap, error: record.outcome?.error, startedAt: record.startedAt,
                         completedAt: record.completedAt, owner: record.owner)
    }

    /// The execution's output: live while it runs here; read back from the database (all at once,
    /// on this read) for one no longer in memory or running on another node.
    public func output(of id: String) async throws -> ExecutionOutput? {
        if let live = lock.withLock({ local(id)?.output }) { return live }
        guard try await metadata.execution(id) != nil else { return nil }
        return ExecutionOutput(lines: try await metadata.outputLines(of: id))
    }

    /// What `cancel` did: asked this node's lifecycle, found the execution ended, or asked the
    /// node running it (the summary shows whether it ended within the wait).
    public enum CancelAnswer: Sendable, Equatable {
        case requested
        case alreadyEnded
        case askedOwner(node: String)
    }

    /// Asks the execution to stop, wherever it runs; returns its summary after the request (nil if unknown).
    public func cancel(_ id: String) async throws -> (summary: ExecutionSummary, answer: CancelAnswer)? {
        if let (summary, action) = cancelLocally(id) {
            return (summary, { if case .alreadyFinished = action { .alreadyEnded } else { .requested } }())
        }
        guard let stored = try await metadata.execution(id) else { return nil }
        let state = ExecutionLifecycle.state(storedAs: stored.status) ?? .failed
        switch CrossNodeCancel.route(runsHere: false, stored: state, storedNode: stored.node) {
        case .local, .unknown: return nil
        case .alreadyEnded: return (Self.summary(stored), .alreadyEnded)
        case .owner(let node):
            try await metadata.requestCancel(of: id)
            var latest = Self.summary(stored)
            let giveUp = ContinuousClock.now + Self.remoteCancelWait
            while !latest.state.isFinal, ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(50))
                latest = try await metadata.execution(id).map(Self.summary) ?? latest
            }
            return (latest, .askedOwner(node: node))
        }
    }

    /// Hands a cancel to the lifecycle of an execution this node runs; nil if it does not run it.
    private func cancelLocally(_ id: String) -> (ExecutionSummary, ExecutionLifecycle.Action)? {
        let requested = lock.withLock { () -> (Record, ExecutionLifecycle.Action, ExecutionSummary)? in
            guard let record = local(id) else { return nil }
            let action = record.lifecycle.handle(.cancelRequested)
            return (record, action, summary(record))
        }
        guard let (record, action, summary) = requested else { return nil }
        carryOut(action, for: record)
        return (summary, action)
    }

    /// This node lost `lease`: its executions under it were ended by the node that declared it
    /// dead. They stop here too (their end is fenced off), and the store answers for them.
    private func leaseLost(_ lease: NodeLease) {
        let lost = lock.withLock { () -> [(Record, ExecutionLifecycle.Action)] in
            records.values.filter { $0.lease == lease && $0.completedAt == nil && !$0.fenced }.map { record in
                record.fenced = true
                return (record, record.lifecycle.handle(.cancelRequested))
            }
        }
        for (record, action) in lost { carryOut(action, for: record) }
    }

    /// Every known execution, oldest first: those in the store (every node's, running ones included),
    /// with this node's own from memory (also those whose save failed).
    public func list() async throws -> [ExecutionSummary] {
        let finished = try await metadata.executions().map(Self.summary)
        let live = lock.withLock { records.values.filter { !$0.fenced }.map(summary) }
        var byID = Dictionary(finished.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for summary in live where byID[summary.id] == nil || summary.completedAt == nil { byID[summary.id] = summary }
        return byID.values.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }
}

/// A continuation that whichever comes first, the end of the execution or the timer, resumes.
private final class ResumeOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func resume() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }

    /// Resumes when `timeout` has passed, unless something resumed it first.
    func resume(after timeout: Duration) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds))) { self.resume() }
    }
}
