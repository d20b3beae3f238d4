import Foundation
import HostSupport
#if canImport(Glibc)
import Glibc
#endif

/// The messages between the host and its worker processes. Each travels as one frame: a 4-byte
/// big-endian length and that many bytes of JSON, then a 4-byte length and that many raw bytes of
/// the heap the message carries (0 when none). Heaps ride outside the JSON because base64 inside
/// it cost a stateful worker ~4% of its CPU and the host most of its decoding time.
public struct RunJob: Codable, Sendable {
    public var jobID: UInt64
    public var code: String
    public var heapLimitMB: Int
    public var timeoutMilliseconds: Int
    public var outputLimitBytes: Int
    /// Present for a stateful run: the heap it starts from (none: a new heap).
    public var checkpoint: CheckpointInput?
    /// The capability set it runs with: only that set's globals exist and only its policies judge.
    public var capabilitySet: String
    /// Who asked for it, for its policies.
    public var caller: RunCaller
}

/// Who asked for a run, as every policy input document of the run carries it (`caller`): the tenant
/// and the verified token subject, null where there is none. Never the token itself.
public struct RunCaller: Codable, Sendable, Equatable {
    public var tenant: String?
    public var subject: String?

    public init(tenant: String? = nil, subject: String? = nil) {
        self.tenant = tenant
        self.subject = subject
    }

    /// The caller of a run in `namespace` (its tenant "" is none).
    init(_ namespace: Namespace) {
        self.init(tenant: namespace.tenant.isEmpty ? nil : namespace.tenant, subject: namespace.subject)
    }

    /// A plugin's policy input document with `caller` set (replacing any of the plugin's own), or nil
    /// when the document is not a JSON object.
    func policyInput(_ pluginInput: String) -> String? {
        guard var document = (try? JSONSerialization.jsonObject(with: Data(pluginInput.utf8))) as? [String: Any] else {
            return nil
        }
        document["caller"] = ["tenant": tenant ?? NSNull(), "subject": subject ?? NSNull()] as [String: Any]
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.withoutEscapingSlashes]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }
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
    /// The first frame on a worker's pipe: the plugins, policies and settings it loads before it
    /// says it is ready. (Not the environment: settings may hold secrets, and a worker's
    /// environment is inherited by what its runs start.)
    case configure(WorkerCapabilities)
    /// The first frame instead of `configure`, to a short-lived worker that only loads each plugin
    /// to check it (and opens the server's set with those that read settings per set), answers with
    /// `PluginCheckEvent`s and exits (`PluginCheck`).
    case checkPlugins(WorkerCapabilities)
    case run(RunJob)
    case cancel(jobID: UInt64)
}

enum WorkerEvent: Codable {
    case ready(v8Version: String)
    /// The worker took the job and is about to run it: if it dies before saying so, the job never
    /// ran and the host gives it to another worker.
    case started(jobID: UInt64)
    case output(jobID: UInt64, lines: [OutputLine])
    case finished(jobID: UInt64, outcome: RunOutcome)
    /// The worker is about to die (V8 is ending it); `outcome` is why the job fails.
    case dying(jobID: UInt64, outcome: RunOutcome)
}

/// A message that may carry a sealed heap, whose bytes travel raw after the JSON.
protocol CarriesHeap {
    /// Takes the heap's bytes out of the message (leaving them empty) and returns them.
    mutating func detachHeapBytes() -> Data?
    /// Puts received bytes back into the message's heap.
    mutating func attachHeapBytes(_ bytes: Data)
}

/// A message that never carries a heap.
protocol CarriesNoHeap: CarriesHeap {}

extension CarriesNoHeap {
    mutating func detachHeapBytes() -> Data? { nil }
    mutating func attachHeapBytes(_ bytes: Data) {}
}

extension WorkerRequest: CarriesHeap {
    mutating func detachHeapBytes() -> Data? {
        guard case .run(var job) = self, let bytes = job.checkpoint?.heap?.bytes else { return nil }
        job.checkpoint?.heap?.bytes = Data()
        self = .run(job)
        return bytes
    }

    mutating func attachHeapBytes(_ bytes: Data) {
        guard case .run(var job) = self, job.checkpoint?.heap != nil else { return }
        job.checkpoint?.heap?.bytes = bytes
        self = .run(job)
    }
}

extension WorkerEvent: CarriesHeap {
    mutating func detachHeapBytes() -> Data? {
        guard case .finished(let jobID, var outcome) = self, let bytes = outcome.newHeap?.bytes else { return nil }
        outcome.newHeap?.bytes = Data()
        self = .finished(jobID: jobID, outcome: outcome)
        return bytes
    }

    mutating func attachHeapBytes(_ bytes: Data) {
        guard case .finished(let jobID, var outcome) = self, outcome.newHeap != nil else { return }
        outcome.newHeap?.bytes = bytes
        self = .finished(jobID: jobID, outcome: outcome)
    }
}

/// This bound only stops a corrupt length from allocating wildly.
let maximumFrameBytes = 512 * 1024 * 1024

/// Writes frames to a file descriptor. Thread-safe: frames from several threads never interleave.
final class FrameWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let encoder = JSONEncoder()

    init(fd: Int32) { self.fd = fd }

    /// Returns false when the other end is gone.
    @discardableResult
    func send<Message: Encodable & CarriesHeap>(_ message: Message) -> Bool {
        var message = message
        let heapBytes = message.detachHeapBytes() ?? Data()
        guard let body = try? encoder.encode(message) else { return false }
        var header = Data(capacity: body.count + 8)
        withUnsafeBytes(of: UInt32(body.count).bigEndian) { header.append(contentsOf: $0) }
        header.append(body)
        withUnsafeBytes(of: UInt32(heapBytes.count).bigEndian) { header.append(contentsOf: $0) }
        lock.lock()
        defer { lock.unlock() }
        return header.withUnsafeBytes { writeFully(fd, $0) } && heapBytes.withUnsafeBytes { writeFully(fd, $0) }
    }
}

/// Reads frames from a file descriptor; used by one thread.
final class FrameReader {
    private let fd: Int32
    private let decoder = JSONDecoder()

    init(fd: Int32) { self.fd = fd }

    /// The next message, or nil at end of stream or on a malformed frame.
    func receive<Message: Decodable & CarriesHeap>(_ type: Message.Type) -> Message? {
        guard let body = readBlock(), let heapBytes = readBlock(),
              var message = try? decoder.decode(type, from: body) else { return nil }
        if !heapBytes.isEmpty { message.attachHeapBytes(heapBytes) }
        return message
    }

    /// A 4-byte big-endian length, then that many bytes. The block grows as its bytes arrive, so a
    /// length that lies costs no more memory than the bytes that came (`make fuzz` found every
    /// 4-byte header claiming up to 512 MiB allocating all of it first).
    private func readBlock() -> Data? {
        var lengthBytes = [UInt8](repeating: 0, count: 4)
        guard lengthBytes.withUnsafeMutableBytes({ readFully(fd, $0) }) else { return nil }
        let length = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumFrameBytes else { return nil }
        var block = Data(count: min(length, 1 << 20))
        var filled = 0
        while true {
            let read = block.withUnsafeMutableBytes { readFully(fd, UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard read else { return nil }
            filled = block.count
            if filled == length { return block }
            block.count = min(length, filled * 2)
        }
    }
}
