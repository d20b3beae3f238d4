/// The life of one execution as a pure state machine: events in, actions out, no I/O, so its
/// races (a cancel landing as the run completes, a deadline passing while queued, a second
/// cancel) are decided in one place and tested without workers. The execution registry of
/// stateful mode drives it; the worker pool carries out the actions.
public struct ExecutionLifecycle: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// `stopping` records why the host took it out of the queue, if it did: it ends when the
        /// pool confirms, so nothing reads it as ended before its end is recorded.
        case queued(stopping: StopReason?)
        /// `stopping` records why the host asked the worker to stop the run, if it did.
        case running(stopping: StopReason?)
        case completed, failed, cancelled, timedOut

        public var isFinal: Bool {
            switch self {
            case .queued, .running: false
            case .completed, .failed, .cancelled, .timedOut: true
            }
        }

        /// The status clients see: `running|completed|failed|cancelled|timed_out` (a queued
        /// execution is reported as running: it has been accepted and will run).
        public var statusName: String {
            switch self {
            case .queued, .running: "running"
            case .completed: "completed"
            case .failed: "failed"
            case .cancelled: "cancelled"
            case .timedOut: "timed_out"
            }
        }

        /// The status the metadata store keeps: as clients see it, but `queued` apart from
        /// `running`, so another node reading it back knows whether a worker took it.
        public var storedName: String {
            if case .queued = self { return "queued" }
            return statusName
        }
    }

    public enum StopReason: Sendable, Equatable, CaseIterable { case cancelled, timedOut }

    /// The state a stored status name stands for (`storedName`).
    public static func state(storedAs name: String) -> State? {
        [State.queued(stopping: nil), .running(stopping: nil), .completed, .failed, .cancelled, .timedOut]
            .first { $0.storedName == name }
    }

    public enum Event: Sendable, Equatable {
        /// A worker took the execution.
        case started
        /// The worker reported how the run ended.
        case finished(RunStatus)
        case cancelRequested
        /// The execution's wall-clock limit passed.
        case deadlinePassed
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Take the execution out of the queue; it ends without running.
        case dequeue
        /// Ask the worker running it to stop the run.
        case stopRun(StopReason)
        /// The event came after the end: report the state it ended in (e.g. to a late cancel).
        case alreadyFinished(State)
    }

    public private(set) var state: State = .queued(stopping: nil)

    public init() {}

    public mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.queued(let stopping), .started):
            // A worker took it as the stop was asked: the pool passes the stop on to that worker.
            state = .running(stopping: stopping)
            return .none
        case (.queued(nil), .cancelRequested):
            state = .queued(stopping: .cancelled)
            return .dequeue
        case (.queued(nil), .deadlinePassed):
            state = .queued(stopping: .timedOut)
            return .dequeue
        case (.queued(.some), .cancelRequested), (.queued(.some), .deadlinePassed):
            return .none
        case (.queued(nil), .finished(let status)):
            // A run cannot finish before it starts; a worker reporting one failed it.
            state = Self.finalState(for: status, stopping: nil)
            return .dequeue
        case (.queued(let stopping), .finished(let status)):
            state = Self.finalState(for: status, stopping: stopping)
            return .none
        case (.running(nil), .cancelRequested):
            state = .running(stopping: .cancelled)
            return .stopRun(.cancelled)
        case (.running(nil), .deadlinePassed):
            state = .running(stopping: .timedOut)
            return .stopRun(.timedOut)
        case (.running(.some), .cancelRequested), (.running(.some), .deadlinePassed), (.running, .started):
            return .none
        case (.running(let stopping), .finished(let status)):
            state = Self.finalState(for: status, stopping: stopping)
            return .none
        case (_, _):
            return .alreadyFinished(state)
        }
    }

    /// The worker's report decides: a run that completed before the stop landed is completed. A
    /// run the host stopped ends as what it was stopped for, even if the worker saw it fail.
    private static func finalState(for status: RunStatus, stopping: StopReason?) -> State {
        switch status {
        case .completed: return .completed
        case .cancelled: return stopping == .timedOut ? .timedOut : .cancelled
        case .timedOut: return .timedOut
        case .error, .syntaxError, .outOfMemory, .internalError, .crashed:
            switch stopping {
            case .cancelled?: return .cancelled
            case .timedOut?: return .timedOut
            case nil: return .failed
            }
        }
    }
}
