@testable import Host
import Foundation
import GRDB
import XCTest

final class MetadataDatabaseTests: XCTestCase {
    func testRunsAreLoggedInOrderAndSurviveReopening() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-sessions-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try log.append(session: "b", in: .default, inputHeap: nil, outputHeap: "h1", code: "var x = 1"), 0)
        XCTAssertEqual(try log.append(session: "b", in: .default, inputHeap: "h1", outputHeap: nil, code: "throw 1"), 1)
        XCTAssertEqual(try log.append(session: "a", in: .default, inputHeap: nil, outputHeap: "h2", code: "1"), 0)

        let reopened = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try reopened.sessions(in: .default), ["a", "b"])
        let entries = try reopened.entries(session: "b", in: .default)
        XCTAssertEqual(entries.map(\.index), [0, 1])
        XCTAssertEqual(entries.map(\.inputHeap), [nil, "h1"])
        XCTAssertEqual(entries.map(\.outputHeap), ["h1", nil])
        XCTAssertEqual(entries.map(\.code), ["var x = 1", "throw 1"])
        XCTAssertEqual(try reopened.entries(session: "none", in: .default), [])
    }

    func testHeapTagsSetMergeDeleteAndQuery() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-tags-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory)
        try database.setTags(["project": "alpha", "stage": "draft"], on: "h1", in: .default)
        try database.setTags(["project": "alpha", "stage": "final"], on: "h2", in: .default)
        try database.setTags(["stage": "reviewed"], on: "h1", in: .default)
        XCTAssertEqual(try database.tags(of: "h1", in: .default), ["project": "alpha", "stage": "reviewed"])
        XCTAssertEqual(try database.heaps(taggedWith: ["project": "alpha"], in: .default), ["h1", "h2"])
        XCTAssertEqual(try database.heaps(taggedWith: ["project": "alpha", "stage": "final"], in: .default), ["h2"])
        try database.deleteTags(["stage", "absent"], from: "h1", in: .default)
        XCTAssertEqual(try MetadataDatabase(directory: directory).tags(of: "h1", in: .default), ["project": "alpha"])
        XCTAssertEqual(try database.tags(of: "unknown", in: .default), [:])
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

    // ---- namespaces ----

    func testSessionsAndTagsOfOneNamespaceAreInvisibleToAnother() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-namespaces-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory)
        let (alice, bob) = (Namespace(subject: "alice"), Namespace(subject: "bob"))
        try database.append(session: "work", in: alice, inputHeap: nil, outputHeap: "h1", code: "var secret = 1")
        XCTAssertEqual(try database.append(session: "work", in: bob, inputHeap: nil, outputHeap: "h2", code: "1"), 0,
                       "the same name is a new session in another namespace")
        try database.setTags(["owner": "alice"], on: "h1", in: alice)
        try database.setTags(["owner": "bob"], on: "h1", in: bob)

        XCTAssertEqual(try database.sessions(in: bob), ["work"])
        XCTAssertEqual(try database.entries(session: "work", in: bob).map(\.code), ["1"])
        XCTAssertEqual(try database.entries(session: "work", in: alice).map(\.code), ["var secret = 1"])
        XCTAssertEqual(try database.sessions(in: .default), [])
        XCTAssertEqual(try database.heaps(taggedWith: ["owner": "alice"], in: bob), [])
        XCTAssertEqual(try database.tags(of: "h1", in: alice), ["owner": "alice"])
        try database.deleteTags(["owner"], from: "h1", in: bob)
        XCTAssertEqual(try database.heaps(taggedWith: ["owner": "alice"], in: alice), ["h1"])
    }

    func testAHeapIsResumableOnlyByTheNamespacesThatMadeIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-owners-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try MetadataDatabase(directory: directory)
        let (alice, bob) = (Namespace(subject: "alice"), Namespace(subject: "bob"))
        try database.recordOwner(alice, of: "h1")
        XCTAssertTrue(try database.mayResume("h1", in: alice))
        XCTAssertFalse(try database.mayResume("h1", in: bob))
        XCTAssertFalse(try database.mayResume("h1", in: .default), "an owned heap is not the default namespace's")
        try database.recordOwner(bob, of: "h1")
        try database.recordOwner(bob, of: "h1")
        XCTAssertTrue(try MetadataDatabase(directory: directory).mayResume("h1", in: bob), "the same bytes, made by both")
        XCTAssertTrue(try database.mayResume("h1", in: alice))
        XCTAssertTrue(try database.mayResume("unowned", in: .default), "heaps stored before owners were recorded")
        XCTAssertFalse(try database.mayResume("unowned", in: alice))
    }

    /// A database as the version before namespaces left it: sessions, tags and executions (one
    /// started without tokens, one by alice) shared by every caller.
    func testADatabaseFromBeforeNamespacesUpgradesIntoTheDefaultNamespace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-upgrade-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: directory.appendingPathComponent("sessions.sqlite3").path)
        try old.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1'), ('v2-heap-tags'), ('v3-executions'), ('v4-execution-owner');
                CREATE TABLE session_runs (session TEXT NOT NULL, run_index INTEGER NOT NULL, input_heap TEXT,
                    output_heap TEXT, code TEXT NOT NULL, timestamp REAL NOT NULL, PRIMARY KEY (session, run_index));
                CREATE TABLE heap_tags (heap TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (heap, key));
                CREATE INDEX heap_tags_by_key_value ON heap_tags (key, value);
                CREATE TABLE executions (id TEXT PRIMARY KEY, status TEXT NOT NULL, result_json TEXT, heap TEXT,
                    error TEXT, started_at REAL NOT NULL, completed_at REAL NOT NULL, owner TEXT);
                CREATE INDEX executions_by_completion ON executions (completed_at);
                CREATE TABLE execution_output (execution_id TEXT NOT NULL, line_index INTEGER NOT NULL,
                    text TEXT NOT NULL, PRIMARY KEY (execution_id, line_index));
                INSERT INTO session_runs VALUES ('s', 0, NULL, 'h1', 'var x = 1', 100), ('s', 1, 'h1', 'h2', 'x++', 101);
                INSERT INTO heap_tags VALUES ('h3', 'stage', 'draft');
                INSERT INTO executions VALUES ('e1', 'completed', '1', 'h4', NULL, 1, 2, NULL),
                                              ('e2', 'completed', '2', 'h5', NULL, 3, 4, 'alice');
                INSERT INTO execution_output VALUES ('e1', 0, 'one');
                """)
        }
        try old.close()

        let database = try MetadataDatabase(directory: directory)
        XCTAssertEqual(try database.sessions(in: .default), ["s"])
        XCTAssertEqual(try database.entries(session: "s", in: .default).map(\.code), ["var x = 1", "x++"])
        XCTAssertEqual(try database.entries(session: "s", in: .default).map(\.outputHeap), ["h1", "h2"])
        XCTAssertEqual(try database.heaps(taggedWith: ["stage": "draft"], in: .default), ["h3"])
        XCTAssertEqual(try database.execution("e1")?.owner, .default)
        XCTAssertEqual(try database.execution("e2")?.owner, Namespace(subject: "alice"))
        XCTAssertEqual(try database.outputLines(of: "e1"), ["one"])
        for heap in ["h1", "h2", "h3", "h4"] { XCTAssertTrue(try database.mayResume(heap, in: .default), heap) }
        XCTAssertTrue(try database.mayResume("h5", in: Namespace(subject: "alice")))
        XCTAssertFalse(try database.mayResume("h5", in: .default), "alice made h5 with her token")
        XCTAssertFalse(try database.mayResume("h1", in: Namespace(subject: "alice")))
        XCTAssertEqual(try database.sessions(in: Namespace(subject: "alice")), [])
    }
}
