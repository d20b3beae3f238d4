@testable import Host
import Foundation
import Logging
import PostgresNIO
import XCTest

/// What only the PostgreSQL store does: migrations shared by nodes, start-up refusals with the
/// reason, and riding out a server restart. The semantics both stores share are in MetadataStoreTests.
final class PostgresMetadataStoreTests: XCTestCase {
    private let logger = Logger(label: "test")

    func testThreeNodesMigratingAtOnceApplyEachMigrationOnce() async throws {
        let url = try await TestPostgres.shared.makeDatabase()
        let logger = logger
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 { group.addTask { try await PostgresMetadataStore.migrate(url: url, logger: logger) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        XCTAssertEqual(applied.sorted(), PostgresMigrations.all.map(\.version), "each version by exactly one of the three")
        let again = try await PostgresMetadataStore.migrate(url: url, logger: logger)
        XCTAssertEqual(again, [], "a fourth start finds nothing to do")
        let connection = try await PostgresConnection.connect(
            configuration: try url.connectionConfiguration(connectTimeout: .seconds(5)), id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        var versions: [Int] = []
        for try await version in try await connection.query(
            "SELECT version FROM mcpv8_schema_migrations ORDER BY version", logger: logger).decode(Int.self) {
            versions.append(version)
        }
        XCTAssertEqual(versions, PostgresMigrations.all.map(\.version))
    }

    /// Two nodes on one database: a node silent beyond the lease is declared dead by the other, its
    /// running executions fail with the reason in the same statement, and its late writes and
    /// heartbeats match nothing until it registers again; a node that heartbeats is left alone.
    func testASilentNodeIsDeclaredDeadAndItsLateWritesAreFenced() async throws {
        let url = try await TestPostgres.shared.makeDatabase()
        let store = try await PostgresMetadataStore.open(url: url)
        defer { store.close() }
        let a = try await store.register(node: try NodeName(validating: "a"))
        let b = try await store.register(node: try NodeName(validating: "b"))
        try await store.recordStart(StoredExecution(id: "on-a", status: "running", startedAt: Date(), node: "a"), lease: a)
        try await store.recordStart(StoredExecution(id: "on-b", status: "queued", startedAt: Date(), node: "b"), lease: b)
        let nodes = try await store.registeredNodes()
        XCTAssertEqual(nodes.map(\.lease), [a, b])
        XCTAssertTrue(nodes.allSatisfy { $0.silentFor < .seconds(5) }, "\(nodes)")

        let alive = try await store.declareDead(a, silentBeyond: .seconds(5))
        XCTAssertNil(alive, "a heartbeat within the lease keeps it")
        try await Task.sleep(for: .milliseconds(20))
        let failed = try await store.declareDead(a, silentBeyond: .milliseconds(10))
        XCTAssertEqual(failed, 1)
        let again = try await store.declareDead(a, silentBeyond: .milliseconds(10))
        XCTAssertNil(again, "declared once")
        let verdict = try await store.execution("on-a")
        XCTAssertEqual(verdict?.status, "failed")
        XCTAssertEqual(verdict?.error, "node a stopped answering")
        XCTAssertNotNil(verdict?.completedAt)
        let untouched = try await store.execution("on-b")
        XCTAssertEqual(untouched?.status, "queued")

        let heartbeat = try await store.heartbeat(a)
        XCTAssertFalse(heartbeat, "the dead node learns it lost its lease")
        do {
            try await store.recordStart(StoredExecution(id: "new-on-a", status: "queued", startedAt: Date(), node: "a"),
                                        lease: a)
            XCTFail("a lost lease starts nothing")
        } catch {
            XCTAssertTrue("\(error)".contains("node a lost its lease and is registering again"), "\(error)")
        }
        let appended = try await store.appendOutput(["late"], from: 0, of: "on-a", lease: a)
        XCTAssertFalse(appended)
        let late = StoredExecution(id: "on-a", status: "completed", resultJSON: "1", startedAt: Date(),
                                   completedAt: Date(), node: "a")
        let taken = try await store.save(late, output: ["late"], from: 0, lease: a)
        XCTAssertFalse(taken)
        let after = try await store.execution("on-a")
        XCTAssertEqual(after, verdict, "the verdict stands")
        let lines = try await store.outputLines(of: "on-a")
        XCTAssertEqual(lines, [])

        let back = try await store.register(node: try NodeName(validating: "a"))
        XCTAssertGreaterThan(back.epoch, b.epoch)
        let renewed = try await store.heartbeat(back)
        XCTAssertTrue(renewed)
    }

    /// A cancel asked on one connection reaches the listener on another (NOTIFY).
    func testACancelRequestReachesTheListeningNode() async throws {
        let url = try await TestPostgres.shared.makeDatabase()
        let store = try await PostgresMetadataStore.open(url: url)
        defer { store.close() }
        let heard = AsyncStream<String>.makeStream()
        let listening = Task { try await store.listenForCancelRequests { heard.continuation.yield($0) } }
        defer { listening.cancel() }
        // LISTEN takes effect once its connection is up: ask until it is heard.
        let asking = Task {
            while !Task.isCancelled {
                try await store.requestCancel(of: "execution-1")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { asking.cancel() }
        let first = try await waitFor("the cancel request to be heard") {
            var iterator = heard.stream.makeAsyncIterator()
            return await iterator.next()
        }
        XCTAssertEqual(first, "execution-1")
    }

    func testBadCredentialsAreRefusedWithTheReasonAndWithoutThePassword() async throws {
        let good = try await TestPostgres.shared.makeDatabase()
        let secret = "wrong-secret-4711"
        let bad = try await TestPostgres.shared.url(database: good.database, port: good.port, password: secret)
        do {
            _ = try await PostgresMetadataStore.open(url: bad, logger: logger)
            XCTFail("a wrong password was accepted")
        } catch {
            let message = "\(error)"
            XCTAssertTrue(message.contains("password authentication failed for user \"postgres\""), message)
            XCTAssertTrue(message.contains("postgres://postgres@127.0.0.1:\(good.port)/\(good.database)"), message)
            XCTAssertFalse(message.contains(secret), message)
        }
    }

    func testAnUnreachableServerOrMissingDatabaseIsRefusedWithTheReason() async throws {
        let port = try TestPostgres.freePort()
        do {
            _ = try await PostgresMetadataStore.open(url: try PostgresURL("postgres://u:p@127.0.0.1:\(port)/db"), logger: logger)
            XCTFail("nothing listens there")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot connect to the metadata database postgres://u@127.0.0.1:\(port)/db"),
                          "\(error)")
            XCTAssertTrue("\(error)".contains("connection refused") || "\(error)".contains("Connection refused"), "\(error)")
        }
        let good = try await TestPostgres.shared.makeDatabase()
        let missing = try await TestPostgres.shared.url(database: "no_such_database", port: good.port)
        do {
            _ = try await PostgresMetadataStore.open(url: missing, logger: logger)
            XCTFail("the database does not exist")
        } catch {
            XCTAssertTrue("\(error)".contains("database \"no_such_database\" does not exist"), "\(error)")
        }
    }

    func testURLsAreCheckedBeforeAnyConnection() throws {
        let url = try PostgresURL("postgresql://mcp%40v8:p%3Ass@db.internal/meta?sslmode=verify-full")
        XCTAssertEqual(url.username, "mcp@v8")
        XCTAssertEqual(url.password, "p:ss")
        XCTAssertEqual(url.port, 5432)
        XCTAssertEqual(url.sslMode, .verifyFull)
        XCTAssertEqual(url.description, "postgres://mcp@v8@db.internal:5432/meta?sslmode=verify-full")
        XCTAssertEqual(try PostgresURL("postgres://u@h/d").sslMode, .prefer)
        let refusals = [
            "mysql://u@h/d": "must have the form postgres://",
            "postgres://h/d": "names no user",
            "postgres://u@h": "names no database",
            "postgres://u@h/d?sslmode=allow": "sslmode 'allow' is not one of disable, prefer, require, verify-full",
            "postgres://u@h/d?timeout=3": "unknown parameter 'timeout'",
        ]
        for (text, expected) in refusals {
            XCTAssertThrowsError(try PostgresURL(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
            }
        }
    }

    /// A restart mid-use: calls while the server is down fail with the reason, within the store's
    /// deadline; what was committed before is still there after; the same store reconnects by itself.
    func testAServerRestartFailsCallsClearlyThenTheStoreReconnects() async throws {
        let url = try await TestPostgres.shared.makeDatabase()
        let store = try await PostgresMetadataStore.open(url: url, logger: logger)
        try await store.append(session: "s", in: .default, inputHeap: nil, outputHeap: "h1", code: "1")
        try await TestPostgres.shared.kill()
        do {
            try await store.append(session: "s", in: .default, inputHeap: "h1", outputHeap: "h2", code: "2")
            XCTFail("the server is down")
        } catch let error as MetadataUnavailableError {
            XCTAssertTrue(error.description.hasPrefix("the metadata database \(url) could not log a session run: "),
                          error.description)
        } catch {
            try await TestPostgres.shared.resume()
            throw error
        }
        try await TestPostgres.shared.resume()
        var entries: [SessionEntry] = []
        for _ in 0..<50 where entries.isEmpty {  // the pool reconnects with a backoff
            entries = (try? await store.entries(session: "s", in: .default)) ?? []
            if entries.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        XCTAssertEqual(entries.map(\.code), ["1"], "the committed run survived; the failed one was not half-logged")
        let index = try await store.append(session: "s", in: .default, inputHeap: "h1", outputHeap: "h2", code: "2")
        XCTAssertEqual(index, 1)
    }
}
