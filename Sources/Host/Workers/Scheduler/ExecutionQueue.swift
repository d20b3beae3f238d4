/// The runs waiting for a worker (by job id), kept per caller (`Namespace.caller`) in arrival order.
/// Which tenant, and within it which caller, goes next is `FairDispatch`'s choice; this type only keeps order.
struct ExecutionQueue: Sendable {
    private struct Entry: Sendable {
        let id: UInt64
        /// Global arrival order: a requeued run sorts before every run that arrived after nothing.
        let order: Int64
    }

    private var byNamespace: [Namespace: [Entry]] = [:]
    private var nextBack: Int64 = 0
    private var nextFront: Int64 = -1
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Queues a new run behind every run queued already.
    mutating func append(_ id: UInt64, namespace: Namespace) {
        nextBack += 1
        byNamespace[namespace, default: []].append(Entry(id: id, order: nextBack))
        count += 1
    }

    /// Queues a run ahead of every other: one whose worker died before taking it has waited already.
    mutating func pushFront(_ id: UInt64, namespace: Namespace) {
        nextFront -= 1
        byNamespace[namespace, default: []].insert(Entry(id: id, order: nextFront), at: 0)
        count += 1
    }

    /// The namespaces with runs waiting, the one whose oldest run arrived first leading.
    var namespacesByOldestRun: [Namespace] {
        byNamespace.sorted { $0.value[0].order < $1.value[0].order }.map(\.key)
    }

    /// The namespaces with runs waiting, in no order.
    var namespaces: some Collection<Namespace> { byNamespace.keys }

    /// How many runs of `namespace` wait.
    func count(of namespace: Namespace) -> Int { byNamespace[namespace]?.count ?? 0 }

    /// Takes the oldest run of `namespace`.
    mutating func popFirst(of namespace: Namespace) -> UInt64? {
        // In place: a copy of the list would cost its length on every run handed out.
        guard let entry = byNamespace[namespace]?.removeFirst() else { return nil }
        if byNamespace[namespace]?.isEmpty == true { byNamespace[namespace] = nil }
        count -= 1
        return entry.id
    }

    /// Takes the run `id` of `namespace` out of the queue; false if it is not queued.
    mutating func remove(_ id: UInt64, namespace: Namespace) -> Bool {
        guard var entries = byNamespace[namespace], let index = entries.firstIndex(where: { $0.id == id }) else {
            return false
        }
        entries.remove(at: index)
        byNamespace[namespace] = entries.isEmpty ? nil : entries
        count -= 1
        return true
    }

    /// Takes out every run `shouldRemove` picks, and returns their ids.
    mutating func removeAll(where shouldRemove: (UInt64) -> Bool) -> [UInt64] {
        var removed: [UInt64] = []
        for (namespace, entries) in byNamespace {
            let kept = entries.filter { entry in
                guard shouldRemove(entry.id) else { return true }
                removed.append(entry.id)
                return false
            }
            byNamespace[namespace] = kept.isEmpty ? nil : kept
        }
        count -= removed.count
        return removed
    }
}
