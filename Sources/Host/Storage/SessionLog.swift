import Foundation
import GRDB

/// Named sessions: every stateful run that names a session is logged here, in order, so an
/// agent (or a person) can see how a session's heap came to be. SQLite, in one file.
public final class SessionLog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var index: Int
        public var inputHeap: String?
        public var outputHeap: String?
        public var code: String
        public var timestamp: Date
    }

    private let database: DatabaseQueue

    /// Opens (creating if needed) the log in `directory`.
    public init(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        database = try DatabaseQueue(path: directory.appendingPathComponent("sessions.sqlite3").path)
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
        try migrator.migrate(database)
    }

    /// Logs a run as the session's next entry and returns its index (0-based).
    @discardableResult
    public func append(session: String, inputHeap: String?, outputHeap: String?, code: String,
                       at timestamp: Date = Date()) throws -> Int {
        try database.write { db in
            let index = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(run_index) + 1, 0) FROM session_runs WHERE session = ?",
                                         arguments: [session]) ?? 0
            try db.execute(sql: """
                INSERT INTO session_runs (session, run_index, input_heap, output_heap, code, timestamp)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [session, index, inputHeap, outputHeap, code, timestamp.timeIntervalSince1970])
            return index
        }
    }

    public func sessions() throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT session FROM session_runs ORDER BY session")
        }
    }

    public func entries(session: String) throws -> [Entry] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT run_index, input_heap, output_heap, code, timestamp FROM session_runs
                WHERE session = ? ORDER BY run_index
                """, arguments: [session]).map { row in
                Entry(index: row["run_index"], inputHeap: row["input_heap"], outputHeap: row["output_heap"],
                      code: row["code"], timestamp: Date(timeIntervalSince1970: row["timestamp"]))
            }
        }
    }
}
