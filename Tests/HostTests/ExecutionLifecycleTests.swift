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

    func testEventsAfterTheEndChangeNothing() {
        for final in [[ExecutionLifecycle.Event.started, .finished(.completed)], [.started, .finished(.error)],
                      [.deadlinePassed, .finished(.timedOut)], [.cancelRequested, .finished(.cancelled)]] {
            var machine = lifecycle(after: final)
            let ended = machine.state
            for event in [ExecutionLifecycle.Event.started, .finished(.completed), .cancelRequested, .deadlinePassed] {
                XCTAssertEqual(machine.handle(event), .alreadyFinished(ended))
                XCTAssertEqual(machine.state, ended)
            }
        }
    }
}
