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
}

/// The stateful executions of this server: each runs on the worker pool from its input heap,
/// and its new heap goes to the heap store. Kept in memory (records do not survive a restart
/// yet; heaps do, in the store).
public final class ExecutionRegistry: @unchecked Sendable {
    private final class Record {
        let id: String
        let jobID: UInt64
        let startedAt = Date()
        let output = ExecutionOutput()
        var lifecycle = ExecutionLifecycle()
        var outcome: RunOutcome?
        var heap: HeapID?
        var completedAt: Date?
        var waiters: [ResumeOnce] = []

        init(id: String, jobID: UInt64) {
            self.id = id
            self.jobID = jobID
        }
    }

    public let pool: WorkerPool
    public let store: HeapStore
    public let metadata: MetadataDatabase
    public let defaults: ExecutionDefaults
    private let lock = NSLock()
    private var records: [String: Record] = [:]
    private var order: [String] = []

    public init(pool: WorkerPool, store: HeapStore, metadata: MetadataDatabase, defaults: ExecutionDefaults) {
        self.pool = pool
        self.store = store
        self.metadata = metadata
        self.defaults = defaults
    }

    /// Starts an execution and returns its id at once. Throws when the input heap is unknown or
    /// cannot be read; the run itself reports its failures through the execution.
    public func start(_ parameters: StatefulRunParameters) throws -> String {
        var inputHeap: SealedHeap?
        if let id = parameters.heap {
            guard let heap = try store.get(id) else {
                throw UnknownHeapError(description: "heap \(id) was not found in the heap store; pass a heap "
                    + "returned by an earlier run_js, or omit heap to start from an empty one")
            }
            inputHeap = heap
        }
        let record = Record(id: UUID().uuidString.lowercased(), jobID: pool.makeJobID())
        lock.lock()
        records[record.id] = record
        order.append(record.id)
        lock.unlock()

        let request = RunRequest(code: parameters.code, heapLimitMB: parameters.heapMB ?? defaults.heapMB,
                                 timeoutSeconds: parameters.timeoutSeconds ?? defaults.timeoutSeconds,
                                 outputLimitBytes: defaults.outputLimitBytes,
                                 checkpoint: CheckpointInput(heap: inputHeap))
        Task { [self] in
            var outcome: RunOutcome
            do {
                outcome = try await pool.run(request, jobID: record.jobID, onOutput: record.output.append)
            } catch {
                outcome = RunOutcome(status: .error, error: "\(error)")
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
                if let newHeap, !parameters.tags.isEmpty { try metadata.setTags(parameters.tags, on: newHeap.hex) }
                if let session = parameters.session {
                    try metadata.append(session: session, inputHeap: parameters.heap?.hex, outputHeap: newHeap?.hex,
                                        code: parameters.code)
                }
            } catch {
                outcome = RunOutcome(status: .internalError, error: "the run's session log or tags could not be "
                    + "written: \(error)")
                newHeap = nil
            }
            record.output.finish(truncationNote: outcome.outputTruncated
                ? truncationNote(printed: outcome.outputBytes, limit: request.outputLimitBytes) : nil)
            finish(record, outcome: outcome, heap: newHeap)
        }
        return record.id
    }

    private func finish(_ record: Record, outcome: RunOutcome, heap: HeapID?) {
        lock.lock()
        _ = record.lifecycle.handle(.finished(outcome.status))
        record.outcome = outcome
        record.heap = heap
        record.completedAt = Date()
        let waiters = record.waiters
        record.waiters = []
        lock.unlock()
        waiters.forEach { $0.resume() }
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
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { waiter.resume() }
        }
    }

    public func summary(of id: String) -> ExecutionSummary? {
        lock.lock()
        defer { lock.unlock() }
        return records[id].map(summary)
    }

    private func summary(_ record: Record) -> ExecutionSummary {
        ExecutionSummary(id: record.id, state: record.lifecycle.state, resultJSON: record.outcome?.resultJSON,
                         heap: record.heap, error: record.outcome?.error, startedAt: record.startedAt,
                         completedAt: record.completedAt)
    }

    public func output(of id: String) -> ExecutionOutput? {
        lock.lock()
        defer { lock.unlock() }
        return records[id]?.output
    }

    /// Asks the execution to stop; returns its summary after the request (nil if unknown).
    public func cancel(_ id: String) -> (summary: ExecutionSummary, alreadyEnded: Bool)? {
        lock.lock()
        guard let record = records[id] else {
            lock.unlock()
            return nil
        }
        let action = record.lifecycle.handle(.cancelRequested)
        let result = (summary(record), { if case .alreadyFinished = action { true } else { false } }())
        lock.unlock()
        if !result.1 { pool.cancel(jobID: record.jobID) }
        return result
    }

    public func list() -> [ExecutionSummary] {
        lock.lock()
        defer { lock.unlock() }
        return order.compactMap { records[$0].map(summary) }
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
