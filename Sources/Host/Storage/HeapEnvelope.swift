import CV8
import Foundation

/// The id of a stored heap: the lowercase hex SHA-256 of its snapshot bytes.
public struct HeapID: Hashable, Sendable, CustomStringConvertible {
    public let hex: String

    /// Accepts exactly 64 hexadecimal characters (any case), so an id can never name a path.
    public init(validating text: String) throws(HeapStoreError) {
        let isHex = text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
        guard text.utf8.count == 64, isHex else {
            let shown = text.count > 80 ? String(text.prefix(80)) + "..." : text
            throw .invalidID("a heap id is 64 hexadecimal characters (a SHA-256); got '\(shown)'")
        }
        hex = text.lowercased()
    }

    public var description: String { hex }
}

public enum HeapStoreError: Error, CustomStringConvertible, Equatable {
    case invalidID(String)
    /// The stored bytes failed verification; they are left where they are, untouched.
    case corrupt(id: String, reason: String)
    case io(String)
    case sealing(String)

    public var description: String {
        switch self {
        case .invalidID(let message): message
        case .corrupt(let id, let reason): "heap \(id) cannot be used: \(reason)"
        case .io(let message): message
        case .sealing(let message): message
        }
    }
}

/// A heap as storage holds it: its id and its envelope bytes.
public struct SealedHeap: Codable, Sendable, Equatable {
    public var id: HeapID
    public var bytes: Data

    public init(id: HeapID, bytes: Data) {
        self.id = id
        self.bytes = bytes
    }
}

extension HeapID: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try HeapID(validating: text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// Seals snapshot bytes into the verified, compressed envelope that storage holds (see cv8.h).
public enum HeapEnvelope {
    public static func seal(_ payload: [UInt8]) throws(HeapStoreError) -> SealedHeap {
        var out = cv8_sealed_heap()
        var error: UnsafeMutablePointer<CChar>?
        let status = payload.withUnsafeBufferPointer { cv8_heap_seal($0.baseAddress, $0.count, &out, &error) }
        guard status == 0 else { throw .sealing(takeMessage(error)) }
        defer { cv8_free(out.bytes) }
        let bytes = Data(UnsafeBufferPointer(start: out.bytes, count: out.length))
        let id = withUnsafeBytes(of: out.id) { String(decoding: $0.prefix(64), as: UTF8.self) }
        return SealedHeap(id: try HeapID(validating: id), bytes: bytes)
    }

    /// Verifies a sealed heap and returns its payload, which must hash to the heap's id.
    public static func open(_ heap: SealedHeap) throws(HeapStoreError) -> [UInt8] {
        let expected = heap.id
        var payload: UnsafeMutablePointer<UInt8>?
        var length = 0
        var id = [CChar](repeating: 0, count: 65)
        var error: UnsafeMutablePointer<CChar>?
        let status = heap.bytes.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            id.withUnsafeMutableBufferPointer {
                cv8_heap_open(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &payload, &length,
                              $0.baseAddress, &error)
            }
        }
        guard status == 0 else { throw .corrupt(id: expected.hex, reason: takeMessage(error)) }
        defer { cv8_free(payload) }
        let actual = String(decoding: id.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard actual == expected.hex else {
            throw .corrupt(id: expected.hex, reason: "its contents hash to \(actual)")
        }
        return Array(UnsafeBufferPointer(start: payload, count: length))
    }

    private static func takeMessage(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "unknown error" }
        defer { cv8_free(pointer) }
        return String(cString: pointer)
    }
}
