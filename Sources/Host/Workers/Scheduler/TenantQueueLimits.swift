/// One tenant's share of the worker pool, from its `limits` in the tenants file. A field left out is
/// the server's own bound (`--max-concurrent-executions`, `--max-queued-executions`), so a tenant
/// without limits is held only by the pool's.
public struct TenantQueueLimits: Sendable, Equatable {
    /// Runs of the tenant on workers at once (`max_concurrent_executions`); the rest wait, and free
    /// workers go to other tenants.
    public var maximumConcurrent: Int?
    /// Runs of the tenant allowed to wait for a worker (`max_queued_executions`); beyond it its runs
    /// are refused as busy at once, while other tenants' still get in.
    public var maximumQueued: Int?

    public init(maximumConcurrent: Int? = nil, maximumQueued: Int? = nil) {
        self.maximumConcurrent = maximumConcurrent
        self.maximumQueued = maximumQueued
    }
}

extension Namespace {
    /// Whom the scheduler serves a run for: its caller, the tenant and within it the token subject,
    /// whatever state the tenant shares among its callers (a shared namespace still has one share of
    /// the pool per subject). Without tenants, the namespace itself.
    var caller: Namespace {
        tenant.isEmpty ? Namespace(subject: subject) : Namespace(tenant: tenant, subject: subject, sharedState: false)
    }
}
