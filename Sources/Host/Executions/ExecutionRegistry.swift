import Foundation

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
/// and its new heap goes to the heap store. A finished execution, with its output, is saved in
/// the metadata database, so it can be read after a restart; memory keeps the running ones and
/// the most recent finished ones.
public final class ExecutionRegistry: @unchecked Sendable {
    private final class Record {
        let id: String
        let jobID: UInt64
        let owner: Namespace
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

        init(id: String, jobID: UInt64, owner: Namespace, timeoutSeconds: Int) {
            self.id = id
            self.jobID = jobID
            self.owner = owner
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public let pool: WorkerPool
    public let store: HeapStore
    public let metadata: any MetadataStore
    /// The server's own defaults, which the tools' schemas state; a run gets its tenant's.
    public let defaults: ExecutionDefaults
    private let lock = NSLock()
    private var records: [String: Record] = [:]
    /// Finished executions still in memory, oldest first; beyond `finishedKeptInMemory` the
    /// oldest is dropped (it stays readable from the database).
    private var finishedInMemory: [String] = []
    static let finishedKeptInMemory = 1000

    public init(pool: WorkerPool, store: HeapStore, metadata: any MetadataStore, defaults: ExecutionDefaults) {
        self.pool = pool
        self.store = store
        self.metadata = metadata
        self.defaults = defaults
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
                            timeoutSeconds: timeoutSeconds)
        lock.withLock { records[record.id] = record }

        let request = RunRequest(code: parameters.code, heapLimitMB: parameters.heapMB ?? defaults.heapMB,
                                 timeoutSeconds: timeoutSeconds,
                                 outputLimitBytes: defaults.outputLimitBytes,
                                 checkpoint: CheckpointInput(heap: inputHeap), namespace: namespace)
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
        if let record = records[id] {
            record.runningSince = Date()
            _ = record.lifecycle.handle(.started)
        }
        lock.unlock()
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
                id: record.id, status: state.statusName, resultJSON: outcome.resultJSON, heap: heap?.hex,
                error: outcome.error, startedAt: record.startedAt, completedAt: completedAt, owner: record.owner)
        }
        let saved = stored(finalState(of: record, reporting: outcome.status))
        // Saved before it is reported finished, so whatever a caller reads next is stored. A
        // failure to save (the store unreachable) leaves it readable from memory, and it is saved
        // again in the background until the store takes it.
        let savedNow = (try? await metadata.save(saved, output: record.output.allLines)) != nil

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
        if savedNow, final != saved { try? await metadata.save(final, output: record.output.allLines) }
        waiters.forEach { $0.resume() }
        if !savedNow { await keepSaving(final, output: record.output.allLines) }
    }

    /// Saves a finished execution, retrying with backoff while the store does not take it (a
    /// PostgreSQL restart), so a finished execution is not lost; gives up after about ten minutes.
    private func keepSaving(_ execution: StoredExecution, output: [String]) async {
        var delay = Duration.milliseconds(100)
        let giveUp = ContinuousClock.now + .seconds(600)
        while true {
            do {
                return try await metadata.save(execution, output: output)
            } catch {
                guard ContinuousClock.now < giveUp else { return }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
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
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds))) {
                waiter.resume()
            }
        }
    }

    /// The execution's summary: from memory while it is there, else from the store (which throws
    /// `MetadataUnavailableError` while it cannot be reached).
    public func summary(of id: String) async throws -> ExecutionSummary? {
        if let live = lock.withLock({ records[id].map(summary) }) { return live }
        return try await metadata.execution(id).map(Self.summary)
    }

    private static func summary(_ stored: StoredExecution) -> ExecutionSummary {
        ExecutionSummary(id: stored.id, state: ExecutionLifecycle.finalState(named: stored.status) ?? .failed,
                         resultJSON: stored.resultJSON, heap: stored.heap.flatMap { try? HeapID(validating: $0) },
                         error: stored.error, startedAt: stored.startedAt, completedAt: stored.completedAt,
                         owner: stored.owner)
    }

    private func summary(_ record: Record) -> ExecutionSummary {
        ExecutionSummary(id: record.id, state: record.lifecycle.state, resultJSON: record.outcome?.resultJSON,
                         heap: record.heap, error: record.outcome?.error, startedAt: record.startedAt,
                         completedAt: record.completedAt, owner: record.owner)
    }

    /// The execution's output: live while it runs; read back from the database (all at once,
    /// on this first read) for one no longer in memory.
    public func output(of id: String) async throws -> ExecutionOutput? {
        if let live = lock.withLock({ records[id]?.output }) { return live }
        guard try await metadata.execution(id) != nil else { return nil }
        return ExecutionOutput(lines: try await metadata.outputLines(of: id))
    }

    /// Asks the execution to stop; returns its summary after the request (nil if unknown).
    public func cancel(_ id: String) async throws -> (summary: ExecutionSummary, alreadyEnded: Bool)? {
        let requested = lock.withLock { () -> (Record, ExecutionLifecycle.Action, ExecutionSummary)? in
            guard let record = records[id] else { return nil }
            let action = record.lifecycle.handle(.cancelRequested)
            return (record, action, summary(record))
        }
        guard let (record, action, summary) = requested else {
            return try await metadata.execution(id).map { (Self.summary($0), true) }
        }
        carryOut(action, for: record)
        return (summary, { if case .alreadyFinished = action { true } else { false } }())
    }

    /// Every known execution, oldest first: the finished ones from the database (and memory, if
    /// saving failed), and the running ones.
    public func list() async throws -> [ExecutionSummary] {
        let finished = try await metadata.executions().map(Self.summary)
        let live = lock.withLock { records.values.map(summary) }
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
}
