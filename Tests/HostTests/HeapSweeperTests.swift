@testable import Host
import Foundation
import Logging
import XCTest

/// The sweep against real stores: a heap directory and SQLite.
final class HeapSweeperTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-sweep-\(UUID())")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func testTheSweepDeletesOldUnreferencedHeapsForgetsThemAndKeepsTheRest() async throws {
        let store = try DirectoryHeapStore(directory: root.appendingPathComponent("heaps"))
        let metadata = try SQLiteMetadataStore(directory: root.appendingPathComponent("metadata"))
        let heaps = try (0..<4).map { try HeapEnvelope.seal(Array("heap \($0)".utf8)) }
        for heap in heaps { try store.put(heap) }
        let (logged, tagged, old, resumed) = (heaps[0], heaps[1], heaps[2], heaps[3])
        let alice = Namespace(subject: "alice")
        try await metadata.append(session: "s", in: alice, inputHeap: nil, outputHeap: logged.id.hex, code: "1")
        try await metadata.setTags(["keep": "yes"], on: tagged.id.hex, in: alice)
        try await metadata.recordOwner(alice, of: old.id.hex)
        let sweeper = HeapSweeper(store: store, metadata: metadata, limits: RetentionLimits(maxAge: 3600),
                                  interval: .seconds(3600), logger: Logger(label: "test"))
        // Two hours on, only a heap resumed within the hour is recent.
        let later = Date().addingTimeInterval(7200)
        try await metadata.recordResume(of: resumed.id.hex, at: later.addingTimeInterval(-60))
        let report = try await sweeper.sweep(now: later)
        XCTAssertEqual(report.deleted, [old.id])
        XCTAssertEqual(Set(try store.list().map(\.id)), [logged.id, tagged.id, resumed.id])
        let owners = try await metadata.owners(of: old.id.hex)
        XCTAssertEqual(owners, [], "a deleted heap's owners are forgotten")
        let again = try await sweeper.sweep(now: later)
        XCTAssertEqual(again.deleted, [])
    }
}
