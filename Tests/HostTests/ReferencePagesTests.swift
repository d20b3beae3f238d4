import Foundation
import XCTest
import Host

/// The committed reference pages are what the code generates; MCPV8_WRITE_REFERENCE=1 (`make
/// reference`) writes them instead of comparing.
final class ReferencePagesTests: XCTestCase {
    func testTheCommittedReferencePagesMatchTheCode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let writing = ProcessInfo.processInfo.environment["MCPV8_WRITE_REFERENCE"] == "1"
        for page in ReferencePages.all {
            let url = root.appendingPathComponent(page.path)
            let generated = page.text()
            if writing {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try generated.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            let committed = try? String(contentsOf: url, encoding: .utf8)
            XCTAssertTrue(committed == generated, "\(page.path) differs from what the code generates: run `make reference` "
                + "and commit the result")
        }
    }
}
