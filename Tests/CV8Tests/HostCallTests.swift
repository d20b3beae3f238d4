import CV8
import Foundation
import XCTest

/// Capabilities reach a run through host calls: a prelude gets `host`, host.call reports to the
/// request's handler, and the promise settles when the host ends the call, from any thread.
final class HostCallTests: XCTestCase {
    private let echoPrelude = """
        globalThis.echo = async (request, bytes) => {
          const answer = await host.call('echo', request, bytes);
          return { value: answer.value, bytes: answer.bytes === undefined ? null : Array.from(answer.bytes) };
        };
        """

    func testACallEndedOnAnotherThreadResolvesWithItsValueAndBytes() {
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, operation, request, bytes in
            let answer = #"{"operation":"\#(operation)","request":\#(request),"received":\#(bytes?.count ?? -1)}"#
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.05)
                completeHostCall(call, json: answer, bytes: [1, 2, 255])
            }
        }
        let report = sharedEngine.run("await echo({a: 1}, new Uint8Array([7, 8]))", capabilities: capabilities)
        assertCompleted(report, result: #"{"value":{"operation":"echo","request":{"a":1},"received":2},"bytes":[1,2,255]}"#)
    }

    func testAFailedCallRejectsWithItsMessageAndCode() {
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, _, _, _ in
            completeHostCall(call, ok: false, json: #"{"message":"no such file","code":"ENOENT"}"#)
        }
        let report = sharedEngine.run(
            "await echo(1).then(() => 'resolved', e => [e instanceof Error, e.message, e.code].join('|'))",
            capabilities: capabilities)
        assertCompleted(report, result: #""true|no such file|ENOENT""#)
    }

    func testACallThatNeverEndsTimesOutAndItsLateEndIsDropped() throws {
        let late = NSCondition()
        var pending: PendingHostCall?
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, _, _, _ in
            late.lock()
            pending = call
            late.unlock()
        }
        let report = sharedEngine.run("await echo(1)", timeoutMilliseconds: 200, capabilities: capabilities)
        XCTAssertEqual(report.status, CV8_STATUS_TIMED_OUT, report.error ?? "")
        late.lock()
        let call = pending
        late.unlock()
        // The run is over: ending its call now must neither crash nor reach the next run.
        completeHostCall(try XCTUnwrap(call), json: "1")
        assertCompleted(sharedEngine.run("typeof echo"), result: #""undefined""#)
    }

    func testCallsInFlightTogetherAllSettle() {
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, _, request, _ in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 1...30))) {
                completeHostCall(call, json: request)
            }
        }
        let report = sharedEngine.run(
            "(await Promise.all(Array.from({length: 50}, (_, i) => echo(i)))).reduce((sum, r) => sum + r.value, 0)",
            capabilities: capabilities)
        assertCompleted(report, result: "1225")
    }

    func testARuntimeSnapshotHoldingThePreludesSpareRunsFromRunningThemAgain() {
        // performance.now() is 0 outside a run: while the snapshot is built.
        let prelude = "globalThis.installedAt = performance.now(); globalThis.ping = () => host.call('ping', 1);"
        let capabilities = TestCapabilities(preludes: [prelude]) { call, _, request, _ in completeHostCall(call, json: request) }
        let runtime = capabilities.makeRuntime()
        defer { cv8_runtime_free(runtime) }
        let engine = TestEngine(runtime: runtime)
        assertCompleted(engine.run("[installedAt, (await ping()).value]", capabilities: capabilities), result: "[0,1]")
        // A runtime is made for one set of capabilities (a worker's): a run that asks for none
        // still sees the globals, but they can reach nothing.
        assertCompleted(engine.run("await ping().catch((error) => error.message)"),
                        result: #""capabilities are not available in this run""#)
        assertCompleted(sharedEngine.run("installedAt > 0", capabilities: capabilities), result: "true")
    }

    func testCallsBeyondTheCapWaitAndAreReportedInOrder() {
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var reported: [String] = []
            var inFlight = 0, mostInFlight = 0
            func started(_ request: String) {
                lock.lock()
                reported.append(request)
                inFlight += 1
                mostInFlight = max(mostInFlight, inFlight)
                lock.unlock()
            }
            func ended() {
                lock.lock()
                inFlight -= 1
                lock.unlock()
            }
        }
        let tally = Tally()
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, _, request, _ in
            tally.started(request)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 1...10))) {
                tally.ended()
                completeHostCall(call, json: request)
            }
        }
        capabilities.maxInFlight = 3
        let report = sharedEngine.run(
            "(await Promise.all(Array.from({length: 20}, (_, i) => echo(i)))).reduce((sum, r) => sum + r.value, 0)",
            capabilities: capabilities)
        assertCompleted(report, result: "190")
        XCTAssertEqual(tally.reported, (0..<20).map(String.init))
        XCTAssertEqual(tally.mostInFlight, 3)
    }

    func testAnswersClaimTheRunsMemoryForBuffersAsTheyArrive() {
        // The engine's heap limit (16 MB) is also its memory for buffers.
        let mebibyte = 1 << 20
        let capabilities = TestCapabilities(preludes: [echoPrelude]) { call, _, request, _ in
            switch request {
            case #""claims""#:
                let claims = [cv8_host_call_claim(call.pointer, 10 * mebibyte), cv8_host_call_claim(call.pointer, 7 * mebibyte),
                              cv8_host_call_claim(call.pointer, 5 * mebibyte)]
                completeHostCall(call, json: "[\(claims.map(String.init).joined(separator: ","))]")
            default:
                completeHostCall(call, json: "null", bytes: [UInt8](repeating: 1, count: 17 * mebibyte))
            }
        }
        let report = sharedEngine.run("""
            [(await echo('claims')).value, (await echo('claims')).value,
             await echo('unclaimed').then(() => 'resolved', (e) => e.code + ': ' + e.message)]
            """, capabilities: capabilities)
        // 10 + 5 MiB fit, 7 more would not; once the answer reached the run, its claim is given back.
        assertCompleted(report, result: #"[[0,1,0],[0,1,0],"ERR_BUFFER_LIMIT: the capability's answer of 17825792 bytes "#
                        + #"does not fit in this run's memory for buffers (its heap limit, heap_memory_max_mb)"]"#)
    }

    func testWithoutCapabilitiesThereIsNoPreludeAndNoGlobal() {
        assertCompleted(sharedEngine.run("typeof host + typeof echo"), result: #""undefinedundefined""#)
    }
}
