/// Whether one more run may join the worker pool: the pool's bound on runs waiting for a worker,
/// each tenant's own bound (its `TenantQueueLimits`), and each caller's share of the pool, so one
/// caller or one tenant filling its own leaves room for everyone else's runs. A caller is a token
/// subject within its tenant; callers without a subject (every caller of a server that checks no
/// tokens, or of its `--tenant`) only the bounds limit, since a share of the one caller there is
/// would only be a smaller bound. Pure: the pool passes its counts.
public struct ExecutionAdmission: Sendable, Equatable {
    /// Runs allowed to wait for a worker beyond those about to take one.
    public var maximumQueued: Int
    /// Runs one subject may have queued or running at once; nil: no share.
    public var perSubject: Int?
    /// Each tenant's bounds, by name; a tenant not in it has the server's.
    public var tenants: [String: TenantQueueLimits]

    public init(maximumQueued: Int, perSubject: Int?, tenants: [String: TenantQueueLimits] = [:]) {
        self.maximumQueued = maximumQueued
        self.perSubject = perSubject
        self.tenants = tenants
    }

    /// The pool as a new run finds it.
    public struct Load: Sendable, Equatable {
        /// Runs queued, and places promised to runs not submitted yet.
        public var waiting: Int
        /// Workers idle or starting: each takes a waiting run soon, so that many do not count.
        public var workersNotBusy: Int
        /// The new run's caller's runs queued, running or promised a place.
        public var namespacePending: Int
        /// The new run's tenant's runs queued or promised a place.
        public var tenantWaiting: Int
        /// The new run's tenant's runs on workers.
        public var tenantRunning: Int

        public init(waiting: Int, workersNotBusy: Int, namespacePending: Int, tenantWaiting: Int,
                    tenantRunning: Int) {
            self.waiting = waiting
            self.workersNotBusy = workersNotBusy
            self.namespacePending = namespacePending
            self.tenantWaiting = tenantWaiting
            self.tenantRunning = tenantRunning
        }
    }

    public enum Decision: Sendable, Equatable {
        case admit
        /// The pool's queue is full.
        case poolFull
        /// The tenant has `limit` runs waiting for a worker, its `max_queued_executions`.
        case tenantFull(tenant: String, limit: Int)
        /// The namespace has `limit` runs queued or running already.
        case namespaceFull(limit: Int)
    }

    /// The most runs `namespace`'s caller may have queued or running; nil: no limit of its own.
    public func limit(for namespace: Namespace) -> Int? {
        namespace.subject == nil ? nil : perSubject
    }

    /// The most runs of `tenant` on workers at once; nil: as many as there are workers.
    public func concurrencyCap(of tenant: String) -> Int? {
        tenants[tenant]?.maximumConcurrent
    }

    public func decide(namespace: Namespace, load: Load) -> Decision {
        // The narrowest bound first: a caller over its own share hears that, even when its tenant's
        // queue or the pool's is full too.
        if let limit = limit(for: namespace), load.namespacePending >= limit { return .namespaceFull(limit: limit) }
        if let limit = tenants[namespace.tenant]?.maximumQueued {
            // Workers the tenant may take now take a waiting run each soon, as for the pool's bound.
            let free = concurrencyCap(of: namespace.tenant).map { max(0, $0 - load.tenantRunning) } ?? load.workersNotBusy
            if load.tenantWaiting >= limit + min(free, load.workersNotBusy) {
                return .tenantFull(tenant: namespace.tenant, limit: limit)
            }
        }
        if load.waiting >= maximumQueued + load.workersNotBusy { return .poolFull }
        return .admit
    }
}
