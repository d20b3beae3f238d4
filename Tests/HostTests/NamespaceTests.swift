import Host
import XCTest

final class NamespaceTests: XCTestCase {
    func testWithoutTenantsTheKeyIsTheSubjectAsBefore() {
        XCTAssertEqual(Namespace(subject: "alice").key, "alice")
        XCTAssertEqual(Namespace(subject: nil), .default)
        XCTAssertEqual(Namespace(key: "alice"), Namespace(subject: "alice"))
    }

    func testATenantsCallersAreApartUnlessItSharesItsState() {
        let alice = Namespace(tenant: "acme", subject: "alice", sharedState: false)
        let bob = Namespace(tenant: "acme", subject: "bob", sharedState: false)
        XCTAssertNotEqual(alice, bob)
        XCTAssertEqual(Namespace(tenant: "acme", subject: "alice", sharedState: true),
                       Namespace(tenant: "acme", subject: "bob", sharedState: true))
        XCTAssertEqual(alice.tenant, "acme")
        XCTAssertEqual(alice.subject, "alice")
    }

    func testNoTenantsKeyIsAnotherTenantsOrASubjectsWithoutTenants() {
        let keys = [Namespace(tenant: "acme", subject: "labs", sharedState: false),
                    Namespace(tenant: "labs", subject: "acme", sharedState: false),
                    Namespace(tenant: "acme", subject: nil, sharedState: true),
                    Namespace(tenant: "labs", subject: nil, sharedState: true),
                    Namespace(subject: "acme"), Namespace(subject: "labs"), .default].map(\.key)
        XCTAssertEqual(Set(keys).count, keys.count)
    }
}
