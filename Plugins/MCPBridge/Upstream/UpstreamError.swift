import Foundation

/// Why a request to an upstream MCP server failed, worded for the guest (and the log).
public enum UpstreamError: Error, CustomStringConvertible, Sendable, Equatable {
    /// It could not be started or connected to, or did not complete the handshake.
    case unreachable(String, reason: String)
    /// It went away (exited, closed the connection) while a request was in flight.
    case lost(String, reason: String)
    /// It did not answer in time.
    case timedOut(String, what: String, milliseconds: Int)
    /// It answered something that is not MCP.
    case protocolViolation(String, reason: String)
    /// It answered the request with a JSON-RPC error.
    case refused(String, what: String, message: String)

    public var description: String {
        switch self {
        case let .unreachable(server, reason): "upstream '\(server)' is not reachable: \(reason)"
        case let .lost(server, reason): "upstream '\(server)' went away during the request: \(reason)"
        case let .timedOut(server, what, milliseconds): "upstream '\(server)' did not answer \(what) within \(milliseconds) ms"
        case let .protocolViolation(server, reason): "upstream '\(server)' did not speak MCP: \(reason)"
        case let .refused(server, what, message): "upstream '\(server)' refused \(what): \(message)"
        }
    }

    /// The guest's `error.code`.
    public var code: String {
        switch self {
        case .unreachable: "ERR_MCP_UNREACHABLE"
        case .lost: "ECONNRESET"
        case .timedOut: "ETIMEDOUT"
        case .protocolViolation: "ERR_MCP_PROTOCOL"
        case .refused: "ERR_MCP_REFUSED"
        }
    }

    /// The part after the server's name, for wrapping into another kind.
    var reason: String {
        switch self {
        case let .unreachable(_, reason), let .lost(_, reason), let .protocolViolation(_, reason): reason
        case let .timedOut(_, what, milliseconds): "no answer to \(what) within \(milliseconds) ms"
        case let .refused(_, _, message): message
        }
    }
}

/// Resumes a waiter once, with whichever result comes first; a result that comes before the
/// waiter is kept for it.
final class OnceBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Value, Error>?
    private var waiter: CheckedContinuation<Value, Error>?

    func resume(returning value: Value) { resume(with: .success(value)) }
    func resume(throwing error: Error) { resume(with: .failure(error)) }

    func resume(with outcome: Result<Value, Error>) {
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
    func value() async throws -> Value {
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
func withDeadline<Value: Sendable>(_ timeout: Duration, onTimeout: @escaping @Sendable () -> Error,
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
    var milliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
