@testable import Host
import XCTest

final class ExecutionAdmissionTests: XCTestCase {
    private let admission = ExecutionAdmission(maximumQueued: 10, perSubject: 3)
    private let alice = Namespace(subject: "alice"), bob = Namespace(subject: "bob")

    private func load(waiting: Int = 0, workersNotBusy: Int = 0, mine: Int = 0, tenantWaiting: Int = 0,
                      tenantRunning: Int = 0) -> ExecutionAdmission.Load {
        ExecutionAdmission.Load(waiting: waiting, workersNotBusy: workersNotBusy, namespacePending: mine,
                                tenantWaiting: tenantWaiting, tenantRunning: tenantRunning)
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

    private let tenants = ExecutionAdmission(maximumQueued: 100, perSubject: 3, tenants: [
        "guest": TenantQueueLimits(maximumConcurrent: 1, maximumQueued: 5),
        "acme": TenantQueueLimits(maximumConcurrent: 2),
    ])
    private let guest = Namespace(tenant: "guest", subject: "g", sharedState: false)
    private let acme = Namespace(tenant: "acme", subject: "a", sharedState: false)

    func testATenantIsRefusedAtItsOwnQueueBoundWhileAnotherIsAdmitted() {
        // guest runs its one run at once and has 5 waiting: its bound.
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(waiting: 5, tenantWaiting: 4, tenantRunning: 1)), .admit)
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(waiting: 5, tenantWaiting: 5, tenantRunning: 1)),
                       .tenantFull(tenant: "guest", limit: 5))
        XCTAssertEqual(tenants.decide(namespace: acme, load: load(waiting: 5)), .admit)
    }

    func testFreeWorkersATenantMayTakeAddRoomToItsQueueButOnlyUpToItsCap() {
        // Two idle workers; guest may take one of them (cap 1, nothing running), so 5 + 1 may wait.
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(workersNotBusy: 2, tenantWaiting: 5)), .admit)
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(workersNotBusy: 2, tenantWaiting: 6)),
                       .tenantFull(tenant: "guest", limit: 5))
        // At its cap, free workers are not its own.
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(workersNotBusy: 2, tenantWaiting: 5, tenantRunning: 1)),
                       .tenantFull(tenant: "guest", limit: 5))
    }

    func testATenantWithoutAQueueBoundHasThePoolsAndEveryoneKeepsTheirShare() {
        XCTAssertEqual(tenants.decide(namespace: acme, load: load(waiting: 99, tenantWaiting: 99)), .admit)
        XCTAssertEqual(tenants.decide(namespace: acme, load: load(waiting: 100, tenantWaiting: 100)), .poolFull)
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(waiting: 100, tenantWaiting: 0)), .poolFull,
                       "the pool's bound holds for a tenant under its own")
        XCTAssertEqual(tenants.decide(namespace: guest, load: load(mine: 3, tenantWaiting: 5)), .namespaceFull(limit: 3),
                       "a caller over its share hears about its share first")
        XCTAssertEqual(tenants.concurrencyCap(of: "guest"), 1)
        XCTAssertNil(tenants.concurrencyCap(of: "labs"), "a tenant without limits is capped by the workers only")
    }

    func testCallersOfATenantWithoutTokensHaveNoShareOfTheirOwn() {
        let anyone = Namespace(tenant: "guest", subject: nil, sharedState: true)
        XCTAssertNil(tenants.limit(for: anyone))
        XCTAssertEqual(tenants.decide(namespace: anyone, load: load(mine: 50, tenantWaiting: 4)), .admit)
    }
}
