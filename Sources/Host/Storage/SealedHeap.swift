// A stored heap's id and envelope bytes, as storage and the worker protocol carry them. Apart from
// HeapEnvelope.swift, which seals and opens them with CV8, so the worker protocol builds without the engine.
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
