@testable import Host
import Foundation
import XCTest

final class MetadataDatabaseTests: XCTestCase {
    func testRunsAreLoggedInOrderAndSurviveReopening() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-sessions-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try log.append(session: "b", inputHeap: nil, outputHeap: "h1", code: "var x = 1"), 0)
        XCTAssertEqual(try log.append(session: "b", inputHeap: "h1", outputHeap: nil, code: "throw 1"), 1)
        XCTAssertEqual(try log.append(session: "a", inputHeap: nil, outputHeap: "h2", code: "1"), 0)

        let reopened = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try reopened.sessions(), ["a", "b"])
        let entries = try reopened.entries(session: "b")
        XCTAssertEqual(entries.map(\.index), [0, 1])
        XCTAssertEqual(entries.map(\.inputHeap), [nil, "h1"])
        XCTAssertEqual(entries.map(\.outputHeap), ["h1", nil])
        XCTAssertEqual(entries.map(\.code), ["var x = 1", "throw 1"])
        XCTAssertEqual(try reopened.entries(session: "none"), [])
    }

    func testHeapTagsSetMergeDeleteAndQuery() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-tags-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory)
        try database.setTags(["project": "alpha", "stage": "draft"], on: "h1")
        try database.setTags(["project": "alpha", "stage": "final"], on: "h2")
        try database.setTags(["stage": "reviewed"], on: "h1")
        XCTAssertEqual(try database.tags(of: "h1"), ["project": "alpha", "stage": "reviewed"])
        XCTAssertEqual(try database.heaps(taggedWith: ["project": "alpha"]), ["h1", "h2"])
        XCTAssertEqual(try database.heaps(taggedWith: ["project": "alpha", "stage": "final"]), ["h2"])
        try database.deleteTags(["stage", "absent"], from: "h1")
        XCTAssertEqual(try MetadataDatabase(directory: directory).tags(of: "h1"), ["project": "alpha"])
        XCTAssertEqual(try database.tags(of: "unknown"), [:])
    }
}
