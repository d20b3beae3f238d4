import CapabilityABI
@testable import Host
import XCTest

/// The host reads a plugin's structs as their maker compiled them: each field only when the
/// struct's `size` covers it, whatever this host's sizeof.
final class ABIStructTests: XCTestCase {
    /// Lays out an mcpv8_operation of `size` bytes (fewer or more than this host's) followed by
    /// bytes of 0xAB, which a reader must never take for fields.
    private func operation(size: Int, _ body: (UnsafeRawPointer) -> Void) {
        let capacity = max(size, MemoryLayout<mcpv8_operation>.size) + 64
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 0xAB, count: capacity)
        var known = mcpv8_operation()
        known.size = size
        known.name = UnsafePointer(bitPattern: 0x1000)
        known.cancel = { _, _ in }
        withUnsafeBytes(of: &known) { bytes.copyMemory(from: $0.baseAddress!, byteCount: min(max(size, MemoryLayout<Int>.size), $0.count)) }
        body(bytes)
    }

    func testAnOlderStructReadsTheFieldsItLacksAsNull() {
        // As if `cancel` had been appended by a later minor than the plugin's.
        let size = ABIStruct<mcpv8_operation>.bytes(through: \.start)
        operation(size: size) { pointer in
            let read = ABIStruct<mcpv8_operation>(at: pointer)
            XCTAssertEqual(read.size, size)
            XCTAssertTrue(read.covers(\.start))
            XCTAssertFalse(read.covers(\.cancel))
            XCTAssertNil(read.value.cancel)
            XCTAssertEqual(read.value.name, UnsafePointer(bitPattern: 0x1000))
        }
    }

    func testANewerStructIsReadUpToThisHostsFields() {
        let size = MemoryLayout<mcpv8_operation>.size + 8
        operation(size: size) { pointer in
            let read = ABIStruct<mcpv8_operation>(at: pointer)
            XCTAssertEqual(read.size, size)
            XCTAssertTrue(read.covers(\.cancel))
            XCTAssertNotNil(read.value.cancel)
        }
    }

    func testASizeShorterThanItsOwnFieldCoversNothing() {
        operation(size: 4) { pointer in
            let read = ABIStruct<mcpv8_operation>(at: pointer)
            XCTAssertFalse(read.covers(\.name))
            XCTAssertNil(read.value.name)
        }
    }
}
