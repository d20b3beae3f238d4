@testable import Host
import Foundation
import XCTest

/// The S3 heap store against a real SeaweedFS that checks signatures, started for this class by
/// Tests/EndToEnd/s3_server.py (from the venv scripts/setup makes) and stopped after it.
final class S3HeapStoreTests: XCTestCase {
    nonisolated(unsafe) private static var server: Process?
    nonisolated(unsafe) private static var serverInput: Pipe?
    nonisolated(unsafe) private static var settings: [String: String] = [:]

    override class func setUp() {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent(".venv/bin/python")
        process.arguments = [root.appendingPathComponent("Tests/EndToEnd/s3_server.py").path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            XCTFail("cannot start \(process.executableURL!.path) (run scripts/setup): \(error)")
            return
        }
        let line = output.fileHandleForReading.readLine()
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else {
            XCTFail("s3_server.py did not start SeaweedFS; it printed '\(line)'")
            return
        }
        (server, serverInput, settings) = (process, input, object)
    }

    override class func tearDown() {
        try? serverInput?.fileHandleForWriting.close()
        server?.waitUntilExit()
    }

    private func store(prefix: String = "", secret: String? = nil) throws -> S3HeapStore {
        var environment = Self.settings
        environment["HOME"] = "/nonexistent"
        if let secret { environment["AWS_SECRET_ACCESS_KEY"] = secret }
        let bucket = try XCTUnwrap(environment.removeValue(forKey: "bucket"), "no SeaweedFS")
        return try S3HeapStore(bucket: bucket, prefix: prefix, connection: S3Connection.resolve(environment: environment))
    }

    private func heap(_ text: String) throws -> SealedHeap {
        try HeapEnvelope.seal(Array(text.utf8) + [UInt8](repeating: 3, count: 10_000))
    }

    func testPutGetExistsDeleteAndList() throws {
        let store = try store(prefix: "round trip/\(UUID())/")
        try store.checkAccess()
        let first = try heap("first"), second = try heap("second")
        XCTAssertNil(try store.get(first.id))
        XCTAssertFalse(try store.exists(first.id))
        try store.put(first)
        try store.put(first)
        try store.put(second)
        XCTAssertEqual(try store.get(first.id), first)
        XCTAssertTrue(try store.exists(second.id))
        let listed = try store.list()
        XCTAssertEqual(Set(listed.map(\.id)), [first.id, second.id])
        XCTAssertEqual(listed.first { $0.id == first.id }?.bytes, first.bytes.count)
        XCTAssertLessThan(abs(try XCTUnwrap(listed.first).created.timeIntervalSinceNow), 600)
        try store.delete(first.id)
        try store.delete(first.id)
        XCTAssertFalse(try store.exists(first.id))
        XCTAssertNil(try store.get(first.id))
        XCTAssertEqual(try store.list().map(\.id), [second.id])
    }

    func testListFollowsContinuationTokensAndKeepsToItsPrefix() throws {
        let base = "paged/\(UUID())/"
        var store = try store(prefix: base + "mine/")
        let other = try self.store(prefix: base + "mine-too/")
        store.listPageSize = 2
        let heaps = try (0..<5).map { try heap("heap \($0)") }
        for heap in heaps { try store.put(heap) }
        try other.put(try heap("another prefix"))
        XCTAssertEqual(Set(try store.list().map(\.id)), Set(heaps.map(\.id)))
        XCTAssertEqual(try store.list().count, 5)
        XCTAssertEqual(try other.list().count, 1)
    }

    func testDamagedObjectsAreRefusedNamingBucketAndKey() throws {
        let store = try store(prefix: "damaged/\(UUID())/")
        let good = try heap("good")
        var damaged = good
        damaged.bytes[damaged.bytes.count - 5] ^= 0xFF
        try store.put(damaged)
        XCTAssertThrowsError(try store.get(good.id)) { error in
            XCTAssertTrue("\(error)".contains("heap \(good.id) cannot be used: the object s3://\(store.bucket)/\(store.key(good.id)) is damaged"),
                          "\(error)")
        }
        try store.put(good)
        XCTAssertEqual(try store.get(good.id), good, "a put of the intact heap replaces the damaged object")
    }

    func testTwoServersStoringOneHeapAtOnceLeaveOneObject() throws {
        let prefix = "concurrent/\(UUID())/"
        let stores = [try store(prefix: prefix), try store(prefix: prefix)]
        let shared = try heap("stored by both")
        let failures = LockedList()
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            do { try stores[index % 2].put(shared) } catch { failures.append("\(error)") }
        }
        XCTAssertEqual(failures.items, [])
        XCTAssertEqual(try stores[0].list().map(\.id), [shared.id])
        XCTAssertEqual(try stores[1].get(shared.id), shared)
    }

    func testWrongSecretIsRefusedWithoutShowingIt() throws {
        let store = try store(secret: "wrong-secret-value")
        XCTAssertThrowsError(try store.checkAccess()) { error in
            XCTAssertTrue("\(error)".contains("refuses these credentials (403 (SignatureDoesNotMatch"), "\(error)")
            XCTAssertFalse("\(error)".contains("wrong-secret-value"), "\(error)")
        }
        XCTAssertThrowsError(try store.put(try heap("x"))) { error in
            XCTAssertTrue("\(error)".contains("S3 PUT s3://\(store.bucket)/"), "\(error)")
            XCTAssertTrue("\(error)".contains("answered 403"), "\(error)")
        }
    }
}

private final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    var items: [String] { lock.withLock { list } }
    func append(_ item: String) { lock.withLock { list.append(item) } }
}

private extension FileHandle {
    /// One line, without its newline; "" at the end of the stream.
    func readLine() -> String {
        var bytes = Data()
        while let byte = try? read(upToCount: 1), let first = byte.first, first != UInt8(ascii: "\n") { bytes.append(first) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
