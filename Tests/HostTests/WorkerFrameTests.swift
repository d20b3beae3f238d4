import Foundation
@testable import Host
import HostSupport
import XCTest

/// The frames between the host and its workers (WorkerProtocol.swift), over a real pipe.
final class WorkerFrameTests: XCTestCase {
    private var pipeEnds: [Int32] = [-1, -1]

    override func setUp() {
        XCTAssertEqual(pipe(&pipeEnds), 0)
    }

    override func tearDown() {
        for fd in pipeEnds where fd >= 0 { close(fd) }
    }

    private func closeWriteEnd() {
        close(pipeEnds[1])
        pipeEnds[1] = -1
    }

    func testAHeapOfSeveralMebibytesArrivesWhole() throws {
        let heap = Data((0..<(3 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let outcome = RunOutcome(status: .completed, resultJSON: "1",
                                 newHeap: SealedHeap(id: try HeapID(validating: String(repeating: "ab", count: 32)), bytes: heap))
        let writer = FrameWriter(fd: pipeEnds[1])
        let sent = expectation(description: "sent")
        DispatchQueue.global().async {
            XCTAssertTrue(writer.send(WorkerEvent.finished(jobID: 9, outcome: outcome)))
            sent.fulfill()
        }
        guard case .finished(let jobID, let received) = FrameReader(fd: pipeEnds[0]).receive(WorkerEvent.self) else {
            return XCTFail("no finished event")
        }
        wait(for: [sent], timeout: 10)
        XCTAssertEqual(jobID, 9)
        XCTAssertEqual(received, outcome)
    }

    /// Found by `make fuzz`: the header alone had the reader allocate the 500 MiB it claims.
    func testALengthThatLiesEndsTheStreamWithoutAMessage() {
        var frame = Data()
        withUnsafeBytes(of: UInt32(500 << 20).bigEndian) { frame.append(contentsOf: $0) }
        frame.append(contentsOf: Array(#"{"started":{"jobID":1}}"#.utf8))
        XCTAssertTrue(frame.withUnsafeBytes { writeFully(pipeEnds[1], $0) })
        closeWriteEnd()
        XCTAssertNil(FrameReader(fd: pipeEnds[0]).receive(WorkerEvent.self))
    }
}
