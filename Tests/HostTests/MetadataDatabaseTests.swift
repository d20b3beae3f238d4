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

    func testFinishedExecutionsRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-records-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory)
        let record = MetadataDatabase.StoredExecution(
            id: "e1", status: "completed", resultJSON: "42", heap: String(repeating: "a", count: 64), error: nil,
            startedAt: Date(timeIntervalSince1970: 100), completedAt: Date(timeIntervalSince1970: 101))
        try database.save(record, output: ["one", "two"])
        let reopened = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try reopened.execution("e1"), record)
        XCTAssertEqual(try reopened.outputLines(of: "e1"), ["one", "two"])
        XCTAssertEqual(try reopened.executions().map(\.id), ["e1"])
        XCTAssertNil(try reopened.execution("e2"))
    }

    /// Execution `e<index>`, started at `index` seconds and completed half a second later.
    private func finishedExecution(_ index: Int) -> MetadataDatabase.StoredExecution {
        MetadataDatabase.StoredExecution(id: "e\(index)", status: "completed", resultJSON: nil, heap: nil, error: nil,
                                         startedAt: Date(timeIntervalSince1970: Double(index)),
                                         completedAt: Date(timeIntervalSince1970: Double(index) + 0.5))
    }

    func testOnlyTheNewestExecutionsAreRetained() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-retention-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory, retainedExecutions: 2)
        for index in 0..<3 { try database.save(finishedExecution(index), output: ["line \(index)"]) }
        XCTAssertEqual(try database.executions().map(\.id), ["e1", "e2"])
        XCTAssertEqual(try database.outputLines(of: "e0"), [], "the output goes with its execution")
    }

    func testALowerRetentionDropsEveryOlderExecutionAtTheNextSave() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-retention-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let generous = try MetadataDatabase(directory: directory, retainedExecutions: 10)
        for index in [3, 0, 4, 1, 2] { try generous.save(finishedExecution(index), output: ["line \(index)"]) }
        XCTAssertEqual(try generous.executions().count, 5)
        let strict = try MetadataDatabase(directory: directory, retainedExecutions: 2)
        try strict.save(finishedExecution(5), output: [])
        XCTAssertEqual(Set(try strict.executions().map(\.id)), ["e4", "e5"], "the newest by completion, not by save order")
        for index in 0...3 { XCTAssertEqual(try strict.outputLines(of: "e\(index)"), []) }
        XCTAssertEqual(try strict.outputLines(of: "e4"), ["line 4"])
    }
}
