import Foundation
import MCP
import Synchronization

/// The limits a tenant's runs get, resolved from its entry and the server's flags.
public struct TenantLimits: Sendable, Equatable {
    /// What a run that asks for nothing gets.
    public var defaults: ExecutionDefaults
    /// What a call may ask for with heap_memory_max_mb and execution_timeout_secs.
    public var callHeapMB: ClosedRange<Int>
    public var callTimeoutSeconds: ClosedRange<Int>
    /// For the scheduler: nil is the server's own.
    public var maxConcurrentExecutions: Int?
    public var maxQueuedExecutions: Int?

    /// The server's own, for every caller of a server without `--tenants`.
    public init(server defaults: ExecutionDefaults) {
        self.defaults = defaults
        callHeapMB = ExecutionLimits.callHeapMB
        callTimeoutSeconds = ExecutionLimits.timeoutSeconds
    }

    /// A tenant's: its heap and time limits are both its default and the most a call may ask for.
    public init(_ settings: TenantLimitSettings, server defaults: ExecutionDefaults) {
        self.init(server: defaults)
        if let heapMB = settings.heapMB {
            self.defaults.heapMB = heapMB
            callHeapMB = ExecutionLimits.callHeapMB.lowerBound...heapMB
        }
        if let timeoutSeconds = settings.timeoutSeconds {
            self.defaults.timeoutSeconds = timeoutSeconds
            callTimeoutSeconds = ExecutionLimits.timeoutSeconds.lowerBound...timeoutSeconds
        }
        if let maxOutputBytes = settings.maxOutputBytes { self.defaults.outputLimitBytes = maxOutputBytes }
        maxConcurrentExecutions = settings.maxConcurrentExecutions
        maxQueuedExecutions = settings.maxQueuedExecutions
    }
}

/// One tenant as a request sees it: resolved once per request, so a reload does not change a
/// request (or the runs it starts) half-way.
public struct Tenant: Sendable {
    /// "" for the one implicit tenant of a server without `--tenants`. Also the id of its capability set.
    public let name: String
    public let sharedState: Bool
    public let limits: TenantLimits
    /// Its capability set, checked at start-up (or reload) like the top-level flags.
    public let capabilities: CapabilityConfiguration
    /// What that set gives its runs, as the texts and tools its callers are shown must tell it.
    public let summary: CapabilitySummary

    public init(name: String, sharedState: Bool, limits: TenantLimits, capabilities: CapabilityConfiguration,
                summary: CapabilitySummary = .none) {
        self.name = name
        self.sharedState = sharedState
        self.limits = limits
        self.capabilities = capabilities
        self.summary = summary
    }

    /// The namespace of this tenant's caller with `subject`: without tenants the subject's alone,
    /// as before tenants existed, so stored state keeps its owners.
    public func namespace(subject: String?) -> Namespace {
        name.isEmpty ? Namespace(subject: subject) : Namespace(tenant: name, subject: subject, sharedState: sharedState)
    }
}

/// Every tenant of the server, as one immutable value.
public struct TenantConfiguration: Sendable {
    /// By name; without `--tenants`, only the implicit tenant "".
    public let tenants: [String: Tenant]

    public init(tenants: [String: Tenant]) {
        self.tenants = tenants
    }

    /// Each tenant's capability set, by the tenant's name: what the workers load.
    public var capabilitySets: [String: CapabilityConfiguration] { tenants.mapValues(\.capabilities) }

    /// Each tenant's share of the worker pool; empty without `--tenants`, where the pool's own
    /// bounds are the implicit tenant's.
    public var queueLimits: [String: TenantQueueLimits] {
        tenants.filter { !$0.key.isEmpty }.mapValues {
            TenantQueueLimits(maximumConcurrent: $0.limits.maxConcurrentExecutions, maximumQueued: $0.limits.maxQueuedExecutions)
        }
    }

    /// How many tenants share the server's MCP sessions equally: 1 without `--tenants`.
    public var sessionShares: Int { max(1, tenants.keys.count { !$0.isEmpty }) }

    /// A server without `--tenants`: every caller is the implicit tenant "", with the top-level flags.
    public static func implicit(limits: TenantLimits, capabilities: CapabilityConfiguration,
                                summary: CapabilitySummary = .none) -> TenantConfiguration {
        TenantConfiguration(tenants: ["": Tenant(name: "", sharedState: false, limits: limits, capabilities: capabilities,
                                                 summary: summary)])
    }
}

/// A caller refused for its tenant: 403 over HTTP, a tool error on stdio.
public struct TenantRefusal: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The server's current tenants, swapped whole by a reload: a request resolves its tenant once and
/// keeps that value, so runs in flight finish under the configuration they started with.
public final class TenantDirectory: Sendable {
    private let current: Mutex<TenantConfiguration>

    public init(_ configuration: TenantConfiguration) {
        current = Mutex(configuration)
    }

    public var configuration: TenantConfiguration { current.withLock { $0 } }

    public func replace(with configuration: TenantConfiguration) {
        current.withLock { $0 = configuration }
    }

    /// The tenant a namespace was built for; a tenant a reload removed is refused.
    public func tenant(of namespace: Namespace) throws(TenantRefusal) -> Tenant {
        guard let tenant = configuration.tenants[namespace.tenant] else {
            throw TenantRefusal("the tenant '\(namespace.tenant)' is no longer configured (--tenants)")
        }
        return tenant
    }

    /// The tenant `--tenant NAME` gives every caller of a server that checks no tokens.
    public func fixedTenant(_ name: String) throws(TenantRefusal) -> Tenant {
        guard let tenant = configuration.tenants[name] else {
            throw TenantRefusal("the tenant '\(name)' (--tenant) is no longer configured (--tenants)")
        }
        return tenant
    }

    /// The tenant a verified token's `claim` picks: it must be a string naming a configured tenant.
    /// The refusal names the claim and never echoes more than a short, well-formed prefix of the value.
    public func tenant(claim: String, value: Value?) throws(TenantRefusal) -> Tenant {
        let about = "the token's '\(claim)' claim (--tenant-claim)"
        guard let value, value != .null else { throw TenantRefusal("the token has no '\(claim)' claim (--tenant-claim) naming its tenant") }
        guard case .string(let name) = value else {
            throw TenantRefusal("\(about) must be a string naming a tenant, got \(Self.kind(of: value))")
        }
        guard !name.isEmpty else { throw TenantRefusal("\(about) is empty") }
        guard name.count <= TenantsFile.maximumNameLength else {
            throw TenantRefusal("\(about) is \(name.count) characters long; tenant names have at most "
                + "\(TenantsFile.maximumNameLength)")
        }
        guard TenantsFile.isValidName(name), let tenant = configuration.tenants[name] else {
            let shown = TenantsFile.isValidName(name) ? " ('\(name)')" : ""
            throw TenantRefusal("\(about) names no tenant of this server\(shown)")
        }
        return tenant
    }

    private static func kind(of value: Value) -> String {
        switch value {
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .array: "an array"
        case .object: "an object"
        default: "another type"
        }
    }
}
