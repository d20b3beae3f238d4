@testable import Host
import Foundation
import Logging
import XCTest

final class CachedHeapStoreTests: XCTestCase {
    private var root: URL!
    private var remote: CountingHeapStore!
    private var log: RecordedLog!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-cache-\(UUID())")
        remote = CountingHeapStore(try DirectoryHeapStore(directory: root.appendingPathComponent("remote")))
        log = RecordedLog()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private var cacheDirectory: URL { root.appendingPathComponent("cache") }

    private func cache(maxBytes: Int) throws -> CachedHeapStore {
        try CachedHeapStore(remote: remote, directory: cacheDirectory, maxBytes: maxBytes,
                            logger: Logger(label: "test") { [log] _ in log! })
    }

    private func file(_ id: HeapID) -> URL { cacheDirectory.appendingPathComponent(id.hex) }

    /// The heap files in the cache directory and their total size.
    private func filesOnDisk() throws -> (ids: Set<String>, bytes: Int) {
        let names = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory.path)
        let sizes = try names.map { try FileManager.default.attributesOfItem(atPath: cacheDirectory.appendingPathComponent($0).path)[.size] as! Int }
        return (Set(names), sizes.reduce(0, +))
    }

    /// Sealed heaps of `size` random (so incompressible) bytes: their envelopes are all as big.
    private func heaps(_ count: Int, size: Int = 4096) throws -> [SealedHeap] {
        var generator = SystemRandomNumberGenerator()
        return try (0..<count).map { _ in
            let words = (0..<(size + 7) / 8).map { _ in generator.next() as UInt64 }
            return try HeapEnvelope.seal(words.withUnsafeBytes { Array($0.prefix(size)) })
        }
    }

    func testDeleteRemovesTheHeapFromTheRemoteAndTheCacheAndListIsTheRemotes() throws {
        let store = try cache(maxBytes: 1 << 20)
        let (kept, dropped) = try { let two = try heaps(2); return (two[0], two[1]) }()
        try store.put(kept)
        try store.put(dropped)
        XCTAssertEqual(Set(try store.list().map(\.id)), [kept.id, dropped.id])
        try store.delete(dropped.id)
        try store.delete(dropped.id)
        XCTAssertNil(try store.get(dropped.id))
        XCTAssertNil(try remote.store.get(dropped.id))
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(dropped.id).path))
        XCTAssertEqual(store.cachedIDs, [kept.id])
        XCTAssertEqual(store.cachedBytes, kept.bytes.count, "the accounting forgets the deleted copy")
        XCTAssertEqual(try store.list().map(\.id), [kept.id])
    }

    func testAMissReadsTheRemoteOnceAndThenTheCacheAnswers() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        try remote.store.put(heap)
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(remote.gets, 1)
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(remote.gets, 1, "hits do not reach the remote")
        XCTAssertEqual(try Data(contentsOf: file(heap.id)), heap.bytes)
        XCTAssertTrue(try store.exists(heap.id))
        XCTAssertEqual(remote.existsCalls, 0, "a cached heap exists without asking the remote")
        let unknown = try HeapID(validating: String(repeating: "ab", count: 32))
        XCTAssertNil(try store.get(unknown))
        XCTAssertFalse(try store.exists(unknown))
    }

    func testAPutWritesTheRemoteAndTheCache() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        try store.put(heap)
        XCTAssertEqual(try remote.store.get(heap.id), heap)
        XCTAssertEqual(try Data(contentsOf: file(heap.id)), heap.bytes)
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(remote.gets, 0)
        XCTAssertEqual(store.cachedBytes, heap.bytes.count)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testARemoteFailureIsThePutsFailureAndNothingIsCached() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        // The remote's directory replaced by a file: its writes fail.
        try FileManager.default.removeItem(at: remote.store.directory)
        try Data().write(to: remote.store.directory)
        XCTAssertThrowsError(try store.put(heap)) { error in
            XCTAssertTrue("\(error)".contains("cannot create \(remote.store.directory.path)/."), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(heap.id).path))
        XCTAssertEqual(store.cachedBytes, 0)
    }

    func testACacheWriteFailureIsLoggedAndThePutSucceeds() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        try FileManager.default.removeItem(at: cacheDirectory)
        try Data().write(to: cacheDirectory)
        try store.put(heap)
        XCTAssertEqual(try remote.store.get(heap.id), heap)
        XCTAssertEqual(store.cachedBytes, 0)
        XCTAssertEqual(log.messages.count, 1)
        XCTAssertTrue(log.messages[0].hasPrefix("heap cache: cannot keep a copy of heap \(heap.id): cannot create \(cacheDirectory.path)/.\(heap.id)."),
                      log.messages[0])
        XCTAssertTrue(log.messages[0].hasSuffix(".tmp: Not a directory"), log.messages[0])
        XCTAssertEqual(try store.get(heap.id), heap, "a read still finds the heap in the remote")
    }

    func testTheLeastRecentlyUsedHeapsLeaveFirstAndTheBoundHolds() throws {
        let all = try heaps(5)
        let (a, b, c, d, e) = (all[0], all[1], all[2], all[3], all[4])
        let store = try cache(maxBytes: 3 * a.bytes.count)
        for heap in [a, b, c] { try store.put(heap) }
        XCTAssertEqual(store.cachedIDs, [a.id, b.id, c.id])
        XCTAssertEqual(try store.get(a.id), a)
        try store.put(d)
        XCTAssertEqual(store.cachedIDs, [c.id, a.id, d.id], "b, used least recently, left first")
        XCTAssertEqual(try filesOnDisk().ids, Set([c, a, d].map(\.id.hex)))
        XCTAssertEqual(try filesOnDisk().bytes, store.cachedBytes)
        XCTAssertLessThanOrEqual(store.cachedBytes, store.maxBytes)

        XCTAssertEqual(try store.get(b.id), b, "an evicted heap is read from the remote")
        XCTAssertEqual(remote.gets, 1)
        XCTAssertEqual(store.cachedIDs, [a.id, d.id, b.id], "and cached again")
        try store.put(d)
        try store.put(e)
        XCTAssertEqual(store.cachedIDs, [b.id, d.id, e.id], "storing a cached heap again is a use")
    }

    func testARestartKeepsTheHeapsTheirSizesAndTheirOrder() throws {
        let all = try heaps(4)
        var store = try cache(maxBytes: 10 * all[0].bytes.count)
        for heap in all { try store.put(heap) }
        _ = try store.get(all[1].id)
        _ = try store.get(all[0].id)
        let order = [all[2].id, all[3].id, all[1].id, all[0].id]
        XCTAssertEqual(store.cachedIDs, order)
        let bytes = store.cachedBytes

        store = try cache(maxBytes: 10 * all[0].bytes.count)
        XCTAssertEqual(store.cachedIDs, order)
        XCTAssertEqual(store.cachedBytes, bytes)
        for heap in all { XCTAssertEqual(try store.get(heap.id), heap) }
        XCTAssertEqual(remote.gets, 0, "the heaps were read from the cache")

        // Restarted with a lower bound: the heaps used least recently go at once.
        store = try cache(maxBytes: 2 * all[0].bytes.count)
        XCTAssertEqual(store.cachedIDs, [all[2].id, all[3].id])
        XCTAssertEqual(try filesOnDisk().ids, Set([all[2].id.hex, all[3].id.hex]))
    }

    func testLeftoverTemporariesFromACrashAreRemovedAtStart() throws {
        _ = try cache(maxBytes: 1 << 20)
        let old = cacheDirectory.appendingPathComponent(".\(String(repeating: "a", count: 64)).crashed.tmp")
        let fresh = cacheDirectory.appendingPathComponent(".\(String(repeating: "b", count: 64)).writing.tmp")
        try Data(count: 1000).write(to: old)
        try Data(count: 1000).write(to: fresh)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: old.path)
        let store = try cache(maxBytes: 1 << 20)
        XCTAssertFalse(FileManager.default.fileExists(atPath: old.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh.path), "another process may be writing it")
        XCTAssertEqual(store.cachedBytes, 0)
    }

    func testDamagedOrTruncatedCopiesAreDroppedAndFetchedAgain() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        try store.put(heap)
        let damages: [(String, (inout Data) -> Void)] = [
            ("truncated", { $0.removeLast($0.count / 2) }),
            ("empty", { $0 = Data() }),
            ("flipped byte", { $0[$0.count - 2] ^= 0xff }),
            ("wrong magic", { $0[0] = UInt8(ascii: "X") }),
        ]
        for (number, (name, damage)) in damages.enumerated() {
            var bytes = heap.bytes
            damage(&bytes)
            try bytes.write(to: file(heap.id))
            XCTAssertEqual(try store.get(heap.id), heap, name)
            XCTAssertEqual(remote.gets, number + 1, name)
            XCTAssertEqual(try Data(contentsOf: file(heap.id)), heap.bytes, "\(name): the copy is repaired")
            XCTAssertEqual(store.cachedBytes, heap.bytes.count, name)
            XCTAssertTrue(log.messages.last?.hasPrefix("heap cache: dropping its copy of heap \(heap.id) and fetching it again: heap \(heap.id) cannot be used: ") == true,
                          "\(name): \(log.messages)")
        }
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(remote.gets, damages.count)
    }

    func testACopyDeletedBehindTheCachesBackIsAMiss() throws {
        let store = try cache(maxBytes: 1 << 20)
        let heap = try heaps(1)[0]
        try store.put(heap)
        try FileManager.default.removeItem(at: file(heap.id))
        XCTAssertEqual(try store.get(heap.id), heap)
        XCTAssertEqual(remote.gets, 1)
        XCTAssertEqual(store.cachedBytes, heap.bytes.count)
    }

    func testAHeapBiggerThanTheBoundIsNotCached() throws {
        let small = try heaps(1, size: 1000)[0]
        let big = try heaps(1, size: 10_000)[0]
        let store = try cache(maxBytes: 5000)
        try store.put(small)
        try store.put(big)
        XCTAssertEqual(try remote.store.get(big.id), big)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file(big.id).path))
        XCTAssertEqual(store.cachedIDs, [small.id], "the small heap stays")
        XCTAssertEqual(try store.get(big.id), big)
        XCTAssertEqual(try store.get(big.id), big)
        XCTAssertEqual(remote.gets, 2, "every read of it goes to the remote")
        XCTAssertEqual(store.cachedIDs, [small.id])
    }

    func testConcurrentGetsAndPutsKeepTheCacheAndItsAccountingInStep() throws {
        let all = try heaps(12)
        let store = try cache(maxBytes: 4 * all[0].bytes.count)
        for heap in all.prefix(6) { try remote.store.put(heap) }
        let failures = RecordedLog()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var generator = SystemRandomNumberGenerator()
            for step in 0..<100 {
                let heap = all.randomElement(using: &generator)!
                do {
                    if (thread + step) % 3 == 0 {
                        try store.put(heap)
                    } else if let read = try store.get(heap.id), read != heap {
                        failures.append("read \(heap.id) as something else")
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        XCTAssertEqual(failures.messages, [])
        XCTAssertEqual(log.messages, [], "no copy was damaged or failed to write")
        let disk = try filesOnDisk()
        XCTAssertEqual(disk.ids, Set(store.cachedIDs.map(\.hex)), "the index names exactly the files")
        XCTAssertEqual(disk.bytes, store.cachedBytes)
        XCTAssertLessThanOrEqual(store.cachedBytes, store.maxBytes)
        for heap in all where try remote.store.exists(heap.id) { XCTAssertEqual(try store.get(heap.id), heap) }
    }

    /// Resume latency of a 1 MB heap: a cache hit against a miss (the remote read, then the copy
    /// kept) and a direct read of the remote directory. A measurement, not a test: run it with
    /// `MCPV8_MEASURE_CACHE=1 swift test --skip-build --filter CachedHeapStoreTests/testMeasureResumeLatency`.
    func testMeasureResumeLatency() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["MCPV8_MEASURE_CACHE"] == nil, "a measurement")
        let rounds = 30
        let all = try heaps(rounds, size: 1 << 20)
        let store = try cache(maxBytes: 1 << 40)
        for heap in all { try remote.store.put(heap) }
        func median(_ read: (SealedHeap) throws -> SealedHeap?) rethrows -> Double {
            let times = try all.map { heap in
                let start = DispatchTime.now().uptimeNanoseconds
                XCTAssertEqual(try read(heap), heap)
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            }
            return times.sorted()[rounds / 2]
        }
        let remoteRead = try median { try remote.store.get($0.id) }
        let miss = try median { try store.get($0.id) }
        let hit = try median { try store.get($0.id) }
        print(String(format: "1 MB heap (%d bytes sealed), median of %d: cache hit %.2f ms, cache miss %.2f ms, remote directory %.2f ms",
                     all[0].bytes.count, rounds, hit, miss, remoteRead))
    }
}

/// A heap store that counts the calls reaching it: the remote, a real directory store.
private final class CountingHeapStore: HeapStore, @unchecked Sendable {
    let store: DirectoryHeapStore
    private let lock = NSLock()
    private var getCount = 0
    private var existsCount = 0

    init(_ store: DirectoryHeapStore) { self.store = store }

    var gets: Int { lock.withLock { getCount } }
    var existsCalls: Int { lock.withLock { existsCount } }

    func put(_ heap: SealedHeap) throws(HeapStoreError) { try store.put(heap) }

    func get(_ id: HeapID) throws(HeapStoreError) -> SealedHeap? {
        lock.withLock { getCount += 1 }
        return try store.get(id)
    }

    func exists(_ id: HeapID) throws(HeapStoreError) -> Bool {
        lock.withLock { existsCount += 1 }
        return try store.exists(id)
    }

    func delete(_ id: HeapID) throws(HeapStoreError) { try store.delete(id) }
    func list() throws(HeapStoreError) -> [StoredHeapInfo] { try store.list() }
}

/// The messages logged at warning or above.
private final class RecordedLog: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    var messages: [String] { lock.withLock { recorded } }
    func append(_ message: String) { lock.withLock { recorded.append(message) } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) { append(event.message.description) }
}
