import CV8
import Foundation

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
