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

    /// Issue 18: the shares were computed from the tenants at start-up; a reload adding or removing
    /// tenants shares the total again, and the sessions already open stay open.
    func testAReloadSharesTheSessionsAgainAndKeepsTheOpenOnes() {
        var caps = SessionCaps(perSubject: 10, total: 12, tenants: 2)
        for i in 0..<6 { XCTAssertEqual(caps.admit("a\(i)", namespace: member("acme", "u\(i)")), .open(evicting: nil)) }
        XCTAssertEqual(caps.admit("a6", namespace: member("acme", "u6")),
                       .refuse(reason: "Too many open MCP sessions for tenant 'acme' (6, its share of the server's 12)"))

        caps.share(among: 3)  // labs joins: 4 each, acme keeps the 6 it has open
        XCTAssertEqual(caps.perTenant, 4)
        XCTAssertEqual(caps.count(ofTenant: "acme"), 6)
        XCTAssertTrue((0..<6).allSatisfy { caps.holds("a\($0)") })
        XCTAssertEqual(caps.admit("a6", namespace: member("acme", "u6")),
                       .refuse(reason: "Too many open MCP sessions for tenant 'acme' (4, its share of the server's 12)"))
        for i in 0..<3 { caps.remove("a\(i)") }
        XCTAssertEqual(caps.admit("a6", namespace: member("acme", "u6")), .open(evicting: nil), "back under its share")
        XCTAssertEqual(caps.admit("n0", namespace: member("newcomer", "n")), .open(evicting: nil))

        caps.share(among: 1)  // the others are removed: acme may hold them all
        for i in 7..<12 { XCTAssertEqual(caps.admit("a\(i)", namespace: member("acme", "u\(i)")), .open(evicting: nil)) }
        XCTAssertEqual(caps.count, 10)
        caps.share(among: 0)
        XCTAssertEqual(caps.tenants, 1, "never fewer than one share")
        caps.share(among: 100)
        XCTAssertEqual(caps.perTenant, 1, "never more shares than sessions")
    }

    func testSharesFollowTheTenantsFile() {
        let limits = TenantLimits(server: ExecutionDefaults(heapMB: 16, timeoutSeconds: 5, outputLimitBytes: 1 << 20))
        func configuration(_ names: [String]) -> TenantConfiguration {
            TenantConfiguration(tenants: Dictionary(uniqueKeysWithValues: names.map {
                ($0, Tenant(name: $0, sharedState: false, limits: limits, capabilities: CapabilityConfiguration(), summary: .none))
            }))
        }
        XCTAssertEqual(configuration([""]).sessionShares, 1, "without --tenants: all for the implicit tenant")
        XCTAssertEqual(configuration(["acme", "labs", "guest"]).sessionShares, 3)
        XCTAssertEqual(configuration([]).sessionShares, 1)
    }
}
