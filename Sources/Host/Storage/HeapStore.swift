import Foundation
import HostSupport
#if canImport(Glibc)
import Glibc
#endif

/// Where heap snapshots are kept: content-addressed and immutable, so the interface is small.
/// A local directory, an S3 bucket and a cache in front of a bucket implement it.
///
/// Heaps travel sealed (see `HeapEnvelope`): workers seal what they snapshot and open what they
/// restore, so the host only moves bytes.
///
/// A delete never hands a reader half a heap: every store reads a heap whole (a whole file, a whole
/// object) and verifies it before returning it, and removes a heap whole (an unlink, an object
/// DELETE), so a read that races a delete gets the whole heap or none ("heap not found").
public protocol HeapStore: Sendable {
    /// Stores a sealed heap. Storing one that is already there intact is a no-op, apart from
    /// counting as a new store for `list`'s `created` where the store can record it.
    func put(_ heap: SealedHeap) throws(HeapStoreError)
    /// The heap, verified, or nil when no heap has this id.
    func get(_ id: HeapID) throws(HeapStoreError) -> SealedHeap?
    func exists(_ id: HeapID) throws(HeapStoreError) -> Bool
    /// Deletes a heap; one that is not there is not an error.
    func delete(_ id: HeapID) throws(HeapStoreError)
    /// Every stored heap with its size and when it was (last) stored, in no particular order.
    func list() throws(HeapStoreError) -> [StoredHeapInfo]
}

/// Heaps as files named by their id in one directory. Writes are atomic (temporary file, fsync,
/// rename, fsync of the directory), so a crash leaves either the whole heap or none of it; reads
/// verify the envelope, so a damaged file is reported, never handed to V8.
public struct DirectoryHeapStore: HeapStore {
    public let directory: URL

    public init(directory: URL) throws(HeapStoreError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .io("cannot create the heap directory \(directory.path): \(error.localizedDescription)")
        }
    }

    /// The file that holds (or would hold) heap `id`.
    func path(_ id: HeapID) -> String { directory.appendingPathComponent(id.hex).path }

    public func put(_ heap: SealedHeap) throws(HeapStoreError) {
        let (id, sealed) = (heap.id, heap.bytes)
        // Already stored byte for byte: nothing to do. (Sealing is deterministic, so a stored copy
        // that differs is damaged, and this one replaces it.) Comparing costs far less than
        // verifying, and identical heaps are common: every trivial run on a new session makes one.
        if (try? readSealed(id)) == sealed {
            // Stored again: the file's modification time is when it was last stored (see `list`).
            utimensat(AT_FDCWD, path(id), nil, 0)
            return
        }
        let temporary = directory.appendingPathComponent(".\(id.hex).\(UUID().uuidString).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temporary): \(errorText())") }
        let written = sealed.withUnsafeBytes { writeFully(fd, $0) }
        let synced = written && fsync(fd) == 0
        let failure = errorText()
        close(fd)
        guard synced, rename(temporary, path(id)) == 0 else {
            let reason = synced ? errorText() : failure
            unlink(temporary)
            throw .io("cannot store heap \(id) in \(directory.path): \(reason)")
        }
        syncDirectory()
    }

    public func get(_ id: HeapID) throws(HeapStoreError) -> SealedHeap? {
        guard let sealed = try readSealed(id) else { return nil }
        let heap = SealedHeap(id: id, bytes: sealed)
        _ = try HeapEnvelope.open(heap)
        return heap
    }

    /// The stored bytes, unverified, or nil when no heap has this id.
    private func readSealed(_ id: HeapID) throws(HeapStoreError) -> Data? {
        let fd = open(path(id), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io("cannot read heap \(id): \(errorText())")
        }
        defer { close(fd) }
        // Files are renamed into place whole and never changed, so the size read here holds.
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .io("cannot read heap \(id): \(errorText())") }
        var sealed = Data(count: Int(status.st_size))
        guard sealed.withUnsafeMutableBytes({ readFully(fd, $0) }) else {
            throw .io("cannot read all \(status.st_size) bytes of heap \(id): \(errorText())")
        }
        return sealed
    }

    public func exists(_ id: HeapID) throws(HeapStoreError) -> Bool {
        access(path(id), F_OK) == 0
    }

    public func delete(_ id: HeapID) throws(HeapStoreError) {
        guard unlink(path(id)) == 0 || errno == ENOENT else {
            throw .io("cannot delete heap \(id) from \(directory.path): \(errorText())")
        }
        syncDirectory()
    }

    /// The heap files, with their modification times as `created`; temporary files of writes under
    /// way (".<id>.<uuid>.tmp") and files not named by a heap id are not heaps and are left out.
    public func list() throws(HeapStoreError) -> [StoredHeapInfo] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .io("cannot list the heap directory \(directory.path): \(error.localizedDescription)")
        }
        return names.compactMap { name in
            guard let id = try? HeapID(validating: name), id.hex == name else { return nil }
            var status = stat()
            // Gone since the directory was read: deleted, so not listed.
            guard stat(path(id), &status) == 0 else { return nil }
            let seconds = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
            return StoredHeapInfo(id: id, bytes: Int(status.st_size), created: Date(timeIntervalSince1970: seconds))
        }
    }

    /// Makes the rename itself durable.
    private func syncDirectory() {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// The text of the current errno.
func errorText() -> String { String(cString: strerror(errno)) }
