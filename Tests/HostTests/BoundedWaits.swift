@testable import Host
import Foundation

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
    let first = FirstResult<T>()
    let work = Task {
        do {
            first.settle(.success(try await body()))
        } catch {
            first.settle(.failure(error))
        }
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        first.settle(.failure(WaitTimedOut(description: "gave up after \(limit) waiting for \(what)")))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await first.value
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

/// The first of several results; whoever awaits `value` gets it, whether it came before or after.
private final class FirstResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    private var waiter: CheckedContinuation<T, Error>?

    func settle(_ settled: Result<T, Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = settled
        let waiting = waiter
        waiter = nil
        lock.unlock()
        waiting?.resume(with: settled)
    }

    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                if let result {
                    lock.unlock()
                    continuation.resume(with: result)
                } else {
                    waiter = continuation
                    lock.unlock()
                }
            }
        }
    }
}
