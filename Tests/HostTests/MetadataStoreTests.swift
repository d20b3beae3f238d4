@testable import Host
import Foundation
import GRDB
import XCTest

/// The metadata stores' shared semantics, each test run against SQLite and PostgreSQL (a real
/// server, `TestPostgres`); `reopen` makes a new store on the same data (the file again, a new pool).
final class MetadataStoreTests: XCTestCase {
    /// A store under test: `open` makes one on the kind's data, as often as a test asks.
    struct Subject {
        let name: String
        let open: (_ retainedExecutions: Int) async throws -> any MetadataStore
        func open() async throws -> any MetadataStore { try await open(defaultRetainedExecutions) }
    }

    /// Runs `body` once per store, each on data of its own; a failure names the store it came from.
    func forEachStore(_ body: (Subject) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-metadata-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try await TestPostgres.shared.makeDatabase()
        let subjects = [
            Subject(name: "SQLite") { try SQLiteMetadataStore(directory: directory, retainedExecutions: $0) },
            Subject(name: "PostgreSQL") { try await PostgresMetadataStore.open(url: database, retainedExecutions: $0) },
        ]
        for subject in subjects {
            let failuresBefore = testRun?.failureCount ?? 0
            do {
                try await body(subject)
            } catch {
                XCTFail("\(subject.name): \(error)")
            }
            if (testRun?.failureCount ?? 0) > failuresBefore { XCTFail("the failures above are the \(subject.name) store's") }
        }
    }

    func testRunsAreLoggedInOrderAndSurviveReopening() async throws {
        try await forEachStore { subject in
            let log = try await subject.open()
            var indexes: [Int] = []
            indexes.append(try await log.append(session: "b", in: .default, inputHeap: nil, outputHeap: "h1", code: "var x = 1"))
            indexes.append(try await log.append(session: "b", in: .default, inputHeap: "h1", outputHeap: nil, code: "throw 1"))
            indexes.append(try await log.append(session: "a", in: .default, inputHeap: nil, outputHeap: "h2", code: "1"))
            XCTAssertEqual(indexes, [0, 1, 0])

            let reopened = try await subject.open()
            let sessions = try await reopened.sessions(in: .default)
            XCTAssertEqual(sessions, ["a", "b"])
            let entries = try await reopened.entries(session: "b", in: .default)
            XCTAssertEqual(entries.map(\.index), [0, 1])
            XCTAssertEqual(entries.map(\.inputHeap), [nil, "h1"])
            XCTAssertEqual(entries.map(\.outputHeap), ["h1", nil])
            XCTAssertEqual(entries.map(\.code), ["var x = 1", "throw 1"])
            let none = try await reopened.entries(session: "none", in: .default)
            XCTAssertEqual(none, [])
        }
    }

    /// Text beyond ASCII round-trips, and sessions list in code point order (PostgreSQL's own
    /// collation would put "B" after "a").
    func testTextRoundTripsAndSessionsSortByCodePoint() async throws {
        try await forEachStore { subject in
            let store = try await subject.open()
            let code = "const s = 'é\u{1F600}'\n"
            for name in ["b", "B", "é", "a z"] {
                try await store.append(session: name, in: .default, inputHeap: nil, outputHeap: nil, code: code)
            }
            let sessions = try await store.sessions(in: .default)
            XCTAssertEqual(sessions, ["B", "a z", "b", "é"])
            let entries = try await store.entries(session: "a z", in: .default)
            XCTAssertEqual(entries.map(\.code), [code])
            try await store.setTags(["k é": "v \u{1F600}"], on: "h1", in: .default)
            let tags = try await store.tags(of: "h1", in: .default)
            XCTAssertEqual(tags, ["k é": "v \u{1F600}"])
            let execution = StoredExecution(id: "e1", status: "failed", resultJSON: nil, heap: nil, error: "bad é",
                                            startedAt: Date(timeIntervalSince1970: 1.25),
                                            completedAt: Date(timeIntervalSince1970: 2.5))
            try await store.save(execution, output: ["é", ""])
            let lines = try await store.outputLines(of: "e1")
            XCTAssertEqual(lines, ["é", ""])
            let read = try await store.execution("e1")
            XCTAssertEqual(read, execution)
        }
    }

    func testHeapTagsSetMergeDeleteAndQuery() async throws {
        try await forEachStore { subject in
            let database = try await subject.open()
            try await database.setTags(["project": "alpha", "stage": "draft"], on: "h1", in: .default)
            try await database.setTags(["project": "alpha", "stage": "final"], on: "h2", in: .default)
            try await database.setTags(["stage": "reviewed"], on: "h1", in: .default)
            let tags = try await database.tags(of: "h1", in: .default)
            XCTAssertEqual(tags, ["project": "alpha", "stage": "reviewed"])
            let alpha = try await database.heaps(taggedWith: ["project": "alpha"], in: .default)
            XCTAssertEqual(alpha, ["h1", "h2"])
            let final = try await database.heaps(taggedWith: ["project": "alpha", "stage": "final"], in: .default)
            XCTAssertEqual(final, ["h2"])
            try await database.deleteTags(["stage", "absent"], from: "h1", in: .default)
            let reopened = try await subject.open().tags(of: "h1", in: .default)
            XCTAssertEqual(reopened, ["project": "alpha"])
            let unknown = try await database.tags(of: "unknown", in: .default)
            XCTAssertEqual(unknown, [:])
        }
    }

    func testFinishedExecutionsRoundTrip() async throws {
        try await forEachStore { subject in
            let database = try await subject.open()
            let record = StoredExecution(
                id: "e1", status: "completed", resultJSON: "42", heap: String(repeating: "a", count: 64), error: nil,
                startedAt: Date(timeIntervalSince1970: 100), completedAt: Date(timeIntervalSince1970: 101))
            try await database.save(record, output: ["one", "two"])
            let reopened = try await subject.open()
            let read = try await reopened.execution("e1")
            XCTAssertEqual(read, record)
            let lines = try await reopened.outputLines(of: "e1")
            XCTAssertEqual(lines, ["one", "two"])
            let all = try await reopened.executions().map(\.id)
            XCTAssertEqual(all, ["e1"])
            let absent = try await reopened.execution("e2")
            XCTAssertNil(absent)
        }
    }

    /// A running execution is recorded under its node's lease, its output appended in batches, and
    /// its end committed; a lease that does not own it writes nothing. A new registration ends what
    /// an earlier process of the node left running.
    func testRunningExecutionsAreRecordedAndOnlyTheirLeaseWritesThem() async throws {
        try await forEachStore { subject in
            let store = try await subject.open(1)
            let node = try NodeName(validating: "node-a")
            let lease = try await store.register(node: node)
            let heartbeat = try await store.heartbeat(lease)
            XCTAssertTrue(heartbeat)
            let started = Date(timeIntervalSince1970: 100)
            try await store.recordStart(StoredExecution(id: "r1", status: "queued", startedAt: started, owner: .default,
                                                        node: "node-a"), lease: lease)
            var read = try await store.execution("r1")
            XCTAssertEqual(read?.status, "queued")
            XCTAssertNil(read?.completedAt)
            XCTAssertEqual(read?.node, "node-a")
            try await store.markRunning("r1", lease: lease)
            read = try await store.execution("r1")
            XCTAssertEqual(read?.status, "running")
            var appended = try await store.appendOutput(["one", "two"], from: 0, of: "r1", lease: lease)
            XCTAssertTrue(appended)
            appended = try await store.appendOutput(["three"], from: 2, of: "r1", lease: lease)
            XCTAssertTrue(appended)
            var lines = try await store.outputLines(of: "r1")
            XCTAssertEqual(lines, ["one", "two", "three"])

            let stranger = NodeLease(node: "node-a", epoch: lease.epoch + 100)
            appended = try await store.appendOutput(["not mine"], from: 3, of: "r1", lease: stranger)
            XCTAssertFalse(appended)
            var ended = StoredExecution(id: "r1", status: "completed", resultJSON: "1", startedAt: started,
                                        completedAt: Date(timeIntervalSince1970: 101), node: "node-a")
            var taken = try await store.save(ended, output: ["x"], from: 3, lease: stranger)
            XCTAssertFalse(taken)
            read = try await store.execution("r1")
            XCTAssertEqual(read?.status, "running", "a fenced write changes nothing")

            // A finished execution beyond the retention of 1 does not push a running one out.
            try await store.save(finishedExecution(0), output: [])
            try await store.save(finishedExecution(1), output: [])
            let kept = try await store.executions().map(\.id)
            XCTAssertEqual(Set(kept), ["r1", "e1"])

            taken = try await store.save(ended, output: ["four"], from: 3, lease: lease)
            XCTAssertTrue(taken)
            read = try await store.execution("r1")
            XCTAssertEqual(read, ended)
            lines = try await store.outputLines(of: "r1")
            XCTAssertEqual(lines, ["one", "two", "three", "four"])
            ended.status = "cancelled"
            taken = try await store.save(ended, output: [], from: 4, lease: lease)
            XCTAssertTrue(taken, "its own lease may still correct its end")

            try await store.recordStart(StoredExecution(id: "r2", status: "running", startedAt: started, node: "node-a"),
                                        lease: lease)
            let next = try await store.register(node: node)
            XCTAssertGreaterThan(next.epoch, lease.epoch)
            let left = try await store.execution("r2")
            XCTAssertEqual(left?.status, "failed")
            XCTAssertNotNil(left?.completedAt)
            XCTAssertTrue([ClusterMessage.serverStopped, ClusterMessage.stoppedAnswering("node-a")].contains(left?.error),
                          "\(String(describing: left?.error))")
            read = try await store.execution("r1")
            XCTAssertEqual(read?.status, "cancelled", "an ended execution stays as it ended")
        }
    }

    /// Execution `e<index>`, started at `index` seconds and completed half a second later.
    private func finishedExecution(_ index: Int) -> StoredExecution {
        StoredExecution(id: "e\(index)", status: "completed", resultJSON: nil, heap: nil, error: nil,
                        startedAt: Date(timeIntervalSince1970: Double(index)),
                        completedAt: Date(timeIntervalSince1970: Double(index) + 0.5))
    }

    func testOnlyTheNewestExecutionsAreRetained() async throws {
        try await forEachStore { subject in
            let database = try await subject.open(2)
            for index in 0..<3 { try await database.save(finishedExecution(index), output: ["line \(index)"]) }
            let kept = try await database.executions().map(\.id)
            XCTAssertEqual(kept, ["e1", "e2"])
            let dropped = try await database.outputLines(of: "e0")
            XCTAssertEqual(dropped, [], "the output goes with its execution")
        }
    }

    func testALowerRetentionDropsEveryOlderExecutionAtTheNextSave() async throws {
        try await forEachStore { subject in
            let generous = try await subject.open(10)
            for index in [3, 0, 4, 1, 2] { try await generous.save(finishedExecution(index), output: ["line \(index)"]) }
            let all = try await generous.executions()
            XCTAssertEqual(all.count, 5)
            let strict = try await subject.open(2)
            try await strict.save(finishedExecution(5), output: [])
            let kept = try await strict.executions().map(\.id)
            XCTAssertEqual(Set(kept), ["e4", "e5"], "the newest by completion, not by save order")
            for index in 0...3 {
                let lines = try await strict.outputLines(of: "e\(index)")
                XCTAssertEqual(lines, [])
            }
            let lines = try await strict.outputLines(of: "e4")
            XCTAssertEqual(lines, ["line 4"])
        }
    }

    // ---- namespaces ----

    func testSessionsAndTagsOfOneNamespaceAreInvisibleToAnother() async throws {
        try await forEachStore { subject in
            let database = try await subject.open()
            let (alice, bob) = (Namespace(subject: "alice"), Namespace(subject: "bob"))
            try await database.append(session: "work", in: alice, inputHeap: nil, outputHeap: "h1", code: "var secret = 1")
            let index = try await database.append(session: "work", in: bob, inputHeap: nil, outputHeap: "h2", code: "1")
            XCTAssertEqual(index, 0, "the same name is a new session in another namespace")
            try await database.setTags(["owner": "alice"], on: "h1", in: alice)
            try await database.setTags(["owner": "bob"], on: "h1", in: bob)

            let bobsSessions = try await database.sessions(in: bob)
            XCTAssertEqual(bobsSessions, ["work"])
            let bobsCode = try await database.entries(session: "work", in: bob).map(\.code)
            XCTAssertEqual(bobsCode, ["1"])
            let alicesCode = try await database.entries(session: "work", in: alice).map(\.code)
            XCTAssertEqual(alicesCode, ["var secret = 1"])
            let defaultSessions = try await database.sessions(in: .default)
            XCTAssertEqual(defaultSessions, [])
            let alicesTagSeenByBob = try await database.heaps(taggedWith: ["owner": "alice"], in: bob)
            XCTAssertEqual(alicesTagSeenByBob, [])
            let alicesTags = try await database.tags(of: "h1", in: alice)
            XCTAssertEqual(alicesTags, ["owner": "alice"])
            try await database.deleteTags(["owner"], from: "h1", in: bob)
            let alicesHeaps = try await database.heaps(taggedWith: ["owner": "alice"], in: alice)
            XCTAssertEqual(alicesHeaps, ["h1"])
        }
    }

    func testAHeapIsResumableOnlyByTheNamespacesThatMadeIt() async throws {
        try await forEachStore { subject in
            let database = try await subject.open()
            let (alice, bob) = (Namespace(subject: "alice"), Namespace(subject: "bob"))
            func mayResume(_ heap: String, _ namespace: Namespace, _ store: (any MetadataStore)? = nil) async throws -> Bool {
                try await (store ?? database).mayResume(heap, in: namespace)
            }
            try await database.recordOwner(alice, of: "h1")
            var allowed = try await mayResume("h1", alice)
            XCTAssertTrue(allowed)
            allowed = try await mayResume("h1", bob)
            XCTAssertFalse(allowed)
            allowed = try await mayResume("h1", .default)
            XCTAssertFalse(allowed, "an owned heap is not the default namespace's")
            try await database.recordOwner(bob, of: "h1")
            try await database.recordOwner(bob, of: "h1")
            allowed = try await mayResume("h1", bob, try await subject.open())
            XCTAssertTrue(allowed, "the same bytes, made by both")
            allowed = try await mayResume("h1", alice)
            XCTAssertTrue(allowed)
            allowed = try await mayResume("unowned", .default)
            XCTAssertTrue(allowed, "heaps stored before owners were recorded")
            allowed = try await mayResume("unowned", alice)
            XCTAssertFalse(allowed)
        }
    }

    func testReferencedHeapsAreThoseOfSessionLogsTagsAndKeptExecutions() async throws {
        try await forEachStore { subject in
            let database = try await subject.open(2)
            let alice = Namespace(subject: "alice")
            try await database.append(session: "s", in: alice, inputHeap: "input", outputHeap: "output", code: "1")
            try await database.append(session: "s", in: .default, inputHeap: nil, outputHeap: nil, code: "throw 1")
            try await database.setTags(["k": "v"], on: "tagged", in: alice)
            let started = Date(timeIntervalSince1970: 1_000)
            for (index, heap) in ["dropped", "kept-1", "kept-2"].enumerated() {
                try await database.save(StoredExecution(id: "e\(index)", status: "completed", heap: heap,
                                                        startedAt: started, completedAt: started + Double(index)),
                                        output: [])
            }
            try await database.recordOwner(alice, of: "owned-only")
            let referenced = try await subject.open().referencedHeaps()
            XCTAssertEqual(referenced, ["input", "output", "tagged", "kept-1", "kept-2"],
                           "the execution beyond retention no longer keeps its heap; owning is no reference")
        }
    }

    func testResumesAreRecordedLatestWinsAndForgettingAHeapDropsItsRows() async throws {
        try await forEachStore { subject in
            let database = try await subject.open()
            let (alice, bob) = (Namespace(subject: "alice"), Namespace(subject: "bob"))
            let (early, late) = (Date(timeIntervalSince1970: 1_000), Date(timeIntervalSince1970: 2_000))
            try await database.recordResume(of: "h1", at: late)
            try await database.recordResume(of: "h1", at: early)
            try await database.recordResume(of: "h2", at: early)
            let resumes = try await subject.open().lastResumes()
            XCTAssertEqual(resumes, ["h1": late, "h2": early], "a late-arriving earlier resume does not go back in time")
            var one = try await database.lastResume(of: "h1")
            XCTAssertEqual(one, late)
            one = try await database.lastResume(of: "never")
            XCTAssertNil(one)

            for namespace in [alice, bob] {
                try await database.recordOwner(namespace, of: "h1")
                try await database.setTags(["who": namespace.key], on: "h1", in: namespace)
            }
            var owners = try await database.owners(of: "h1")
            XCTAssertEqual(owners, [alice, bob])
            try await database.dropOwnership(of: "h1", by: alice)
            owners = try await database.owners(of: "h1")
            XCTAssertEqual(owners, [bob])
            let alicesTags = try await database.tags(of: "h1", in: alice)
            XCTAssertEqual(alicesTags, [:], "dropping ownership drops the namespace's tags")
            let bobsTags = try await database.tags(of: "h1", in: bob)
            XCTAssertEqual(bobsTags, ["who": "bob"])

            try await database.forget(heap: "h1")
            owners = try await database.owners(of: "h1")
            XCTAssertEqual(owners, [])
            let referenced = try await database.referencedHeaps()
            XCTAssertEqual(referenced, [], "its tags went too")
            let left = try await database.lastResumes()
            XCTAssertEqual(left, ["h2": early])
        }
    }

    /// Nodes sharing PostgreSQL sweep one at a time; a SQLite file's one server always sweeps.
    func testOneSweepAtATimeOnASharedDatabase() async throws {
        try await forEachStore { subject in
            let (first, second) = (try await subject.open(), try await subject.open())
            // Whether a second sweep ran while the first one was running.
            let secondRan = try await first.exclusiveSweep { try await second.exclusiveSweep { 2 } != nil }
            XCTAssertEqual(secondRan, subject.name == "SQLite", "PostgreSQL: the second skips")
            let after = try await second.exclusiveSweep { 3 }
            XCTAssertEqual(after, 3, "the lock is released when the sweep ends")
        }
    }

    /// A database as the version before namespaces left it: sessions, tags and executions (one
    /// started without tokens, one by alice) shared by every caller.
    func testADatabaseFromBeforeNamespacesUpgradesIntoTheDefaultNamespace() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-upgrade-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let old = try DatabaseQueue(path: directory.appendingPathComponent("sessions.sqlite3").path)
        try await old.write { db in
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

        let database = try SQLiteMetadataStore(directory: directory)
        let sessions = try await database.sessions(in: .default)
        XCTAssertEqual(sessions, ["s"])
        let entries = try await database.entries(session: "s", in: .default)
        XCTAssertEqual(entries.map(\.code), ["var x = 1", "x++"])
        XCTAssertEqual(entries.map(\.outputHeap), ["h1", "h2"])
        let drafts = try await database.heaps(taggedWith: ["stage": "draft"], in: .default)
        XCTAssertEqual(drafts, ["h3"])
        let (e1, e2) = (try await database.execution("e1"), try await database.execution("e2"))
        XCTAssertEqual(e1?.owner, .default)
        XCTAssertEqual(e2?.owner, Namespace(subject: "alice"))
        let lines = try await database.outputLines(of: "e1")
        XCTAssertEqual(lines, ["one"])
        for heap in ["h1", "h2", "h3", "h4"] {
            let allowed = try await database.mayResume(heap, in: .default)
            XCTAssertTrue(allowed, heap)
        }
        var allowed = try await database.mayResume("h5", in: Namespace(subject: "alice"))
        XCTAssertTrue(allowed)
        allowed = try await database.mayResume("h5", in: .default)
        XCTAssertFalse(allowed, "alice made h5 with her token")
        allowed = try await database.mayResume("h1", in: Namespace(subject: "alice"))
        XCTAssertFalse(allowed)
        let alicesSessions = try await database.sessions(in: Namespace(subject: "alice"))
        XCTAssertEqual(alicesSessions, [])
    }
}
