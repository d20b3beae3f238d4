import CV8
import XCTest

/// What one run produced, read back from the C API.
struct RunReport {
    var status: cv8_status
    var result: String?
    var error: String?
    var output: [(level: cv8_console_level, text: String)]
    var outputTruncated: Bool
    var outputBytes: UInt64

    var lines: [String] { output.map(\.text) }
}

/// One runtime for the whole test process, as in a worker.
nonisolated(unsafe) let sharedRuntime: OpaquePointer = {
    var error: UnsafeMutablePointer<CChar>?
    guard let runtime = cv8_runtime_create(&error) else {
        fatalError("runtime: \(error.map { String(cString: $0) } ?? "?")")
    }
    return runtime
}()

final class TestEngine {
    let pointer: OpaquePointer

    init(heapLimitMB: UInt32 = 16, runtime: OpaquePointer = sharedRuntime) {
        var error: UnsafeMutablePointer<CChar>?
        guard let engine = cv8_engine_create(runtime, heapLimitMB, &error) else {
            fatalError("engine: \(error.map { String(cString: $0) } ?? "?")")
        }
        pointer = engine
    }

    deinit { cv8_engine_free(pointer) }

    func run(_ code: String, timeoutMilliseconds: UInt32 = 5000, outputLimit: Int = 1 << 20,
             capabilities: TestCapabilities? = nil) -> RunReport {
        final class Sink { var lines: [(cv8_console_level, String)] = [] }
        let sink = Sink()
        var utf8 = Array(code.utf8)
        return utf8.withUnsafeMutableBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(bytes.count, 1)) { codePointer in
                var request = cv8_run_request(
                    code: codePointer, code_length: bytes.count, timeout_ms: timeoutMilliseconds,
                    output_limit_bytes: outputLimit,
                    on_output: { context, level, line, length in
                        let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                        let text = String(decoding: UnsafeRawBufferPointer(start: line, count: length), as: UTF8.self)
                        sink.lines.append((level, text))
                    },
                    output_context: Unmanaged.passUnretained(sink).toOpaque(),
                    capabilities: nil, capability_count: 0, on_host_call: nil, host_call_context: nil,
                    wasm_modules: nil, wasm_module_count: 0, max_host_calls_in_flight: 0)
                capabilities?.install(into: &request)
                var result = cv8_engine_run(pointer, &request)
                defer { cv8_run_result_free(&result) }
                return RunReport(
                    status: result.status,
                    result: result.result_json.map { String(cString: $0) },
                    error: result.error.map { String(cString: $0) },
                    output: sink.lines.map { (level: $0.0, text: $0.1) },
                    outputTruncated: result.output_truncated != 0,
                    outputBytes: result.output_bytes)
            }
        }
    }
}

/// Engines are costly to make; most tests share one per heap size.
nonisolated(unsafe) let sharedEngine = TestEngine()

func assertCompleted(_ report: RunReport, result expected: String?, file: StaticString = #filePath,
                     line: UInt = #line) {
    XCTAssertEqual(report.status, CV8_STATUS_COMPLETED, "error: \(report.error ?? "none")", file: file, line: line)
    XCTAssertEqual(report.result, expected, file: file, line: line)
}

/// A host call a test has yet to end; any thread may end it.
struct PendingHostCall: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Capabilities for a test run: preludes, and a handler that gets each host call with its
/// operation, request JSON and bytes, and must end it with cv8_host_call_complete.
final class TestCapabilities {
    typealias Handler = (PendingHostCall, String, String, [UInt8]?) -> Void
    private let preludes: [UnsafeMutablePointer<CChar>]
    private let entries: UnsafeMutableBufferPointer<cv8_capability>
    let handler: Handler
    /// The request's max_host_calls_in_flight (0: no limit).
    var maxInFlight = 0

    init(preludes: [String], handler: @escaping Handler) {
        self.preludes = preludes.map { strdup($0)! }
        entries = .allocate(capacity: preludes.count)
        for (index, prelude) in self.preludes.enumerated() {
            entries[index] = cv8_capability(prelude: prelude, prelude_length: strlen(prelude))
        }
        self.handler = handler
    }

    deinit {
        preludes.forEach { free($0) }
        entries.deallocate()
    }

    /// A runtime whose snapshot already ran these preludes.
    func makeRuntime() -> OpaquePointer {
        var error: UnsafeMutablePointer<CChar>?
        guard let runtime = cv8_runtime_create_with_capabilities(entries.baseAddress, entries.count, &error) else {
            fatalError("runtime: \(error.map { String(cString: $0) } ?? "?")")
        }
        return runtime
    }

    func install(into request: inout cv8_run_request) {
        request.capabilities = UnsafePointer(entries.baseAddress)
        request.capability_count = entries.count
        request.host_call_context = Unmanaged.passUnretained(self).toOpaque()
        request.max_host_calls_in_flight = maxInFlight
        request.on_host_call = { context, call, _, operation, json, length, bytes, bytesLength in
            let capabilities = Unmanaged<TestCapabilities>.fromOpaque(context!).takeUnretainedValue()
            capabilities.handler(PendingHostCall(pointer: call!), String(cString: operation!),
                                 String(decoding: UnsafeRawBufferPointer(start: json, count: length), as: UTF8.self),
                                 bytes.map { Array(UnsafeBufferPointer(start: $0, count: bytesLength)) })
        }
    }
}

/// Ends a host call from a test: `json` (nil for null) and optional bytes; ok false fails it.
func completeHostCall(_ call: PendingHostCall, ok: Bool = true, json: String?, bytes: [UInt8]? = nil) {
    let text = json.map { Array($0.utf8) } ?? []
    let body = bytes ?? []
    text.withUnsafeBufferPointer { jsonBuffer in
        body.withUnsafeBufferPointer { bytesBuffer in
            cv8_host_call_complete(call.pointer, ok ? 1 : 0,
                                   json == nil ? nil : UnsafeRawPointer(jsonBuffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                                       .assumingMemoryBound(to: CChar.self),
                                   text.count, bytes == nil ? nil : bytesBuffer.baseAddress ?? UnsafePointer(bitPattern: 1)!,
                                   body.count)
        }
    }
}
