@testable import Host
import Foundation
import XCTest

final class SessionLogTests: XCTestCase {
    func testRunsAreLoggedInOrderAndSurviveReopening() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-sessions-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try SessionLog(directory: directory)
        XCTAssertEqual(try log.append(session: "b", inputHeap: nil, outputHeap: "h1", code: "var x = 1"), 0)
        XCTAssertEqual(try log.append(session: "b", inputHeap: "h1", outputHeap: nil, code: "throw 1"), 1)
        XCTAssertEqual(try log.append(session: "a", inputHeap: nil, outputHeap: "h2", code: "1"), 0)

        let reopened = try SessionLog(directory: directory)
        XCTAssertEqual(try reopened.sessions(), ["a", "b"])
        let entries = try reopened.entries(session: "b")
        XCTAssertEqual(entries.map(\.index), [0, 1])
        XCTAssertEqual(entries.map(\.inputHeap), [nil, "h1"])
        XCTAssertEqual(entries.map(\.outputHeap), ["h1", nil])
        XCTAssertEqual(entries.map(\.code), ["var x = 1", "throw 1"])
        XCTAssertEqual(try reopened.entries(session: "none"), [])
    }
}
