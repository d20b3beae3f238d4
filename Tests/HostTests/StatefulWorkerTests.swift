@testable import Host
import Foundation
import Logging
import XCTest

/// Stateful runs through the real worker processes (the debug binary `make test` builds).
final class StatefulWorkerTests: XCTestCase {
    private static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/mcp-v8").path

    private func stateful(_ code: String, from heap: SealedHeap?, namespace: Namespace = .default) -> RunRequest {
        RunRequest(code: code, heapLimitMB: 16, timeoutSeconds: 10, outputLimitBytes: 1 << 20,
                   checkpoint: CheckpointInput(heap: heap), namespace: namespace)
    }

    private func startedPool(workers: Int = 1, perSubject: Int? = nil,
                             maximumHeapBytes: Int = ExecutionLimits.defaultHeapBytes) -> WorkerPool {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(workerCount: workers, maximumQueued: 10, maximumPerSubject: perSubject,
                                                   defaultHeapLimitMB: 16, maximumHeapBytes: maximumHeapBytes,
                                                   executablePath: Self.binary),
            logger: Logger(label: "test"))
        pool.start()
        return pool
    }

    func testHeapsCarryStateThroughWorkersAndTheStore() async throws {
        let pool = startedPool()
        defer { pool.shutdown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-heaps-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DirectoryHeapStore(directory: directory)

        let first = try await pool.runBounded(stateful("var x = 1; console.log('first'); x", from: nil))
        XCTAssertEqual(first.status, .completed, first.error ?? "")
        XCTAssertEqual(first.resultJSON, "1")
        let heap = try XCTUnwrap(first.newHeap)
        try store.put(heap)
        let stored = try XCTUnwrap(try store.get(heap.id))

        let second = try await pool.runBounded(stateful("x += 1; x", from: stored))
        XCTAssertEqual(second.resultJSON, "2", second.error ?? "")
        XCTAssertNotEqual(second.newHeap?.id, heap.id)

        let failed = try await pool.runBounded(stateful("x = 100; throw new Error('no')", from: stored))
        XCTAssertEqual(failed.status, .error)
        XCTAssertNil(failed.newHeap?.id, "a failed run stores nothing")

        var damaged = stored
        damaged.bytes[damaged.bytes.count - 3] ^= 0xff
        let refused = try await pool.runBounded(stateful("x", from: damaged))
        XCTAssertEqual(refused.status, .error)
        XCTAssertTrue(refused.error?.contains("heap \(heap.id) cannot be used") ?? false, refused.error ?? "")

        let again = try await pool.runBounded(stateful("x", from: stored))
        XCTAssertEqual(again.resultJSON, "1", "the input heap is untouched by the runs that failed")
        let stateless = try await pool.runBounded(RunRequest(code: "typeof x", heapLimitMB: 16, timeoutSeconds: 10,
                                                      outputLimitBytes: 1 << 20))
        XCTAssertEqual(stateless.resultJSON, "\"undefined\"")
        XCTAssertEqual(pool.restarts, 0)
    }

    /// Issue 16 item 6: a 600 MB heap overran the worker frame and hung its worker until the deadline.
    func testAHeapOverTheLimitFailsTheRunAndTheWorkerServesOn() async throws {
        let pool = startedPool(maximumHeapBytes: ExecutionLimits.heapBytes.lowerBound)
        defer { pool.shutdown() }
        let small = try await pool.runBounded(stateful("var small = 1", from: nil))
        XCTAssertEqual(small.status, .completed, small.error ?? "")
        let big = try await pool.runBounded(stateful("globalThis.big = new Uint8Array(4_000_000); 1", from: nil))
        XCTAssertEqual(big.status, .error)
        XCTAssertNil(big.newHeap, "nothing reaches the host to store")
        let message = try XCTUnwrap(big.error)
        let megabytes = Double(message.dropFirst("The heap would be ".count).prefix { $0 != " " }) ?? 0
        XCTAssertTrue(message.hasPrefix("The heap would be ") && megabytes > 3.8, "the 4 MB buffer counts: \(message)")
        XCTAssertTrue(message.contains("over the limit of 1.0 MB (--max-heap-bytes 1048576)"), message)
        let after = try await pool.runBounded(stateful("small + 1", from: small.newHeap))
        XCTAssertEqual(after.resultJSON, "2", after.error ?? "")
        XCTAssertEqual(pool.restarts, 0, "the worker was not replaced")
    }

    /// Issue 16 item 8: one subject filled the whole queue with `for(;;){}` runs.
    func testOneSubjectOverItsShareIsRefusedWhileAnotherSubjectsRunsStillRun() async throws {
        let pool = startedPool(workers: 2, perSubject: 1)
        let alice = Namespace(subject: "alice"), bob = Namespace(subject: "bob")
        defer { pool.shutdown() }
        let aliceJob = pool.makeJobID()
        let loop = stateful("for(;;){}", from: nil, namespace: alice)
        let looping = Task { try await pool.runBounded(loop, jobID: aliceJob) }
        try await waitUntil("alice's loop is queued or running") { pool.pendingJobs > 0 }

        XCTAssertThrowsError(try pool.reserve(namespace: alice)) { error in
            XCTAssertTrue("\(error)".contains("--max-executions-per-subject 1"), "\(error)")
        }
        do {
            _ = try await pool.runBounded(stateful("1", from: nil, namespace: alice))
            XCTFail("alice's second run was admitted over her share")
        } catch let error as ServerBusyError {
            XCTAssertTrue(error.description.contains("1 of yours are queued or running"), error.description)
        }
        let bobs = try await pool.runBounded(stateful("40 + 2", from: nil, namespace: bob))
        XCTAssertEqual(bobs.resultJSON, "42", "bob's run started and finished while alice's still runs")
        XCTAssertEqual(pool.pendingJobs, 1, "only alice's loop holds a place")

        pool.cancel(jobID: aliceJob)
        let cancelled = try await looping.value
        XCTAssertEqual(cancelled.status, .cancelled)
        XCTAssertEqual(pool.pendingJobs, 0)
        let again = try await pool.runBounded(stateful("2", from: nil, namespace: alice))
        XCTAssertEqual(again.resultJSON, "2", "alice's place came back when her run ended")
    }

    func testACancelCanOvertakeItsRunAndLateCancelsAreNotKept() async throws {
        let pool = startedPool()
        defer { pool.shutdown() }
        let overtaken = pool.makeJobID()
        pool.cancel(jobID: overtaken)
        let cancelled = try await pool.runBounded(stateful("1", from: nil), jobID: overtaken)
        XCTAssertEqual(cancelled.status, .cancelled, "the cancel came before its run and still counts")

        let finished = pool.makeJobID()
        let completed = try await pool.runBounded(stateful("2", from: nil), jobID: finished)
        XCTAssertEqual(completed.resultJSON, "2")
        for _ in 0..<100 { pool.cancel(jobID: finished) }
        XCTAssertEqual(pool.rememberedJobIDs, 0, "cancels of an ended run leave nothing behind")
    }
}
