/// The decisions about which nodes are alive, pure so they are tested without a database; the
/// stores' SQL carries them out (and checks the same rule again in the statement that acts on it,
/// so a node that heartbeats in between is not declared dead).
public enum NodeLiveness {
    /// A registered node as the store sees it: how long since its last heartbeat, by the
    /// database's clock (the nodes' clocks may disagree).
    public struct Registration: Sendable, Equatable {
        public var lease: NodeLease
        public var silentFor: Duration

        public init(lease: NodeLease, silentFor: Duration) {
            self.lease = lease
            self.silentFor = silentFor
        }
    }

    /// The nodes `me` declares dead: those silent beyond `lease`, never itself (a node that cannot
    /// heartbeat learns it lost its lease when it can again; see `LeaseKeeper`).
    public static func dead(among nodes: [Registration], me: NodeLease, lease: Duration) -> [NodeLease] {
        nodes.filter { $0.lease.node != me.node && $0.silentFor > lease }.map(\.lease)
    }

    /// Whether a write by `writer` for an execution the store records as owned by `owner` (nil
    /// once a survivor declared its node dead, or for an execution no node owns) may land: only
    /// the very lease that started it, and only while the execution is not ended by someone else.
    public static func mayWrite(by writer: NodeLease, owner: NodeLease?) -> Bool { owner == writer }
}

/// What a node does with the answer to its heartbeat, as a pure state machine, and whether it
/// may judge other nodes yet.
public struct LeaseKeeper: Sendable, Equatable {
    public enum Event: Sendable, Equatable {
        /// The heartbeat updated this lease's registration.
        case heartbeatMatched(at: ContinuousClock.Instant)
        /// The heartbeat matched no registration: another node declared this one dead.
        case heartbeatMatchedNothing
        /// The database did not answer.
        case heartbeatFailed
        /// A new registration took the place of the lost one.
        case registered(NodeLease, at: ContinuousClock.Instant)
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Register again under a new epoch: the executions of `lost` are no longer this node's to end.
        case reRegister(lost: NodeLease)
        /// Say once that the database stopped answering heartbeats (the lease may run out meanwhile).
        case reportUnreachable
        /// Say once that heartbeats are answered again.
        case reportReachable
    }

    public private(set) var lease: NodeLease
    /// Since when every heartbeat of this lease was answered (nil while they fail).
    public private(set) var answeredSince: ContinuousClock.Instant?

    public init(lease: NodeLease, registeredAt: ContinuousClock.Instant) {
        self.lease = lease
        answeredSince = registeredAt
    }

    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .heartbeatMatched(let now):
            defer { answeredSince = answeredSince ?? now }
            return answeredSince == nil ? .reportReachable : .none
        case .heartbeatMatchedNothing:
            answeredSince = nil
            return .reRegister(lost: lease)
        case .heartbeatFailed:
            defer { answeredSince = nil }
            return answeredSince == nil ? .none : .reportUnreachable
        case .registered(let new, let now):
            lease = new
            answeredSince = now
            return .none
        }
    }

    /// Whether this node may declare others dead: only once its own heartbeats have been answered
    /// for a whole lease. After the database was unreachable every node was silent; the first one
    /// back must not declare the others dead before they had a chance to heartbeat.
    public func mayJudgeOthers(at now: ContinuousClock.Instant, lease: Duration) -> Bool {
        answeredSince.map { now - $0 >= lease } ?? false
    }
}
