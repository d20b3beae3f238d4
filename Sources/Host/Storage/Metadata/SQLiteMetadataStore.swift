import Foundation
import GRDB

/// The metadata of stateful mode in one SQLite file (the embedded default; see `MetadataStore`).
/// Its calls are GRDB's synchronous ones: a local file answers in microseconds, and a run's end
/// is saved without a suspension, as before the interface was async (a shutdown does not outrun it).
public final class SQLiteMetadataStore: MetadataStore {
    private let database: DatabaseQueue
    /// How many finished executions are kept; older ones (and their output) are deleted.
    public let retainedExecutions: Int

    /// Opens (creating if needed) the database in `directory`.
    public init(directory: URL, retainedExecutions: Int = defaultRetainedExecutions) throws {
        self.retainedExecutions = retainedExecutions
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        // WAL with synchronous=NORMAL: a commit costs no fsync of its own, and a crash can lose
        // only the last commits, never corrupt the file. Heaps themselves are fsynced by the store.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: directory.appendingPathComponent("sessions.sqlite3").path,
                                     configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE session_runs (
                    session TEXT NOT NULL,
                    run_index INTEGER NOT NULL,
                    input_heap TEXT,
                    output_heap TEXT,
                    code TEXT NOT NULL,
                    timestamp REAL NOT NULL,
                    PRIMARY KEY (session, run_index)
                )
                """)
        }
        migrator.registerMigration("v2-heap-tags") { db in
            try db.execute(sql: """
                CREATE TABLE heap_tags (
                    heap TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (heap, key)
                );
                CREATE INDEX heap_tags_by_key_value ON heap_tags (key, value);
                """)
        }
        migrator.registerMigration("v3-executions") { db in
            try db.execute(sql: """
                CREATE TABLE executions (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    result_json TEXT,
                    heap TEXT,
                    error TEXT,
                    started_at REAL NOT NULL,
                    completed_at REAL NOT NULL
                );
                CREATE INDEX executions_by_completion ON executions (completed_at);
                CREATE TABLE execution_output (
                    execution_id TEXT NOT NULL,
                    line_index INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    PRIMARY KEY (execution_id, line_index)
                );
                """)
        }
        migrator.registerMigration("v4-execution-owner") { db in
            // The verified token subject that started the execution (NULL without --jwks-url).
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN owner TEXT")
        }
        migrator.registerMigration("v5-namespaces") { db in
            // Sessions and tags gain a namespace (the tables are rebuilt: their keys change). What
            // was there before was shared by every caller and goes to the default namespace, as do
            // executions made without tokens. Heaps get owners: every heap the database names is
            // owned by the namespace it was made in (an execution's owner; default for the shared
            // session logs and tags). Heaps it never named are left unowned (see `mayResume`).
            try db.execute(sql: """
                CREATE TABLE namespace_session_runs (
                    namespace TEXT NOT NULL,
                    session TEXT NOT NULL,
                    run_index INTEGER NOT NULL,
                    input_heap TEXT,
                    output_heap TEXT,
                    code TEXT NOT NULL,
                    timestamp REAL NOT NULL,
                    PRIMARY KEY (namespace, session, run_index)
                );
                INSERT INTO namespace_session_runs
                    SELECT '', session, run_index, input_heap, output_heap, code, timestamp FROM session_runs;
                DROP TABLE session_runs;
                ALTER TABLE namespace_session_runs RENAME TO session_runs;
                CREATE TABLE namespace_heap_tags (
                    namespace TEXT NOT NULL,
                    heap TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (namespace, heap, key)
                );
                INSERT INTO namespace_heap_tags SELECT '', heap, key, value FROM heap_tags;
                DROP TABLE heap_tags;
                ALTER TABLE namespace_heap_tags RENAME TO heap_tags;
                CREATE INDEX heap_tags_by_key_value ON heap_tags (namespace, key, value);
                UPDATE executions SET owner = '' WHERE owner IS NULL;
                CREATE TABLE heap_owners (
                    heap TEXT NOT NULL,
                    namespace TEXT NOT NULL,
                    PRIMARY KEY (heap, namespace)
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO heap_owners SELECT heap, owner FROM executions WHERE heap IS NOT NULL;
                INSERT OR IGNORE INTO heap_owners SELECT output_heap, '' FROM session_runs WHERE output_heap IS NOT NULL;
                INSERT OR IGNORE INTO heap_owners SELECT input_heap, '' FROM session_runs WHERE input_heap IS NOT NULL;
                INSERT OR IGNORE INTO heap_owners SELECT heap, '' FROM heap_tags;
                """)
        }
        migrator.registerMigration("v6-running-executions") { db in
            // Running executions are recorded too (completed_at NULL until they end), with the
            // node and epoch that run them (see `register`).
            try db.execute(sql: """
                CREATE TABLE executions_with_nodes (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    result_json TEXT,
                    heap TEXT,
                    error TEXT,
                    started_at REAL NOT NULL,
                    completed_at REAL,
                    owner TEXT NOT NULL,
                    node TEXT,
                    epoch INTEGER
                );
                INSERT INTO executions_with_nodes (id, status, result_json, heap, error, started_at, completed_at, owner)
                    SELECT id, status, result_json, heap, error, started_at, completed_at, owner FROM executions;
                DROP TABLE executions;
                ALTER TABLE executions_with_nodes RENAME TO executions;
                CREATE INDEX executions_by_completion ON executions (completed_at);
                """)
        }
        migrator.registerMigration("v7-heap-retention") { db in
            // When each heap was last resumed (retention keeps heaps resumed lately), and indexes
            // for the sweep's look-ups of the heaps that executions name.
            try db.execute(sql: """
                CREATE TABLE heap_last_resumes (
                    heap TEXT PRIMARY KEY,
                    resumed_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX executions_by_heap ON executions (heap);
                """)
        }
        try migrator.migrate(database)
    }

    @discardableResult
    public func append(session: String, in namespace: Namespace, inputHeap: String?, outputHeap: String?,
                       code: String, at timestamp: Date) async throws -> Int {
        try write { db in
            let index = try Int.fetchOne(db, sql: """
                SELECT COALESCE(MAX(run_index) + 1, 0) FROM session_runs WHERE namespace = ? AND session = ?
                """, arguments: [namespace.key, session]) ?? 0
            try db.execute(sql: """
                INSERT INTO session_runs (namespace, session, run_index, input_heap, output_heap, code, timestamp)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [namespace.key, session, index, inputHeap, outputHeap, code,
                                 timestamp.timeIntervalSince1970])
            return index
        }
    }

    public func sessions(in namespace: Namespace) async throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT session FROM session_runs WHERE namespace = ? ORDER BY session",
                                arguments: [namespace.key])
        }
    }

    public func entries(session: String, in namespace: Namespace) async throws -> [SessionEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT run_index, input_heap, output_heap, code, timestamp FROM session_runs
                WHERE namespace = ? AND session = ? ORDER BY run_index
                """, arguments: [namespace.key, session]).map { row in
                SessionEntry(index: row["run_index"], inputHeap: row["input_heap"], outputHeap: row["output_heap"],
                             code: row["code"], timestamp: Date(timeIntervalSince1970: row["timestamp"]))
            }
        }
    }

    // ---- heap tags (each namespace tags heaps its own way) ----

    public func tags(of heap: String, in namespace: Namespace) async throws -> [String: String] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM heap_tags WHERE namespace = ? AND heap = ?",
                                        arguments: [namespace.key, heap])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as String) })
        }
    }

    public func setTags(_ tags: [String: String], on heap: String, in namespace: Namespace) async throws {
        try write { db in
            for (key, value) in tags {
                try db.execute(sql: "INSERT OR REPLACE INTO heap_tags (namespace, heap, key, value) VALUES (?, ?, ?, ?)",
                               arguments: [namespace.key, heap, key, value])
            }
        }
    }

    public func deleteTags(_ keys: [String], from heap: String, in namespace: Namespace) async throws {
        try write { db in
            for key in keys {
                try db.execute(sql: "DELETE FROM heap_tags WHERE namespace = ? AND heap = ? AND key = ?",
                               arguments: [namespace.key, heap, key])
            }
        }
    }

    public func heaps(taggedWith tags: [String: String], in namespace: Namespace) async throws -> [String] {
        try read { db in
            var matches: Set<String>?
            for (key, value) in tags {
                let heaps = Set(try String.fetchAll(db, sql: """
                    SELECT heap FROM heap_tags WHERE namespace = ? AND key = ? AND value = ?
                    """, arguments: [namespace.key, key, value]))
                matches = matches.map { $0.intersection(heaps) } ?? heaps
            }
            return (matches ?? []).sorted()
        }
    }

    // ---- heap owners ----

    public func recordOwner(_ namespace: Namespace, of heap: String) async throws {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO heap_owners (heap, namespace) VALUES (?, ?)",
                           arguments: [heap, namespace.key])
        }
    }

    public func mayResume(_ heap: String, in namespace: Namespace) async throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM heap_owners WHERE heap = ?1 AND namespace = ?2)
                    OR (?2 = '' AND NOT EXISTS (SELECT 1 FROM heap_owners WHERE heap = ?1))
                """, arguments: [heap, namespace.key]) ?? false
        }
    }

    // ---- heap retention ----

    public func recordResume(of heap: String, at date: Date) async throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO heap_last_resumes (heap, resumed_at) VALUES (?, ?)
                ON CONFLICT (heap) DO UPDATE SET resumed_at = MAX(resumed_at, excluded.resumed_at)
                """, arguments: [heap, date.timeIntervalSince1970])
        }
    }

    public func lastResumes() async throws -> [String: Date] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT heap, resumed_at FROM heap_last_resumes")
            return Dictionary(uniqueKeysWithValues: rows.map {
                ($0["heap"] as String, Date(timeIntervalSince1970: $0["resumed_at"]))
            })
        }
    }

    public func lastResume(of heap: String) async throws -> Date? {
        try read { db in
            try Double.fetchOne(db, sql: "SELECT resumed_at FROM heap_last_resumes WHERE heap = ?", arguments: [heap])
                .map(Date.init(timeIntervalSince1970:))
        }
    }

    public func referencedHeaps() async throws -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT input_heap FROM session_runs WHERE input_heap IS NOT NULL
                UNION SELECT output_heap FROM session_runs WHERE output_heap IS NOT NULL
                UNION SELECT heap FROM heap_tags
                UNION SELECT heap FROM executions WHERE heap IS NOT NULL
                """))
        }
    }

    public func owners(of heap: String) async throws -> Set<Namespace> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT namespace FROM heap_owners WHERE heap = ?", arguments: [heap])
                .map(Namespace.init(key:)))
        }
    }

    public func dropOwnership(of heap: String, by namespace: Namespace) async throws {
        try write { db in
            try db.execute(sql: "DELETE FROM heap_owners WHERE heap = ? AND namespace = ?", arguments: [heap, namespace.key])
            try db.execute(sql: "DELETE FROM heap_tags WHERE heap = ? AND namespace = ?", arguments: [heap, namespace.key])
        }
    }

    public func forget(heap: String) async throws {
        try write { db in
            for table in ["heap_owners", "heap_tags", "heap_last_resumes"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE heap = ?", arguments: [heap])
            }
        }
    }

    public func exclusiveSweep<T: Sendable>(_ sweep: @Sendable () async throws -> T) async throws -> T? {
        try await sweep()
    }

    // ---- executions ----

    @discardableResult
    public func save(_ execution: StoredExecution, output: [String], from firstLine: Int,
                     lease: NodeLease?) async throws -> Bool {
        let retainedExecutions = retainedExecutions
        return try write { db in
            if let lease, !NodeLiveness.mayWrite(by: lease, owner: try Self.owner(of: execution.id, in: db)) { return false }
            try db.execute(sql: """
                INSERT OR REPLACE INTO executions (id, status, result_json, heap, error, started_at, completed_at, owner,
                                                   node, epoch)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [execution.id, execution.status, execution.resultJSON, execution.heap, execution.error,
                                 execution.startedAt.timeIntervalSince1970, execution.completedAt?.timeIntervalSince1970,
                                 execution.owner.key, execution.node ?? lease?.node, lease?.epoch])
            try Self.insert(output, from: firstLine, of: execution.id, in: db)
            // Counting is cheap (SQLite counts cells page by page); skipping the retained rows with
            // OFFSET stepped through every one of them, 0.3 ms a save once 10,000 were kept.
            let overflow = try (Int.fetchOne(db, sql: "SELECT COUNT(*) FROM executions WHERE completed_at IS NOT NULL")
                ?? 0) - retainedExecutions
            guard overflow > 0 else { return true }
            let stale = try String.fetchAll(db, sql: """
                SELECT id FROM executions WHERE completed_at IS NOT NULL ORDER BY completed_at LIMIT ?
                """, arguments: [overflow])
            for id in stale {
                try db.execute(sql: "DELETE FROM execution_output WHERE execution_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM executions WHERE id = ?", arguments: [id])
            }
            return true
        }
    }

    public func execution(_ id: String) async throws -> StoredExecution? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM executions WHERE id = ?", arguments: [id]).map(Self.execution)
        }
    }

    public func executions() async throws -> [StoredExecution] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM executions ORDER BY started_at").map(Self.execution)
        }
    }

    public func outputLines(of id: String) async throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT text FROM execution_output WHERE execution_id = ? ORDER BY line_index",
                                arguments: [id])
        }
    }

    // ---- running executions: one node, so no heartbeats and no other node to ask ----

    /// Ends what a previous process left queued or running (it crashed or was killed mid-run).
    public func register(node: NodeName) async throws -> NodeLease {
        try write { db in
            try db.execute(sql: """
                UPDATE executions SET status = 'failed', error = ?, completed_at = ?, epoch = NULL
                WHERE status IN ('queued', 'running')
                """, arguments: [ClusterMessage.serverStopped, Date().timeIntervalSince1970])
            let epoch = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(epoch), 0) + 1 FROM executions") ?? 1
            return NodeLease(node: node.description, epoch: epoch)
        }
    }

    public func heartbeat(_ lease: NodeLease) async throws -> Bool { true }
    public func registeredNodes() async throws -> [NodeLiveness.Registration] { [] }
    public func declareDead(_ node: NodeLease, silentBeyond lease: Duration) async throws -> Int? { nil }
    public func requestCancel(of id: String) async throws {}

    public func listenForCancelRequests(_ onRequest: @escaping @Sendable (String) -> Void) async throws {
        // No other node can ask: wait until the task is cancelled.
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    public func recordStart(_ execution: StoredExecution, lease: NodeLease) async throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO executions (id, status, started_at, owner, node, epoch) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [execution.id, execution.status, execution.startedAt.timeIntervalSince1970,
                                 execution.owner.key, lease.node, lease.epoch])
        }
    }

    public func markRunning(_ id: String, lease: NodeLease) async throws {
        try write { db in
            guard NodeLiveness.mayWrite(by: lease, owner: try Self.owner(of: id, in: db)) else { return }
            try db.execute(sql: "UPDATE executions SET status = 'running' WHERE id = ? AND status = 'queued'",
                           arguments: [id])
        }
    }

    public func appendOutput(_ lines: [String], from firstLine: Int, of id: String,
                             lease: NodeLease) async throws -> Bool {
        try write { db in
            guard NodeLiveness.mayWrite(by: lease, owner: try Self.owner(of: id, in: db)) else { return false }
            try Self.insert(lines, from: firstLine, of: id, in: db)
            return true
        }
    }

    /// The lease that owns an execution now (nil when none does, or it is not stored).
    private static func owner(of id: String, in db: Database) throws -> NodeLease? {
        guard let row = try Row.fetchOne(db, sql: "SELECT node, epoch FROM executions WHERE id = ?", arguments: [id]),
              let node = row["node"] as String?, let epoch = row["epoch"] as Int64? else { return nil }
        return NodeLease(node: node, epoch: epoch)
    }

    private static func insert(_ lines: [String], from firstLine: Int, of id: String, in db: Database) throws {
        for (offset, line) in lines.enumerated() {
            try db.execute(sql: "INSERT OR REPLACE INTO execution_output (execution_id, line_index, text) VALUES (?, ?, ?)",
                           arguments: [id, firstLine + offset, line])
        }
    }

    // Not async, so GRDB's synchronous calls are the ones chosen (see the type's comment).
    private func read<T>(_ body: (Database) throws -> T) throws -> T { try database.read(body) }
    private func write<T>(_ body: (Database) throws -> T) throws -> T { try database.write(body) }

    private static func execution(_ row: Row) -> StoredExecution {
        StoredExecution(id: row["id"], status: row["status"], resultJSON: row["result_json"], heap: row["heap"],
                        error: row["error"], startedAt: Date(timeIntervalSince1970: row["started_at"]),
                        completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                        owner: Namespace(key: row["owner"]), node: row["node"])
    }
}
