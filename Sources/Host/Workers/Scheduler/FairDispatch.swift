/// Which queued run a free worker takes next: the oldest run of the key (a tenant, or a caller
/// within one) with the fewest runs on workers, and among those the key served longest ago, so one
/// that queued many runs does not make everyone else wait behind them: round-robin among those
/// waiting, each taking an equal share of the workers. Pure: the pool passes its queue and counts.
public struct FairDispatch<Key: Hashable & Sendable>: Sendable {
    /// When each key last had a run handed to a worker, as a count of hand-outs.
    private var lastServed: [Key: UInt64] = [:]
    private var handedOut: UInt64 = 0

    public init() {}

    /// The index in `queue` (the queued runs' keys, oldest first) of the run to start next,
    /// given how many runs each key has on workers; nil when the queue is empty.
    public mutating func next(queue: [Key], running: [Key: Int]) -> Int? {
        var best: (index: Int, running: Int, lastServed: UInt64)?
        var considered: Set<Key> = []
        for (index, key) in queue.enumerated() where considered.insert(key).inserted {
            let candidate = (index: index, running: running[key, default: 0], lastServed: lastServed[key, default: 0])
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

    /// Forgets the keys not in `present` (those with nothing queued or running), so the table
    /// stays as small as the pool's load; a key that comes back is served as one never seen.
    public mutating func keep(only present: Set<Key>) {
        lastServed = lastServed.filter { present.contains($0.key) }
    }
}
