@testable import Host
import XCTest

final class FairDispatchTests: XCTestCase {
    private let alice = Namespace(subject: "alice"), bob = Namespace(subject: "bob"), carol = Namespace(subject: "carol")

    func testAnEmptyQueueHandsOutNothing() {
        var dispatch = FairDispatch<Namespace>()
        XCTAssertNil(dispatch.next(queue: [], running: [:]))
    }

    func testOneNamespaceAloneIsServedOldestFirst() {
        var dispatch = FairDispatch<Namespace>()
        var queue = [alice, alice, alice]
        var order: [Int] = []
        while let index = dispatch.next(queue: queue, running: [:]) {
            order.append(index)
            queue.remove(at: index)
        }
        XCTAssertEqual(order, [0, 0, 0])
    }

    func testTheNamespaceWithFewerRunsOnWorkersGoesFirst() {
        var dispatch = FairDispatch<Namespace>()
        // alice's backlog was queued before bob's single run, but alice already has a worker.
        XCTAssertEqual(dispatch.next(queue: [alice, alice, bob], running: [alice: 1]), 2)
    }

    func testAmongEqualsTheNamespaceServedLongestAgoGoesFirst() {
        var dispatch = FairDispatch<Namespace>()
        // alice is handed a worker; her run ends; her next run and bob's wait with nothing running.
        XCTAssertEqual(dispatch.next(queue: [alice, alice, bob], running: [:]), 0)
        XCTAssertEqual(dispatch.next(queue: [alice, bob], running: [:]), 1)
        XCTAssertEqual(dispatch.next(queue: [alice], running: [:]), 0)
    }

    func testABacklogIsInterleavedWithEveryoneElsesRuns() {
        var dispatch = FairDispatch<Namespace>()
        var queue = Array(repeating: alice, count: 5) + [bob, bob, carol]
        var served: [Namespace] = []
        // One worker: each run ends before the next is handed out.
        while let index = dispatch.next(queue: queue, running: [:]) {
            served.append(queue.remove(at: index))
        }
        XCTAssertEqual(served, [alice, bob, carol, alice, bob, alice, alice, alice])
    }

    func testForgottenNamespacesAreServedAsNew() {
        var dispatch = FairDispatch<Namespace>()
        XCTAssertEqual(dispatch.next(queue: [bob], running: [:]), 0)
        XCTAssertEqual(dispatch.next(queue: [alice], running: [:]), 0)
        // alice was served after bob, so she would wait behind him; but she left (nothing queued or
        // running), so she comes back as one never served.
        dispatch.keep(only: [bob])
        XCTAssertEqual(dispatch.next(queue: [bob, alice], running: [:]), 1)
    }
}
