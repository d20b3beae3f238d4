/// Which queued run a free worker takes next: the oldest run of the namespace with the fewest runs on
/// workers, and among those the namespace served longest ago, so a caller who queued many runs does
/// not make everyone else wait behind them. Pure: the pool passes its queue and counts.
public struct FairDispatch: Sendable {
    /// When each namespace last had a run handed to a worker, as a count of hand-outs.
    private var lastServed: [Namespace: UInt64] = [:]
    private var handedOut: UInt64 = 0

    public init() {}

    /// The index in `queue` (the queued runs' namespaces, oldest first) of the run to start next,
    /// given how many runs each namespace has on workers; nil when the queue is empty.
    public mutating func next(queue: [Namespace], running: [Namespace: Int]) -> Int? {
        var best: (index: Int, running: Int, lastServed: UInt64)?
        var considered: Set<Namespace> = []
        for (index, namespace) in queue.enumerated() where considered.insert(namespace).inserted {
            let candidate = (index: index, running: running[namespace, default: 0],
                             lastServed: lastServed[namespace, default: 0])
            if let current = best, (candidate.running, candidate.lastServed) >= (current.running, current.lastServed) {
                continue
            }
            best = candidate
        }
        guard let best else { return nil }
        handedOut += 1
        lastServed[queue[best.index]] = handedOut
        return best.index
    }

    /// Forgets the namespaces not in `present` (those with nothing queued or running), so the table
    /// stays as small as the pool's load; a namespace that comes back is served as one never seen.
    public mutating func keep(only present: Set<Namespace>) {
        lastServed = lastServed.filter { present.contains($0.key) }
    }
}
