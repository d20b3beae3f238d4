import Foundation
import Logging

extension CapabilityConfiguration {
    /// Decides which plugins load and checks, in this process, everything the workers will load,
    /// so a broken plugin or policy stops the server at start-up with the file and the reason.
    ///
    /// A category loads its plugin only when it has a policy: a `--plugin` file for it, else the
    /// bundled `libmcpv8-<category>.so` next to this binary.
    public static func resolve(policies: PolicyConfiguration, explicitPlugins: [String],
                               settings: [String: [String: String]], regoLibraryPath: String?,
                               logLevel: String, logger: Logger) throws -> CapabilityConfiguration {
        PluginHostAPI.configure(settings: settings, logger: logger)
        _ = try PolicyEngine(configuration: policies, regoLibraryPath: regoLibraryPath, logger: logger)

        var chosen: [String: LoadedPlugin] = [:]
        for path in explicitPlugins {
            let plugin = try LoadedPlugin(path: URL(fileURLWithPath: path).standardizedFileURL.path)
            guard policies.categories[plugin.category] != nil else {
                logger.warning("plugin \(plugin.path) is not loaded: no \(plugin.category) policy is configured (--policies-json)")
                continue
            }
            if let other = chosen[plugin.category] {
                throw PluginError("plugin \(plugin.path) refused: \(other.path) already provides the \(plugin.category) category")
            }
            chosen[plugin.category] = plugin
        }
        let binaryFolder = URL(fileURLWithPath: ThisBinary.path).deletingLastPathComponent()
        for category in policies.categories.keys.sorted() where chosen[category] == nil {
            let bundled = binaryFolder.appendingPathComponent("libmcpv8-\(category).so").path
            guard FileManager.default.fileExists(atPath: bundled) else {
                throw PluginError("a \(category) policy is configured, but no plugin provides the \(category) category: "
                                  + "the bundled ones are fetch, fs, mcp_tools, modules and subprocess (libmcpv8-<category>.so next to the binary); "
                                  + "load another with --plugin PATH")
            }
            let plugin = try LoadedPlugin(path: bundled)
            guard plugin.category == category else {
                throw PluginError("plugin \(bundled) refused: it says its category is \(plugin.category), not \(category)")
            }
            chosen[category] = plugin
        }

        let plugins = chosen.keys.sorted().compactMap { chosen[$0] }
        var owners: [String: String] = [:]
        for plugin in plugins {
            for global in plugin.globals {
                if let owner = owners.updateValue(plugin.path, forKey: global) {
                    throw PluginError("plugin \(plugin.path) refused: its global '\(global)' is already claimed by \(owner)")
                }
            }
        }
        var configuration = CapabilityConfiguration()
        configuration.policies = policies
        configuration.pluginPaths = plugins.map(\.path)
        configuration.pluginSettings = settings
        configuration.regoLibraryPath = regoLibraryPath
        configuration.logLevel = logLevel
        return configuration
    }

    /// Parses `--plugin-config NAME.KEY=VALUE` settings.
    public static func parseSettings(_ arguments: [String]) throws -> [String: [String: String]] {
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
}
