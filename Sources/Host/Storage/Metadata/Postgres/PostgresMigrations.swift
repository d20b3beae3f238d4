import Logging
import PostgresNIO

/// The PostgreSQL store's schema, one numbered migration at a time. `apply` runs them on one
/// connection under a session advisory lock, recording each in `mcpv8_schema_migrations`, so nodes
/// starting at once wait for each other and every migration runs once. New migrations go at the end.
///
/// User text (code, console output, session names, tags, namespaces, errors) is BYTEA: PostgreSQL's
/// TEXT cannot hold U+0000, which JavaScript strings can, and bytes sort in code point order, as
/// the SQLite store's do. Heap and execution ids are TEXT. Timestamps are seconds since 1970, as
/// in SQLite, so a stored date reads back equal.
enum PostgresMigrations {
    static let all: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE session_runs (
                namespace BYTEA NOT NULL,
                session BYTEA NOT NULL,
                run_index BIGINT NOT NULL,
                input_heap TEXT,
                output_heap TEXT,
                code BYTEA NOT NULL,
                timestamp DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (namespace, session, run_index)
            )
            """,
            """
            CREATE TABLE heap_tags (
                namespace BYTEA NOT NULL,
                heap TEXT NOT NULL,
                key BYTEA NOT NULL,
                value BYTEA NOT NULL,
                PRIMARY KEY (namespace, heap, key)
            )
            """,
            "CREATE INDEX heap_tags_by_key_value ON heap_tags (namespace, key, value)",
            """
            CREATE TABLE heap_owners (
                heap TEXT NOT NULL,
                namespace BYTEA NOT NULL,
                PRIMARY KEY (heap, namespace)
            )
            """,
            // completed_at may be NULL so that a later increment can keep running executions here too.
            """
            CREATE TABLE executions (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                result_json TEXT,
                heap TEXT,
                error BYTEA,
                started_at DOUBLE PRECISION NOT NULL,
                completed_at DOUBLE PRECISION,
                owner BYTEA NOT NULL
            )
            """,
            "CREATE INDEX executions_by_completion ON executions (completed_at)",
            "CREATE INDEX executions_by_start ON executions (started_at)",
            """
            CREATE TABLE execution_output (
                execution_id TEXT NOT NULL,
                line_index BIGINT NOT NULL,
                text BYTEA NOT NULL,
                PRIMARY KEY (execution_id, line_index)
            )
            """,
        ]),
        // Running executions are recorded (completed_at NULL) with the node and epoch that run
        // them; nodes register and heartbeat (Sources/Host/Cluster). A node declared dead loses
        // its registration, and its executions their epoch, so its late writes match nothing.
        (2, [
            "ALTER TABLE executions ADD COLUMN node TEXT, ADD COLUMN epoch BIGINT",
            "CREATE INDEX executions_running ON executions (node, epoch) WHERE completed_at IS NULL",
            """
            CREATE TABLE cluster_nodes (
                name TEXT PRIMARY KEY,
                epoch BIGINT NOT NULL,
                heartbeat_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE SEQUENCE cluster_epochs",
        ]),
        // Heap retention: when each heap was last resumed, and an index for the heaps executions name.
        (3, [
            """
            CREATE TABLE heap_last_resumes (
                heap TEXT PRIMARY KEY,
                resumed_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX executions_by_heap ON executions (heap)",
        ]),
    ]

    /// Any number, as long as no other program on the database uses it for its own advisory lock.
    static let lockKey: Int64 = 0x6D63_7076_385F_6462  // "mcpv8_db"

    /// Applies the migrations this database lacks and returns their versions (none when another
    /// node applied them first).
    @discardableResult
    static func apply(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        do {
            let applied = try await appliedUnlocked(on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            throw error
        }
    }

    private static func appliedUnlocked(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS mcpv8_schema_migrations (
                version BIGINT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var present = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM mcpv8_schema_migrations",
                                                            logger: logger).decode(Int.self) {
            present.insert(version)
        }
        var applied: [Int] = []
        for migration in all where !present.contains(migration.version) {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO mcpv8_schema_migrations (version) VALUES (\(migration.version))",
                                           logger: logger)
            }
            logger.info("applied PostgreSQL schema migration \(migration.version)")
            applied.append(migration.version)
        }
        return applied
    }
}
