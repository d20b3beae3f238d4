@testable import Host
import XCTest

/// A test waiting on a run that never ends fails, naming what it waited for, instead of hanging
/// `swift test` (TenantSchedulingTests once hung so).
final class BoundedWaitsTests: XCTestCase {
    func testAWaitThatNeverEndsFailsNamingWhatItWaitedFor() async throws {
        do {
            // Like a pool that never answers: the continuation is never resumed, cancelled or not.
            _ = try await waitFor("a run that never ends", limit: .milliseconds(100)) {
                await withCheckedContinuation { (_: CheckedContinuation<Int, Never>) in }
            }
            XCTFail("the wait returned")
        } catch let error as WaitTimedOut {
            XCTAssertEqual(error.description, "gave up after 0.1 seconds waiting for a run that never ends")
        }
        do {
            try await waitUntil("a worker is busy", limit: .milliseconds(100)) { false }
            XCTFail("the wait returned")
        } catch let error as WaitTimedOut {
            XCTAssertEqual(error.description, "gave up after 0.1 seconds waiting until a worker is busy")
        }
    }

    func testAnAnswerOrErrorInTimeIsPassedOn() async throws {
        let answer = try await waitFor("an answer", limit: .seconds(10)) { 42 }
        XCTAssertEqual(answer, 42)
        do {
            _ = try await waitFor("an error", limit: .seconds(10)) { () async throws -> Int in throw ServerBusyError(description: "busy") }
            XCTFail("no error")
        } catch let error as ServerBusyError {
            XCTAssertEqual(error.description, "busy")
        }
    }
}
