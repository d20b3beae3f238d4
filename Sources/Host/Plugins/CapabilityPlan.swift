import Foundation
import MCPBridge

/// The flags that decide which capabilities exist, as the command line gave them (files already
/// read and parsed). One value per set of flags: a tenant will have its own.
public struct CapabilityFlags: Sendable, Equatable {
    /// `--policies-json`.
    public var policies = PolicyConfiguration()
    /// `--opa-url` and `--opa-fetch-policy`: one more fetch policy.
    public var opaURL: String?
    public var opaFetchPolicy = "mcp/fetch"
    /// `--plugin` files, as given.
    public var plugins: [String] = []
    /// `--plugin-config NAME.KEY=VALUE`.
    public var pluginConfig: [String] = []
    /// `--fetch-header` and `--fetch-header-config`.
    public var fetchHeaderRules: [FetchHeaderRule] = []
    /// `--allow-external-modules` and `--module-cdn-url`.
    public var allowExternalModules = false
    public var moduleCDNURL = "https://esm.sh"
    /// `--mcp-server` and `--mcp-config`, checked together.
    public var mcpServers: [UpstreamServer] = []
    /// The bundled plugins there are (`libmcpv8-<category>.so` next to the binary), by category.
    public var bundledPlugins: [String: String] = [:]

    public init() {}
}

/// What a plugin's entry said it is.
public struct PluginDescription: Codable, Sendable, Equatable {
    public var name: String
    public var category: String
    public var globals: [String]
    /// Its own line for the run_js description (the ABI 1.1 `usage` field); nil for a 1.0 plugin
    /// or one that gives none.
    public var usage: String?
    /// It reads its settings per capability set (`open_set`, ABI 1.1); without, once per process,
    /// so the sets that use it must agree on them (`WorkerCapabilities.settingsDisagreement`).
    public var opensSets: Bool

    public init(name: String, category: String, globals: [String], usage: String? = nil, opensSets: Bool = false) {
        self.name = name
        self.category = category
        self.globals = globals
        self.usage = usage
        self.opensSets = opensSets
    }

    static let usageBytes = 1...400

    /// One line an agent reads every turn: short, and nothing that could break the text around it.
    static func isValidUsage(_ text: String) -> Bool {
        usageBytes.contains(text.utf8.count) && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

/// Which plugins load, with which policies and settings, decided from the flags alone: no globals,
/// no I/O. Loading a plugin (to learn what it is) is the caller's `describe`, which may refuse.
public struct CapabilityPlan: Sendable, Equatable {
    public struct Plugin: Sendable, Equatable {
        public var path: String
        public var description: PluginDescription
        /// The policy of its category: it installs nothing without one.
        public var policy: PolicyConfiguration.Category
        /// What `config_host_owned` answers it under its name.
        public var settings: [String: String]
    }

    /// In load order (by category): the engine numbers capabilities in this order.
    public var plugins: [Plugin] = []
    /// What the operator should hear about flags that do nothing.
    public var warnings: [String] = []
    /// What each worker gets: the policies, the plugin files and every setting.
    public var configuration = CapabilityConfiguration()

    /// `describe` loads the files it is given, with the settings plugins will read, and says what
    /// each is (or throws its refusal); it is asked first about the `--plugin` files, then about
    /// the bundled ones still needed.
    public static func make(_ flags: CapabilityFlags,
                            describe: (_ paths: [String], _ settings: [String: [String: String]]) throws
                                -> [String: PluginDescription]) throws -> CapabilityPlan {
        var plan = CapabilityPlan()
        var policies = flags.policies
        if let opaURL = flags.opaURL {
            try policies.addOPAFetchPolicy(url: opaURL, policyPath: flags.opaFetchPolicy)
        }
        var settings = try parseSettings(flags.pluginConfig)
        if !flags.fetchHeaderRules.isEmpty {
            guard policies.categories["fetch"] != nil else {
                throw PluginError("--fetch-header and --fetch-header-config need a fetch policy (--policies-json with \"fetch\", or --opa-url)")
            }
            settings["fetch", default: [:]]["header_rules"] = FetchHeaderRule.setting(flags.fetchHeaderRules)
        }
        try plan.enableModules(flags, policies: &policies, settings: &settings)
        plan.enableMCPServers(flags, policies: policies, settings: &settings)

        let explicit = flags.plugins.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let explicitDescriptions = explicit.isEmpty ? [:] : try describe(explicit, settings)
        var chosen: [String: (path: String, description: PluginDescription)] = [:]
        for path in explicit {
            guard let description = explicitDescriptions[path] else { throw PluginError("plugin \(path) was not checked") }
            guard policies.categories[description.category] != nil else {
                plan.warnings.append("plugin \(path) is not loaded: no \(description.category) policy is configured (--policies-json)")
                continue
            }
            if let other = chosen[description.category] {
                throw PluginError("plugin \(path) refused: \(other.path) already provides the \(description.category) category")
            }
            chosen[description.category] = (path, description)
        }
        var bundled: [String: String] = [:]
        for category in policies.categories.keys.sorted() where chosen[category] == nil {
            guard let path = flags.bundledPlugins[category] else {
                throw PluginError("a \(category) policy is configured, but no plugin provides the \(category) category: "
                                  + "the bundled ones are fetch, fs, mcp_tools, modules and subprocess (libmcpv8-<category>.so next to the binary); "
                                  + "load another with --plugin PATH")
            }
            bundled[category] = path
        }
        let bundledDescriptions = bundled.isEmpty ? [:] : try describe(bundled.keys.sorted().map { bundled[$0]! }, settings)
        for (category, path) in bundled {
            guard let description = bundledDescriptions[path] else { throw PluginError("plugin \(path) was not checked") }
            guard description.category == category else {
                throw PluginError("plugin \(path) refused: it says its category is \(description.category), not \(category)")
            }
            chosen[category] = (path, description)
        }

        var owners: [String: String] = [:]
        for category in chosen.keys.sorted() {
            let (path, description) = chosen[category]!
            for global in description.globals {
                if let owner = owners.updateValue(path, forKey: global) {
                    throw PluginError("plugin \(path) refused: its global '\(global)' is already claimed by \(owner)")
                }
            }
            plan.plugins.append(Plugin(path: path, description: description, policy: policies.categories[category]!,
                                       settings: settings[description.name] ?? [:]))
        }
        plan.configuration.policies = policies
        plan.configuration.pluginPaths = plan.plugins.map(\.path)
        plan.configuration.pluginSettings = settings
        return plan
    }

    /// Parses `--plugin-config NAME.KEY=VALUE` settings.
    static func parseSettings(_ arguments: [String]) throws -> [String: [String: String]] {
        var settings: [String: [String: String]] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, name.count == 2, !name[0].isEmpty, !name[1].isEmpty else {
                throw PluginError("--plugin-config '\(argument)' is not NAME.KEY=VALUE (such as fetch.timeout_ms=10000)")
            }
            settings[String(name[0]), default: [:]][String(name[1])] = String(parts[1])
        }
        return settings
    }

    /// Module imports need both the flag and a modules policy: the flag alone allows nothing, and a
    /// policy alone does not turn imports on.
    private mutating func enableModules(_ flags: CapabilityFlags, policies: inout PolicyConfiguration,
                                        settings: inout [String: [String: String]]) throws {
        guard flags.allowExternalModules else {
            if policies.categories.removeValue(forKey: "modules") != nil {
                warnings.append("a modules policy is configured, but imports stay off without --allow-external-modules")
            }
            return
        }
        guard policies.categories["modules"] != nil else {
            throw PluginError("--allow-external-modules needs a modules policy (--policies-json with \"modules\"): "
                              + "every import is checked against it, and none is allowed without one")
        }
        guard let cdn = URL(string: flags.moduleCDNURL), ["http", "https"].contains(cdn.scheme ?? ""), cdn.host != nil else {
            throw PluginError("--module-cdn-url '\(flags.moduleCDNURL)' is not an http(s) URL")
        }
        settings["modules", default: [:]]["cdn_url"] = flags.moduleCDNURL
    }

    /// The MCP servers of --mcp-server and --mcp-config become the bridge plugin's `mcp.servers`
    /// setting, but only with an mcp_tools policy: without one no guest could call them.
    private mutating func enableMCPServers(_ flags: CapabilityFlags, policies: PolicyConfiguration,
                                           settings: inout [String: [String: String]]) {
        guard !flags.mcpServers.isEmpty else { return }
        guard policies.categories["mcp_tools"] != nil else {
            warnings.append("--mcp-server and --mcp-config name MCP servers, but no mcp_tools policy is configured (--policies-json): guests cannot call them and their tools are not listed")
            return
        }
        settings["mcp", default: [:]]["servers"] = UpstreamServer.setting(flags.mcpServers)
    }
}
