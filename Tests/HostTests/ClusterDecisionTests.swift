@testable import Host
import XCTest

/// The pure decisions of executions across nodes (Sources/Host/Cluster): who is dead, which writes
/// land, what a heartbeat's answer makes a node do, and where a cancel goes.
final class ClusterDecisionTests: XCTestCase {
    private let a1 = NodeLease(node: "a", epoch: 1)
    private let b2 = NodeLease(node: "b", epoch: 2)
    private let c3 = NodeLease(node: "c", epoch: 3)

    func testOnlyOtherNodesSilentBeyondTheLeaseAreDead() {
        let nodes = [NodeLiveness.Registration(lease: a1, silentFor: .seconds(60)),
                     NodeLiveness.Registration(lease: b2, silentFor: .milliseconds(5001)),
                     NodeLiveness.Registration(lease: c3, silentFor: .seconds(5))]
        XCTAssertEqual(NodeLiveness.dead(among: nodes, me: c3, lease: .seconds(5)), [a1, b2], "exactly the lease is alive")
        XCTAssertEqual(NodeLiveness.dead(among: nodes, me: NodeLease(node: "a", epoch: 9), lease: .seconds(5)), [b2],
                       "a node never declares itself dead, whatever epoch the store holds for it")
    }

    func testOnlyTheLeaseThatOwnsAnExecutionWritesIt() {
        XCTAssertTrue(NodeLiveness.mayWrite(by: a1, owner: a1))
        XCTAssertFalse(NodeLiveness.mayWrite(by: a1, owner: nil), "declared dead: the execution lost its epoch")
        XCTAssertFalse(NodeLiveness.mayWrite(by: a1, owner: NodeLease(node: "a", epoch: 4)), "a later process of the node")
        XCTAssertFalse(NodeLiveness.mayWrite(by: a1, owner: NodeLease(node: "b", epoch: 1)))
    }

    func testAHeartbeatMatchingNothingReRegistersAndAnOutageIsReportedOnce() {
        let start = ContinuousClock.now
        var keeper = LeaseKeeper(lease: a1, registeredAt: start)
        XCTAssertEqual(keeper.handle(.heartbeatMatched(at: start + .seconds(1))), .none)
        XCTAssertEqual(keeper.handle(.heartbeatFailed), .reportUnreachable)
        XCTAssertEqual(keeper.handle(.heartbeatFailed), .none, "said once")
        XCTAssertEqual(keeper.handle(.heartbeatMatched(at: start + .seconds(3))), .reportReachable)
        XCTAssertEqual(keeper.handle(.heartbeatMatchedNothing), .reRegister(lost: a1))
        XCTAssertEqual(keeper.handle(.heartbeatMatchedNothing), .reRegister(lost: a1), "until a registration takes")
        let a4 = NodeLease(node: "a", epoch: 4)
        XCTAssertEqual(keeper.handle(.registered(a4, at: start + .seconds(4))), .none)
        XCTAssertEqual(keeper.lease, a4)
    }

    func testANodeJudgesOthersOnlyAfterAWholeLeaseOfAnsweredHeartbeats() {
        let start = ContinuousClock.now
        var keeper = LeaseKeeper(lease: a1, registeredAt: start)
        XCTAssertFalse(keeper.mayJudgeOthers(at: start + .seconds(4), lease: .seconds(5)), "just started")
        XCTAssertTrue(keeper.mayJudgeOthers(at: start + .seconds(5), lease: .seconds(5)))
        _ = keeper.handle(.heartbeatFailed)
        XCTAssertFalse(keeper.mayJudgeOthers(at: start + .seconds(20), lease: .seconds(5)), "the database is away")
        _ = keeper.handle(.heartbeatMatched(at: start + .seconds(21)))
        // Back after the outage: the others were as silent as this node; they get a lease to heartbeat.
        XCTAssertFalse(keeper.mayJudgeOthers(at: start + .seconds(25), lease: .seconds(5)))
        _ = keeper.handle(.heartbeatMatched(at: start + .seconds(22)))
        XCTAssertTrue(keeper.mayJudgeOthers(at: start + .seconds(26), lease: .seconds(5)), "counted from the first answer")
    }

    func testACancelGoesToTheLifecycleThatRunsTheExecution() {
        XCTAssertEqual(CrossNodeCancel.route(runsHere: true, stored: nil, storedNode: nil), .local)
        XCTAssertEqual(CrossNodeCancel.route(runsHere: false, stored: .running(stopping: nil), storedNode: "b"),
                       .owner(node: "b"))
        XCTAssertEqual(CrossNodeCancel.route(runsHere: false, stored: .queued(stopping: nil), storedNode: "b"),
                       .owner(node: "b"))
        for final in [ExecutionLifecycle.State.completed, .failed, .cancelled, .timedOut] {
            XCTAssertEqual(CrossNodeCancel.route(runsHere: false, stored: final, storedNode: "b"), .alreadyEnded)
        }
        XCTAssertEqual(CrossNodeCancel.route(runsHere: false, stored: nil, storedNode: nil), .unknown)
        XCTAssertEqual(CrossNodeCancel.message(owner: "b", endedAs: .cancelled),
                       "Cancellation requested from node b; it ended cancelled.")
        XCTAssertEqual(CrossNodeCancel.message(owner: "b", endedAs: .running(stopping: nil)),
                       "Cancellation requested from node b, which has not confirmed it yet; get_execution reports its end.")
    }

    func testStoredStatusesReadBackAsTheirStates() {
        let states: [ExecutionLifecycle.State] = [.queued(stopping: nil), .running(stopping: nil), .completed, .failed,
                                                  .cancelled, .timedOut]
        XCTAssertEqual(states.map(\.storedName), ["queued", "running", "completed", "failed", "cancelled", "timed_out"])
        for state in states { XCTAssertEqual(ExecutionLifecycle.state(storedAs: state.storedName), state) }
        XCTAssertEqual(ExecutionLifecycle.State.queued(stopping: .cancelled).storedName, "queued")
        XCTAssertEqual(ExecutionLifecycle.State.queued(stopping: nil).statusName, "running", "clients see it running")
        XCTAssertNil(ExecutionLifecycle.state(storedAs: "paused"))
    }
}
