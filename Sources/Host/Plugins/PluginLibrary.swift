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
    let prelude: String
    let operations: [String: mcpv8_operation]
    private let descriptor: UnsafePointer<mcpv8_plugin>

    var state: UnsafeMutableRawPointer? { descriptor.pointee.state }

    /// Frees what the plugin handed out as plugin_owned.
    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        descriptor.pointee.release?(pointer)
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
        let plugin = descriptor.pointee
        guard plugin.size >= MemoryLayout<mcpv8_plugin>.size else {
            throw refuse("its descriptor is \(plugin.size) bytes, smaller than ABI \(MCPV8_ABI_MAJOR).0's \(MemoryLayout<mcpv8_plugin>.size)")
        }
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
        var operations: [String: mcpv8_operation] = [:]
        for index in 0..<plugin.operation_count {
            guard let operation = plugin.operations?[index], operation.size >= MemoryLayout<mcpv8_operation>.size,
                  let operationName = operation.name.map({ String(cString: $0) }),
                  operation.policy_input != nil, operation.start != nil else {
                throw refuse("its operation #\(index) is incomplete (it needs a size, name, policy_input and start)")
            }
            guard operations.updateValue(operation, forKey: operationName) == nil else {
                throw refuse("it declares the operation '\(operationName)' twice")
            }
        }
        self.name = name
        self.version = plugin.version.map { String(cString: $0) } ?? ""
        self.category = category
        self.globals = globals
        self.prelude = prelude
        self.operations = operations
        self.descriptor = descriptor
    }
}

/// A plugin could not be loaded or configured.
struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
