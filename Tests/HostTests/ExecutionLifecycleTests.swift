@testable import Host
import XCTest

final class ExecutionLifecycleTests: XCTestCase {
    private func lifecycle(after events: [ExecutionLifecycle.Event]) -> ExecutionLifecycle {
        var machine = ExecutionLifecycle()
        for event in events { _ = machine.handle(event) }
        return machine
    }

    func testARunThatCompletes() {
        var machine = ExecutionLifecycle()
        XCTAssertEqual(machine.state.statusName, "running")
        XCTAssertEqual(machine.handle(.started), .none)
        XCTAssertEqual(machine.handle(.finished(.completed)), .none)
        XCTAssertEqual(machine.state, .completed)
        XCTAssertTrue(machine.state.isFinal)
    }

    func testFailuresOfTheGuestEndAsFailed() {
        for status in [RunStatus.error, .syntaxError, .outOfMemory, .internalError, .crashed] {
            XCTAssertEqual(lifecycle(after: [.started, .finished(status)]).state, .failed, "\(status)")
        }
        XCTAssertEqual(lifecycle(after: [.started, .finished(.timedOut)]).state.statusName, "timed_out")
    }

    func testCancelWhileQueuedDequeuesAndEndsWhenThePoolConfirms() {
        var machine = ExecutionLifecycle()
        XCTAssertEqual(machine.handle(.cancelRequested), .dequeue)
        // Until the pool confirms, it has not ended: what it stores is not recorded yet.
        XCTAssertEqual(machine.state.statusName, "running")
        XCTAssertFalse(machine.state.isFinal)
        XCTAssertEqual(machine.handle(.cancelRequested), .none, "a second cancel asks nothing more")
        XCTAssertEqual(machine.handle(.finished(.cancelled)), .none)
        XCTAssertEqual(machine.state, .cancelled)
        XCTAssertEqual(machine.handle(.started), .alreadyFinished(.cancelled), "a dequeued run never starts")
    }

    func testTimeoutWhileQueued() {
        var machine = ExecutionLifecycle()
        XCTAssertEqual(machine.handle(.deadlinePassed), .dequeue)
        XCTAssertFalse(machine.state.isFinal)
        XCTAssertEqual(machine.handle(.finished(.cancelled)), .none)
        XCTAssertEqual(machine.state, .timedOut)
    }

    func testAWorkerThatTookTheRunAsItWasCancelledDecides() {
        // The pool had handed the run to a worker when the cancel came: the pool stops it there.
        var stopped = lifecycle(after: [.cancelRequested])
        XCTAssertEqual(stopped.handle(.started), .none)
        XCTAssertEqual(stopped.state, .running(stopping: .cancelled))
        XCTAssertEqual(stopped.handle(.finished(.cancelled)), .none)
        XCTAssertEqual(stopped.state, .cancelled)
        // It completed before the stop landed: the completion wins, as for a running one.
        XCTAssertEqual(lifecycle(after: [.cancelRequested, .started, .finished(.completed)]).state, .completed)
        XCTAssertEqual(lifecycle(after: [.cancelRequested, .finished(.completed)]).state, .completed)
    }

    func testCancelWhileRunningStopsTheRunOnce() {
        var machine = lifecycle(after: [.started])
        XCTAssertEqual(machine.handle(.cancelRequested), .stopRun(.cancelled))
        XCTAssertEqual(machine.handle(.cancelRequested), .none, "a second cancel sends nothing more")
        XCTAssertEqual(machine.handle(.deadlinePassed), .none)
        XCTAssertEqual(machine.handle(.finished(.cancelled)), .none)
        XCTAssertEqual(machine.state, .cancelled)
    }

    func testDoubleCancelAfterTheEndReportsTheEnd() {
        var machine = lifecycle(after: [.started, .cancelRequested, .finished(.cancelled)])
        XCTAssertEqual(machine.handle(.cancelRequested), .alreadyFinished(.cancelled))
        XCTAssertEqual(machine.state, .cancelled)
    }

    func testCancelRacingCompletion() {
        // The run completed before the stop landed: the worker's report wins.
        XCTAssertEqual(lifecycle(after: [.started, .cancelRequested, .finished(.completed)]).state, .completed)
        // The completion was reported first: the cancel is too late.
        var machine = lifecycle(after: [.started, .finished(.completed)])
        XCTAssertEqual(machine.handle(.cancelRequested), .alreadyFinished(.completed))
    }

    func testAStoppedRunEndsAsWhatItWasStoppedFor() {
        // Stopping can surface as another failure in the worker (e.g. the termination unwound
        // through guest code); the reason the host stopped it is what the client sees.
        XCTAssertEqual(lifecycle(after: [.started, .cancelRequested, .finished(.error)]).state, .cancelled)
        XCTAssertEqual(lifecycle(after: [.started, .deadlinePassed, .finished(.crashed)]).state, .timedOut)
        XCTAssertEqual(lifecycle(after: [.started, .deadlinePassed, .finished(.cancelled)]).state, .timedOut)
    }

    typealias State = ExecutionLifecycle.State
    typealias Event = ExecutionLifecycle.Event
    typealias Action = ExecutionLifecycle.Action

    /// Every state the machine can be in, and every event it can hear.
    static let states: [State] = [nil, .cancelled, .timedOut].map(State.queued)
        + [nil, .cancelled, .timedOut].map(State.running) + [.completed, .failed, .cancelled, .timedOut]
    static let events: [Event] = [.started, .cancelRequested, .deadlinePassed] + RunStatus.allCases.map(Event.finished)

    /// Breaks the build when a state, a stop reason or an event is added, so `states` and `events`
    /// (and with them the table) grow with the machine; RunStatus is CaseIterable for the same reason.
    private static func listed(_ state: State, _ event: Event, _ reason: ExecutionLifecycle.StopReason) {
        switch state { case .queued, .running, .completed, .failed, .cancelled, .timedOut: break }
        switch event { case .started, .finished, .cancelRequested, .deadlinePassed: break }
        switch reason { case .cancelled, .timedOut: break }
    }

    /// (state, event) -> (state after, action): one row for every pair.
    static let table: [(State, Event, State, Action)] = [
        // Queued: a cancel or the deadline takes it out of the queue; it ends when the pool confirms.
        (.queued(stopping: nil), .started, .running(stopping: nil), .none),
        (.queued(stopping: nil), .cancelRequested, .queued(stopping: .cancelled), .dequeue),
        (.queued(stopping: nil), .deadlinePassed, .queued(stopping: .timedOut), .dequeue),
        (.queued(stopping: nil), .finished(.completed), .completed, .dequeue),
        (.queued(stopping: nil), .finished(.error), .failed, .dequeue),
        (.queued(stopping: nil), .finished(.syntaxError), .failed, .dequeue),
        (.queued(stopping: nil), .finished(.timedOut), .timedOut, .dequeue),
        (.queued(stopping: nil), .finished(.outOfMemory), .failed, .dequeue),
        (.queued(stopping: nil), .finished(.cancelled), .cancelled, .dequeue),
        (.queued(stopping: nil), .finished(.internalError), .failed, .dequeue),
        (.queued(stopping: nil), .finished(.crashed), .failed, .dequeue),
        // Queued and being taken out: a worker that took it meanwhile is told to stop; a report decides.
        (.queued(stopping: .cancelled), .started, .running(stopping: .cancelled), .none),
        (.queued(stopping: .cancelled), .cancelRequested, .queued(stopping: .cancelled), .none),
        (.queued(stopping: .cancelled), .deadlinePassed, .queued(stopping: .cancelled), .none),
        (.queued(stopping: .cancelled), .finished(.completed), .completed, .none),
        (.queued(stopping: .cancelled), .finished(.error), .cancelled, .none),
        (.queued(stopping: .cancelled), .finished(.syntaxError), .cancelled, .none),
        (.queued(stopping: .cancelled), .finished(.timedOut), .timedOut, .none),
        (.queued(stopping: .cancelled), .finished(.outOfMemory), .cancelled, .none),
        (.queued(stopping: .cancelled), .finished(.cancelled), .cancelled, .none),
        (.queued(stopping: .cancelled), .finished(.internalError), .cancelled, .none),
        (.queued(stopping: .cancelled), .finished(.crashed), .cancelled, .none),
        (.queued(stopping: .timedOut), .started, .running(stopping: .timedOut), .none),
        (.queued(stopping: .timedOut), .cancelRequested, .queued(stopping: .timedOut), .none),
        (.queued(stopping: .timedOut), .deadlinePassed, .queued(stopping: .timedOut), .none),
        (.queued(stopping: .timedOut), .finished(.completed), .completed, .none),
        (.queued(stopping: .timedOut), .finished(.error), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.syntaxError), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.timedOut), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.outOfMemory), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.cancelled), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.internalError), .timedOut, .none),
        (.queued(stopping: .timedOut), .finished(.crashed), .timedOut, .none),
        // Running: a cancel or the deadline asks the worker to stop, once; the worker's report decides.
        (.running(stopping: nil), .started, .running(stopping: nil), .none),
        (.running(stopping: nil), .cancelRequested, .running(stopping: .cancelled), .stopRun(.cancelled)),
        (.running(stopping: nil), .deadlinePassed, .running(stopping: .timedOut), .stopRun(.timedOut)),
        (.running(stopping: nil), .finished(.completed), .completed, .none),
        (.running(stopping: nil), .finished(.error), .failed, .none),
        (.running(stopping: nil), .finished(.syntaxError), .failed, .none),
        (.running(stopping: nil), .finished(.timedOut), .timedOut, .none),
        (.running(stopping: nil), .finished(.outOfMemory), .failed, .none),
        (.running(stopping: nil), .finished(.cancelled), .cancelled, .none),
        (.running(stopping: nil), .finished(.internalError), .failed, .none),
        (.running(stopping: nil), .finished(.crashed), .failed, .none),
        // Running and being stopped: a run that completed before the stop landed is completed;
        // any other end is what the host stopped it for.
        (.running(stopping: .cancelled), .started, .running(stopping: .cancelled), .none),
        (.running(stopping: .cancelled), .cancelRequested, .running(stopping: .cancelled), .none),
        (.running(stopping: .cancelled), .deadlinePassed, .running(stopping: .cancelled), .none),
        (.running(stopping: .cancelled), .finished(.completed), .completed, .none),
        (.running(stopping: .cancelled), .finished(.error), .cancelled, .none),
        (.running(stopping: .cancelled), .finished(.syntaxError), .cancelled, .none),
        (.running(stopping: .cancelled), .finished(.timedOut), .timedOut, .none),
        (.running(stopping: .cancelled), .finished(.outOfMemory), .cancelled, .none),
        (.running(stopping: .cancelled), .finished(.cancelled), .cancelled, .none),
        (.running(stopping: .cancelled), .finished(.internalError), .cancelled, .none),
        (.running(stopping: .cancelled), .finished(.crashed), .cancelled, .none),
        (.running(stopping: .timedOut), .started, .running(stopping: .timedOut), .none),
        (.running(stopping: .timedOut), .cancelRequested, .running(stopping: .timedOut), .none),
        (.running(stopping: .timedOut), .deadlinePassed, .running(stopping: .timedOut), .none),
        (.running(stopping: .timedOut), .finished(.completed), .completed, .none),
        (.running(stopping: .timedOut), .finished(.error), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.syntaxError), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.timedOut), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.outOfMemory), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.cancelled), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.internalError), .timedOut, .none),
        (.running(stopping: .timedOut), .finished(.crashed), .timedOut, .none),
        // Ended: every later event is answered with the end.
        (.completed, .started, .completed, .alreadyFinished(.completed)),
        (.completed, .cancelRequested, .completed, .alreadyFinished(.completed)),
        (.completed, .deadlinePassed, .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.completed), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.error), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.syntaxError), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.timedOut), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.outOfMemory), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.cancelled), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.internalError), .completed, .alreadyFinished(.completed)),
        (.completed, .finished(.crashed), .completed, .alreadyFinished(.completed)),
        (.failed, .started, .failed, .alreadyFinished(.failed)),
        (.failed, .cancelRequested, .failed, .alreadyFinished(.failed)),
        (.failed, .deadlinePassed, .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.completed), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.error), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.syntaxError), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.timedOut), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.outOfMemory), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.cancelled), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.internalError), .failed, .alreadyFinished(.failed)),
        (.failed, .finished(.crashed), .failed, .alreadyFinished(.failed)),
        (.cancelled, .started, .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .cancelRequested, .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .deadlinePassed, .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.completed), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.error), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.syntaxError), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.timedOut), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.outOfMemory), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.cancelled), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.internalError), .cancelled, .alreadyFinished(.cancelled)),
        (.cancelled, .finished(.crashed), .cancelled, .alreadyFinished(.cancelled)),
        (.timedOut, .started, .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .cancelRequested, .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .deadlinePassed, .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.completed), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.error), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.syntaxError), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.timedOut), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.outOfMemory), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.cancelled), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.internalError), .timedOut, .alreadyFinished(.timedOut)),
        (.timedOut, .finished(.crashed), .timedOut, .alreadyFinished(.timedOut)),
    ]

    func testEveryStateAndEventPairIsInTheTableOnce() {
        XCTAssertEqual(Self.states.count, 2 * (1 + ExecutionLifecycle.StopReason.allCases.count) + 4)
        XCTAssertEqual(Self.events.count, 3 + RunStatus.allCases.count)
        for state in Self.states {
            for event in Self.events {
                let rows = Self.table.filter { $0.0 == state && $0.1 == event }
                XCTAssertEqual(rows.count, 1, "\(state) + \(event)")
            }
        }
        XCTAssertEqual(Self.table.count, Self.states.count * Self.events.count)
    }

    /// How a new execution gets to each state.
    static let paths: [[Event]] = [[], [.cancelRequested], [.deadlinePassed], [.started], [.started, .cancelRequested],
                                   [.started, .deadlinePassed], [.started, .finished(.completed)],
                                   [.started, .finished(.error)], [.cancelRequested, .finished(.cancelled)],
                                   [.deadlinePassed, .finished(.cancelled)]]

    func testEveryPairDoesWhatTheTableSays() throws {
        for (state, event, after, action) in Self.table {
            let path = try XCTUnwrap(Self.paths.first { lifecycle(after: $0).state == state }, "no path to \(state)")
            var machine = lifecycle(after: path)
            XCTAssertEqual(machine.handle(event), action, "\(state) + \(event)")
            XCTAssertEqual(machine.state, after, "\(state) + \(event)")
        }
    }
}
