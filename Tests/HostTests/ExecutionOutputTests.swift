@testable import Host
import XCTest

final class ExecutionOutputTests: XCTestCase {
    private func output(_ lines: [String]) -> ExecutionOutput {
        let output = ExecutionOutput()
        output.append(lines.map { OutputLine(level: .log, text: $0) })
        return output
    }

    func testLinePagesCarryBothCoordinates() {
        let out = output(["a", "bb", "ccc"])
        let first = out.page(lineOffset: 0, lineLimit: 2)
        XCTAssertEqual(first, .init(text: "a\nbb\n", lineOffset: 0, nextLineOffset: 2, byteOffset: 0,
                                    nextByteOffset: 5, totalLines: 3, totalBytes: 9, hasMore: true))
        let last = out.page(lineOffset: first.nextLineOffset, lineLimit: 2)
        XCTAssertEqual(last, .init(text: "ccc\n", lineOffset: 2, nextLineOffset: 3, byteOffset: 5,
                                   nextByteOffset: 9, totalLines: 3, totalBytes: 9, hasMore: false))
        XCTAssertEqual(out.page(lineOffset: 10, lineLimit: 5).text, "")
    }

    func testBytePagesNeverSplitACharacter() {
        let out = output(["héllo", "€uro"])  // h é(2) l l o \n €(3) u r o \n = 7 + 7 bytes
        var pages: [String] = []
        var offset = 0
        var guardCount = 0
        repeat {
            let page = out.page(byteOffset: offset, byteLimit: 2)
            pages.append(page.text)
            XCTAssertGreaterThan(page.nextByteOffset, offset, "every page makes progress")
            offset = page.nextByteOffset
            guardCount += 1
        } while offset < out.page(byteOffset: 0, byteLimit: 0).totalBytes && guardCount < 20
        XCTAssertEqual(pages.joined(), "héllo\n€uro\n")
        XCTAssertFalse(pages.contains { $0.contains("\u{FFFD}") })
        let middle = out.page(byteOffset: 2, byteLimit: 100)  // offset 2 is inside é: start moves forward
        XCTAssertEqual(middle.byteOffset, 3)
        XCTAssertEqual(middle.text, "llo\n€uro\n")
        XCTAssertEqual(middle.lineOffset, 0)
        XCTAssertEqual(out.page(byteOffset: 7, byteLimit: 3).lineOffset, 1)
        XCTAssertEqual(out.page(byteOffset: 7, byteLimit: 3).text, "€")
    }

    func testTruncationNoteIsTheLastLine() {
        let out = output(["x"])
        out.finish(RunOutcome(status: .completed, outputTruncated: true, outputBytes: 5000), outputLimitBytes: 1024)
        XCTAssertEqual(out.page(lineOffset: 0, lineLimit: 10).text, "x\n[output truncated: the run printed 5000 "
            + "bytes; only the first 1024 are kept (raise --max-output-bytes)]\n")
        XCTAssertEqual(out.text, out.page(lineOffset: 0, lineLimit: 10).text)
        let whole = output(["y"])
        whole.finish(RunOutcome(status: .completed, outputBytes: 2), outputLimitBytes: 1024)
        XCTAssertEqual(whole.text, "y\n", "output within the limit gets no note")
    }
}
