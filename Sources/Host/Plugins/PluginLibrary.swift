import CapabilityABI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A capability plugin loaded from its shared library: the descriptor its entry returned, read
/// into Swift values once.
final class LoadedPlugin: @unchecked Sendable {
    let path: String
    let name: String
    let version: String
    let category: String
    let globals: [String]
    /// Its own line for the run_js description (ABI 1.1); nil when it gives none.
    let usage: String?
    let prelude: String
    let operations: [String: mcpv8_operation]
    /// The descriptor's fields as the loader read them.
    private let descriptor: mcpv8_plugin

    var state: UnsafeMutableRawPointer? { descriptor.state }

    /// Whether it reads its settings per capability set (`open_set`, since ABI 1.1).
    var opensSets: Bool { descriptor.open_set != nil }

    /// What it said it is, for `CapabilityPlan`.
    var summary: PluginDescription {
        PluginDescription(name: name, category: category, globals: globals, usage: usage, opensSets: opensSets)
    }

    /// Lets the plugin read and check a capability set's `settings` (its own, by key) and returns
    /// what it keeps for that set's calls. Only for a plugin that `opensSets`.
    func openSet(named setName: String, settings: [String: String]) throws -> UnsafeMutableRawPointer? {
        let set = PluginSetSettings(settings)
        var state: UnsafeMutableRawPointer?
        var error = [CChar](repeating: 0, count: 1024)
        let opened = withExtendedLifetime(set) {
            descriptor.open_set!(descriptor.state, OpaquePointer(Unmanaged.passUnretained(set).toOpaque()),
                                 &state, &error, error.count)
        }
        guard opened == 0 else {
            let reason = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PluginError("plugin \(path) refused \(WorkerCapabilities.describe(set: setName)): "
                              + (reason.isEmpty ? "no reason given" : reason))
        }
        return state
    }

    /// Frees what the plugin handed out as plugin_owned.
    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        descriptor.release?(pointer)
    }

    /// Loads `path` and calls its entry. Every refusal names the file and the reason.
    init(path: String) throws {
        self.path = path
        func refuse(_ reason: String) -> PluginError { PluginError("plugin \(path) refused: \(reason)") }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw refuse("it is not a loadable shared library (\(String(cString: dlerror())))")
        }
        guard let entrySymbol = dlsym(handle, MCPV8_PLUGIN_ENTRY_SYMBOL) else {
            throw refuse("it has no \(MCPV8_PLUGIN_ENTRY_SYMBOL) symbol, so it is not an mcp-v8 capability plugin")
        }
        let entry = unsafeBitCast(entrySymbol, to: mcpv8_plugin_entry_fn.self)
        var error = [CChar](repeating: 0, count: 1024)
        guard let descriptor = entry(PluginHostAPI.table, &error, error.count) else {
            let reason = error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw refuse("its initialisation failed: \(reason.isEmpty ? "no reason given" : reason)")
        }
        // The fields of ABI 1.0 are required; a field a later minor appends is read only where
        // `covers` says the plugin has it (it reads as NULL otherwise).
        let read = ABIStruct<mcpv8_plugin>(at: descriptor)
        guard read.covers(\.shutdown) else {
            throw refuse("its descriptor is \(read.size) bytes, smaller than ABI \(MCPV8_ABI_MAJOR).0's \(ABIStruct<mcpv8_plugin>.bytes(through: \.shutdown))")
        }
        // `open_set` is 1.1's: a 1.0 descriptor is shorter, and reads as NULL.
        let plugin = read.value
        guard plugin.abi_major == MCPV8_ABI_MAJOR else {
            throw refuse("it was built for capability ABI \(plugin.abi_major).\(plugin.abi_minor); this server speaks \(MCPV8_ABI_MAJOR).\(MCPV8_ABI_MINOR)")
        }
        guard let name = plugin.name.map({ String(cString: $0) }), !name.isEmpty,
              let category = plugin.category.map({ String(cString: $0) }),
              let prelude = plugin.prelude_js.map({ String(cString: $0) }) else {
            throw refuse("its descriptor lacks a name, category or prelude")
        }
        guard PolicyConfiguration.isValidCategoryName(category) else {
            throw refuse("its category '\(category)' is not a category name (lowercase letters, digits and _)")
        }
        var globals: [String] = []
        for index in 0..<plugin.global_count {
            guard let global = plugin.globals?[index].map({ String(cString: $0) }), global.isJavaScriptIdentifier else {
                throw refuse("its global #\(index) is not a JavaScript identifier")
            }
            globals.append(global)
        }
        var usage: String?
        if read.covers(\.usage), let text = plugin.usage.map({ String(cString: $0) }) {
            guard PluginDescription.isValidUsage(text) else {
                throw refuse("its usage line is not one line of 1 to \(PluginDescription.usageBytes.upperBound) bytes "
                             + "without control characters")
            }
            usage = text
        }
        var operations: [String: mcpv8_operation] = [:]
        // The array's stride is the plugin's sizeof(mcpv8_operation), not this host's.
        let stride = plugin.operations.map { ABIStruct<mcpv8_operation>(at: $0).size } ?? 0
        for index in 0..<plugin.operation_count {
            // Every entry states the stride; one shorter than 1.0's fields or unlike the first is refused.
            guard let stated = plugin.operations.map({ ABIStruct<mcpv8_operation>(at: UnsafeRawPointer($0) + index * stride) }),
                  stated.size == stride, stated.covers(\.cancel),
                  let operationName = stated.value.name.map({ String(cString: $0) }),
                  stated.value.policy_input != nil, stated.value.start != nil else {
                throw refuse("its operation #\(index) is incomplete (it needs a size, name, policy_input and start)")
            }
            let operation = stated.value
            guard operations.updateValue(operation, forKey: operationName) == nil else {
                throw refuse("it declares the operation '\(operationName)' twice")
            }
        }
        self.name = name
        self.version = plugin.version.map { String(cString: $0) } ?? ""
        self.category = category
        self.globals = globals
        self.usage = usage
        self.prelude = prelude
        self.operations = operations
        self.descriptor = plugin
    }
}

/// One set's settings for one plugin, as `set_config_host_owned` reads them during `open_set`.
final class PluginSetSettings {
    let settings: [String: String]
    init(_ settings: [String: String]) { self.settings = settings }
}

/// A plugin could not be loaded or configured.
struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
