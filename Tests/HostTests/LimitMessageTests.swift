@testable import Host
import XCTest

/// A run stopped at a limit reads the same whichever part stopped it (the engine, a checkpointer
/// or the pool at the deadline), with the bounds from ExecutionLimits.
final class LimitMessageTests: XCTestCase {
    private static let runtime = Result { try JSRuntime() }

    func testATimeoutReadsTheSameFromTheEngineAndFromThePool() throws {
        let engine = try JSEngine(runtime: Self.runtime.get(), heapLimitMB: 8)
        let outcome = engine.run(code: "for (;;) {}", timeoutMilliseconds: 1000, outputLimitBytes: 1024) { _, _ in }
        XCTAssertEqual(outcome.status, .timedOut)
        XCTAssertEqual(outcome.error, "Execution timed out after 1 s. Raise the limit with execution_timeout_secs "
                           + "(up to \(ExecutionLimits.timeoutSeconds.upperBound)) or --execution-timeout.")
        XCTAssertEqual(timedOutOutcome(seconds: 1), outcome)
    }

    func testOutOfMemoryNamesTheRunsHeapLimitInEngineAndCheckpointer() throws {
        let code = "const a = []; for (;;) a.push(new Array(1e5));"
        let expected = { (megabytes: Int) in
            "Out of memory: the JavaScript heap limit of \(megabytes) MB was reached. Raise it with heap_memory_max_mb "
                + "(up to \(ExecutionLimits.callHeapMB.upperBound)) or --heap-memory-max."
        }
        let engine = try JSEngine(runtime: Self.runtime.get(), heapLimitMB: 8)
        let stateless = engine.run(code: code, timeoutMilliseconds: 30_000, outputLimitBytes: 1024) { _, _ in }
        XCTAssertEqual(stateless.status, .outOfMemory)
        XCTAssertEqual(stateless.error, expected(8))

        let checkpointer = JSCheckpointer(runtime: try Self.runtime.get(), heapLimitMB: 16)
        let (stateful, heap) = checkpointer.run(code: code, heap: nil, timeoutMilliseconds: 30_000,
                                                outputLimitBytes: 1024) { _, _ in }
        XCTAssertEqual(stateful.status, .outOfMemory)
        XCTAssertEqual(stateful.error, expected(16))
        XCTAssertNil(heap)
    }

    func testAStepPastTheHeapLimitNamesTheSameBound() {
        let message = LimitMessage.outOfMemoryInOneStep(heapMB: 8)
        XCTAssertTrue(message.hasPrefix("Out of memory: the code needed far more than the JavaScript heap limit of 8 MB"))
        XCTAssertTrue(message.contains("raise heap_memory_max_mb (up to \(ExecutionLimits.callHeapMB.upperBound)) "
                                       + "or --heap-memory-max."), message)
    }
}
