@testable import Host
import XCTest

final class ExecutionAdmissionTests: XCTestCase {
    private let admission = ExecutionAdmission(maximumQueued: 10, perSubject: 3)
    private let alice = Namespace(subject: "alice"), bob = Namespace(subject: "bob")

    private func load(waiting: Int = 0, workersNotBusy: Int = 0, mine: Int = 0) -> ExecutionAdmission.Load {
        ExecutionAdmission.Load(waiting: waiting, workersNotBusy: workersNotBusy, namespacePending: mine)
    }

    func testASubjectIsAdmittedUpToItsShare() {
        XCTAssertEqual(admission.decide(namespace: alice, load: load(mine: 0)), .admit)
        XCTAssertEqual(admission.decide(namespace: alice, load: load(mine: 2)), .admit)
        XCTAssertEqual(admission.decide(namespace: alice, load: load(mine: 3)), .namespaceFull(limit: 3))
    }

    func testAnotherSubjectIsAdmittedWhileOneHasFilledItsShare() {
        // alice holds 3 (her share); bob holds none, and the pool has room.
        XCTAssertEqual(admission.decide(namespace: alice, load: load(waiting: 1, mine: 3)), .namespaceFull(limit: 3))
        XCTAssertEqual(admission.decide(namespace: bob, load: load(waiting: 1, mine: 0)), .admit)
    }

    func testThePoolBoundHoldsForEveryone() {
        XCTAssertEqual(admission.decide(namespace: bob, load: load(waiting: 10, mine: 0)), .poolFull)
        XCTAssertEqual(admission.decide(namespace: .default, load: load(waiting: 10)), .poolFull)
        // Workers not busy take a waiting run each soon, so they add room.
        XCTAssertEqual(admission.decide(namespace: bob, load: load(waiting: 10, workersNotBusy: 1)), .admit)
    }

    func testASubjectOverItsShareHearsAboutItsShareEvenWhenThePoolIsFull() {
        XCTAssertEqual(admission.decide(namespace: alice, load: load(waiting: 10, mine: 3)), .namespaceFull(limit: 3))
    }

    func testCallersWithoutASubjectHaveNoShareOfTheirOwn() {
        XCTAssertNil(admission.limit(for: .default))
        XCTAssertEqual(admission.decide(namespace: .default, load: load(waiting: 9, mine: 9)), .admit)
    }

    func testNoShareConfiguredLeavesOnlyThePoolBound() {
        let unshared = ExecutionAdmission(maximumQueued: 10, perSubject: nil)
        XCTAssertNil(unshared.limit(for: alice))
        XCTAssertEqual(unshared.decide(namespace: alice, load: load(waiting: 9, mine: 50)), .admit)
    }
}
