import CV8
import Foundation
import XCTest

final class LimitTests: XCTestCase {
    func testInfiniteLoopTimesOutAndEngineRecovers() {
        let engine = TestEngine()
        for code in ["for(;;){}", "(async()=>{for(;;) await 0})()", "setInterval(() => {}, 1)",
                     "/(a+)+$/.test('a'.repeat(40)+'!')", "for(;;){ try { for(;;){} } catch {} }"] {
            let started = Date()
            let report = engine.run(code, timeoutMilliseconds: 300)
            XCTAssertEqual(report.status, CV8_STATUS_TIMED_OUT, code)
            XCTAssertTrue(report.error?.contains("timed out after 1 s") ?? false, report.error ?? "")
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, code)
            assertCompleted(engine.run("1"), result: "1")
        }
    }

    func testHeapLimitEndsTheRunAndEngineRecovers() {
        let engine = TestEngine(heapLimitMB: 8)
        for code in ["let a=[]; for(;;) a.push(new Array(1e6))", "const m = new Map(); for (let i=0;;i++) m.set(i, {i})"] {
            let report = engine.run(code)
            XCTAssertEqual(report.status, CV8_STATUS_OUT_OF_MEMORY, code)
            XCTAssertTrue(report.error?.contains("heap limit of 8 MB") ?? false, report.error ?? "")
            assertCompleted(engine.run("[1,2].length"), result: "2")
        }
    }

    func testArrayBufferMemoryIsCapped() {
        let engine = TestEngine(heapLimitMB: 8)
        let report = engine.run("try { new ArrayBuffer(64 * 1024 * 1024); 'allocated' } catch (e) { e.name }")
        assertCompleted(report, result: "\"RangeError\"")
        let many = engine.run("const a = []; try { for (;;) a.push(new Uint8Array(1 << 20)); } catch (e) { e.name }")
        XCTAssertTrue([CV8_STATUS_COMPLETED, CV8_STATUS_OUT_OF_MEMORY].contains(many.status), many.error ?? "")
        if many.status == CV8_STATUS_COMPLETED { XCTAssertEqual(many.result, "\"RangeError\"") }
    }

    func testDeepRecursionIsARangeError() {
        let report = sharedEngine.run("function f(n) { return f(n + 1) + 1 } try { f(0) } catch (e) { e.message }")
        assertCompleted(report, result: "\"Maximum call stack size exceeded\"")
    }

    func testOutputBeyondTheLimitIsCutAndCounted() {
        let report = sharedEngine.run("for (let i = 0; i < 1000; i++) console.log('x'.repeat(99)); 'done'",
                                      outputLimit: 2000)
        assertCompleted(report, result: "\"done\"")
        XCTAssertTrue(report.outputTruncated)
        XCTAssertEqual(report.lines.count, 20)
        XCTAssertEqual(report.outputBytes, 100_000)
    }

    func testCancelStopsARunFromAnotherThread() {
        let engine = TestEngine()
        let pointer = engine.pointer
        nonisolated(unsafe) let target = pointer
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cv8_engine_cancel(target) }
        let report = engine.run("for(;;){}", timeoutMilliseconds: 10_000)
        XCTAssertEqual(report.status, CV8_STATUS_CANCELLED)
        assertCompleted(engine.run("'after'"), result: "\"after\"")
    }

    func testHostileResultConversionsDoNotEscape() {
        let cases: [(String, String?)] = [
            ("Object.prototype.then = function(r) { r(666) }; 1", "1"),
            ("({ toJSON() { throw new Error('nope') } })", "\"{ toJSON: [Function: toJSON] }\""),
            ("new Proxy({}, { get() { throw new Error('trap') }, ownKeys() { throw new Error('trap') } })", "\"{}\""),
            ("let d = []; for (let i = 0; i < 1e5; i++) d = [d]; d.length", "1"),
        ]
        for (code, expected) in cases {
            assertCompleted(sharedEngine.run(code), result: expected)
        }
    }

    func testDeeplyNestedResultFallsBackToText() {
        let report = sharedEngine.run("let d = {}; for (let i = 0; i < 1e5; i++) d = {d}; d")
        XCTAssertEqual(report.status, CV8_STATUS_COMPLETED, report.error ?? "")
        XCTAssertTrue(report.result?.hasPrefix("\"{ d: { d: { d: [Object] } } }") ?? false, report.result ?? "nil")
    }

    /// Not a syntax error (the host would hand it to esbuild as TypeScript): a failure that says why.
    func testDeeplyNestedSourceIsNamedAsNestedTooDeeply() {
        for code in [String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
                     String(repeating: "[", count: 100_000),
                     "import.meta; " + String(repeating: "[", count: 100_000)] {
            let report = sharedEngine.run(code)
            XCTAssertEqual(report.status, CV8_STATUS_ERROR, report.error ?? "")
            XCTAssertTrue(report.error?.hasPrefix("The code is nested too deeply to parse") ?? false, report.error ?? "")
        }
    }
}
