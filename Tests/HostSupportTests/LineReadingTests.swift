import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import HostSupport
import XCTest

/// `readLines` over a real pipe, written in pieces that split lines anywhere.
final class LineReadingTests: XCTestCase {
    private func read(_ pieces: [String], maximumLineBytes: Int = .max, skipOversized: Bool = true)
        -> (lines: [String], oversized: [String], end: LineReadingEnd) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let (input, output) = (fds[0], fds[1])
        let writer = Thread {
            for piece in pieces { _ = Array(piece.utf8).withUnsafeBytes { writeFully(output, $0) } }
            close(output)
        }
        writer.start()
        var lines: [String] = []
        var oversized: [String] = []
        let end = readLines(from: input, maximumLineBytes: maximumLineBytes,
                            onOversizedLine: skipOversized ? { oversized.append(String(decoding: $0, as: UTF8.self)) } : nil,
                            onLine: { lines.append(String(decoding: $0, as: UTF8.self)) })
        // Read what a reading that stopped early left, up to the writer's close: closing the input
        // under a writer still writing would raise SIGPIPE and end the whole test process.
        var rest = [UInt8](repeating: 0, count: 4096)
        while rest.withUnsafeMutableBytes({ Glibc.read(input, $0.baseAddress, $0.count) }) > 0 {}
        close(input)
        return (lines, oversized, end)
    }

    func testLinesSplitAcrossWritesAndBlankLines() {
        let result = read(["{\"a\"", ":1}\n\n \r\n{\"b\":2}\n{\"c\"", "", ":3}\n", "unterminated"])
        XCTAssertEqual(result.lines, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        XCTAssertEqual(result.end, .endOfFile)
    }

    func testAnOversizedLineIsHandedOverCutAndSkippedToItsNewline() {
        let long = String(repeating: "x", count: 200_000)
        let result = read(["ok\n", "head", long, long, "\nafter\n", "12345678\n"], maximumLineBytes: 8)
        XCTAssertEqual(result.lines, ["ok", "after", "12345678"])
        XCTAssertEqual(result.oversized, ["headxxxx"])
    }

    func testWithoutAHandlerAnOversizedLineEndsTheReading() {
        let result = read(["ok\n", "123456789\n", "never\n"], maximumLineBytes: 8, skipOversized: false)
        XCTAssertEqual(result.lines, ["ok"])
        XCTAssertEqual(result.end, .lineTooLong)
    }
}
