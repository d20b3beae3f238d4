@testable import Host
import Foundation
import XCTest

final class HeapStoreTests: XCTestCase {
    private var directory: URL!
    private var store: DirectoryHeapStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-heaps-\(UUID())")
        store = try DirectoryHeapStore(directory: directory)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func file(_ id: HeapID) -> URL { directory.appendingPathComponent(id.hex) }

    /// Seals and stores `payload`, as a worker and the host do together.
    private func keep(_ payload: [UInt8]) throws -> HeapID {
        let heap = try HeapEnvelope.seal(payload)
        try store.put(heap)
        return heap.id
    }

    private func load(_ id: HeapID) throws -> [UInt8]? {
        try store.get(id).map { try HeapEnvelope.open($0) }
    }

    func testRoundTripIsContentAddressed() throws {
        let payload = Array("a snapshot, repeated ".utf8) + [UInt8](repeating: 7, count: 100_000)
        let id = try keep(payload)
        XCTAssertEqual(id.hex.count, 64)
        XCTAssertEqual(try keep(payload), id, "the same bytes get the same id")
        XCTAssertTrue(try store.exists(id))
        XCTAssertEqual(try load(id), payload)
        let stored = try Data(contentsOf: file(id))
        XCTAssertLessThan(stored.count, 2000, "the envelope compresses")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testUnknownHeapIsNil() throws {
        let id = try HeapID(validating: String(repeating: "ab", count: 32))
        XCTAssertNil(try load(id))
        XCTAssertFalse(try store.exists(id))
    }

    func testIdsThatAreNotSha256HexAreRefused() {
        for text in ["", "abc", String(repeating: "g", count: 64), "../" + String(repeating: "a", count: 61),
                     String(repeating: "a", count: 63) + "/", String(repeating: "a", count: 65)] {
            XCTAssertThrowsError(try HeapID(validating: text)) { error in
                XCTAssertTrue("\(error)".contains("64 hexadecimal characters"), "\(error)")
            }
        }
        XCTAssertEqual(try HeapID(validating: String(repeating: "AB", count: 32)).hex, String(repeating: "ab", count: 32))
    }

    func testDamagedFilesAreReportedAndLeftInPlace() throws {
        let payload = [UInt8](repeating: 1, count: 5000) + Array("tail".utf8)
        let id = try keep(payload)
        let original = try Data(contentsOf: file(id))
        let damages: [(String, (inout Data) -> Void)] = [
            ("wrong magic bytes", { $0[0] = UInt8(ascii: "X") }),
            ("made by V8", { $0[14] ^= 0x01 }),
            ("truncated", { $0.removeLast(3) }),
            ("trailing bytes", { $0.append(0) }),
            ("the heap snapshot's", { $0[$0.count - 2] ^= 0xff }),
            // Found by `make fuzz`: a length of 4 GiB in a small file had the server allocate 4 GiB.
            ("claims 4294967295 bytes, more than its", { bytes in
                let claimed = withUnsafeBytes(of: UInt64(payload.count).littleEndian) { Data($0) }
                let at = bytes.range(of: claimed)!
                bytes.replaceSubrange(at, with: withUnsafeBytes(of: UInt64(UInt32.max).littleEndian) { Data($0) })
            }),
        ]
        for (fragment, damage) in damages {
            var bytes = original
            damage(&bytes)
            try bytes.write(to: file(id))
            XCTAssertThrowsError(try load(id)) { error in
                XCTAssertTrue("\(error)".hasPrefix("heap \(id) cannot be used: "), "\(error)")
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
            }
            XCTAssertEqual(try Data(contentsOf: file(id)), bytes, "a damaged heap is left for inspection")
        }
        XCTAssertEqual(try keep(payload), id)
        XCTAssertEqual(try load(id), payload, "storing the same heap again repairs it")
    }

    func testAHeapStoredUnderAnotherIdIsRefused() throws {
        let first = try keep(Array("first".utf8))
        let second = try keep(Array("second".utf8))
        try FileManager.default.removeItem(at: file(second))
        try FileManager.default.copyItem(at: file(first), to: file(second))
        XCTAssertThrowsError(try load(second)) { error in
            XCTAssertTrue("\(error)".contains("its contents hash to \(first.hex)"), "\(error)")
        }
    }

    func testEmptyPayload() throws {
        let id = try keep([])
        XCTAssertEqual(id.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try load(id), [])
    }

    func testListSkipsTemporaryAndForeignFilesAndDeleteIsWholeAndIdempotent() throws {
        let first = try keep(Array("first".utf8))
        let second = try keep(Array("second".utf8))
        try Data("half a write".utf8).write(to: directory.appendingPathComponent(".\(first.hex).1234.tmp"))
        try Data("notes".utf8).write(to: directory.appendingPathComponent("README"))
        try Data("upper".utf8).write(to: directory.appendingPathComponent(first.hex.uppercased()))
        let listed = try store.list()
        XCTAssertEqual(Set(listed.map(\.id)), [first, second])
        let firstInfo = try XCTUnwrap(listed.first { $0.id == first })
        XCTAssertEqual(firstInfo.bytes, try Data(contentsOf: file(first)).count)
        XCTAssertLessThan(abs(firstInfo.created.timeIntervalSinceNow), 60)

        try store.delete(first)
        try store.delete(first)
        XCTAssertNil(try store.get(first), "a deleted heap is not found")
        XCTAssertFalse(try store.exists(first))
        XCTAssertEqual(try store.list().map(\.id), [second])
    }

    /// Storing a heap that is there already counts as storing it now: retention measures a heap's
    /// age from its last store.
    func testStoringAHeapAgainRenewsItsListedTime() throws {
        let id = try keep(Array("again".utf8))
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, file(id).path, &old, 0), 0)
        XCTAssertEqual(try store.list().first?.created, Date(timeIntervalSince1970: 1_000_000))
        _ = try keep(Array("again".utf8))
        XCTAssertLessThan(abs(try XCTUnwrap(try store.list().first).created.timeIntervalSinceNow), 60)
    }

    /// A reader that opened a heap before it was deleted reads it whole (an unlink removes the
    /// name, not the open file's bytes); one that opens it after finds no heap.
    func testAReadRacingADeleteGetsTheWholeHeapOrNone() async throws {
        let payload = [UInt8](repeating: 3, count: 200_000)
        let id = try keep(payload)
        let store = store!
        // Eight reads race the delete; each must see the whole heap or none.
        let reading = Task.detached {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask { try store.get(id).map { try HeapEnvelope.open($0) == payload ? "whole" : "wrong" } ?? "none" }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        try store.delete(id)
        let outcomes = try await reading.value
        XCTAssertEqual(outcomes.filter { $0 != "whole" && $0 != "none" }, [])
        XCTAssertNil(try store.get(id))
    }
}
