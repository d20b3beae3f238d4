import Foundation

/// One capability set: the policies, the plugin files to load, and their settings. `CapabilityPlan`
/// decides it from a set of flags. A server serves one per tenant, or only its own ("").
public struct CapabilityConfiguration: Codable, Sendable, Equatable {
    public var policies = PolicyConfiguration()
    /// Plugin files to load, in order; each one's category has a policy.
    public var pluginPaths: [String] = []
    /// Settings by plugin name, then key.
    public var pluginSettings: [String: [String: String]] = [:]

    public init() {}

    /// Capability calls one run may have in flight (`--max-capability-calls`); the rest wait in order.
    public static let defaultCallsInFlightPerRun = 16
    public static let callsInFlightPerRunRange = 1...1024
}

/// What the host hands every worker in its first frame (`WorkerRequest.configure`): the capability
/// sets by name, and what is the same for all of them.
public struct WorkerCapabilities: Codable, Sendable, Equatable {
    /// The name of the server's own set, built from the top-level flags: every caller's when there
    /// are no tenants.
    public static let serverSet = ""

    /// By name: a run names the set it runs with (`RunRequest.capabilitySet`).
    public var sets: [String: CapabilityConfiguration]
    public var regoLibraryPath: String?
    public var logLevel = "info"
    /// WebAssembly modules pre-loaded into every (stateless) run. Not a plugin: they need no
    /// policy, and a run needs them before its first line, which host calls cannot give.
    public var wasmModules: [WasmModuleSpec] = []
    /// `--max-capability-calls`.
    public var maxCallsInFlightPerRun = CapabilityConfiguration.defaultCallsInFlightPerRun

    public init(sets: [String: CapabilityConfiguration] = [WorkerCapabilities.serverSet: CapabilityConfiguration()]) {
        self.sets = sets
    }

    /// The sets by name, the server's own first: the order plugins are loaded and sets opened in.
    var orderedSetNames: [String] { sets.keys.sorted() }

    /// A plugin without `open_set` (ABI 1.0's way) reads its settings once per process, so every
    /// set that uses it must give it the same ones: why not, naming the plugin and two sets that
    /// differ, or nil. `opensSets` says, by plugin path, whether a plugin reads them per set.
    func settingsDisagreement(opensSets: (String) -> Bool, pluginName: (String) -> String) -> String? {
        var first: [String: (set: String, settings: [String: String])] = [:]
        for setName in orderedSetNames {
            let set = sets[setName]!
            for path in set.pluginPaths where !opensSets(path) {
                let name = pluginName(path)
                let settings = set.pluginSettings[name] ?? [:]
                guard let seen = first[path] else {
                    first[path] = (setName, settings)
                    continue
                }
                if seen.settings != settings {
                    return "plugin \(path) (\(name)) reads its settings once for the whole process (it has no "
                        + "open_set, ABI 1.0's way), but \(Self.describe(set: seen.set)) and \(Self.describe(set: setName)) "
                        + "give it different settings: give every tenant that uses it the same \(name) settings, "
                        + "or use a build of the plugin that reads them per set (ABI 1.1 open_set)"
                }
            }
        }
        return nil
    }

    /// How errors name a set.
    static func describe(set name: String) -> String {
        name == serverSet ? "the server's own capability set" : "the capability set of tenant '\(name)'"
    }
}
