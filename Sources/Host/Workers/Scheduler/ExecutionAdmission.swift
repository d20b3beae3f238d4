/// Whether one more run may join the worker pool: the pool's bound on runs waiting for a worker,
/// and each namespace's share of the pool, so one caller filling its own share leaves room for
/// everyone else's runs. A namespace is a caller's token subject; the default namespace (every
/// caller of a server that checks no tokens) only the pool's bound limits, since a share of the
/// one namespace there is would only be a smaller bound. Pure: the pool passes its counts.
/// (Per-tenant weights would change `limit(for:)`, nothing else.)
public struct ExecutionAdmission: Sendable, Equatable {
    /// Runs allowed to wait for a worker beyond those about to take one.
    public var maximumQueued: Int
    /// Runs one subject may have queued or running at once; nil: no share.
    public var perSubject: Int?

    public init(maximumQueued: Int, perSubject: Int?) {
        self.maximumQueued = maximumQueued
        self.perSubject = perSubject
    }

    /// The pool as a new run finds it.
    public struct Load: Sendable, Equatable {
        /// Runs queued, and places promised to runs not submitted yet.
        public var waiting: Int
        /// Workers idle or starting: each takes a waiting run soon, so that many do not count.
        public var workersNotBusy: Int
        /// The new run's namespace's runs queued, running or promised a place.
        public var namespacePending: Int

        public init(waiting: Int, workersNotBusy: Int, namespacePending: Int) {
            self.waiting = waiting
            self.workersNotBusy = workersNotBusy
            self.namespacePending = namespacePending
        }
    }

    public enum Decision: Sendable, Equatable {
        case admit
        /// The pool's queue is full.
        case poolFull
        /// The namespace has `limit` runs queued or running already.
        case namespaceFull(limit: Int)
    }

    /// The most runs `namespace` may have queued or running; nil: no limit of its own.
    public func limit(for namespace: Namespace) -> Int? {
        namespace == .default ? nil : perSubject
    }

    public func decide(namespace: Namespace, load: Load) -> Decision {
        // The namespace's share first: a caller over its own share hears that, even when the pool is full too.
        if let limit = limit(for: namespace), load.namespacePending >= limit { return .namespaceFull(limit: limit) }
        if load.waiting >= maximumQueued + load.workersNotBusy { return .poolFull }
        return .admit
    }
}
