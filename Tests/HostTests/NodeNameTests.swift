import Host
import XCTest

final class NodeNameTests: XCTestCase {
    func testADNSLabelIsANodeName() throws {
        XCTAssertEqual(try NodeName(validating: "node-1").description, "node-1")
        XCTAssertEqual(try NodeName(validating: String(repeating: "a", count: 63)).description.count, 63)
    }

    func testAnythingElseIsRefusedNamingWhatIsAllowed() {
        for bad in ["", "-a", "a-", "a.b", "a b", "nöde", "a/b", String(repeating: "a", count: 64)] {
            XCTAssertThrowsError(try NodeName(validating: bad), bad) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("letters, digits and '-'"), message)
                XCTAssertTrue(message.contains("got '\(bad)'"), message)
            }
        }
    }

    func testTheHostsNameMakesAValidDefault() throws {
        let name = NodeName.ofThisHost().description
        XCTAssertEqual(try NodeName(validating: name).description, name)
    }

    func testSessionIDsStartWithTheNodeNameForTheLoadBalancer() throws {
        let node = try NodeName(validating: "node-2")
        let first = node.newSessionID(), second = node.newSessionID()
        XCTAssertNotEqual(first, second)
        for id in [first, second] {
            XCTAssertTrue(id.hasPrefix("node-2."), id)
            XCTAssertNotNil(UUID(uuidString: String(id.dropFirst("node-2.".count))), id)
        }
    }
}
