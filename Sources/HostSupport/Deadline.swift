import Foundation

/// Resumes a waiter once, with whichever result comes first; a result that comes before the
/// waiter is kept for it.
public final class OnceBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, Error>?
    private var waiter: CheckedContinuation<Value, Error>?

    public init() {}

    public func resume(returning value: Value) { resume(with: .success(value)) }
    public func resume(throwing error: Error) { resume(with: .failure(error)) }

    public func resume(with outcome: Result<Value, Error>) {
        lock.lock()
        guard result == nil else {
            lock.unlock()
            return
        }
        result = outcome
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(with: outcome)
    }

    /// The first result; a cancelled waiter gets CancellationError.
    public func value() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, Error>) in
                lock.lock()
                if let result {
                    lock.unlock()
                    continuation.resume(with: result)
                } else {
                    waiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            resume(throwing: CancellationError())
        }
    }
}

/// `operation`'s result, or `onTimeout()`'s error once `timeout` has passed, or CancellationError
/// when the calling task is cancelled, whichever comes first. An operation that ignores its
/// cancellation goes on in the background, unawaited.
public func withDeadline<Value: Sendable>(_ timeout: Duration, onTimeout: @escaping @Sendable () -> Error,
                                   _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let box = OnceBox<Value>()
    let work = Task {
        do {
            box.resume(returning: try await operation())
        } catch {
            box.resume(throwing: error)
        }
    }
    let timer = Task {
        try await Task.sleep(for: timeout)
        box.resume(throwing: onTimeout())
    }
    defer {
        timer.cancel()
        work.cancel()
    }
    return try await box.value()
}

extension Duration {
    /// The whole duration in milliseconds.
    public var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
