import Foundation

/// A stored heap as a store's `list()` reports it.
public struct StoredHeapInfo: Sendable, Equatable {
    public let id: HeapID
    public let bytes: Int
    public let created: Date

    public init(id: HeapID, bytes: Int, created: Date) {
        self.id = id
        self.bytes = bytes
        self.created = created
    }
}
