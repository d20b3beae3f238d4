@testable import Host
import Foundation
import Logging
import XCTest

/// Stateful runs through the real worker processes (the debug binary `make test` builds).
final class StatefulWorkerTests: XCTestCase {
    private static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/mcp-v8").path

    private func stateful(_ code: String, from heap: SealedHeap?) -> RunRequest {
        RunRequest(code: code, heapLimitMB: 16, timeoutSeconds: 10, outputLimitBytes: 1 << 20,
                   checkpoint: CheckpointInput(heap: heap))
    }

    func testHeapsCarryStateThroughWorkersAndTheStore() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(workerCount: 1, maximumQueued: 10, defaultHeapLimitMB: 16,
                                                   executablePath: Self.binary),
            logger: Logger(label: "test"))
        pool.start()
        defer { pool.shutdown() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-heaps-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DirectoryHeapStore(directory: directory)

        let first = try await pool.run(stateful("var x = 1; console.log('first'); x", from: nil), onOutput: { _ in })
        XCTAssertEqual(first.status, .completed, first.error ?? "")
        XCTAssertEqual(first.resultJSON, "1")
        let heap = try XCTUnwrap(first.newHeap)
        try store.put(heap)
        let stored = try XCTUnwrap(try store.get(heap.id))

        let second = try await pool.run(stateful("x += 1; x", from: stored), onOutput: { _ in })
        XCTAssertEqual(second.resultJSON, "2", second.error ?? "")
        XCTAssertNotEqual(second.newHeap?.id, heap.id)

        let failed = try await pool.run(stateful("x = 100; throw new Error('no')", from: stored), onOutput: { _ in })
        XCTAssertEqual(failed.status, .error)
        XCTAssertNil(failed.newHeap?.id, "a failed run stores nothing")

        var damaged = stored
        damaged.bytes[damaged.bytes.count - 3] ^= 0xff
        let refused = try await pool.run(stateful("x", from: damaged), onOutput: { _ in })
        XCTAssertEqual(refused.status, .error)
        XCTAssertTrue(refused.error?.contains("heap \(heap.id) cannot be used") ?? false, refused.error ?? "")

        let again = try await pool.run(stateful("x", from: stored), onOutput: { _ in })
        XCTAssertEqual(again.resultJSON, "1", "the input heap is untouched by the runs that failed")
        let stateless = try await pool.run(RunRequest(code: "typeof x", heapLimitMB: 16, timeoutSeconds: 10,
                                                      outputLimitBytes: 1 << 20), onOutput: { _ in })
        XCTAssertEqual(stateless.resultJSON, "\"undefined\"")
        XCTAssertEqual(pool.restarts, 0)
    }
}
