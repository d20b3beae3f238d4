import CV8
import Foundation
import XCTest

/// A checkpointer run through the C API: the run's report plus the new heap, if any.
final class TestCheckpointer {
    let pointer: OpaquePointer

    init(heapLimitMB: UInt32 = 16, runtime: OpaquePointer = sharedRuntime) {
        pointer = cv8_checkpointer_create(runtime, heapLimitMB)
    }
    deinit { cv8_checkpointer_free(pointer) }

    func run(_ code: String, from heap: [UInt8]? = nil, timeoutMilliseconds: UInt32 = 5000,
             capabilities: TestCapabilities? = nil) -> (RunReport, [UInt8]?) {
        var utf8 = Array(code.utf8)
        return utf8.withUnsafeMutableBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(bytes.count, 1)) { codePointer in
                var request = cv8_run_request(code: codePointer, code_length: bytes.count,
                                              timeout_ms: timeoutMilliseconds, output_limit_bytes: 1 << 20,
                                              on_output: nil, output_context: nil, capabilities: nil,
                                              capability_count: 0, on_host_call: nil, host_call_context: nil,
                                              wasm_modules: nil, wasm_module_count: 0, max_host_calls_in_flight: 0)
                capabilities?.install(into: &request)
                var result = heap.map { heap in
                    heap.withUnsafeBufferPointer { cv8_checkpointer_run(pointer, $0.baseAddress, $0.count, &request) }
                } ?? cv8_checkpointer_run(pointer, nil, 0, &request)
                defer { cv8_checkpoint_result_free(&result) }
                let report = RunReport(status: result.run.status,
                                       result: result.run.result_json.map { String(cString: $0) },
                                       error: result.run.error.map { String(cString: $0) },
                                       output: [], outputTruncated: false, outputBytes: 0)
                let snapshot = result.snapshot.map { Array(UnsafeBufferPointer(start: $0, count: result.snapshot_length)) }
                return (report, snapshot)
            }
        }
    }
}

final class CheckpointTests: XCTestCase {
    func testStateCarriesAcrossGenerationsAndForks() throws {
        let checkpointer = TestCheckpointer()
        let (first, heap1) = checkpointer.run("var x = 1; class Counter { #n = 0; next() { return ++this.#n } }\n"
                                              + "globalThis.counter = new Counter(); counter.next(); x")
        assertCompleted(first, result: "1")
        let heap1Bytes = try XCTUnwrap(heap1)
        let (second, heap2) = checkpointer.run("x += 1; [x, counter.next()]", from: heap1Bytes)
        assertCompleted(second, result: "[2,2]")
        let (third, _) = checkpointer.run("x += 1; [x, counter.next()]", from: try XCTUnwrap(heap2))
        assertCompleted(third, result: "[3,3]")
        let (fork, _) = checkpointer.run("x += 10; [x, counter.next()]", from: heap1Bytes)
        assertCompleted(fork, result: "[11,2]")
    }

    func testFailedRunsStoreNothing() {
        let checkpointer = TestCheckpointer()
        let (_, heap) = checkpointer.run("var kept = 'yes'")
        let original = heap!
        for code in ["kept = 'no'; throw new Error('fail')", "kept = 'no'; for(;;){}", "kept = 'no'; let ("] {
            let (report, snapshot) = checkpointer.run(code, from: original, timeoutMilliseconds: 300)
            XCTAssertNotEqual(report.status, CV8_STATUS_COMPLETED, code)
            XCTAssertTrue(snapshot == nil, code)
        }
        let (after, _) = checkpointer.run("kept", from: original)
        assertCompleted(after, result: "\"yes\"")
    }

    func testHeapLimitHolds() {
        let checkpointer = TestCheckpointer(heapLimitMB: 16)
        let (report, snapshot) = checkpointer.run("let a = []; for (;;) a.push(new Array(1e5))")
        XCTAssertEqual(report.status, CV8_STATUS_OUT_OF_MEMORY, report.error ?? "")
        XCTAssertTrue(snapshot == nil)
        assertCompleted(checkpointer.run("1 + 1").0, result: "2")
    }

    func testGuestChangesToBuiltinsDoNotChangeWhatTheHostDoes() throws {
        let checkpointer = TestCheckpointer()
        let (_, heap) = checkpointer.run("""
            JSON.stringify = () => '"hijacked"'; Array.prototype.push = null;
            Object.prototype.then = r => r(666); setTimeout = null; 0
            """)
        let (report, _) = checkpointer.run("({ a: [1, 2] })", from: try XCTUnwrap(heap))
        assertCompleted(report, result: "{\"a\":[1,2]}")
    }

    func testPendingPromisesAndModulesSurvive() throws {
        let checkpointer = TestCheckpointer()
        let (_, heap) = checkpointer.run("globalThis.p = new Promise(r => { globalThis.settle = r }); 'pending'")
        let (report, next) = checkpointer.run("settle(41); const v = await p;\nv + 1", from: try XCTUnwrap(heap))
        assertCompleted(report, result: "42")
        XCTAssertTrue(next != nil)
    }

    func testAModuleProgramsFunctionsSurviveInTheHeap() throws {
        // A function a module program keeps holds on to its module: the module must not hold a
        // namespace object, which V8 cannot snapshot (it used to abort the process here).
        let checkpointer = TestCheckpointer()
        let (first, heap) = checkpointer.run("globalThis.f = () => 7; await 1; 5")
        assertCompleted(first, result: "5")
        let (second, _) = checkpointer.run("f() + (await 1)", from: try XCTUnwrap(heap))
        assertCompleted(second, result: "8")
    }

    func testObjectsV8CannotSnapshotAreRefusedNotFatal() throws {
        let checkpointer = TestCheckpointer()
        let (first, heap) = checkpointer.run("(1234.5).toLocaleString('en-US')")
        assertCompleted(first, result: "\"1,234.5\"")
        for code in ["globalThis.f = new Intl.NumberFormat('en')", "new FinalizationRegistry(() => {}).register({}, 1)",
                     "var Intl = 1; new Intl.NumberFormat()", "Object.defineProperty(globalThis, 'Intl', {value: 1})"] {
            let (report, snapshot) = checkpointer.run(code, from: try XCTUnwrap(heap))
            XCTAssertEqual(report.status, CV8_STATUS_ERROR, code)
            XCTAssertTrue(report.error?.contains("TypeError") ?? false, report.error ?? "")
            XCTAssertTrue(snapshot == nil, code)
        }
        let (error, _) = checkpointer.run("new Intl.DateTimeFormat()", from: try XCTUnwrap(heap))
        XCTAssertTrue(error.error?.contains("not available in stateful runs") ?? false, error.error ?? "")
    }

    /// V8 gives contexts of a snapshotting isolate no Error.stackTraceLimit, so errors had no stack.
    func testErrorsHaveStacksInStatefulRunsAndTheirHeaps() throws {
        let checkpointer = TestCheckpointer()
        let (thrown, _) = checkpointer.run("function g() { throw new Error('x') }\ng()")
        XCTAssertEqual(thrown.status, CV8_STATUS_ERROR)
        XCTAssertEqual(thrown.error, "Error: x\n    at g (main.js:1:22)\n    at main.js:2:1")
        let (caught, heap) = checkpointer.run("var f = () => null.x;\ntry { f() } catch (e) { e.stack }")
        assertCompleted(caught, result: "\"TypeError: Cannot read properties of null (reading 'x')\\n    at f (main.js:1:20)\\n    at main.js:2:7\"")
        let (resumed, _) = checkpointer.run("try { f() } catch (e) { e.stack.split('\\n').length }", from: try XCTUnwrap(heap))
        assertCompleted(resumed, result: "3")
        // A guest that deletes the limit keeps errors without stacks in its heap.
        let (deleted, quiet) = checkpointer.run("delete Error.stackTraceLimit; new Error('y').stack")
        assertCompleted(deleted, result: nil)
        let (still, _) = checkpointer.run("typeof new Error('z').stack", from: try XCTUnwrap(quiet))
        assertCompleted(still, result: "\"undefined\"")
    }

    func testAwaitBeforeParenthesesIsAnAwait() {
        let (report, _) = TestCheckpointer().run("let x = await (Promise.resolve(3)); x")
        assertCompleted(report, result: "3")
    }

    /// Runs of a heap whose global object was frozen could not install URL, WASI or capabilities:
    /// the freezing run fails, saying so, and stores nothing; the heap it started from goes on.
    func testARunThatFreezesTheGlobalObjectStoresNothing() throws {
        let checkpointer = TestCheckpointer()
        let (_, heap) = checkpointer.run("var kept = 'yes'")
        for code in ["Object.freeze(globalThis); 1", "Object.seal(globalThis); new URL('http://a.test/').href",
                     "Object.preventExtensions(globalThis); typeof WASI"] {
            let (frozen, snapshot) = checkpointer.run(code, from: try XCTUnwrap(heap))
            XCTAssertEqual(frozen.status, CV8_STATUS_ERROR, code)
            XCTAssertTrue(frozen.error?.hasPrefix("The run made globalThis non-extensible") ?? false, frozen.error ?? "")
            XCTAssertNil(snapshot, code)
        }
        let (resumed, _) = checkpointer.run("[kept, new URL('http://a.test/b').pathname]", from: try XCTUnwrap(heap))
        assertCompleted(resumed, result: "[\"yes\",\"/b\"]")
    }

    func testURLAndWASIJoinAHeapOnlyWhenFirstUsed() throws {
        let checkpointer = TestCheckpointer()
        let placeholder = "['URL', 'URLSearchParams', 'WASI'].map(n => typeof Object.getOwnPropertyDescriptor(globalThis, n).get)"
        let (untouched, plainHeap) = checkpointer.run(placeholder)
        assertCompleted(untouched, result: "[\"function\",\"function\",\"function\"]")
        let (used, urlHeap) = checkpointer.run("new URL('http://a.test/p?q=1').searchParams.get('q')",
                                               from: try XCTUnwrap(plainHeap))
        assertCompleted(used, result: "\"1\"")
        // The URL section's objects joined the heap; WASI is still waiting.
        XCTAssertGreaterThan(try XCTUnwrap(urlHeap).count, try XCTUnwrap(plainHeap).count + 8 * 1024)
        let (resumed, _) = checkpointer.run(
            "[typeof Object.getOwnPropertyDescriptor(globalThis, 'URL').value, "
                + "typeof Object.getOwnPropertyDescriptor(globalThis, 'WASI').get, String(new URL('b', 'http://a.test/'))]",
            from: try XCTUnwrap(urlHeap))
        assertCompleted(resumed, result: "[\"function\",\"function\",\"http://a.test/b\"]")
    }

    func testAGuestsChoiceOfALazyGlobalIsKept() {
        let checkpointer = TestCheckpointer()
        let (assigned, _) = checkpointer.run("URL = 5; [URL, typeof URLSearchParams, URL]")
        assertCompleted(assigned, result: "[5,\"function\",5]")
        let (deleted, _) = checkpointer.run("delete globalThis.WASI; [typeof WASI, 'WASI' in globalThis]")
        assertCompleted(deleted, result: "[\"undefined\",false]")
        // The live globals the section would use are the guest's by now; the captured ones are used.
        let (patched, _) = checkpointer.run("Symbol = null; WeakMap = null; [...new URLSearchParams('a=1&b=2').keys()]")
        assertCompleted(patched, result: "[\"a\",\"b\"]")
    }

    func testAHeapKeepsItsCapabilityPreludesAndRunsThemAgainOnlyWhenTheyChange() throws {
        let counting = "globalThis.installs = (globalThis.installs || 0) + 1; globalThis.ping = () => host.call('ping', 7);"
        let answer: TestCapabilities.Handler = { call, _, request, _ in completeHostCall(call, json: request) }
        let capabilities = TestCapabilities(preludes: [counting], handler: answer)
        let checkpointer = TestCheckpointer()
        let (first, heap) = checkpointer.run("[installs, (await ping()).value]", capabilities: capabilities)
        assertCompleted(first, result: "[1,7]")
        let (again, _) = checkpointer.run("[installs, (await ping()).value]", from: try XCTUnwrap(heap),
                                          capabilities: capabilities)
        assertCompleted(again, result: "[1,7]")
        let changed = TestCapabilities(preludes: [counting, "globalThis.second = true;"], handler: answer)
        let (other, _) = checkpointer.run("[installs, second]", from: try XCTUnwrap(heap), capabilities: changed)
        assertCompleted(other, result: "[2,true]")
        // A runtime made for these capabilities starts new heaps with them already run.
        let runtime = capabilities.makeRuntime()
        defer { cv8_runtime_free(runtime) }
        let (prebuilt, _) = TestCheckpointer(runtime: runtime).run("[installs, (await ping()).value]",
                                                                   capabilities: capabilities)
        assertCompleted(prebuilt, result: "[1,7]")
    }

    /// Issue 18: each runtime drew the identity hashes of its prelude's symbols at random, so the
    /// same code made different heap bytes (another id) on every runtime: another capability set,
    /// worker or server. Runtimes with the same preludes now make the same bytes; runs still get
    /// their own randomness.
    func testRuntimesWithTheSamePreludesMakeTheSameHeapBytes() throws {
        let capabilities = TestCapabilities(preludes: ["globalThis.tagged = Symbol('tag');"],
                                            handler: { call, _, request, _ in completeHostCall(call, json: request) })
        var withPreludes: [[UInt8]] = []
        var without: [[UInt8]] = []
        var randoms: Set<String> = []
        for _ in 0..<2 {
            let runtime = capabilities.makeRuntime()
            defer { cv8_runtime_free(runtime) }
            let (made, heap) = TestCheckpointer(runtime: runtime).run("var x = [1, 'two', tagged]; x.length",
                                                                      capabilities: capabilities)
            assertCompleted(made, result: "3")
            withPreludes.append(try XCTUnwrap(heap))
            randoms.insert(TestEngine(runtime: runtime).run("Math.random()").result ?? "")

            var error: UnsafeMutablePointer<CChar>?
            let plain = try XCTUnwrap(cv8_runtime_create(&error))
            defer { cv8_runtime_free(plain) }
            let (plainRun, plainHeap) = TestCheckpointer(runtime: plain).run("var x = [1, 'two']; x.length")
            assertCompleted(plainRun, result: "2")
            without.append(try XCTUnwrap(plainHeap))
            randoms.insert(TestCheckpointer(runtime: plain).run("Math.random()").0.result ?? "")
        }
        XCTAssertEqual(withPreludes[0], withPreludes[1], "the same code and preludes: the same bytes")
        XCTAssertEqual(without[0], without[1])
        XCTAssertNotEqual(withPreludes[0], without[0], "the preludes are part of the heap")
        XCTAssertEqual(randoms.count, 4, "Math.random differs in every run: \(randoms)")
    }

    func testWebAssemblyIsMissingAndTheErrorSaysWhy() {
        let checkpointer = TestCheckpointer()
        let (detected, _) = checkpointer.run("typeof WebAssembly")
        assertCompleted(detected, result: "\"undefined\"")
        let (report, snapshot) = checkpointer.run("new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.hasPrefix("ReferenceError: WebAssembly is not defined") ?? false, report.error ?? "")
        XCTAssertTrue(report.error?.contains("stateful runs have no WebAssembly") ?? false, report.error ?? "")
        XCTAssertNil(snapshot)
    }

    func testSealedHeapsRoundTrip() throws {
        let checkpointer = TestCheckpointer()
        let (_, heap) = checkpointer.run("var greeting = 'hello'")
        let payload = try XCTUnwrap(heap)
        var sealed = cv8_sealed_heap()
        XCTAssertEqual(payload.withUnsafeBufferPointer { cv8_heap_seal($0.baseAddress, $0.count, &sealed, nil) }, 0)
        defer { cv8_free(sealed.bytes) }
        XCTAssertLessThan(sealed.length, payload.count / 2, "LZ4 roughly halves a snapshot at least")
        var opened: UnsafeMutablePointer<UInt8>?
        var length = 0
        var id = [CChar](repeating: 0, count: 65)
        XCTAssertEqual(cv8_heap_open(sealed.bytes, sealed.length, &opened, &length, &id, nil), 0)
        defer { cv8_free(opened) }
        let restored = Array(UnsafeBufferPointer(start: opened, count: length))
        XCTAssertTrue(restored == payload)
        assertCompleted(checkpointer.run("greeting + ' again'", from: restored).0, result: "\"hello again\"")
    }
}
