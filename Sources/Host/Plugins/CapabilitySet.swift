import CV8
import CapabilityABI
import Foundation
import Logging

/// Every capability set a worker serves: each plugin file loaded once, and per set its plugins,
/// policies and settings. Runs go one at a time, so the calls in flight and the decision counts
/// are the process's.
public final class CapabilitySets: @unchecked Sendable {
    /// By set name; a set without plugins has none.
    let sets: [String: CapabilitySet]
    private let inFlight = CallsInFlight()
    private let decisionCounts = DecisionCounts()

    /// Loads every plugin any set uses (once each, its entry reading the settings of the first set,
    /// by name, that uses it), opens each set with the plugins that read settings per set, and
    /// compiles every set's policies; errors name the file, the set and the reason.
    public init(configuration: WorkerCapabilities, logger: Logger) throws {
        var loaded: [String: LoadedPlugin] = [:]
        var entrySettings: [String: [String: String]] = [:]
        for name in configuration.orderedSetNames {
            let set = configuration.sets[name]!
            for path in set.pluginPaths where loaded[path] == nil {
                PluginHostAPI.configure(settings: set.pluginSettings, logger: logger)
                let plugin = try LoadedPlugin(path: path)
                loaded[path] = plugin
                entrySettings[plugin.name] = set.pluginSettings[plugin.name]
            }
        }
        // What `config_host_owned` answers from now on: each plugin's settings as its entry read them.
        PluginHostAPI.configure(settings: entrySettings, logger: logger)
        if let disagreement = configuration.settingsDisagreement(opensSets: { loaded[$0]!.opensSets },
                                                                 pluginName: { loaded[$0]!.name }) {
            throw PluginError(disagreement)
        }
        var sets: [String: CapabilitySet] = [:]
        for name in configuration.orderedSetNames {
            let set = configuration.sets[name]!
            let plugins = try set.pluginPaths.map { path -> SetPlugin in
                let plugin = loaded[path]!
                guard plugin.opensSets else { return SetPlugin(plugin: plugin, state: nil) }
                return SetPlugin(plugin: plugin,
                                 state: try plugin.openSet(named: name, settings: set.pluginSettings[plugin.name] ?? [:]))
            }
            let policies: PolicyEngine
            do {
                policies = try PolicyEngine(configuration: set.policies, regoLibraryPath: configuration.regoLibraryPath,
                                            logger: logger)
            } catch {
                throw PolicyError("\(WorkerCapabilities.describe(set: name)): \(error)")
            }
            sets[name] = CapabilitySet(plugins: plugins, policies: policies, inFlight: inFlight,
                                       decisionCounts: decisionCounts,
                                       maxCallsInFlightPerRun: configuration.maxCallsInFlightPerRun)
        }
        self.sets = sets
    }

    /// Brackets each run: operations its calls started and that are still going when it ends are
    /// cancelled (a subprocess must not outlive the run that started it). `caller` is who asks, for
    /// every policy input of the run.
    public func beginRun(caller: RunCaller) { inFlight.beginRun(caller: caller) }
    public func endRun() { inFlight.endRun() }

    /// Policy decisions since the last call, as "category/allowed|denied" → count.
    public func takeDecisionCounts() -> [String: Int] { decisionCounts.take() }
}

/// A plugin as one set uses it: with what its `open_set` kept for the set.
struct SetPlugin: @unchecked Sendable {  // the state is the plugin's, kept for the life of the process
    let plugin: LoadedPlugin
    let state: UnsafeMutableRawPointer?
}

/// One capability set's plugins and policy engine, and the bridge between the engine's host calls
/// and the plugins' operations.
public final class CapabilitySet: @unchecked Sendable {
    let plugins: [SetPlugin]
    let policies: PolicyEngine
    /// The preludes as the engine takes them, allocated once for the life of the process.
    private let engineCapabilities: UnsafeMutableBufferPointer<cv8_capability>
    private let decisionCounts: DecisionCounts
    private let inFlight: CallsInFlight
    private let maxCallsInFlightPerRun: Int

    init(plugins: [SetPlugin], policies: PolicyEngine, inFlight: CallsInFlight, decisionCounts: DecisionCounts,
         maxCallsInFlightPerRun: Int) {
        self.plugins = plugins
        self.policies = policies
        self.inFlight = inFlight
        self.decisionCounts = decisionCounts
        self.maxCallsInFlightPerRun = maxCallsInFlightPerRun
        engineCapabilities = .allocate(capacity: plugins.count)
        for (index, plugin) in plugins.enumerated() {
            let prelude = strdup(plugin.plugin.prelude)!
            engineCapabilities[index] = cv8_capability(prelude: prelude, prelude_length: strlen(prelude))
        }
    }

    /// The plugins' preludes, in order: sets with the same ones can share a runtime.
    var preludes: [String] { plugins.map(\.plugin.prelude) }

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
            let (run, caller) = capabilities.inFlight.current
            capabilities.dispatch(
                EngineCall(pointer: call!), run: run, caller: caller,
                plugin: capabilities.plugins[index], operation: String(cString: operation!),
                request: Array(UnsafeBufferPointer(start: request, count: requestLength)),
                bytes: bytes.map { Array(UnsafeBufferPointer(start: $0, count: bytesLength)) })
        }
    }

    /// Off the isolate's thread: asks the plugin for the policy input, the policy for a decision,
    /// and only then starts the operation.
    private func dispatch(_ engineCall: EngineCall, run: UInt64, caller: RunCaller, plugin setPlugin: SetPlugin,
                          operation name: String, request: [CChar], bytes: [UInt8]?) {
        let plugin = setPlugin.plugin
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
            let pluginInput = String(cString: input)
            guard let inputJSON = caller.policyInput(pluginInput) else {
                PluginCall.fail(engineCall, code: "ERR_INVALID_ARG_VALUE",
                                message: "\(plugin.name).\(name): the plugin's policy input is not a JSON object")
                return
            }
            let decision = policies.decide(category: plugin.category, inputJSON: inputJSON, tenant: caller.tenant)
            decisionCounts.add("\(plugin.category)/\(decision.allowed ? "allowed" : "denied")")
            guard decision.allowed else {
                PluginCall.fail(engineCall, code: "ERR_POLICY_DENIED",
                                message: "\(plugin.name).\(name) denied by the \(plugin.category) policy: \(decision.reason)")
                return
            }
            // The plugin compares its own document with what it would produce when it acts.
            let call = PluginCall(engineCall: engineCall, plugin: plugin, operation: operation, policies: policies,
                                  caller: caller, setState: setPlugin.state, allowedInput: pluginInput,
                                  inFlight: inFlight)
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

final class DecisionCounts: @unchecked Sendable {
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
