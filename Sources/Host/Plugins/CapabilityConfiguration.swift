import Foundation

/// What the operator enabled beyond the sandbox, as the host hands it to every worker in its first
/// frame (`WorkerRequest.configure`): the policies, the plugin files to load, and their settings.
/// `CapabilityPlan` decides it.
public struct CapabilityConfiguration: Codable, Sendable, Equatable {
    public var policies = PolicyConfiguration()
    /// Plugin files to load, in order; each one's category has a policy.
    public var pluginPaths: [String] = []
    /// Settings by plugin name, then key.
    public var pluginSettings: [String: [String: String]] = [:]
    public var regoLibraryPath: String?
    public var logLevel = "info"
    /// WebAssembly modules pre-loaded into every (stateless) run. Not a plugin: they need no
    /// policy, and a run needs them before its first line, which host calls cannot give.
    public var wasmModules: [WasmModuleSpec] = []
    /// Capability calls one run may have in flight (`--max-capability-calls`); the rest wait in order.
    public var maxCallsInFlightPerRun = CapabilityConfiguration.defaultCallsInFlightPerRun
    public static let defaultCallsInFlightPerRun = 16
    public static let callsInFlightPerRunRange = 1...1024

    public init() {}
}
