@testable import Host
import Foundation
import HostSupport

/// A test's wait that ran out of time. It names what the test waited for: a hung worker or pool
/// fails its test instead of hanging `swift test` (TenantSchedulingTests once did).
struct WaitTimedOut: Error, CustomStringConvertible {
    let description: String
}

/// How long a test waits for one thing: far more than any run of the tests takes.
let testWaitLimit: Duration = .seconds(60)

/// `body`'s result, or `WaitTimedOut` naming `what` once `limit` has passed; `body` is cancelled
/// then, and left to end (or not) on its own.
func waitFor<T: Sendable>(_ what: String, limit: Duration = testWaitLimit,
                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withDeadline(limit, onTimeout: { WaitTimedOut(description: "gave up after \(limit) waiting for \(what)") },
                           body)
}

/// Returns once `condition` holds, checking every 10 ms; throws `WaitTimedOut` naming `what`
/// once `limit` has passed.
func waitUntil(_ what: String, limit: Duration = testWaitLimit, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else {
            throw WaitTimedOut(description: "gave up after \(limit) waiting until \(what)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

extension WorkerPool {
    /// `run`, within `testWaitLimit`: a run that never ends fails naming its code.
    func runBounded(_ request: RunRequest, jobID: UInt64? = nil,
                    onStarted: @escaping @Sendable () -> Void = {}) async throws -> RunOutcome {
        try await waitFor("the run of `\(request.code.prefix(80))` (capability set '\(request.capabilitySet)')") {
            try await self.run(request, jobID: jobID, onStarted: onStarted, onOutput: { _ in })
        }
    }
}
