@testable import Host
import XCTest

final class SessionCapsTests: XCTestCase {
    func testASubjectAtItsCapLosesItsLeastRecentlyUsedSession() {
        var caps = SessionCaps(perSubject: 3, total: 100)
        for id in ["a1", "a2", "a3"] { XCTAssertEqual(caps.admit(id, subject: "alice"), .open(evicting: nil)) }
        caps.touch("a1")
        XCTAssertEqual(caps.admit("a4", subject: "alice"), .open(evicting: "a2"))
        XCTAssertEqual(caps.admit("a5", subject: "alice"), .open(evicting: "a3"))
        XCTAssertEqual(caps.admit("a6", subject: "alice"), .open(evicting: "a1"))
        XCTAssertEqual(caps.count(of: "alice"), 3)
    }

    func testOneSubjectFillingItsCapLeavesRoomForOthers() {
        var caps = SessionCaps(perSubject: 2, total: 5)
        for i in 0..<1000 { _ = caps.admit("m\(i)", subject: "mallory") }
        XCTAssertEqual(caps.count, 2)
        XCTAssertEqual(caps.admit("b1", subject: "bob"), .open(evicting: nil))
        XCTAssertEqual(caps.admit("n1", subject: nil), .open(evicting: nil))
        XCTAssertEqual(caps.count(of: "mallory"), 2)
    }

    func testAFullServerRefusesASubjectWithNoSessionToGiveUp() {
        var caps = SessionCaps(perSubject: 2, total: 4)
        for (id, subject) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob"), ("b2", "bob")] {
            XCTAssertEqual(caps.admit(id, subject: subject), .open(evicting: nil))
        }
        XCTAssertEqual(caps.admit("c1", subject: "carol"), .refuse)
        XCTAssertEqual(caps.admit("a3", subject: "alice"), .open(evicting: "a1"), "alice makes room from her own")
        caps.remove("b1")
        XCTAssertEqual(caps.admit("c1", subject: "carol"), .open(evicting: nil))
        XCTAssertEqual(caps.count, 4)
    }

    func testClosedSessionsFreeTheirPlaceAndUnknownIdsAreIgnored() {
        var caps = SessionCaps(perSubject: 1, total: 10)
        XCTAssertEqual(caps.admit("a1", subject: "alice"), .open(evicting: nil))
        caps.remove("a1")
        caps.remove("a1")
        caps.touch("gone")
        XCTAssertEqual(caps.count, 0)
        XCTAssertEqual(caps.admit("a2", subject: "alice"), .open(evicting: nil))
    }
}
