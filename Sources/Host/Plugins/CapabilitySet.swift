import CV8
import CapabilityABI
import Foundation
import Logging

/// The loaded plugins and the policy engine of one process, and the bridge between the engine's
/// host calls and the plugins' operations.
public final class CapabilitySet: @unchecked Sendable {
    let plugins: [LoadedPlugin]
    let policies: PolicyEngine
    /// The preludes as the engine takes them, allocated once for the life of the process.
    private let engineCapabilities: UnsafeMutableBufferPointer<cv8_capability>
    private let decisionCounts = DecisionCounts()
    private let inFlight = CallsInFlight()
    private let maxCallsInFlightPerRun: Int

    /// Loads every configured plugin and compiles every policy; errors name the file and reason.
    public init(configuration: CapabilityConfiguration, logger: Logger) throws {
        PluginHostAPI.configure(settings: configuration.pluginSettings, logger: logger)
        policies = try PolicyEngine(configuration: configuration.policies,
                                    regoLibraryPath: configuration.regoLibraryPath, logger: logger)
        plugins = try configuration.pluginPaths.map { try LoadedPlugin(path: $0) }
        maxCallsInFlightPerRun = configuration.maxCallsInFlightPerRun
        engineCapabilities = .allocate(capacity: plugins.count)
        for (index, plugin) in plugins.enumerated() {
            let prelude = strdup(plugin.prelude)!
            engineCapabilities[index] = cv8_capability(prelude: prelude, prelude_length: strlen(prelude))
        }
    }

    /// The preludes as the engine takes them, for a runtime snapshot that runs them once.
    func withEngineCapabilities<Result>(_ body: (UnsafeBufferPointer<cv8_capability>) -> Result) -> Result {
        body(UnsafeBufferPointer(engineCapabilities))
    }

    /// Fills a run request's capability fields. They point into this set without retaining it,
    /// so the set must outlive the run.
    func install(into request: inout cv8_run_request) {
        guard !plugins.isEmpty else { return }
        request.capabilities = UnsafePointer(engineCapabilities.baseAddress)
        request.capability_count = plugins.count
        request.host_call_context = Unmanaged.passUnretained(self).toOpaque()
        request.max_host_calls_in_flight = maxCallsInFlightPerRun
        request.on_host_call = { context, call, index, operation, request, requestLength, bytes, bytesLength in
            let capabilities = Unmanaged<CapabilitySet>.fromOpaque(context!).takeUnretainedValue()
            capabilities.dispatch(
                EngineCall(pointer: call!), run: capabilities.inFlight.currentRun,
                plugin: capabilities.plugins[index], operation: String(cString: operation!),
                request: Array(UnsafeBufferPointer(start: request, count: requestLength)),
                bytes: bytes.map { Array(UnsafeBufferPointer(start: $0, count: bytesLength)) })
        }
    }

    /// Brackets each run: operations its calls started and that are still going when it ends are
    /// cancelled (a subprocess must not outlive the run that started it).
    public func beginRun() { inFlight.beginRun() }
    public func endRun() { inFlight.endRun() }

    /// Policy decisions since the last call, as "category/allowed|denied" → count.
    public func takeDecisionCounts() -> [String: Int] { decisionCounts.take() }

    /// Off the isolate's thread: asks the plugin for the policy input, the policy for a decision,
    /// and only then starts the operation.
    private func dispatch(_ engineCall: EngineCall, run: UInt64, plugin: LoadedPlugin, operation name: String,
                          request: [CChar], bytes: [UInt8]?) {
        DispatchQueue.global().async { [self] in
            guard let operation = plugin.operations[name] else {
                PluginCall.fail(engineCall, code: "ERR_UNKNOWN_OPERATION",
                                message: "the \(plugin.name) plugin has no operation '\(name)'")
                return
            }
            var input: UnsafeMutablePointer<CChar>?
            var error: UnsafeMutablePointer<CChar>?
            let status = request.withUnsafeBufferPointer {
                operation.policy_input(plugin.state, $0.baseAddress, $0.count, &input, &error)
            }
            defer {
                plugin.release(input)
                plugin.release(error)
            }
            guard status == 0, let input else {
                PluginCall.fail(engineCall, code: "ERR_INVALID_ARG_VALUE",
                                message: error.map { String(cString: $0) } ?? "\(plugin.name).\(name): invalid request")
                return
            }
            let inputJSON = String(cString: input)
            let decision = policies.decide(category: plugin.category, inputJSON: inputJSON)
            decisionCounts.add("\(plugin.category)/\(decision.allowed ? "allowed" : "denied")")
            guard decision.allowed else {
                PluginCall.fail(engineCall, code: "ERR_POLICY_DENIED",
                                message: "\(plugin.name).\(name) denied by the \(plugin.category) policy: \(decision.reason)")
                return
            }
            let call = PluginCall(engineCall: engineCall, plugin: plugin, operation: operation, policies: policies,
                                  allowedInput: inputJSON, inFlight: inFlight)
            guard inFlight.add(call, run: run) else {
                PluginCall.fail(engineCall, code: "ECANCELED", message: "the run ended before \(plugin.name).\(name) started")
                return
            }
            request.withUnsafeBufferPointer { requestBuffer in
                if let bytes {
                    bytes.withUnsafeBufferPointer { call.start(request: requestBuffer, bytes: $0) }
                } else {
                    call.start(request: requestBuffer, bytes: nil)
                }
            }
        }
    }
}

private final class DecisionCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func add(_ key: String) {
        lock.lock()
        counts[key, default: 0] += 1
        lock.unlock()
    }

    func take() -> [String: Int] {
        lock.lock()
        defer { lock.unlock() }
        let taken = counts
        counts = [:]
        return taken
    }
}
