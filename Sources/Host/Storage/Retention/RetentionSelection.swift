import Foundation

/// What the heap retention flags ask for: an age limit (`--heap-retention-days`) and a bound on
/// the store's total size (`--heap-store-max-bytes`); nil keeps heaps forever / unbounded.
public struct RetentionLimits: Sendable, Equatable {
    public var maxAge: TimeInterval?
    public var maxBytes: Int?

    public init(maxAge: TimeInterval? = nil, maxBytes: Int? = nil) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    /// Whether any limit is set (without one the sweep has nothing to do).
    public var limitsAnything: Bool { maxAge != nil || maxBytes != nil }
}

/// Which heaps a sweep deletes: a pure function of what is stored, what references heaps, when
/// heaps were last resumed, the time and the limits, so every rule is unit-tested.
///
/// A referenced heap (named by a session log entry, a tag or a kept execution) is never chosen. A
/// heap's last use is the later of its last store (`StoredHeapInfo.created`) and its last resume.
/// First every unreferenced heap not used within `maxAge` goes; then, while the heaps left are over
/// `maxBytes`, the unreferenced ones least recently used first (ties by id, so runs agree).
public struct RetentionSelection: Sendable {
    /// The heaps to delete, in the order to delete them, each with the last use the choice was based on.
    public var deletions: [(id: HeapID, lastUse: Date)]
    /// The bytes the heaps not chosen take.
    public var keptBytes: Int
    /// Over `maxBytes` even after every unreferenced heap is chosen: only referenced heaps are left.
    public var overBoundByReferencedHeaps: Bool

    public init(stored: [StoredHeapInfo], referenced: Set<String>, lastResumes: [String: Date], now: Date,
                limits: RetentionLimits) {
        func lastUse(_ heap: StoredHeapInfo) -> Date { max(heap.created, lastResumes[heap.id.hex] ?? heap.created) }
        let candidates = stored.filter { !referenced.contains($0.id.hex) }
            .map { (heap: $0, lastUse: lastUse($0)) }
            .sorted { ($0.lastUse, $0.heap.id.hex) < ($1.lastUse, $1.heap.id.hex) }
        var chosen: [(id: HeapID, lastUse: Date)] = []
        var kept = stored.reduce(0) { $0 + $1.bytes }
        var remaining = candidates[...]
        if let maxAge = limits.maxAge {
            let cutoff = now.addingTimeInterval(-maxAge)
            while let oldest = remaining.first, oldest.lastUse < cutoff {
                chosen.append((oldest.heap.id, oldest.lastUse))
                kept -= oldest.heap.bytes
                remaining = remaining.dropFirst()
            }
        }
        if let maxBytes = limits.maxBytes {
            while kept > maxBytes, let oldest = remaining.first {
                chosen.append((oldest.heap.id, oldest.lastUse))
                kept -= oldest.heap.bytes
                remaining = remaining.dropFirst()
            }
        }
        deletions = chosen
        keptBytes = kept
        overBoundByReferencedHeaps = limits.maxBytes.map { kept > $0 } ?? false
    }
}
