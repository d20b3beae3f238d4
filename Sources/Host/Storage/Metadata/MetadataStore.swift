import Foundation

/// What stateful mode knows about its heaps besides their bytes: named sessions (every run that
/// names one is logged, in order, so an agent or a person can see how a session's heap came to
/// be), heap tags (key/value labels to find heaps by), which namespaces made each heap, and
/// finished executions with their console output. Sessions, tags and heaps are kept per `Namespace`.
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

    /// Stores a finished execution (again: a later save replaces it) and drops the oldest beyond
    /// the store's retention, with their output.
    func save(_ execution: StoredExecution, output: [String]) async throws
    func execution(_ id: String) async throws -> StoredExecution?
    /// Every stored execution, oldest start first.
    func executions() async throws -> [StoredExecution]
    func outputLines(of id: String) async throws -> [String]
}

extension MetadataStore {
    @discardableResult
    public func append(session: String, in namespace: Namespace, inputHeap: String?, outputHeap: String?,
                       code: String) async throws -> Int {
        try await append(session: session, in: namespace, inputHeap: inputHeap, outputHeap: outputHeap, code: code,
                         at: Date())
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

/// A finished execution as stored.
public struct StoredExecution: Sendable, Equatable {
    public var id: String
    public var status: String
    public var resultJSON: String?
    public var heap: String?
    public var error: String?
    public var startedAt: Date
    public var completedAt: Date
    /// The namespace that started it.
    public var owner: Namespace = .default
}

/// The metadata store could not be reached or did not answer in time: the call fails with this
/// (a tool error, 503 over REST) and a later one succeeds once the store is back.
public struct MetadataUnavailableError: Error, CustomStringConvertible {
    public let description: String
}
