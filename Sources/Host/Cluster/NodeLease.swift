/// One process's claim to act as a node: its name and the epoch it was given when it registered.
/// Every write a node makes for its executions names its lease, and the store takes it only while
/// the lease still owns them, so a node declared dead cannot overwrite the survivors' verdict.
public struct NodeLease: Sendable, Hashable, CustomStringConvertible {
    public let node: String
    public let epoch: Int64

    public init(node: String, epoch: Int64) {
        self.node = node
        self.epoch = epoch
    }

    public var description: String { "\(node) (epoch \(epoch))" }
}

/// How often a node heartbeats, and how long it may stay silent before any other node declares it
/// dead (docs/deploy/postgresql.md). The lease is several heartbeats, so a slow answer or two does
/// not kill a node.
public enum ClusterTiming {
    public static let heartbeatInterval: Duration = .seconds(1)
    public static let lease: Duration = .seconds(5)
}

/// The error an execution ends with when its node is declared dead or its server stopped mid-run.
public enum ClusterMessage {
    public static func stoppedAnswering(_ node: String) -> String { "node \(node) stopped answering" }
    public static let serverStopped = "the server stopped while it ran"
}
