import Foundation
import Logging

extension CapabilityFlags {
    /// A tenant's flags: the server's plugins, Rego library, MCP servers and plugin settings, with
    /// the tenant's own policies, fetch header rules (never the server's: they carry credentials)
    /// and plugin settings over the server's.
    func forTenant(_ entry: TenantEntry) -> CapabilityFlags {
        var flags = self
        flags.policies = entry.policies
        flags.opaURL = nil
        flags.fetchHeaderRules = entry.fetchHeaders
        flags.pluginConfig += entry.pluginConfig
        return flags
    }
}

/// Reads the `--tenants` file and checks every tenant's capabilities as the top-level flags are
/// checked (plugins described, policies compiled), at start-up and again on SIGHUP.
public struct TenantsLoader: Sendable {
    public let file: String
    public let bounds: TenantsFile.ServerBounds
    /// The server's `--heap-memory-max`, `--execution-timeout` and `--max-output-bytes`.
    public let serverDefaults: ExecutionDefaults
    /// The capability set of one tenant (name, entry), checked; throws what is wrong with it.
    public let capabilities: @Sendable (String, TenantEntry) throws -> CapabilityPlan
    /// The server's pre-loaded WebAssembly modules: every tenant's runs have them.
    public let wasmModules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)]

    public init(file: String, bounds: TenantsFile.ServerBounds, serverDefaults: ExecutionDefaults,
                wasmModules: [(spec: WasmModuleSpec, summary: WasmModuleSummary)] = [],
                capabilities: @escaping @Sendable (String, TenantEntry) throws -> CapabilityPlan) {
        self.file = file
        self.bounds = bounds
        self.serverDefaults = serverDefaults
        self.wasmModules = wasmModules
        self.capabilities = capabilities
    }

    /// Every tenant of the file, or the first thing wrong with it.
    public func load() throws(TenantsFileError) -> TenantConfiguration {
        var tenants: [String: Tenant] = [:]
        var described: [String: PluginDescription] = [:]
        for (name, entry) in try TenantsFile.read(file, bounds: bounds).sorted(by: { $0.key < $1.key }) {
            let plan: CapabilityPlan
            do {
                plan = try self.capabilities(name, entry)
            } catch {
                throw TenantsFileError(file: file, tenant: name, "\(error)")
            }
            tenants[name] = Tenant(name: name, sharedState: entry.sharedState,
                                   limits: TenantLimits(entry.limits, server: serverDefaults), capabilities: plan.configuration,
                                   summary: CapabilitySummary(plugins: plan.plugins.map(\.description), wasmModules: wasmModules))
            for plugin in plan.plugins { described[plugin.path] = plugin.description }
        }
        // Checked here, not only in the workers, which would refuse the sets and be restarted in vain.
        let sets = WorkerCapabilities(sets: tenants.mapValues(\.capabilities))
        if let disagreement = sets.settingsDisagreement(opensSets: { described[$0]?.opensSets ?? false },
                                                        pluginName: { described[$0]?.name ?? $0 }) {
            throw TenantsFileError(file: file, disagreement)
        }
        return TenantConfiguration(tenants: tenants)
    }

    /// Re-reads the file into `directory` at every SIGHUP. A file failing any check is refused
    /// whole and logged; the old configuration goes on serving. `applied` hands an accepted one to
    /// what keeps its own copy (the worker pool). Keep the returned source.
    public func reloadOnHangup(into directory: TenantDirectory, logger: Logger,
                               applied: @escaping @Sendable (TenantConfiguration) -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "mcp-v8.tenants-reload"))
        source.setEventHandler { [self] in
            do {
                let configuration = try load()
                directory.replace(with: configuration)
                applied(configuration)
                logger.info("--tenants \(file) reloaded: \(configuration.tenants.keys.sorted().joined(separator: ", "))")
            } catch {
                logger.error("\(error); the previous tenants configuration stays in force")
            }
        }
        source.resume()
        return source
    }
}
