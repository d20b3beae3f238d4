/// The heap cache's bookkeeping: which heaps it holds, their sizes, and the order they were last
/// used in. Pure (no files, clock or lock), so the eviction decisions are tested on their own;
/// `CachedHeapStore` keeps the files in step with it under its lock.
struct RecencyIndex {
    private struct Entry {
        var bytes: Int
        var older: HeapID?
        var newer: HeapID?
    }

    /// A doubly linked list threaded through the dictionary, least recently used first, so a use,
    /// a removal and an eviction each cost O(1).
    private var entries: [HeapID: Entry] = [:]
    private var oldest: HeapID?
    private var newest: HeapID?
    private(set) var totalBytes = 0
    /// The stamp of the latest use, in nanoseconds since 1970.
    private(set) var lastStamp: Int64 = 0

    func contains(_ id: HeapID) -> Bool { entries[id] != nil }

    /// The heaps held, least recently used first.
    var idsOldestFirst: [HeapID] {
        var ids: [HeapID] = []
        var next = oldest
        while let id = next {
            ids.append(id)
            next = entries[id]?.newer
        }
        return ids
    }

    /// Records a use of `id` (holding `bytes`) at `now`, making it the most recently used, and
    /// returns the use's stamp: `now`, or one nanosecond after the previous stamp when the clock has
    /// not moved past it (or stepped back), so stamps order the uses strictly.
    mutating func use(_ id: HeapID, bytes: Int, at now: Int64) -> Int64 {
        remove(id)
        entries[id] = Entry(bytes: bytes, older: newest, newer: nil)
        if let previous = newest { entries[previous]?.newer = id } else { oldest = id }
        newest = id
        totalBytes += bytes
        lastStamp = max(now, lastStamp + 1)
        return lastStamp
    }

    mutating func remove(_ id: HeapID) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        if let older = entry.older { entries[older]?.newer = entry.newer } else { oldest = entry.newer }
        if let newer = entry.newer { entries[newer]?.older = entry.older } else { newest = entry.older }
        totalBytes -= entry.bytes
    }

    /// Removes the least recently used heaps until the total is at most `maxBytes`, and returns
    /// them, oldest first.
    mutating func evict(toFit maxBytes: Int) -> [HeapID] {
        var evicted: [HeapID] = []
        while totalBytes > maxBytes, let id = oldest {
            remove(id)
            evicted.append(id)
        }
        return evicted
    }
}
