import CV8
import CapabilityABI
import Foundation
import Logging

/// A host call of the engine's, to be ended once from any thread.
struct EngineCall: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// One operation in flight, as a plugin holds it (the `mcpv8_call *` of the ABI): the engine's
/// call to end, the policy of its run's capability set that judges further steps (told who asks),
/// what the plugin keeps for that set, and what cancels it when its run ends.
final class PluginCall: @unchecked Sendable {
    let engineCall: EngineCall
    let plugin: LoadedPlugin
    let operation: mcpv8_operation
    let policies: PolicyEngine
    let caller: RunCaller
    /// What the plugin's `open_set` returned for the run's set (`call_set_state`).
    let setState: UnsafeMutableRawPointer?
    /// The document the policy allowed (NUL-terminated), lent to the plugin until the call ends.
    let allowedInput: UnsafeMutablePointer<CChar>
    private weak var inFlight: CallsInFlight?
    /// Held while `start` runs, and by cancel and the end of the call: cancel comes only after
    /// `start` returned and never after the call ended. Recursive: `start` may end the call.
    private let lock = NSRecursiveLock()
    private var ended = false

    init(engineCall: EngineCall, plugin: LoadedPlugin, operation: mcpv8_operation, policies: PolicyEngine,
         caller: RunCaller, setState: UnsafeMutableRawPointer?, allowedInput: String, inFlight: CallsInFlight) {
        self.engineCall = engineCall
        self.plugin = plugin
        self.operation = operation
        self.policies = policies
        self.caller = caller
        self.setState = setState
        self.allowedInput = strdup(allowedInput)
        self.inFlight = inFlight
    }

    deinit { free(allowedInput) }

    /// Calls the operation's `start` with a handle the plugin owns until it ends the call.
    func start(request: UnsafeBufferPointer<CChar>, bytes: UnsafeBufferPointer<UInt8>?) {
        lock.lock()
        defer { lock.unlock() }
        operation.start(plugin.state, retainedHandle(), request.baseAddress, request.count, bytes?.baseAddress,
                        bytes?.count ?? 0)
    }

    /// Asks the plugin to stop the call (its run ended); a no-op once the call has ended.
    func cancel() {
        lock.lock()
        defer { lock.unlock() }
        guard !ended, let cancel = operation.cancel else { return }
        cancel(plugin.state, OpaquePointer(Unmanaged.passUnretained(self).toOpaque()))
    }

    /// The plugin completed or failed the call.
    fileprivate func markEnded() {
        lock.lock()
        ended = true
        lock.unlock()
        inFlight?.remove(self)
    }

    /// Ends an engine call with an error the guest sees as `Error(message)` with `.code`.
    static func fail(_ engineCall: EngineCall, code: String?, message: String) {
        var failure = ["message": message]
        failure["code"] = code
        let json = (try? JSONEncoder().encode(failure)) ?? Data(#"{"message":"the capability failed"}"#.utf8)
        json.withUnsafeBytes {
            cv8_host_call_complete(engineCall.pointer, 0, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, nil, 0)
        }
    }

    /// The ABI handle: the plugin owns one reference until it completes or fails the call.
    private func retainedHandle() -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// The call, as the plugin ends it: gives back the plugin's reference.
    static func takeHandle(_ handle: OpaquePointer?) -> PluginCall {
        let call = Unmanaged<PluginCall>.fromOpaque(UnsafeRawPointer(handle!)).takeRetainedValue()
        call.markEnded()
        return call
    }

    static func peekHandle(_ handle: OpaquePointer?) -> PluginCall {
        Unmanaged<PluginCall>.fromOpaque(UnsafeRawPointer(handle!)).takeUnretainedValue()
    }
}

/// The calls a worker's current run has started and not yet ended. When the run ends, those
/// still going are cancelled, and calls the run asked for but that were not started yet never are.
final class CallsInFlight: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [ObjectIdentifier: PluginCall] = [:]
    private var run: UInt64 = 0
    private var caller = RunCaller()
    private var running = false

    /// The run now going on, for `add`, and who asked for it.
    var current: (run: UInt64, caller: RunCaller) {
        lock.lock()
        defer { lock.unlock() }
        return (run, caller)
    }

    func beginRun(caller: RunCaller) {
        lock.lock()
        run += 1
        self.caller = caller
        running = true
        lock.unlock()
    }

    /// Cancels what the ending run left in flight.
    func endRun() {
        lock.lock()
        running = false
        let left = Array(calls.values)
        calls.removeAll()
        lock.unlock()
        for call in left { call.cancel() }
    }

    /// Registers a call of run `run`; false when that run is over (the call must not start).
    func add(_ call: PluginCall, run: UInt64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard running, run == self.run else { return false }
        calls[ObjectIdentifier(call)] = call
        return true
    }

    func remove(_ call: PluginCall) {
        lock.lock()
        calls[ObjectIdentifier(call)] = nil
        lock.unlock()
    }
}

/// The host API table every plugin receives: static, process-wide. Only worker-role processes
/// load plugins (the server checks them in a child, `PluginCheck`), each file once.
enum PluginHostAPI {
    /// The settings plugins read at their entry (`--plugin-config NAME.KEY=VALUE`, Fetch's header
    /// rules, ...), by plugin then key: of the first set that uses each plugin (`CapabilitySets`).
    /// Per process because `config_host_owned` has no context argument to tell one load from
    /// another; per-set settings go through `open_set` (ABI 1.1).
    nonisolated(unsafe) private static var settings: [String: [String: String]] = [:]
    nonisolated(unsafe) private static var logger = Logger(label: "mcp-v8.plugin")

    /// What `config_host_owned` and `log` answer from, set before each plugin is loaded.
    static func configure(settings: [String: [String: String]], logger: Logger) {
        Self.settings = settings
        Self.logger = logger
    }

    /// The tenant of the run this worker is serving (nil between runs and without tenants), named
    /// in plugins' log lines: `log` has no call argument, and a worker serves one run at a time.
    static var runTenant: String? {
        get { runTenantLock.withLock { runTenantValue } }
        set { runTenantLock.withLock { runTenantValue = newValue } }
    }
    nonisolated(unsafe) private static var runTenantValue: String?
    private static let runTenantLock = NSLock()

    nonisolated(unsafe) static let table: UnsafeMutablePointer<mcpv8_host_api> = {
        let table = UnsafeMutablePointer<mcpv8_host_api>.allocate(capacity: 1)
        table.initialize(to: mcpv8_host_api(
            size: MemoryLayout<mcpv8_host_api>.size,
            abi_major: UInt32(MCPV8_ABI_MAJOR),
            abi_minor: UInt32(MCPV8_ABI_MINOR),
            check_policy: { handle, input, length, reasonOut in
                let call = PluginCall.peekHandle(handle)
                let pluginInput = String(decoding: UnsafeRawBufferPointer(start: input, count: length), as: UTF8.self)
                guard let inputJSON = call.caller.policyInput(pluginInput) else {
                    reasonOut?.pointee = strdup("the \(call.plugin.name) plugin's policy input is not a JSON object")
                    return MCPV8_POLICY_DENY
                }
                let decision = call.policies.decide(category: call.plugin.category, inputJSON: inputJSON,
                                                    tenant: call.caller.tenant)
                if decision.allowed { return MCPV8_POLICY_ALLOW }
                reasonOut?.pointee = strdup(decision.reason)
                return MCPV8_POLICY_DENY
            },
            complete: { handle, json, jsonLength, bytes, bytesLength in
                let call = PluginCall.takeHandle(handle)
                cv8_host_call_complete(call.engineCall.pointer, 1, json, json == nil ? 0 : jsonLength, bytes, bytesLength)
            },
            fail: { handle, code, message in
                let call = PluginCall.takeHandle(handle)
                PluginCall.fail(call.engineCall, code: code.map { String(cString: $0) },
                                message: message.map { String(cString: $0) } ?? "\(call.plugin.name) failed")
            },
            log: { name, level, message in
                let text = Logger.Message(stringLiteral: message.map { String(cString: $0) } ?? "")
                var metadata: Logger.Metadata = ["plugin": .string(name.map { String(cString: $0) } ?? "?")]
                if let tenant = PluginHostAPI.runTenant { metadata["tenant"] = .string(tenant) }
                switch level {
                case MCPV8_LOG_DEBUG: PluginHostAPI.logger.debug(text, metadata: metadata)
                case MCPV8_LOG_INFO: PluginHostAPI.logger.info(text, metadata: metadata)
                case MCPV8_LOG_WARNING: PluginHostAPI.logger.warning(text, metadata: metadata)
                default: PluginHostAPI.logger.error(text, metadata: metadata)
                }
            },
            config_host_owned: { name, key in
                guard let name, let key,
                      let value = PluginHostAPI.settings[String(cString: name)]?[String(cString: key)] else { return nil }
                return strdup(value)
            },
            release: { free($0) },
            allowed_input: { handle, lengthOut in
                let call = PluginCall.peekHandle(handle)
                lengthOut?.pointee = strlen(call.allowedInput)
                return UnsafePointer(call.allowedInput)
            },
            claim_bytes: { handle, length in
                cv8_host_call_claim(PluginCall.peekHandle(handle).engineCall.pointer, length)
            },
            set_config_host_owned: { set, key in
                guard let set, let key else { return nil }
                let settings = Unmanaged<PluginSetSettings>.fromOpaque(UnsafeRawPointer(set)).takeUnretainedValue()
                return settings.settings[String(cString: key)].map { strdup($0) }
            },
            call_set_state: { handle in PluginCall.peekHandle(handle).setState }))
        return table
    }()
}
