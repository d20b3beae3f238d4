import Foundation
import HostSupport
import MCP

/// One tenant's entry in the `--tenants` file, checked field by field; its capabilities are
/// checked afterwards like the top-level flags (`TenantsLoader`).
public struct TenantEntry: Sendable, Equatable {
    /// The shape of `--policies-json`.
    public var policies = PolicyConfiguration()
    /// The shape of `--fetch-header-config`.
    public var fetchHeaders: [FetchHeaderRule] = []
    /// `NAME.KEY=VALUE`, as `--plugin-config` takes them.
    public var pluginConfig: [String] = []
    public var limits = TenantLimitSettings()
    /// The tenant's callers share sessions, tags, heaps and executions instead of each having its own.
    public var sharedState = false
}

/// The `limits` of a tenant's entry; nil: the server's own.
public struct TenantLimitSettings: Sendable, Equatable {
    /// The tenant's default and maximum heap of a run, in MB.
    public var heapMB: Int?
    /// The tenant's default and maximum wall-clock limit of a run, in seconds.
    public var timeoutSeconds: Int?
    public var maxConcurrentExecutions: Int?
    public var maxQueuedExecutions: Int?
    public var maxOutputBytes: Int?
}

/// What a tenants file is refused for: the file, the tenant (when one is at fault) and the reason.
public struct TenantsFileError: Error, CustomStringConvertible {
    public let description: String

    init(file: String, tenant: String? = nil, _ reason: String) {
        description = "--tenants \(file): " + (tenant.map { "tenant '\($0)': " } ?? "") + reason
    }
}

/// The `--tenants` file: `{"tenants": {NAME: {policies, fetch_headers, plugin_config, limits,
/// shared_state}}}`, parsed strictly: unknown fields, duplicate keys and values out of range are
/// refused, never ignored, so an operator's typo cannot quietly leave a tenant unconfined.
public enum TenantsFile {
    static let fields = ["fetch_headers", "limits", "plugin_config", "policies", "shared_state"]
    static let ruleFields = ["headers", "host", "methods"]
    /// The longest tenant name.
    public static let maximumNameLength = 64

    /// The server's own bounds a tenant's limits must stay within.
    public struct ServerBounds: Sendable {
        /// `--max-concurrent-executions` (the worker count).
        public var workerCount: Int
        /// `--max-queued-executions`.
        public var maxQueuedExecutions: Int
    }

    /// `^[a-z0-9][a-z0-9_-]{0,63}$`: no path, SQL or control characters, so a name is safe in a
    /// storage key, a metric label and a log line.
    public static func isValidName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...maximumNameLength).contains(scalars.count) else { return false }
        let lowerOrDigit = { (scalar: Unicode.Scalar) in ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) }
        return lowerOrDigit(scalars[0]) && scalars.dropFirst().allSatisfy { lowerOrDigit($0) || $0 == "_" || $0 == "-" }
    }

    public static func read(_ file: String, bounds: ServerBounds) throws(TenantsFileError) -> [String: TenantEntry] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw TenantsFileError(file: file, "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(data, file: file, bounds: bounds)
    }

    public static func parse(_ data: Data, file: String, bounds: ServerBounds) throws(TenantsFileError) -> [String: TenantEntry] {
        guard case .object(let top)? = try? PlainJSON.value(from: data) else {
            throw TenantsFileError(file: file, #"is not a JSON object such as {"tenants": {"acme": {"limits": {...}}}}"#)
        }
        if let keys = DuplicateJSONKeys.first(in: data) {
            let name = keys.last ?? ""
            if keys.count == 2, keys[0] == "tenants" {
                throw TenantsFileError(file: file, "the tenant '\(name.prefix(64))' is given twice")
            }
            throw TenantsFileError(file: file, "the key '\(keys.joined(separator: "."))' is given twice")
        }
        if let unknown = top.keys.sorted().first(where: { $0 != "tenants" }) {
            throw TenantsFileError(file: file, "unknown field '\(unknown.prefix(64))' at the top; allowed: tenants")
        }
        guard case .object(let tenants)? = top["tenants"] else {
            throw TenantsFileError(file: file, #"needs "tenants": an object of tenants by name"#)
        }
        var entries: [String: TenantEntry] = [:]
        for (name, value) in tenants.sorted(by: { $0.key < $1.key }) {
            guard isValidName(name) else {
                throw TenantsFileError(file: file, "'\(name.prefix(80))' is not a tenant name: 1 to \(maximumNameLength) "
                    + "characters of a-z, 0-9, _ and -, starting with a letter or digit")
            }
            do {
                entries[name] = try entry(value, bounds: bounds)
            } catch {
                throw TenantsFileError(file: file, tenant: name, error.description)
            }
        }
        return entries
    }

    private struct Reason: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func entry(_ value: Value, bounds: ServerBounds) throws(Reason) -> TenantEntry {
        guard case .object(let fields) = value else {
            throw Reason("must be an object with any of \(Self.fields.joined(separator: ", "))")
        }
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw Reason("unknown field '\(unknown.prefix(64))'; allowed: \(Self.fields.joined(separator: ", "))")
        }
        var entry = TenantEntry()
        do {
            if let policies = fields["policies"] {
                guard case .object = policies else { throw Reason("policies must be an object, as --policies-json") }
                entry.policies = try PolicyConfiguration.parse(String(decoding: PlainJSON.encoded(policies), as: UTF8.self),
                                                               source: "policies")
            }
            if let rules = fields["fetch_headers"] {
                entry.fetchHeaders = try fetchHeaders(rules)
            }
        } catch let error as PolicyError {
            throw Reason(error.description)
        } catch let error as PluginError {
            throw Reason(error.description)
        } catch {
            throw Reason("\(error)")
        }
        if let settings = fields["plugin_config"] {
            entry.pluginConfig = try pluginConfig(settings)
        }
        if let limits = fields["limits"] {
            entry.limits = try self.limits(limits, bounds: bounds)
        }
        switch fields["shared_state"] {
        case nil: break
        case .bool(let shared)?: entry.sharedState = shared
        default: throw Reason("shared_state must be true or false")
        }
        return entry
    }

    private static func fetchHeaders(_ value: Value) throws -> [FetchHeaderRule] {
        guard case .array(let rules) = value else {
            throw Reason(#"fetch_headers must be an array of {"host": "...", "methods": ["GET"], "headers": {"Name": "value"}}"#)
        }
        for (index, rule) in rules.enumerated() {
            guard case .object(let fields) = rule else { throw Reason("fetch_headers[\(index)] must be an object") }
            if let unknown = fields.keys.sorted().first(where: { !ruleFields.contains($0) }) {
                throw Reason("fetch_headers[\(index)]: unknown field '\(unknown.prefix(64))'; allowed: "
                    + ruleFields.joined(separator: ", "))
            }
        }
        return try FetchHeaderRule.parse(json: PlainJSON.encoded(value), source: "fetch_headers")
    }

    private static func pluginConfig(_ value: Value) throws(Reason) -> [String] {
        guard case .object(let settings) = value else {
            throw Reason(#"plugin_config must be an object of "NAME.KEY": "value", such as {"fetch.timeout_ms": "10000"}"#)
        }
        var arguments: [String] = []
        for (key, setting) in settings.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !key.contains("=") else {
                throw Reason("plugin_config: '\(key.prefix(64))' is not NAME.KEY (such as fetch.timeout_ms)")
            }
            guard case .string(let text) = setting else {
                throw Reason("plugin_config: the value of '\(key)' must be a string, as on the command line")
            }
            arguments.append("\(key)=\(text)")
        }
        return arguments
    }

    /// The limit names and ranges: the server's own (`ExecutionLimits`), the scheduler's capped by
    /// the server's own flags, since a tenant cannot have more workers or queue than the server.
    static func limitRanges(_ bounds: ServerBounds) -> [(name: String, range: ClosedRange<Int>, note: String)] {
        [("heap_memory_max_mb", ExecutionLimits.callHeapMB, "MB, as a call's heap_memory_max_mb"),
         ("execution_timeout_secs", ExecutionLimits.timeoutSeconds, "seconds, as --execution-timeout"),
         ("max_concurrent_executions", 1...bounds.workerCount, "at most the server's --max-concurrent-executions"),
         ("max_queued_executions", 0...bounds.maxQueuedExecutions, "at most the server's --max-queued-executions"),
         ("max_output_bytes", ExecutionLimits.outputBytes, "bytes, as --max-output-bytes")]
    }

    private static func limits(_ value: Value, bounds: ServerBounds) throws(Reason) -> TenantLimitSettings {
        let ranges = limitRanges(bounds)
        guard case .object(let fields) = value else {
            throw Reason("limits must be an object with any of \(ranges.map(\.name).joined(separator: ", "))")
        }
        if let unknown = fields.keys.sorted().first(where: { key in !ranges.contains { $0.name == key } }) {
            throw Reason("limits: unknown field '\(unknown.prefix(64))'; allowed: \(ranges.map(\.name).joined(separator: ", "))")
        }
        var numbers: [String: Int] = [:]
        for (name, range, note) in ranges {
            guard let field = fields[name] else { continue }
            guard case .int(let number) = field, range.contains(number) else {
                throw Reason("limits.\(name) must be an integer from \(range.lowerBound) to \(range.upperBound) (\(note))")
            }
            numbers[name] = number
        }
        return TenantLimitSettings(heapMB: numbers["heap_memory_max_mb"], timeoutSeconds: numbers["execution_timeout_secs"],
                                   maxConcurrentExecutions: numbers["max_concurrent_executions"],
                                   maxQueuedExecutions: numbers["max_queued_executions"],
                                   maxOutputBytes: numbers["max_output_bytes"])
    }
}
