import Foundation
import Logging
import PostgresNIO

/// The metadata of stateful mode in PostgreSQL (`--database-url`), shared by every node that names
/// the same database; the same semantics and retention as `SQLiteMetadataStore`.
///
/// Start-up connects once and applies the schema (`PostgresMigrations`), so a wrong URL, an
/// unreachable server or bad credentials refuse to start with the reason. After that a pool of
/// connections serves the calls and reconnects by itself after a restart; a call the database does
/// not answer within `requestDeadline` fails with `MetadataUnavailableError` instead of waiting.
public final class PostgresMetadataStore: MetadataStore {
    public let url: PostgresURL
    /// How many finished executions are kept; older ones (and their output) are deleted.
    public let retainedExecutions: Int
    static let connectTimeout: Duration = .seconds(5)
    static let requestDeadline: Duration = .seconds(5)
    /// Concurrent appends to one session race for its next index; the loser tries again.
    static let appendAttempts = 5

    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let logger: Logger

    private init(url: PostgresURL, retainedExecutions: Int, logger: Logger) {
        self.url = url
        self.retainedExecutions = retainedExecutions
        self.logger = logger
        let client = PostgresClient(configuration: url.clientConfiguration(connectTimeout: Self.connectTimeout),
                                    backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Connects to `url`, applies the schema migrations it lacks and opens the pool. Throws
    /// `MetadataUnavailableError` saying why when the database cannot be used.
    public static func open(url: PostgresURL, retainedExecutions: Int = defaultRetainedExecutions,
                            logger: Logger = Logger(label: "mcp-v8.postgres")) async throws -> PostgresMetadataStore {
        try await migrate(url: url, logger: logger)
        return PostgresMetadataStore(url: url, retainedExecutions: retainedExecutions, logger: logger)
    }

    /// Applies the migrations the database at `url` lacks, on a connection of its own; returns their versions.
    @discardableResult
    static func migrate(url: PostgresURL, logger: Logger) async throws -> [Int] {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(connectTimeout: connectTimeout), id: 0, logger: logger)
        } catch {
            throw MetadataUnavailableError(description: "cannot connect to the metadata database \(url): \(reason(error))")
        }
        do {
            let applied = try await PostgresMigrations.apply(on: connection, logger: logger)
            try? await connection.close()
            return applied
        } catch {
            try? await connection.close()
            throw MetadataUnavailableError(description: "cannot prepare the schema of the metadata database \(url): "
                + reason(error))
        }
    }

    /// Stops the pool; calls after this fail.
    public func close() { running.cancel() }

    // ---- sessions ----

    @discardableResult
    public func append(session: String, in namespace: Namespace, inputHeap: String?, outputHeap: String?,
                       code: String, at timestamp: Date) async throws -> Int {
        let (namespace, session, code) = (bytes(namespace.key), bytes(session), bytes(code))
        let seconds = timestamp.timeIntervalSince1970
        return try await perform("log a session run") { client in
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let rows = try await client.query("""
                        INSERT INTO session_runs (namespace, session, run_index, input_heap, output_heap, code, timestamp)
                        SELECT \(namespace), \(session), COALESCE(MAX(run_index) + 1, 0), \(inputHeap), \(outputHeap),
                               \(code), \(seconds)
                        FROM session_runs WHERE namespace = \(namespace) AND session = \(session)
                        RETURNING run_index
                        """)
                    for try await index in rows.decode(Int.self) { return index }
                    return 0
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && attempt < Self.appendAttempts {
                    continue
                }
            }
        }
    }

    public func sessions(in namespace: Namespace) async throws -> [String] {
        let namespace = bytes(namespace.key)
        return try await perform("list sessions") { client in
            try await Self.texts(client.query(
                "SELECT DISTINCT session FROM session_runs WHERE namespace = \(namespace) ORDER BY session"))
        }
    }

    public func entries(session: String, in namespace: Namespace) async throws -> [SessionEntry] {
        let (namespace, session) = (bytes(namespace.key), bytes(session))
        return try await perform("read a session") { client in
            var entries: [SessionEntry] = []
            let rows = try await client.query("""
                SELECT run_index, input_heap, output_heap, code, timestamp FROM session_runs
                WHERE namespace = \(namespace) AND session = \(session) ORDER BY run_index
                """)
            for try await (index, input, output, code, seconds) in rows.decode((Int, String?, String?, ByteBuffer, Double).self) {
                entries.append(SessionEntry(index: index, inputHeap: input, outputHeap: output, code: String(buffer: code),
                                            timestamp: Date(timeIntervalSince1970: seconds)))
            }
            return entries
        }
    }

    // ---- heap tags ----

    public func tags(of heap: String, in namespace: Namespace) async throws -> [String: String] {
        let namespace = bytes(namespace.key)
        return try await perform("read heap tags") { client in
            var tags: [String: String] = [:]
            let rows = try await client.query(
                "SELECT key, value FROM heap_tags WHERE namespace = \(namespace) AND heap = \(heap)")
            for try await (key, value) in rows.decode((ByteBuffer, ByteBuffer).self) {
                tags[String(buffer: key)] = String(buffer: value)
            }
            return tags
        }
    }

    public func setTags(_ tags: [String: String], on heap: String, in namespace: Namespace) async throws {
        guard !tags.isEmpty else { return }
        let namespace = bytes(namespace.key)
        let (keys, values) = (tags.keys.map(bytes), tags.values.map(bytes))
        try await perform("set heap tags") { client in
            _ = try await client.query("""
                INSERT INTO heap_tags (namespace, heap, key, value)
                SELECT \(namespace), \(heap), key, value FROM unnest(\(keys)::bytea[], \(values)::bytea[]) AS t(key, value)
                ON CONFLICT (namespace, heap, key) DO UPDATE SET value = EXCLUDED.value
                """)
        }
    }

    public func deleteTags(_ keys: [String], from heap: String, in namespace: Namespace) async throws {
        let (namespace, keys) = (bytes(namespace.key), keys.map(bytes))
        try await perform("delete heap tags") { client in
            _ = try await client.query("""
                DELETE FROM heap_tags WHERE namespace = \(namespace) AND heap = \(heap) AND key = ANY(\(keys)::bytea[])
                """)
        }
    }

    public func heaps(taggedWith tags: [String: String], in namespace: Namespace) async throws -> [String] {
        guard !tags.isEmpty else { return [] }
        let namespace = bytes(namespace.key)
        let (keys, values) = (tags.keys.map(bytes), tags.values.map(bytes))
        return try await perform("query heaps by tags") { client in
            // A heap has each key once, so carrying every tag is matching as many rows as there are tags.
            var heaps: [String] = []
            let rows = try await client.query("""
                SELECT heap FROM heap_tags
                WHERE namespace = \(namespace)
                  AND (key, value) IN (SELECT * FROM unnest(\(keys)::bytea[], \(values)::bytea[]))
                GROUP BY heap HAVING COUNT(*) = \(tags.count)
                """)
            for try await heap in rows.decode(String.self) { heaps.append(heap) }
            return heaps.sorted()
        }
    }

    // ---- heap owners ----

    public func recordOwner(_ namespace: Namespace, of heap: String) async throws {
        let namespace = bytes(namespace.key)
        try await perform("record a heap's owner") { client in
            _ = try await client.query("""
                INSERT INTO heap_owners (heap, namespace) VALUES (\(heap), \(namespace)) ON CONFLICT DO NOTHING
                """)
        }
    }

    public func mayResume(_ heap: String, in namespace: Namespace) async throws -> Bool {
        let namespace = bytes(namespace.key)
        return try await perform("check a heap's owner") { client in
            let rows = try await client.query("""
                SELECT EXISTS (SELECT 1 FROM heap_owners WHERE heap = \(heap) AND namespace = \(namespace))
                    OR (\(namespace) = ''::bytea AND NOT EXISTS (SELECT 1 FROM heap_owners WHERE heap = \(heap)))
                """)
            for try await allowed in rows.decode(Bool.self) { return allowed }
            return false
        }
    }

    // ---- heap retention ----

    public func recordResume(of heap: String, at date: Date) async throws {
        let seconds = date.timeIntervalSince1970
        try await perform("record a heap's resume") { client in
            _ = try await client.query("""
                INSERT INTO heap_last_resumes (heap, resumed_at) VALUES (\(heap), \(seconds))
                ON CONFLICT (heap) DO UPDATE SET resumed_at = GREATEST(heap_last_resumes.resumed_at, EXCLUDED.resumed_at)
                """)
        }
    }

    public func lastResumes() async throws -> [String: Date] {
        try await perform("read heaps' last resumes") { client in
            var resumes: [String: Date] = [:]
            for try await (heap, seconds) in try await client.query(
                "SELECT heap, resumed_at FROM heap_last_resumes").decode((String, Double).self) {
                resumes[heap] = Date(timeIntervalSince1970: seconds)
            }
            return resumes
        }
    }

    public func lastResume(of heap: String) async throws -> Date? {
        try await perform("read a heap's last resume") { client in
            for try await seconds in try await client.query(
                "SELECT resumed_at FROM heap_last_resumes WHERE heap = \(heap)").decode(Double.self) {
                return Date(timeIntervalSince1970: seconds)
            }
            return nil
        }
    }

    public func referencedHeaps() async throws -> Set<String> {
        try await perform("list referenced heaps") { client in
            var heaps = Set<String>()
            for try await heap in try await client.query("""
                SELECT input_heap FROM session_runs WHERE input_heap IS NOT NULL
                UNION SELECT output_heap FROM session_runs WHERE output_heap IS NOT NULL
                UNION SELECT heap FROM heap_tags
                UNION SELECT heap FROM executions WHERE heap IS NOT NULL
                """).decode(String.self) {
                heaps.insert(heap)
            }
            return heaps
        }
    }

    public func owners(of heap: String) async throws -> Set<Namespace> {
        try await perform("read a heap's owners") { client in
            Set(try await Self.texts(client.query("SELECT namespace FROM heap_owners WHERE heap = \(heap)"))
                .map(Namespace.init(key:)))
        }
    }

    public func dropOwnership(of heap: String, by namespace: Namespace) async throws {
        let namespace = bytes(namespace.key)
        try await perform("drop a heap's owner") { client in
            try await client.withTransaction(logger: self.logger) { connection in
                try await connection.query("DELETE FROM heap_owners WHERE heap = \(heap) AND namespace = \(namespace)",
                                           logger: self.logger)
                try await connection.query("DELETE FROM heap_tags WHERE heap = \(heap) AND namespace = \(namespace)",
                                           logger: self.logger)
            }
        }
    }

    public func forget(heap: String) async throws {
        try await perform("forget a deleted heap") { client in
            try await client.withTransaction(logger: self.logger) { connection in
                try await connection.query("DELETE FROM heap_owners WHERE heap = \(heap)", logger: self.logger)
                try await connection.query("DELETE FROM heap_tags WHERE heap = \(heap)", logger: self.logger)
                try await connection.query("DELETE FROM heap_last_resumes WHERE heap = \(heap)", logger: self.logger)
            }
        }
    }

    /// Holds a session advisory lock on a connection of its own for the sweep (which may take longer
    /// than `requestDeadline`, so only taking the lock is bounded); a node that finds it taken skips
    /// this round. A node that dies mid-sweep loses its connection, and with it the lock.
    public func exclusiveSweep<T: Sendable>(_ sweep: @Sendable () async throws -> T) async throws -> T? {
        let key = Self.sweepLockKey
        do {
            return try await client.withConnection { connection in
                var locked = false
                for try await taken in try await connection.query("SELECT pg_try_advisory_lock(\(key))",
                                                                  logger: self.logger).decode(Bool.self) {
                    locked = taken
                }
                guard locked else { return nil }
                do {
                    let result = try await sweep()
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: self.logger)
                    return result
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: self.logger)
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw MetadataUnavailableError(description: "the metadata database \(url) could not take the sweep's lock: "
                + Self.reason(error))
        }
    }

    /// The retention sweep's advisory lock; `PostgresMigrations.lockKey` + 1.
    static let sweepLockKey: Int64 = PostgresMigrations.lockKey + 1

    // ---- executions ----

    @discardableResult
    public func save(_ execution: StoredExecution, output: [String], from firstLine: Int,
                     lease: NodeLease?) async throws -> Bool {
        let lines = output.map(bytes)
        let (owner, error) = (bytes(execution.owner.key), execution.error.map(bytes))
        let (started, completed) = (execution.startedAt.timeIntervalSince1970, execution.completedAt?.timeIntervalSince1970)
        let retained = retainedExecutions
        let node = execution.node ?? lease?.node
        return try await perform("save an execution") { client in
            try await client.withTransaction(logger: self.logger) { connection in
                if let lease {
                    // The fence: only the lease that owns it may end it (a dead node's has no epoch any more).
                    let owned = try await connection.query("""
                        UPDATE executions SET status = \(execution.status), result_json = \(execution.resultJSON),
                            heap = \(execution.heap), error = \(error), completed_at = \(completed)
                        WHERE id = \(execution.id) AND node = \(lease.node) AND epoch = \(lease.epoch)
                        RETURNING 1
                        """, logger: self.logger)
                    guard try await Self.count(owned) > 0 else { return false }
                } else {
                    try await connection.query("""
                        INSERT INTO executions (id, status, result_json, heap, error, started_at, completed_at, owner, node)
                        VALUES (\(execution.id), \(execution.status), \(execution.resultJSON), \(execution.heap), \(error),
                                \(started), \(completed), \(owner), \(node))
                        ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, result_json = EXCLUDED.result_json,
                            heap = EXCLUDED.heap, error = EXCLUDED.error, started_at = EXCLUDED.started_at,
                            completed_at = EXCLUDED.completed_at, owner = EXCLUDED.owner, node = EXCLUDED.node,
                            epoch = NULL
                        """, logger: self.logger)
                }
                if !lines.isEmpty {
                    try await connection.query("""
                        INSERT INTO execution_output (execution_id, line_index, text)
                        SELECT \(execution.id), \(firstLine) + position - 1, line
                        FROM unnest(\(lines)::bytea[]) WITH ORDINALITY AS t(line, position)
                        ON CONFLICT (execution_id, line_index) DO UPDATE SET text = EXCLUDED.text
                        """, logger: self.logger)
                }
                // Beyond the retention, the executions that completed first go, with their output.
                try await connection.query("""
                    WITH stale AS (
                        DELETE FROM executions WHERE id IN (
                            SELECT id FROM executions WHERE completed_at IS NOT NULL ORDER BY completed_at
                            LIMIT GREATEST((SELECT COUNT(*) FROM executions WHERE completed_at IS NOT NULL) - \(retained), 0))
                        RETURNING id)
                    DELETE FROM execution_output WHERE execution_id IN (SELECT id FROM stale)
                    """, logger: self.logger)
                return true
            }
        }
    }

    public func execution(_ id: String) async throws -> StoredExecution? {
        try await perform("read an execution") { client in
            try await Self.executions(client.query("""
                SELECT id, status, result_json, heap, error, started_at, completed_at, owner, node FROM executions
                WHERE id = \(id)
                """)).first
        }
    }

    public func executions() async throws -> [StoredExecution] {
        try await perform("list executions") { client in
            try await Self.executions(client.query("""
                SELECT id, status, result_json, heap, error, started_at, completed_at, owner, node FROM executions
                ORDER BY started_at
                """))
        }
    }

    public func outputLines(of id: String) async throws -> [String] {
        try await perform("read an execution's output") { client in
            try await Self.texts(client.query(
                "SELECT text FROM execution_output WHERE execution_id = \(id) ORDER BY line_index"))
        }
    }

    // ---- running executions and the nodes that run them ----

    /// The database's clock, in seconds since 1970: nodes' clocks may disagree, the database's is one.
    private static let now = "extract(epoch from clock_timestamp())::float8"

    public func register(node: NodeName) async throws -> NodeLease {
        let (name, failure) = (node.description, bytes(ClusterMessage.stoppedAnswering(node.description)))
        return try await perform("register node \(name)") { client in
            try await client.withTransaction(logger: self.logger) { connection in
                var epoch: Int64 = 0
                for try await value in try await connection.query("SELECT nextval('cluster_epochs')",
                                                                  logger: self.logger).decode(Int64.self) { epoch = value }
                // What an earlier process of this node left running ends now: nobody else will end it.
                try await connection.query("""
                    UPDATE executions SET status = 'failed', error = \(failure), completed_at = \(unescaped: Self.now),
                        epoch = NULL
                    WHERE node = \(name) AND status IN ('queued', 'running')
                    """, logger: self.logger)
                try await connection.query("""
                    INSERT INTO cluster_nodes (name, epoch, heartbeat_at) VALUES (\(name), \(epoch), \(unescaped: Self.now))
                    ON CONFLICT (name) DO UPDATE SET epoch = EXCLUDED.epoch, heartbeat_at = EXCLUDED.heartbeat_at
                    """, logger: self.logger)
                return NodeLease(node: name, epoch: epoch)
            }
        }
    }

    public func heartbeat(_ lease: NodeLease) async throws -> Bool {
        try await perform("renew the lease of node \(lease.node)") { client in
            try await Self.count(client.query("""
                UPDATE cluster_nodes SET heartbeat_at = \(unescaped: Self.now)
                WHERE name = \(lease.node) AND epoch = \(lease.epoch) RETURNING 1
                """)) > 0
        }
    }

    public func registeredNodes() async throws -> [NodeLiveness.Registration] {
        try await perform("list the nodes") { client in
            var nodes: [NodeLiveness.Registration] = []
            let rows = try await client.query(
                "SELECT name, epoch, \(unescaped: Self.now) - heartbeat_at FROM cluster_nodes ORDER BY name")
            for try await (name, epoch, silent) in rows.decode((String, Int64, Double).self) {
                nodes.append(NodeLiveness.Registration(lease: NodeLease(node: name, epoch: epoch),
                                                       silentFor: .milliseconds(Int64(silent * 1000))))
            }
            return nodes
        }
    }

    public func declareDead(_ node: NodeLease, silentBeyond lease: Duration) async throws -> Int? {
        let failure = bytes(ClusterMessage.stoppedAnswering(node.node))
        let seconds = Double(lease.nanoseconds) / 1e9
        return try await perform("declare node \(node.node) dead") { client in
            let rows = try await client.query("""
                WITH dead AS (
                    DELETE FROM cluster_nodes
                    WHERE name = \(node.node) AND epoch = \(node.epoch) AND heartbeat_at < \(unescaped: Self.now) - \(seconds)
                    RETURNING name, epoch),
                failed AS (
                    UPDATE executions SET status = 'failed', error = \(failure), completed_at = \(unescaped: Self.now),
                        epoch = NULL
                    FROM dead WHERE executions.node = dead.name AND executions.epoch = dead.epoch
                        AND executions.status IN ('queued', 'running')
                    RETURNING executions.id)
                SELECT (SELECT COUNT(*) FROM dead), (SELECT COUNT(*) FROM failed)
                """)
            for try await (dead, failed) in rows.decode((Int64, Int64).self) { return dead > 0 ? Int(failed) : nil }
            return nil
        }
    }

    public func recordStart(_ execution: StoredExecution, lease: NodeLease) async throws {
        let owner = bytes(execution.owner.key)
        let started = execution.startedAt.timeIntervalSince1970
        try await perform("record an execution's start") { client in
            // Only under a lease that is still registered: one declared dead would start a run nobody ends.
            let recorded = try await Self.count(client.query("""
                INSERT INTO executions (id, status, started_at, owner, node, epoch)
                SELECT \(execution.id), \(execution.status), \(started), \(owner), \(lease.node), \(lease.epoch)
                WHERE EXISTS (SELECT 1 FROM cluster_nodes WHERE name = \(lease.node) AND epoch = \(lease.epoch))
                RETURNING 1
                """))
            guard recorded > 0 else { throw LeaseLost(node: lease.node) }
        }
    }

    private struct LeaseLost: Error, CustomStringConvertible {
        let node: String
        var description: String { "node \(node) lost its lease and is registering again; try again in a moment" }
    }

    public func markRunning(_ id: String, lease: NodeLease) async throws {
        try await perform("record an execution's run") { client in
            _ = try await client.query("""
                UPDATE executions SET status = 'running'
                WHERE id = \(id) AND node = \(lease.node) AND epoch = \(lease.epoch) AND status = 'queued'
                """)
        }
    }

    public func appendOutput(_ lines: [String], from firstLine: Int, of id: String,
                             lease: NodeLease) async throws -> Bool {
        let lines = lines.map(bytes)
        return try await perform("append an execution's output") { client in
            // FOR UPDATE waits for a survivor's verdict in progress and then sees its epoch gone.
            let rows = try await client.query("""
                WITH owned AS (
                    SELECT id FROM executions WHERE id = \(id) AND node = \(lease.node) AND epoch = \(lease.epoch) FOR UPDATE)
                INSERT INTO execution_output (execution_id, line_index, text)
                SELECT owned.id, \(firstLine) + position - 1, line
                FROM owned, unnest(\(lines)::bytea[]) WITH ORDINALITY AS t(line, position)
                ON CONFLICT (execution_id, line_index) DO UPDATE SET text = EXCLUDED.text
                RETURNING 1
                """)
            return try await Self.count(rows) > 0 || lines.isEmpty
        }
    }

    static let cancelChannel = "mcpv8_cancel"

    public func requestCancel(of id: String) async throws {
        try await perform("ask for a cancel") { client in
            _ = try await client.query("SELECT pg_notify(\(Self.cancelChannel), \(id))")
        }
    }

    public func listenForCancelRequests(_ onRequest: @escaping @Sendable (String) -> Void) async throws {
        // One connection of its own, which LISTEN holds; a restart of the database ends it (the caller listens again).
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try url.connectionConfiguration(connectTimeout: Self.connectTimeout), id: 1, logger: logger)
            defer { Task { try? await connection.close() } }
            try await connection.listen(on: Self.cancelChannel) { notifications in
                for try await notification in notifications { onRequest(notification.payload) }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw MetadataUnavailableError(description: "the metadata database \(url) could not be listened to for "
                + "cancels: \(Self.reason(error))")
        }
    }

    // ---- helpers ----

    private static func executions(_ rows: PostgresRowSequence) async throws -> [StoredExecution] {
        var executions: [StoredExecution] = []
        for try await (id, status, result, heap, error, started, completed, owner, node) in rows.decode(
            (String, String, String?, String?, ByteBuffer?, Double, Double?, ByteBuffer, String?).self) {
            executions.append(StoredExecution(
                id: id, status: status, resultJSON: result, heap: heap, error: error.map { String(buffer: $0) },
                startedAt: Date(timeIntervalSince1970: started),
                completedAt: completed.map(Date.init(timeIntervalSince1970:)), owner: Namespace(key: String(buffer: owner)),
                node: node))
        }
        return executions
    }

    private static func count(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    private static func texts(_ rows: PostgresRowSequence) async throws -> [String] {
        var texts: [String] = []
        for try await text in rows.decode(ByteBuffer.self) { texts.append(String(buffer: text)) }
        return texts
    }

    /// Runs `body` against the pool, failing with `MetadataUnavailableError` (naming `what` and
    /// why) when it fails or the database does not answer within `requestDeadline`.
    private func perform<T: Sendable>(_ what: String,
                                      _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = client
        do {
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await body(client) }
                group.addTask {
                    try await Task.sleep(for: Self.requestDeadline)
                    throw DeadlinePassed()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch {
            throw MetadataUnavailableError(description: "the metadata database \(url) could not \(what): \(Self.reason(error))")
        }
    }

    private struct DeadlinePassed: Error, CustomStringConvertible {
        var description: String { "it did not answer within \(PostgresMetadataStore.requestDeadline)" }
    }

    /// What went wrong, in words: postgres-nio's errors describe themselves only as "PSQLError" so
    /// as not to leak data by accident; this names the kind, the server's message and the cause
    /// (never a password: no error carries it).
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        var parts = ["\(error.code)"]
        if let message = error.serverInfo?[.message] { parts.append(message) }
        if let underlying = error.underlying { parts.append("\(underlying)") }
        return parts.joined(separator: ": ")
    }
}

/// User text as PostgreSQL stores it (BYTEA; see `PostgresMigrations`).
private func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
