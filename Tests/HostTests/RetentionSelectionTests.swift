@testable import Host
import Foundation
import XCTest

/// The retention rules as a pure function: which heaps a sweep deletes.
final class RetentionSelectionTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_000_000)
    private let day = 86_400.0

    private func id(_ n: Int) -> HeapID { try! HeapID(validating: String(format: "%064x", n)) }

    /// Heap `n`, `bytes` big, stored `daysAgo` days before `now`.
    private func heap(_ n: Int, bytes: Int = 100, daysAgo: Double) -> StoredHeapInfo {
        StoredHeapInfo(id: id(n), bytes: bytes, created: now.addingTimeInterval(-daysAgo * day))
    }

    private func select(_ stored: [StoredHeapInfo], referenced: Set<Int> = [], resumedDaysAgo: [Int: Double] = [:],
                        maxAgeDays: Double? = nil, maxBytes: Int? = nil) -> RetentionSelection {
        RetentionSelection(stored: stored, referenced: Set(referenced.map { id($0).hex }),
                           lastResumes: Dictionary(uniqueKeysWithValues: resumedDaysAgo.map {
                               (id($0.key).hex, now.addingTimeInterval(-$0.value * day))
                           }),
                           now: now, limits: RetentionLimits(maxAge: maxAgeDays.map { $0 * day }, maxBytes: maxBytes))
    }

    func testWithoutLimitsNothingGoes() {
        let selection = select([heap(1, daysAgo: 400), heap(2, daysAgo: 0)])
        XCTAssertEqual(selection.deletions.map(\.id), [])
        XCTAssertEqual(selection.keptBytes, 200)
        XCTAssertFalse(selection.overBoundByReferencedHeaps)
    }

    func testOldUnreferencedHeapsGoAndReferencedOrRecentlyUsedOnesStay() {
        let selection = select([heap(1, daysAgo: 10), heap(2, daysAgo: 10), heap(3, daysAgo: 10), heap(4, daysAgo: 1),
                                heap(5, daysAgo: 10)],
                               referenced: [2], resumedDaysAgo: [3: 2, 5: 20], maxAgeDays: 7)
        XCTAssertEqual(selection.deletions.map(\.id), [id(1), id(5)],
                       "2 is referenced, 3 was resumed lately, 4 stored lately; 5's old resume does not keep it")
        XCTAssertEqual(selection.deletions.map(\.lastUse), [now - 10 * day, now - 10 * day],
                       "the last use is the later of store and resume")
        XCTAssertEqual(selection.keptBytes, 300)
    }

    func testOverTheBoundTheLeastRecentlyUsedUnreferencedHeapsGoFirstUntilUnder() {
        let selection = select([heap(1, bytes: 400, daysAgo: 5), heap(2, bytes: 300, daysAgo: 9),
                                heap(3, bytes: 200, daysAgo: 8), heap(4, bytes: 100, daysAgo: 7)],
                               referenced: [2], resumedDaysAgo: [3: 1], maxBytes: 600)
        // 1000 bytes; 2 is referenced; by last use: 4 (7 days), 1 (5 days), 3 (resumed 1 day ago).
        XCTAssertEqual(selection.deletions.map(\.id), [id(4), id(1)])
        XCTAssertEqual(selection.keptBytes, 500)
        XCTAssertFalse(selection.overBoundByReferencedHeaps)
    }

    func testAgeFirstThenTheBoundAndTiesGoByID() {
        let selection = select([heap(3, daysAgo: 1), heap(2, daysAgo: 1), heap(1, daysAgo: 30)],
                               maxAgeDays: 7, maxBytes: 150)
        XCTAssertEqual(selection.deletions.map(\.id), [id(1), id(2)], "1 for its age, then 2 before 3 (same use, lower id)")
        XCTAssertEqual(selection.keptBytes, 100)
    }

    func testReferencedHeapsAloneOverTheBoundAreKeptAndSaidSo() {
        let selection = select([heap(1, bytes: 500, daysAgo: 9), heap(2, bytes: 500, daysAgo: 1)],
                               referenced: [1], maxBytes: 400)
        XCTAssertEqual(selection.deletions.map(\.id), [id(2)])
        XCTAssertEqual(selection.keptBytes, 500)
        XCTAssertTrue(selection.overBoundByReferencedHeaps)
    }

    func testFractionalDaysWork() {
        let selection = select([heap(1, daysAgo: 0.001), heap(2, daysAgo: 0.00001)], maxAgeDays: 0.0001)
        XCTAssertEqual(selection.deletions.map(\.id), [id(1)])
    }
}
