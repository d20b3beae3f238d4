import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The messages between the host and its worker processes. Each travels as one frame: a 4-byte
/// big-endian length, then that many bytes of JSON.
public struct RunJob: Codable, Sendable {
    public var jobID: UInt64
    public var code: String
    public var heapLimitMB: Int
    public var timeoutMilliseconds: Int
    public var outputLimitBytes: Int
    /// Present for a stateful run: the heap it starts from (none: a new heap).
    public var checkpoint: CheckpointInput?
}

/// The start of a stateful run.
public struct CheckpointInput: Codable, Sendable {
    public var heap: SealedHeap?

    public init(heap: SealedHeap?) { self.heap = heap }
}

public struct OutputLine: Codable, Sendable, Equatable {
    public var level: ConsoleLevel
    public var text: String
}

enum WorkerRequest: Codable {
    case run(RunJob)
    case cancel(jobID: UInt64)
}

enum WorkerEvent: Codable {
    case ready(v8Version: String)
    case output(jobID: UInt64, lines: [OutputLine])
    case finished(jobID: UInt64, outcome: RunOutcome)
    /// The worker is about to die (V8 is ending it); `outcome` is why the job fails.
    case dying(jobID: UInt64, outcome: RunOutcome)
}

/// Frames are small JSON documents; this bound only stops a corrupt length from allocating wildly.
let maximumFrameBytes = 512 * 1024 * 1024

/// Writes frames to a file descriptor. Thread-safe: frames from several threads never interleave.
final class FrameWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let encoder = JSONEncoder()

    init(fd: Int32) { self.fd = fd }

    /// Returns false when the other end is gone.
    @discardableResult
    func send<Message: Encodable>(_ message: Message) -> Bool {
        guard let body = try? encoder.encode(message) else { return false }
        var frame = Data(capacity: body.count + 4)
        let length = UInt32(body.count).bigEndian
        withUnsafeBytes(of: length) { frame.append(contentsOf: $0) }
        frame.append(body)
        lock.lock()
        defer { lock.unlock() }
        return frame.withUnsafeBytes { writeFully(fd, $0) }
    }
}

/// Reads frames from a file descriptor; used by one thread.
final class FrameReader {
    private let fd: Int32
    private let decoder = JSONDecoder()

    init(fd: Int32) { self.fd = fd }

    /// The next message, or nil at end of stream or on a malformed frame.
    func receive<Message: Decodable>(_ type: Message.Type) -> Message? {
        var lengthBytes = [UInt8](repeating: 0, count: 4)
        guard lengthBytes.withUnsafeMutableBytes({ readFully(fd, $0) }) else { return nil }
        let length = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumFrameBytes else { return nil }
        var body = Data(count: length)
        guard body.withUnsafeMutableBytes({ readFully(fd, $0) }) else { return nil }
        return try? decoder.decode(type, from: body)
    }
}

/// Writes all of `buffer`, retrying short writes and EINTR; false when the other end is gone.
func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < buffer.count {
        let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return false
        }
        offset += written
    }
    return true
}

private func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Bool {
    var offset = 0
    while offset < buffer.count {
        let count = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if count < 0 {
            if errno == EINTR { continue }
            return false
        }
        if count == 0 { return false }
        offset += count
    }
    return true
}
