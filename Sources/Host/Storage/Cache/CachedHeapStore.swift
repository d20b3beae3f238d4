import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A heap store in front of another one (the remote, e.g. an S3 bucket) that keeps the heaps used
/// last in a local directory, up to `maxBytes`.
///
/// Reads try the cache first; a miss reads the remote (whose `get` verifies) and keeps a copy.
/// Writes go to the remote first, so a heap is stored once the remote has it: the remote's failure
/// is the put's, the cache's is only logged. The least recently used heaps leave first, and a heap
/// bigger than the bound is not kept.
///
/// The cache is a `DirectoryHeapStore`, so its writes are atomic and its reads verified: a damaged
/// or truncated copy is deleted and fetched again, never a failure. The order of use is kept in
/// each file's modification time and the sizes are the files' sizes, so the accounting survives
/// restarts with no index file to lose.
///
/// Several processes may share the directory safely (a heap one of them evicts is a miss for the
/// others), but each counts only the heaps it found at start or used since, so `maxBytes` bounds
/// the directory only when one process uses it.
public final class CachedHeapStore: HeapStore, @unchecked Sendable {
    public let remote: any HeapStore
    public let maxBytes: Int
    private let files: DirectoryHeapStore
    private let logger: Logger
    /// Guards `index` and every change to the set of cached files (the renames of new copies apart:
    /// a copy joins the index only if it is still there when `admit` looks, under the lock).
    private let lock = NSLock()
    private var index = RecencyIndex()

    public init(remote: any HeapStore, directory: URL, maxBytes: Int, logger: Logger) throws(HeapStoreError) {
        self.remote = remote
        self.maxBytes = maxBytes
        self.logger = logger
        files = try DirectoryHeapStore(directory: directory)
        try loadIndex()
    }

    public func put(_ heap: SealedHeap) throws(HeapStoreError) {
        try remote.put(heap)
        keep(heap)
    }

    public func get(_ id: HeapID) throws(HeapStoreError) -> SealedHeap? {
        if let heap = cached(id) { return heap }
        guard let heap = try remote.get(id) else { return nil }
        keep(heap)
        return heap
    }

    public func exists(_ id: HeapID) throws(HeapStoreError) -> Bool {
        if lock.withLock({ index.contains(id) }) { return true }
        return try remote.exists(id)
    }

    /// Deletes the heap from the remote, then from the cache: a read between the two gets the whole
    /// cached copy, verified. Other processes' caches keep their copies until they evict them.
    public func delete(_ id: HeapID) throws(HeapStoreError) {
        try remote.delete(id)
        lock.withLock {
            index.remove(id)
            deleteCopy(id)
        }
    }

    /// The remote's heaps: the cache holds copies of some of them, and no heap of its own.
    public func list() throws(HeapStoreError) -> [StoredHeapInfo] { try remote.list() }

    /// The cached heaps, least recently used first, and their total size.
    var cachedIDs: [HeapID] { lock.withLock { index.idsOldestFirst } }
    var cachedBytes: Int { lock.withLock { index.totalBytes } }

    /// The cached copy, verified, or nil; a copy that fails verification is deleted.
    private func cached(_ id: HeapID) -> SealedHeap? {
        do {
            guard let heap = try files.get(id) else {
                // Deleted behind the index's back (by another process sharing the directory).
                lock.withLock { if access(files.path(id), F_OK) != 0 { index.remove(id) } }
                return nil
            }
            lock.withLock { admit(id, bytes: heap.bytes.count) }
            return heap
        } catch {
            logger.warning("heap cache: dropping its copy of heap \(id) and fetching it again: \(error)")
            lock.withLock {
                index.remove(id)
                deleteCopy(id)
            }
            return nil
        }
    }

    /// Copies a heap the remote holds into the cache; a failure is logged, the remote has the heap.
    private func keep(_ heap: SealedHeap) {
        guard heap.bytes.count <= maxBytes else { return }
        let held = lock.withLock {
            guard index.contains(heap.id) else { return false }
            admit(heap.id, bytes: heap.bytes.count)
            return true
        }
        if held { return }
        do {
            try files.put(heap)
        } catch {
            logger.warning("heap cache: cannot keep a copy of heap \(heap.id): \(error)")
            return
        }
        lock.withLock { admit(heap.id, bytes: heap.bytes.count) }
    }

    /// Records a use of heap `id`, if its file is (still) there, and evicts what no longer fits.
    /// Called with the lock held.
    private func admit(_ id: HeapID, bytes: Int) {
        let path = files.path(id)
        guard access(path, F_OK) == 0 else {
            index.remove(id)
            return
        }
        let stamp = index.use(id, bytes: bytes, at: Self.now())
        let time = timespec(tv_sec: Int(stamp / 1_000_000_000), tv_nsec: Int(stamp % 1_000_000_000))
        var times = [time, time]  // access and modification; the modification time is the one read back
        if utimensat(AT_FDCWD, path, &times, 0) != 0 {
            logger.warning("heap cache: cannot record the use of \(path): \(errorText())")
        }
        for victim in index.evict(toFit: maxBytes) { deleteCopy(victim) }
    }

    /// Deletes the cached copy of a heap.
    private func deleteCopy(_ id: HeapID) {
        if unlink(files.path(id)) != 0 && errno != ENOENT {
            logger.warning("heap cache: cannot delete \(files.path(id)): \(errorText())")
        }
    }

    /// Rebuilds the index from the directory: heap files in the order of their modification times
    /// (ties by name), then evicts down to `maxBytes` (it may have been lowered since).
    private func loadIndex() throws(HeapStoreError) {
        let directory = files.directory.path
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io("cannot read the heap cache directory \(directory): \(error.localizedDescription)")
        }
        var found: [(stamp: Int64, id: HeapID, bytes: Int)] = []
        for name in names {
            var status = stat()
            let path = files.directory.appendingPathComponent(name).path
            guard stat(path, &status) == 0 else { continue }
            let stamp = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
            if name.hasPrefix("."), name.hasSuffix(".tmp") {
                // A write takes seconds; a temporary an hour old is what a crash left behind.
                if stamp < Self.now() - 3600 * 1_000_000_000 { unlink(path) }
                continue
            }
            guard let id = try? HeapID(validating: name), id.hex == name else { continue }
            found.append((stamp, id, Int(status.st_size)))
        }
        lock.withLock {
            for entry in found.sorted(by: { ($0.stamp, $0.id.hex) < ($1.stamp, $1.id.hex) }) {
                _ = index.use(entry.id, bytes: entry.bytes, at: entry.stamp)
            }
            for victim in index.evict(toFit: maxBytes) { deleteCopy(victim) }
        }
    }

    /// The wall clock in nanoseconds since 1970, the unit of file times.
    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
