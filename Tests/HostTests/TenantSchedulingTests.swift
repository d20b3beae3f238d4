@testable import Host
import Foundation
import Logging
import Synchronization
import XCTest

/// Issue 18 item 4 through the real worker processes (the debug binary `make test` builds): one
/// tenant flooding the pool is refused on its own queue while another tenant's runs go through.
final class TenantSchedulingTests: XCTestCase {
    private static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/mcp-v8").path

    private static let guest = Namespace(tenant: "guest", subject: "g", sharedState: false)
    private static let acme = Namespace(tenant: "acme", subject: "a", sharedState: false)

    /// Refusals the flood met, from its tasks.
    private final class Refusals: Sendable {
        let messages = Mutex<[String]>([])
    }

    private static func request(_ code: String, _ namespace: Namespace) -> RunRequest {
        RunRequest(code: code, heapLimitMB: 16, timeoutSeconds: 60, outputLimitBytes: 1 << 20, namespace: namespace)
    }

    func testAFloodingTenantIsRefusedOnItsOwnQueueWhileAnotherTenantsRunsComplete() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(
                workerCount: 2, maximumQueued: 100,
                tenantLimits: ["guest": TenantQueueLimits(maximumConcurrent: 1, maximumQueued: 5), "acme": TenantQueueLimits()],
                defaultHeapLimitMB: 16, executablePath: Self.binary,
                // Each tenant's runs name its capability set: the workers must have both.
                capabilities: WorkerCapabilities(sets: ["guest": CapabilityConfiguration(), "acme": CapabilityConfiguration()])),
            logger: Logger(label: "test"))
        pool.start()
        defer { pool.shutdown() }

        // guest's first run holds its one place on a worker until cancelled, so nothing of guest's
        // ends while the flood comes in.
        let holderID = pool.makeJobID()
        let holder = Task { try await pool.runBounded(TenantSchedulingTests.request("for(;;){}", TenantSchedulingTests.guest), jobID: holderID) }
        try await waitUntil("guest's first run is on a worker") { pool.busyWorkers > 0 }

        // The other 49 slow runs: each returns when its JavaScript started and ended.
        let refusals = Refusals()
        let slow = "const start = Date.now(); while (Date.now() - start < 100) {} [start, Date.now()]"
        let flood = (1..<50).map { _ in
            Task { () -> RunOutcome? in
                do {
                    return try await pool.runBounded(TenantSchedulingTests.request(slow, TenantSchedulingTests.guest))
                } catch let error as ServerBusyError {
                    refusals.messages.withLock { $0.append(error.description) }
                    return nil
                }
            }
        }
        try await waitUntil("each of guest's 50 runs is queued, running or refused") {
            refusals.messages.withLock { $0.count } + pool.pendingJobs >= 50
        }
        XCTAssertEqual(pool.pendingJobs, 6, "guest's cap (1) and queue bound (5)")
        XCTAssertEqual(pool.queueDepthPerTenant, ["guest": 5, "acme": 0])
        let refused = refusals.messages.withLock { $0 }
        XCTAssertEqual(refused.count, 44)
        XCTAssertEqual(Set(refused), ["Server busy for tenant 'guest': 5 of its executions are waiting for a worker, the most "
            + "it may queue (max_queued_executions 5 in the tenants file). Retry shortly."])

        // acme's 20 quick runs all complete on the worker guest may not take, guest's loop still running.
        let answers = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<20 {
                group.addTask { try await pool.runBounded(TenantSchedulingTests.request("\(index) * 2", TenantSchedulingTests.acme)).resultJSON }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(Set(answers), Set((0..<20).map { "\($0 * 2)" }))
        XCTAssertEqual(pool.pendingJobs, 6, "guest's runs still hold their places")

        pool.cancel(jobID: holderID)
        let cancelled = try await holder.value
        XCTAssertEqual(cancelled.status, .cancelled)
        var spans: [[Double]] = []
        for task in flood {
            guard let outcome = try await task.value else { continue }
            XCTAssertEqual(outcome.status, .completed, outcome.error ?? "")
            spans.append(try JSONDecoder().decode([Double].self, from: Data((outcome.resultJSON ?? "").utf8)))
        }
        XCTAssertEqual(spans.count, 5)
        // One run of guest's at a time: each of its runs started after the one before it had ended.
        let ordered = spans.sorted { $0[0] < $1[0] }
        for (previous, next) in zip(ordered, ordered.dropFirst()) {
            XCTAssertGreaterThanOrEqual(next[0], previous[1], "guest ran two at once: \(ordered)")
        }
        XCTAssertEqual(pool.pendingJobs, 0)
    }
}
