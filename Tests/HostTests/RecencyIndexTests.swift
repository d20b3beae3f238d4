@testable import Host
import XCTest

final class RecencyIndexTests: XCTestCase {
    private let a = try! HeapID(validating: String(repeating: "a", count: 64))
    private let b = try! HeapID(validating: String(repeating: "b", count: 64))
    private let c = try! HeapID(validating: String(repeating: "c", count: 64))

    func testUsesOrderTheHeapsAndCountTheirBytes() {
        var index = RecencyIndex()
        _ = index.use(a, bytes: 10, at: 1)
        _ = index.use(b, bytes: 20, at: 2)
        _ = index.use(c, bytes: 30, at: 3)
        XCTAssertEqual(index.idsOldestFirst, [a, b, c])
        _ = index.use(a, bytes: 10, at: 4)
        XCTAssertEqual(index.idsOldestFirst, [b, c, a])
        XCTAssertEqual(index.totalBytes, 60, "a use of a held heap does not count it twice")
        index.remove(c)
        XCTAssertEqual(index.idsOldestFirst, [b, a])
        XCTAssertEqual(index.totalBytes, 30)
        XCTAssertFalse(index.contains(c))
        index.remove(c)
        XCTAssertEqual(index.totalBytes, 30, "removing a heap not held changes nothing")
    }

    func testEvictionTakesTheLeastRecentlyUsedUntilTheBoundHolds() {
        var index = RecencyIndex()
        _ = index.use(a, bytes: 10, at: 1)
        _ = index.use(b, bytes: 20, at: 2)
        _ = index.use(c, bytes: 30, at: 3)
        _ = index.use(a, bytes: 10, at: 4)
        XCTAssertEqual(index.evict(toFit: 60), [])
        XCTAssertEqual(index.evict(toFit: 40), [b], "b is the oldest once a is used again")
        XCTAssertEqual(index.evict(toFit: 5), [c, a])
        XCTAssertEqual(index.idsOldestFirst, [])
        XCTAssertEqual(index.totalBytes, 0)
    }

    func testStampsIncreaseStrictlyEvenWhenTheClockDoesNot() {
        var index = RecencyIndex()
        XCTAssertEqual(index.use(a, bytes: 1, at: 100), 100)
        XCTAssertEqual(index.use(b, bytes: 1, at: 100), 101, "the same instant")
        XCTAssertEqual(index.use(c, bytes: 1, at: 50), 102, "the clock stepped back")
        XCTAssertEqual(index.use(a, bytes: 1, at: 500), 500)
        XCTAssertEqual(index.lastStamp, 500)
    }
}
