import Foundation

/// What stateful mode knows about its heaps besides their bytes: named sessions (every run that
/// names one is logged, in order, so an agent or a person can see how a session's heap came to
/// be), heap tags (key/value labels to find heaps by), which namespaces made each heap,
/// executions (running and finished) with their console output, and the nodes that run them. Sessions, tags and heaps are kept per `Namespace`.
///
/// Two stores keep it: SQLite in a local file (the embedded default) and PostgreSQL
/// (`--database-url`), which nodes share. The interface is async because PostgreSQL answers over
/// the network: a caller waits without holding a thread of the concurrency pool.
public protocol MetadataStore: Sendable {
    /// Logs a run as the namespace's session's next entry and returns its index (0-based).
    @discardableResult
    func append(session: String, in namespace: Namespace, inputHeap: String?, outputHeap: String?,
                code: String, at timestamp: Date) async throws -> Int
    /// The namespace's session names, in code point order.
    func sessions(in namespace: Namespace) async throws -> [String]
    func entries(session: String, in namespace: Namespace) async throws -> [SessionEntry]

    func tags(of heap: String, in namespace: Namespace) async throws -> [String: String]
    /// Sets the given tags on a heap, replacing values of keys it has; other keys stay.
    func setTags(_ tags: [String: String], on heap: String, in namespace: Namespace) async throws
    func deleteTags(_ keys: [String], from heap: String, in namespace: Namespace) async throws
    /// The namespace's heaps carrying every one of `tags` (key and value), in id order.
    func heaps(taggedWith tags: [String: String], in namespace: Namespace) async throws -> [String]

    /// Records that `namespace` made `heap` (again): heaps are stored once however many make them.
    func recordOwner(_ namespace: Namespace, of heap: String) async throws
    /// Whether `namespace` may resume or tag `heap` (if it is stored): it made it, or it is the
    /// default namespace and no namespace owns the heap (stored before heaps had owners, and named
    /// nowhere in this store then), so servers without tokens keep every heap they had.
    func mayResume(_ heap: String, in namespace: Namespace) async throws -> Bool

    // ---- heap retention (docs/storage.md): what keeps a heap, and forgetting a deleted one ----

    /// Records that a run resumed `heap` at `date`: retention keeps heaps resumed lately.
    func recordResume(of heap: String, at date: Date) async throws
    /// When each heap was last resumed (heaps never resumed are absent).
    func lastResumes() async throws -> [String: Date]
    /// When `heap` was last resumed, or nil: the sweep's re-check right before it deletes.
    func lastResume(of heap: String) async throws -> Date?
    /// Every heap that a session log entry (input or output), a tag or a kept execution names, in
    /// any namespace: retention never deletes these.
    func referencedHeaps() async throws -> Set<String>
    /// The namespaces that made `heap`.
    func owners(of heap: String) async throws -> Set<Namespace>
    /// Drops `namespace`'s ownership of `heap` and its tags on it (its session logs keep naming it).
    func dropOwnership(of heap: String, by namespace: Namespace) async throws
    /// Forgets a heap whose bytes were deleted: its owners, tags and last resume.
    func forget(heap: String) async throws
    /// Runs a retention sweep unless another node sharing this store is running one (then nil):
    /// nodes sharing PostgreSQL sweep one at a time. A local SQLite file has one server: it runs it.
    func exclusiveSweep<T: Sendable>(_ sweep: @Sendable () async throws -> T) async throws -> T?

    /// Stores an execution's end (again: a later save replaces it) with its output from line
    /// `firstLine` on (the lines before it were appended while it ran), in one transaction, and
    /// drops the oldest finished executions beyond the store's retention, with their output. With a
    /// `lease`, only while that lease still owns the execution: false when it was fenced off.
    @discardableResult
    func save(_ execution: StoredExecution, output: [String], from firstLine: Int, lease: NodeLease?) async throws -> Bool
    func execution(_ id: String) async throws -> StoredExecution?
    /// Every stored execution, running ones (of every node) included, oldest start first.
    func executions() async throws -> [StoredExecution]
    func outputLines(of id: String) async throws -> [String]

    // ---- running executions and the nodes that run them (Sources/Host/Cluster) ----

    /// Registers `node` under a new epoch and returns its lease. The executions an earlier process
    /// of the same node left queued or running end failed (SQLite, one node: every such execution;
    /// the server stopped while it ran).
    func register(node: NodeName) async throws -> NodeLease
    /// Renews the lease; false when it matched no registration (another node declared it dead).
    func heartbeat(_ lease: NodeLease) async throws -> Bool
    /// Every registered node, with how long it has been silent by the database's clock.
    func registeredNodes() async throws -> [NodeLiveness.Registration]
    /// Declares `node` dead if it is still silent beyond `lease` (checked again in the same
    /// statement): its registration goes and its queued and running executions end failed, in
    /// one conditional update. Returns how many executions it failed, nil if the node was alive after all.
    func declareDead(_ node: NodeLease, silentBeyond lease: Duration) async throws -> Int?
    /// Records an accepted execution (`execution.status` queued) as owned by `lease`.
    func recordStart(_ execution: StoredExecution, lease: NodeLease) async throws
    /// Records that a worker took it (if the lease still owns it and it has not ended).
    func markRunning(_ id: String, lease: NodeLease) async throws
    /// Appends console output, lines `firstLine...` of it, in one statement; false when the lease
    /// no longer owns the execution (nothing is written then).
    func appendOutput(_ lines: [String], from firstLine: Int, of id: String, lease: NodeLease) async throws -> Bool
    /// Asks whichever node runs `id` to cancel it (PostgreSQL NOTIFY; one node has nothing to ask).
    func requestCancel(of id: String) async throws
    /// Calls `onRequest` with the id of every execution another node asks to cancel, until the
    /// connection that listens fails (it throws then; the caller listens again) or the task is cancelled.
    func listenForCancelRequests(_ onRequest: @escaping @Sendable (String) -> Void) async throws
}

extension MetadataStore {
    @discardableResult
    public func append(session: String, in namespace: Namespace, inputHeap: String?, outputHeap: String?,
                       code: String) async throws -> Int {
        try await append(session: session, in: namespace, inputHeap: inputHeap, outputHeap: outputHeap, code: code,
                         at: Date())
    }

    /// Stores a finished execution with all its output, whoever owns it.
    public func save(_ execution: StoredExecution, output: [String]) async throws {
        try await save(execution, output: output, from: 0, lease: nil)
    }
}

/// How many finished executions a store keeps by default; older ones (and their output) are deleted.
public let defaultRetainedExecutions = 10_000

/// One logged run of a session.
public struct SessionEntry: Sendable, Equatable {
    public var index: Int
    public var inputHeap: String?
    public var outputHeap: String?
    public var code: String
    public var timestamp: Date
}

/// An execution as stored: a running one (`status` queued or running, no `completedAt`) or a finished one.
public struct StoredExecution: Sendable, Equatable {
    public var id: String
    /// `ExecutionLifecycle.State.storedName`.
    public var status: String
    public var resultJSON: String?
    public var heap: String?
    public var error: String?
    public var startedAt: Date
    public var completedAt: Date?
    /// The namespace that started it.
    public var owner: Namespace = .default
    /// The node that ran it (nil for executions stored before nodes were recorded).
    public var node: String?
}

/// The metadata store could not be reached or did not answer in time: the call fails with this
/// (a tool error, 503 over REST) and a later one succeeds once the store is back.
public struct MetadataUnavailableError: Error, CustomStringConvertible {
    public let description: String
}
