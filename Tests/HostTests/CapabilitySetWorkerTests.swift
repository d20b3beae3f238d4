@testable import Host
import Foundation
import Logging
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Workers serving several capability sets (one per tenant), through the real worker processes, the
/// bundled fetch plugin and a loopback HTTP server: a run has only its set's globals, only its set's
/// policies judge it, its set's settings reach the plugin, and a reload leaves a running run alone.
final class CapabilitySetWorkerTests: XCTestCase {
    private static let buildDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug")
    private static let binary = buildDirectory.appendingPathComponent("mcp-v8").path
    private static let fetchPlugin = buildDirectory.appendingPathComponent("libmcpv8-fetch.so").path

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-sets-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A set with the fetch plugin judged by `rego` (the body of package mcp.fetch), and `settings`.
    private func fetchSet(_ rego: String, settings: [String: String] = [:]) throws -> CapabilityConfiguration {
        let file = directory.appendingPathComponent("\(UUID()).rego")
        try "package mcp.fetch\n\n\(rego)\n".write(to: file, atomically: true, encoding: .utf8)
        var set = CapabilityConfiguration()
        set.policies = try PolicyConfiguration.parse(#"{"fetch": {"policies": [{"url": "file://\#(file.path)"}]}}"#)
        set.pluginPaths = [Self.fetchPlugin]
        set.pluginSettings = settings.isEmpty ? [:] : ["fetch": settings]
        return set
    }

    private func startedPool(_ sets: [String: CapabilityConfiguration], workers: Int = 1) -> WorkerPool {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(workerCount: workers, maximumQueued: 10, defaultHeapLimitMB: 16,
                                                   executablePath: Self.binary,
                                                   capabilities: WorkerCapabilities(sets: sets)),
            logger: Logger(label: "test"))
        pool.start()
        return pool
    }

    private func run(_ pool: WorkerPool, _ code: String, set: String,
                     namespace: Namespace = .default) async throws -> RunOutcome {
        try await pool.runBounded(RunRequest(code: code, heapLimitMB: 16, timeoutSeconds: 10, outputLimitBytes: 1 << 20,
                                             namespace: namespace, capabilitySet: set))
    }

    func testARunHasOnlyItsSetsGlobalsAndOnlyItsSetsPoliciesJudgeIt() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let pool = startedPool([
            "": CapabilityConfiguration(),
            "acme": try fetchSet("allow := true"),
            "labs": try fetchSet("allow := false"),
        ])
        defer { pool.shutdown() }
        let fetchCode = "(await fetch('http://127.0.0.1:\(server.port)/x')).status"

        let none = try await run(pool, "typeof fetch + ' ' + typeof Headers", set: "")
        XCTAssertEqual(none.resultJSON, #""undefined undefined""#, none.error ?? "")
        let acmeGlobals = try await run(pool, "typeof fetch + ' ' + typeof Headers", set: "acme")
        XCTAssertEqual(acmeGlobals.resultJSON, #""function function""#, acmeGlobals.error ?? "")

        let allowed = try await run(pool, fetchCode, set: "acme")
        XCTAssertEqual(allowed.resultJSON, "200", allowed.error ?? "")
        let denied = try await run(pool, fetchCode, set: "labs")
        XCTAssertEqual(denied.status, .error)
        XCTAssertTrue(denied.error?.contains("fetch.request denied by the fetch policy") ?? false, denied.error ?? "")
        XCTAssertEqual(server.requests.count, 1, "the denied fetch never reached the server")
        // The same worker, back to the set without fetch: its globals are gone again.
        let noneAgain = try await run(pool, "typeof fetch", set: "")
        XCTAssertEqual(noneAgain.resultJSON, #""undefined""#)
        XCTAssertEqual(pool.restarts, 0)
    }

    func testEachSetsSettingsReachThePluginOnlyOnItsRuns() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let rules = FetchHeaderRule.setting([FetchHeaderRule(host: "127.0.0.1", headers: ["X-Api-Key": "acme-secret"])])
        let pool = startedPool([
            "acme": try fetchSet("allow := true", settings: ["header_rules": rules]),
            "labs": try fetchSet("allow := true", settings: ["max_response_bytes": "1"]),
        ])
        defer { pool.shutdown() }
        let fetchCode = "(await fetch('http://127.0.0.1:\(server.port)/x')).status"

        let acme = try await run(pool, fetchCode, set: "acme")
        XCTAssertEqual(acme.resultJSON, "200", acme.error ?? "")
        let labs = try await run(pool, fetchCode, set: "labs")
        XCTAssertEqual(labs.status, .error)
        XCTAssertTrue(labs.error?.contains("larger than the limit of 1 bytes") ?? false, labs.error ?? "")
        let acmeAgain = try await run(pool, fetchCode, set: "acme")
        XCTAssertEqual(acmeAgain.resultJSON, "200", acmeAgain.error ?? "")

        let requests = server.requests
        XCTAssertEqual(requests.count, 3)
        XCTAssertEqual(requests.map { $0.lowercased().contains("x-api-key: acme-secret") }, [true, false, true],
                       "acme's header only on acme's runs")
    }

    /// Every policy input carries `caller: {tenant, subject}` (null where absent), whatever the plugin's document.
    func testPoliciesSeeWhoIsAsking() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let pool = startedPool([
            "": try fetchSet("allow if input.caller == {\"tenant\": null, \"subject\": null}"),
            "acme": try fetchSet("allow if {\n  input.caller.tenant == \"acme\"\n  input.caller.subject == \"alice\"\n}"),
        ])
        defer { pool.shutdown() }
        let fetchCode = "(await fetch('http://127.0.0.1:\(server.port)/x')).status"

        let anonymous = try await run(pool, fetchCode, set: "")
        XCTAssertEqual(anonymous.resultJSON, "200", anonymous.error ?? "")
        let alice = try await run(pool, fetchCode, set: "acme",
                                  namespace: Namespace(tenant: "acme", subject: "alice", sharedState: false))
        XCTAssertEqual(alice.resultJSON, "200", alice.error ?? "")
        let bob = try await run(pool, fetchCode, set: "acme",
                                namespace: Namespace(tenant: "acme", subject: "bob", sharedState: true))
        XCTAssertEqual(bob.status, .error)
        XCTAssertTrue(bob.error?.contains("denied by the fetch policy") ?? false, bob.error ?? "")
        XCTAssertEqual(server.requests.count, 2)
    }

    /// Issue 18: each set had a runtime of its own, and each runtime made other heap bytes for the
    /// same code, so two tenants never shared a heap. Sets with the same plugins now share one
    /// (whatever their policies and settings), while each set's policy still judges its own runs.
    func testSetsWithTheSamePluginsMakeTheSameHeapsAndKeepTheirOwnPolicies() async throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let pool = startedPool([
            "": CapabilityConfiguration(),
            "guest": CapabilityConfiguration(),
            "acme": try fetchSet("allow := true", settings: ["timeout_ms": "5000"]),
            "labs": try fetchSet("allow := false", settings: ["max_response_bytes": "1"]),
        ])
        defer { pool.shutdown() }
        func heap(_ code: String, set: String, from input: SealedHeap? = nil) async throws -> RunOutcome {
            try await pool.runBounded(RunRequest(code: code, heapLimitMB: 16, timeoutSeconds: 10, outputLimitBytes: 1 << 20,
                                                 checkpoint: CheckpointInput(heap: input), capabilitySet: set))
        }
        let code = "var notes = ['kept', {n: 1}]; notes.length"
        var ids: [String: HeapID] = [:]
        for set in ["acme", "labs", "", "guest"] {
            let made = try await heap(code, set: set)
            XCTAssertEqual(made.resultJSON, "2", made.error ?? "")
            ids[set] = try XCTUnwrap(made.newHeap?.id)
        }
        XCTAssertEqual(ids["acme"], ids["labs"], "the same plugins, other policies and settings: the same heap")
        XCTAssertEqual(ids[""], ids["guest"], "no plugins: the same heap")
        XCTAssertNotEqual(ids["acme"], ids[""], "the fetch prelude is part of the heap")

        let fetchCode = "(await fetch('http://127.0.0.1:\(server.port)/x')).status"
        let allowed = try await heap(fetchCode, set: "acme")
        XCTAssertEqual(allowed.resultJSON, "200", allowed.error ?? "")
        let denied = try await heap(fetchCode, set: "labs")
        XCTAssertTrue(denied.error?.contains("fetch.request denied by the fetch policy") ?? false, denied.error ?? "")
        let stateless = try await run(pool, fetchCode, set: "labs")
        XCTAssertTrue(stateless.error?.contains("fetch.request denied by the fetch policy") ?? false, stateless.error ?? "")
        XCTAssertEqual(server.requests.count, 1, "only acme's fetch went out")
        XCTAssertEqual(pool.restarts, 0)
    }

    func testARunNamingAnUnknownSetFailsAndNeverFallsBackToAnother() async throws {
        let pool = startedPool(["": CapabilityConfiguration(), "acme": try fetchSet("allow := true")])
        defer { pool.shutdown() }
        let outcome = try await run(pool, "typeof fetch", set: "gone")
        XCTAssertEqual(outcome.status, .internalError)
        XCTAssertNil(outcome.resultJSON)
        XCTAssertEqual(outcome.error, "This run names the capability set 'gone', which this server's workers do not "
                       + "have (its tenant may have been removed by a reload), so nothing ran.")
        let after = try await run(pool, "1 + 1", set: "")
        XCTAssertEqual(after.resultJSON, "2", "the worker serves on")
        XCTAssertEqual(pool.restarts, 0)
    }

    /// A plugin without open_set (fs) reads its settings once per process: two sets that give it
    /// different settings are refused, naming it and the sets; fetch reads them per set, and a bad
    /// value is refused naming the set.
    func testSettingsThatCannotApplyPerSetAreRefused() throws {
        let fsPlugin = Self.buildDirectory.appendingPathComponent("libmcpv8-fs.so").path
        func set(_ path: String, _ settings: [String: String]) -> CapabilityConfiguration {
            var set = CapabilityConfiguration()
            set.pluginPaths = [path]
            set.pluginSettings = [URL(fileURLWithPath: path).lastPathComponent == "libmcpv8-fs.so" ? "fs" : "fetch": settings]
            return set
        }
        let logger = Logger(label: "test")
        XCTAssertThrowsError(try CapabilitySets(configuration: WorkerCapabilities(sets: [
            "acme": set(fsPlugin, ["max_read_bytes": "10"]), "labs": set(fsPlugin, ["max_read_bytes": "20"]),
        ]), logger: logger)) { error in
            XCTAssertTrue("\(error)".hasPrefix("plugin \(fsPlugin) (fs) reads its settings once for the whole process "
                                              + "(it has no open_set, ABI 1.0's way), but the capability set of tenant "
                                              + "'acme' and the capability set of tenant 'labs' give it different settings"),
                          "\(error)")
        }
        XCTAssertNoThrow(try CapabilitySets(configuration: WorkerCapabilities(sets: [
            "acme": set(Self.fetchPlugin, ["timeout_ms": "10"]), "labs": set(Self.fetchPlugin, ["timeout_ms": "20"]),
        ]), logger: logger))
        XCTAssertThrowsError(try CapabilitySets(configuration: WorkerCapabilities(sets: [
            "acme": set(Self.fetchPlugin, ["timeout_ms": "soon"]),
        ]), logger: logger)) { error in
            XCTAssertEqual("\(error)", "plugin \(Self.fetchPlugin) refused the capability set of tenant 'acme': fetch: "
                           + "--plugin-config fetch.timeout_ms must be a whole number from 1 to 86400000, not \"soon\"")
        }
    }

    /// A reload: the run in flight finishes under the set it started with; the next run has the new one.
    func testReconfigureLeavesARunningRunOnItsOldSet() async throws {
        let pool = startedPool(["acme": CapabilityConfiguration()])
        defer { pool.shutdown() }
        let warm = try await run(pool, "typeof fetch", set: "acme")
        XCTAssertEqual(warm.resultJSON, #""undefined""#, warm.error ?? "")

        let started = expectation(description: "the slow run started")
        let slow = Task {
            try await pool.runBounded(RunRequest(code: "const end = Date.now() + 1500; while (Date.now() < end) {} typeof fetch",
                                                 heapLimitMB: 16, timeoutSeconds: 10, outputLimitBytes: 1 << 20,
                                                 capabilitySet: "acme"),
                                      onStarted: { started.fulfill() })
        }
        await fulfillment(of: [started], timeout: 10)
        pool.reconfigure(sets: ["acme": try fetchSet("allow := true")])
        let next = try await run(pool, "typeof fetch", set: "acme")
        XCTAssertEqual(next.resultJSON, #""function""#, next.error ?? "")
        let old = try await waitFor("the slow run that started before the reload") { try await slow.value }
        XCTAssertEqual(old.resultJSON, #""undefined""#, old.error ?? "")
        XCTAssertEqual(pool.restarts, 0, "replaced, not crashed")
    }
}

/// A loopback HTTP/1.1 server that answers every request `200 ok` and keeps each request's head.
private final class LoopbackHTTPServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var heads: [String] = []

    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return heads
    }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw EngineError(description: "the loopback server could not listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)) }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var head = [UInt8]()
            var byte: UInt8 = 0
            while read(client, &byte, 1) == 1 {
                head.append(byte)
                if head.suffix(4) == [13, 10, 13, 10] { break }
            }
            lock.lock()
            heads.append(String(decoding: head, as: UTF8.self))
            lock.unlock()
            let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            _ = answer.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }
}
