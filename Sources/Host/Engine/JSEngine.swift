import CV8
import Foundation

/// Errors raised by the engine itself, never by guest code.
public struct EngineError: Error, CustomStringConvertible {
    public let description: String
}

/// Takes ownership of a cv8-allocated error string.
func takeCV8Error(_ pointer: UnsafeMutablePointer<CChar>?, fallback: String) -> EngineError {
    guard let pointer else { return EngineError(description: fallback) }
    defer { cv8_free(pointer) }
    return EngineError(description: String(cString: pointer))
}

/// V8, initialized once per process.
public enum V8Process {
    private static let initialization: Result<Void, EngineError> = {
        var error: UnsafeMutablePointer<CChar>?
        if cv8_initialize(&error) != 0 {
            return .failure(takeCV8Error(error, fallback: "V8 failed to initialize"))
        }
        return .success(())
    }()

    public static func initialize() throws { try initialization.get() }

    public static var version: String { String(cString: cv8_v8_version()) }
}

/// The startup snapshot holding the runtime prelude; shared by every engine of the process.
public final class JSRuntime: @unchecked Sendable {
    let pointer: OpaquePointer

    /// With `capabilities`, their preludes run once here, in the snapshot, instead of every run.
    public init(capabilities: CapabilitySet? = nil) throws {
        try V8Process.initialize()
        var error: UnsafeMutablePointer<CChar>?
        let made = if let capabilities {
            capabilities.withEngineCapabilities { cv8_runtime_create_with_capabilities($0.baseAddress, $0.count, &error) }
        } else {
            cv8_runtime_create(&error)
        }
        guard let runtime = made else {
            throw takeCV8Error(error, fallback: "could not build the runtime snapshot")
        }
        pointer = runtime
    }

    deinit { cv8_runtime_free(pointer) }
}

/// One isolate with a context kept ready for the next run. Use from one thread at a time;
/// `cancel()` may be called from any thread.
public final class JSEngine: @unchecked Sendable {
    private let pointer: OpaquePointer
    public let heapLimitMB: Int

    public init(runtime: JSRuntime, heapLimitMB: Int) throws {
        var error: UnsafeMutablePointer<CChar>?
        guard let engine = cv8_engine_create(runtime.pointer, UInt32(heapLimitMB), &error) else {
            throw takeCV8Error(error, fallback: "could not create a V8 isolate")
        }
        pointer = engine
        self.heapLimitMB = heapLimitMB
    }

    deinit { cv8_engine_free(pointer) }

    /// Builds the context for the next run now, off the next run's path.
    public func prepare() { cv8_engine_prepare(pointer) }

    public func cancel() { cv8_engine_cancel(pointer) }

    /// Runs `code`; `onOutput` is called on this thread for each console line as it is printed.
    public func run(code: String, timeoutMilliseconds: Int, outputLimitBytes: Int, capabilities: CapabilitySet? = nil,
                    wasmModules: PreloadedWasmModules? = nil, onOutput: (ConsoleLevel, String) -> Void) -> RunOutcome {
        withRunRequest(code: code, timeoutMilliseconds: timeoutMilliseconds, outputLimitBytes: outputLimitBytes,
                       capabilities: capabilities, wasmModules: wasmModules, onOutput: onOutput) { request in
            var result = cv8_engine_run(pointer, request)
            defer { cv8_run_result_free(&result) }
            return RunOutcome(result, timeoutMilliseconds: timeoutMilliseconds, heapLimitMB: heapLimitMB)
        }
    }
}

/// Runs code in stateful mode: from a heap snapshot (or the runtime) to a new snapshot. Use from
/// one thread at a time; `cancel()` may be called from any thread.
public final class JSCheckpointer: @unchecked Sendable {
    private let pointer: OpaquePointer
    public let heapLimitMB: Int

    public init(runtime: JSRuntime, heapLimitMB: Int) {
        pointer = cv8_checkpointer_create(runtime.pointer, UInt32(heapLimitMB))
        self.heapLimitMB = heapLimitMB
    }

    deinit { cv8_checkpointer_free(pointer) }

    public func cancel() { cv8_checkpointer_cancel(pointer) }

    /// `heap` must be a payload verified by `HeapEnvelope.open`; nil starts from the runtime.
    /// Returns the new heap's payload when the run completed.
    public func run(code: String, heap: [UInt8]?, timeoutMilliseconds: Int, outputLimitBytes: Int,
                    capabilities: CapabilitySet? = nil,
                    onOutput: (ConsoleLevel, String) -> Void) -> (RunOutcome, newHeap: [UInt8]?) {
        withRunRequest(code: code, timeoutMilliseconds: timeoutMilliseconds, outputLimitBytes: outputLimitBytes,
                       capabilities: capabilities, wasmModules: nil, onOutput: onOutput) { request in
            var result = if let heap {
                heap.withUnsafeBufferPointer { cv8_checkpointer_run(pointer, $0.baseAddress, $0.count, request) }
            } else {
                cv8_checkpointer_run(pointer, nil, 0, request)
            }
            defer { cv8_checkpoint_result_free(&result) }
            let newHeap = result.snapshot.map { Array(UnsafeBufferPointer(start: $0, count: result.snapshot_length)) }
            let outcome = RunOutcome(result.run, timeoutMilliseconds: timeoutMilliseconds, heapLimitMB: heapLimitMB)
            return (outcome, newHeap)
        }
    }
}

extension RunStatus {
    init(_ status: cv8_status) {
        switch status {
        case CV8_STATUS_COMPLETED: self = .completed
        case CV8_STATUS_ERROR: self = .error
        case CV8_STATUS_SYNTAX_ERROR: self = .syntaxError
        case CV8_STATUS_TIMED_OUT: self = .timedOut
        case CV8_STATUS_OUT_OF_MEMORY: self = .outOfMemory
        case CV8_STATUS_CANCELLED: self = .cancelled
        default: self = .internalError
        }
    }
}

extension RunOutcome {
    /// A run stopped at its time or heap limit gets the host's words for it (`LimitMessage`), not the engine's.
    init(_ result: cv8_run_result, timeoutMilliseconds: Int, heapLimitMB: Int) {
        let status = RunStatus(result.status)
        let error = switch status {
        case .timedOut: LimitMessage.timedOut(seconds: (timeoutMilliseconds + 999) / 1000)
        case .outOfMemory: LimitMessage.outOfMemory(heapMB: heapLimitMB)
        default: result.error.map { String(cString: $0) }
        }
        self.init(status: status,
                  resultJSON: result.result_json.map { String(cString: $0) },
                  error: error,
                  outputTruncated: result.output_truncated != 0,
                  outputBytes: result.output_bytes)
    }
}

/// Builds the C request for `code`, routing console lines to `onOutput` and capability calls to
/// `capabilities`, with `wasmModules` pre-loaded, for the duration of `body`.
private func withRunRequest<Result>(code: String, timeoutMilliseconds: Int, outputLimitBytes: Int,
                                    capabilities: CapabilitySet?, wasmModules: PreloadedWasmModules?,
                                    onOutput: (ConsoleLevel, String) -> Void,
                                    _ body: (UnsafePointer<cv8_run_request>) -> Result) -> Result {
    withoutActuallyEscaping(onOutput) { onOutput in
        var sink = OutputSink(onOutput)
        return withUnsafeMutablePointer(to: &sink) { sinkPointer in
            var utf8 = code.utf8CString
            return utf8.withUnsafeMutableBufferPointer { codeBuffer in
                var request = cv8_run_request(
                    code: codeBuffer.baseAddress,
                    code_length: codeBuffer.count - 1,
                    timeout_ms: UInt32(clamping: timeoutMilliseconds),
                    output_limit_bytes: outputLimitBytes,
                    on_output: { context, level, line, length in
                        let sink = context!.assumingMemoryBound(to: OutputSink.self)
                        let text = String(decoding: UnsafeRawBufferPointer(start: line, count: length), as: UTF8.self)
                        sink.pointee.deliver(ConsoleLevel(rawValue: Int(level.rawValue)) ?? .log, text)
                    },
                    output_context: UnsafeMutableRawPointer(sinkPointer),
                    capabilities: nil, capability_count: 0, on_host_call: nil, host_call_context: nil,
                    wasm_modules: nil, wasm_module_count: 0, max_host_calls_in_flight: 0)
                capabilities?.install(into: &request)
                wasmModules?.install(into: &request)
                return body(&request)
            }
        }
    }
}

/// Carries the Swift output closure through the C callback's context pointer.
private struct OutputSink {
    let deliver: (ConsoleLevel, String) -> Void
    init(_ deliver: @escaping (ConsoleLevel, String) -> Void) { self.deliver = deliver }
}
