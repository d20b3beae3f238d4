import Foundation
import Logging

/// This node among the nodes sharing one metadata store: it registers (a new epoch each process
/// start), heartbeats every `ClusterTiming.heartbeatInterval`, declares dead the other nodes silent
/// beyond `ClusterTiming.lease` (the store fails their executions), registers again when it finds
/// its own lease lost, and passes on the cancels other nodes ask of it. With SQLite (one node) the
/// heartbeats match trivially and no cancel ever comes.
public final class ClusterNode: @unchecked Sendable {
    public let name: NodeName
    private let metadata: any MetadataStore
    private let logger: Logger
    private let lock = NSLock()
    private var keeper: LeaseKeeper
    private var tasks: [Task<Void, Never>] = []

    private init(name: NodeName, lease: NodeLease, metadata: any MetadataStore, logger: Logger) {
        self.name = name
        self.metadata = metadata
        self.logger = logger
        keeper = LeaseKeeper(lease: lease, registeredAt: .now)
    }

    /// Registers `name` in `metadata` (what an earlier process of it left running ends failed).
    public static func join(as name: NodeName, metadata: any MetadataStore, logger: Logger) async throws -> ClusterNode {
        let lease = try await metadata.register(node: name)
        logger.info("node \(name) registered with epoch \(lease.epoch)")
        return ClusterNode(name: name, lease: lease, metadata: metadata, logger: logger)
    }

    /// The lease new executions are started under.
    public var lease: NodeLease { lock.withLock { keeper.lease } }

    /// Starts heartbeating and listening: `onLeaseLost` gets a lease this node lost (its executions
    /// are no longer its to end), `onCancelRequest` the id of an execution another node asks to cancel.
    public func start(onLeaseLost: @escaping @Sendable (NodeLease) -> Void,
                      onCancelRequest: @escaping @Sendable (String) -> Void) {
        let heartbeats = Task { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: ClusterTiming.heartbeatInterval)
                await beat(onLeaseLost: onLeaseLost)
            }
        }
        let listener = Task { [self] in
            var delay = Duration.milliseconds(100)
            while !Task.isCancelled {
                do {
                    try await metadata.listenForCancelRequests(onCancelRequest)
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("""
                        node \(name): listening for cancels from other nodes stopped (\(error)); \
                        listening again in \(delay)
                        """)
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            }
        }
        lock.withLock { tasks = [heartbeats, listener] }
    }

    public func stop() { lock.withLock { tasks }.forEach { $0.cancel() } }

    private func beat(onLeaseLost: @Sendable (NodeLease) -> Void) async {
        let lease = self.lease
        let event: LeaseKeeper.Event
        do {
            event = try await metadata.heartbeat(lease) ? .heartbeatMatched(at: .now) : .heartbeatMatchedNothing
        } catch {
            event = .heartbeatFailed
        }
        switch lock.withLock({ keeper.handle(event) }) {
        case .none: break
        case .reportUnreachable:
            logger.warning("""
                node \(name): the metadata database does not answer heartbeats; other nodes declare this \
                node dead after \(ClusterTiming.lease) without one
                """)
        case .reportReachable:
            logger.info("node \(name): heartbeats are answered again")
        case .reRegister(let lost):
            logger.error("""
                node \(name) lost its lease (epoch \(lost.epoch)): another node declared it dead after \
                \(ClusterTiming.lease) without a heartbeat; the executions it ran end as that node recorded them; \
                registering again
                """)
            onLeaseLost(lost)
            do {
                let new = try await metadata.register(node: name)
                lock.withLock { _ = keeper.handle(.registered(new, at: .now)) }
                logger.info("node \(name) registered again with epoch \(new.epoch)")
            } catch {
                logger.error("node \(name) could not register again (\(error)); trying at the next heartbeat")
            }
        }
        guard lock.withLock({ keeper.mayJudgeOthers(at: .now, lease: ClusterTiming.lease) }) else { return }
        do {
            let dead = NodeLiveness.dead(among: try await metadata.registeredNodes(), me: lease, lease: ClusterTiming.lease)
            for node in dead {
                guard let failed = try await metadata.declareDead(node, silentBeyond: ClusterTiming.lease) else { continue }
                logger.warning("""
                    node \(node.node) (epoch \(node.epoch)) stopped answering: no heartbeat for over \
                    \(ClusterTiming.lease); \(failed) of its executions marked failed
                    """)
            }
        } catch {
            logger.debug("node \(name): could not check the other nodes' heartbeats: \(error)")
        }
    }
}
