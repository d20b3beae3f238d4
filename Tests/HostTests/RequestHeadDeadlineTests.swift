@testable import Host
import XCTest

final class RequestHeadDeadlineTests: XCTestCase {
    private let start = ContinuousClock.now

    private func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    func testAConnectionThatSendsNothingOrTricklesIsOverdueFromItsOpening() {
        var deadline = RequestHeadDeadline(timeout: .seconds(10), openedAt: start)
        XCTAssertFalse(deadline.isOverdue(at: at(9)))
        for second in 1...9 { XCTAssertFalse(deadline.bytesArrived(at: at(second)), "trickled bytes buy no time") }
        XCTAssertTrue(deadline.isOverdue(at: at(10)))
    }

    func testNoDeadlineWhileARequestIsHandled() {
        var deadline = RequestHeadDeadline(timeout: .seconds(10), openedAt: start)
        _ = deadline.bytesArrived(at: at(1))
        deadline.headArrived()
        XCTAssertNil(deadline.deadline)
        XCTAssertFalse(deadline.isOverdue(at: at(3600)), "a long response (an SSE stream) is not a slow head")
    }

    func testAKeptAliveConnectionWaitsFreelyThenTheNextHeadHasItsOwnDeadline() {
        var deadline = RequestHeadDeadline(timeout: .seconds(10), openedAt: start)
        deadline.headArrived()
        deadline.responseEnded()
        XCTAssertFalse(deadline.isOverdue(at: at(500)), "idle between requests: the idle timeout's business")
        XCTAssertTrue(deadline.bytesArrived(at: at(500)))
        XCTAssertFalse(deadline.bytesArrived(at: at(505)), "only the first byte of a request starts the clock")
        XCTAssertFalse(deadline.isOverdue(at: at(509)))
        XCTAssertTrue(deadline.isOverdue(at: at(510)))
    }

    func testPipelinedRequestsKeepTheDeadlineOffUntilTheLastResponseEnds() {
        var deadline = RequestHeadDeadline(timeout: .seconds(10), openedAt: start)
        deadline.headArrived()
        deadline.headArrived()
        deadline.responseEnded()
        XCTAssertFalse(deadline.bytesArrived(at: at(1)), "one request is still in flight")
        deadline.responseEnded()
        XCTAssertTrue(deadline.bytesArrived(at: at(2)))
        XCTAssertTrue(deadline.isOverdue(at: at(12)))
    }
}
