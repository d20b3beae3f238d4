@testable import Host
import XCTest

final class SessionCapsTests: XCTestCase {
    func testASubjectAtItsCapLosesItsLeastRecentlyUsedSession() {
        var caps = SessionCaps(perSubject: 3, total: 100, tenants: 1)
        for id in ["a1", "a2", "a3"] { XCTAssertEqual(caps.admit(id, namespace: Namespace(subject: "alice")), .open(evicting: nil)) }
        caps.touch("a1")
        XCTAssertEqual(caps.admit("a4", namespace: Namespace(subject: "alice")), .open(evicting: "a2"))
        XCTAssertEqual(caps.admit("a5", namespace: Namespace(subject: "alice")), .open(evicting: "a3"))
        XCTAssertEqual(caps.admit("a6", namespace: Namespace(subject: "alice")), .open(evicting: "a1"))
        XCTAssertEqual(caps.count(of: Namespace(subject: "alice")), 3)
    }

    func testOneSubjectFillingItsCapLeavesRoomForOthers() {
        var caps = SessionCaps(perSubject: 2, total: 5, tenants: 1)
        for i in 0..<1000 { _ = caps.admit("m\(i)", namespace: Namespace(subject: "mallory")) }
        XCTAssertEqual(caps.count, 2)
        XCTAssertEqual(caps.admit("b1", namespace: Namespace(subject: "bob")), .open(evicting: nil))
        XCTAssertEqual(caps.admit("n1", namespace: Namespace(subject: nil)), .open(evicting: nil))
        XCTAssertEqual(caps.count(of: Namespace(subject: "mallory")), 2)
    }

    func testAFullServerRefusesASubjectWithNoSessionToGiveUp() {
        var caps = SessionCaps(perSubject: 2, total: 4, tenants: 1)
        for (id, subject) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob"), ("b2", "bob")] {
            XCTAssertEqual(caps.admit(id, namespace: Namespace(subject: subject)), .open(evicting: nil))
        }
        XCTAssertEqual(caps.admit("c1", namespace: Namespace(subject: "carol")), .refuse(reason: "Too many open MCP sessions (4)"))
        XCTAssertEqual(caps.admit("a3", namespace: Namespace(subject: "alice")), .open(evicting: "a1"), "alice makes room from her own")
        caps.remove("b1")
        XCTAssertEqual(caps.admit("c1", namespace: Namespace(subject: "carol")), .open(evicting: nil))
        XCTAssertEqual(caps.count, 4)
    }

    func testClosedSessionsFreeTheirPlaceAndUnknownIdsAreIgnored() {
        var caps = SessionCaps(perSubject: 1, total: 10, tenants: 1)
        XCTAssertEqual(caps.admit("a1", namespace: Namespace(subject: "alice")), .open(evicting: nil))
        caps.remove("a1")
        caps.remove("a1")
        caps.touch("gone")
        XCTAssertEqual(caps.count, 0)
        XCTAssertEqual(caps.admit("a2", namespace: Namespace(subject: "alice")), .open(evicting: nil))
    }

    private func member(_ tenant: String, _ subject: String) -> Namespace {
        Namespace(tenant: tenant, subject: subject, sharedState: false)
    }

    func testOneTenantOpeningSessionsNeitherClosesNorRefusesAnothers() {
        var caps = SessionCaps(perSubject: 2, total: 9, tenants: 3)
        XCTAssertEqual(caps.perTenant, 3)
        XCTAssertEqual(caps.admit("a1", namespace: member("acme", "ann")), .open(evicting: nil))
        // guest's callers flood: each keeps at most 2, the tenant at most 3 in all.
        var refused = 0
        for i in 0..<1000 {
            if case .refuse(let reason) = caps.admit("g\(i)", namespace: member("guest", "g\(i % 10)")) {
                refused += 1
                XCTAssertEqual(reason, "Too many open MCP sessions for tenant 'guest' (3, its share of the server's 9)")
            }
        }
        XCTAssertEqual(caps.count(ofTenant: "guest"), 3)
        XCTAssertGreaterThan(refused, 900)
        XCTAssertTrue(caps.holds("a1"), "acme's session stays open")
        XCTAssertEqual(caps.admit("a2", namespace: member("acme", "bob")), .open(evicting: nil))
        XCTAssertEqual(caps.admit("a3", namespace: member("acme", "cy")), .open(evicting: nil))
        XCTAssertEqual(caps.admit("l1", namespace: member("labs", "lu")), .open(evicting: nil))
    }

    func testWithinATenantEachSubjectKeepsItsOwnCapEvenWhenTheTenantSharesItsState() {
        var caps = SessionCaps(perSubject: 1, total: 10, tenants: 2)
        let ann = Namespace(tenant: "acme", subject: "ann", sharedState: true)
        let bob = Namespace(tenant: "acme", subject: "bob", sharedState: true)
        XCTAssertEqual(ann, bob, "one namespace for the tenant's state")
        XCTAssertEqual(caps.admit("a1", namespace: ann), .open(evicting: nil))
        XCTAssertEqual(caps.admit("b1", namespace: bob), .open(evicting: nil), "bob does not close ann's session")
        XCTAssertEqual(caps.admit("a2", namespace: ann), .open(evicting: "a1"))
        XCTAssertEqual(caps.count(of: ann), 1)
        XCTAssertEqual(caps.count(ofTenant: "acme"), 2)
        caps.remove("b1")
        XCTAssertEqual(caps.count(ofTenant: "acme"), 1)
    }
}
