import Foundation
import HostSupport
import MCP

/// Tool-call arguments as the client wrote them, decoded once by `JSONRPCCheckingTransport` and set
/// aside for the CallTool handler: swift-sdk sees only a placeholder. (Its `Value` decoding matches
/// a data-URL regular expression against every string, twice per call, at about 0.5 µs a byte for
/// strings that begin with "data:", and turns those that match into `.data`.)
final class SetAsideArguments: @unchecked Sendable {
    static let placeholderKey = "mcp-v8/arguments"
    private let lock = NSLock()
    private var waiting: [String: [String: Value]] = [:]

    /// Keeps `arguments` of the request `id`; returns the placeholder to send on in their place.
    func setAside(_ arguments: [String: Value], request id: Value) -> Value {
        let key = String(decoding: PlainJSON.encoded(id), as: UTF8.self)
        lock.withLock { waiting[key] = arguments }
        return [Self.placeholderKey: .string(key)]
    }

    /// The arguments a placeholder stands for, taken out; other arguments as they are.
    func take(_ arguments: [String: Value]?) -> [String: Value]? {
        guard let arguments, arguments.count == 1, case .string(let key)? = arguments[Self.placeholderKey] else {
            return arguments
        }
        return lock.withLock { waiting.removeValue(forKey: key) } ?? [:]
    }

    /// Drops what request `id` set aside: it was answered without reaching the handler.
    func discard(request id: Value) {
        let key = String(decoding: PlainJSON.encoded(id), as: UTF8.self)
        _ = lock.withLock { waiting.removeValue(forKey: key) }
    }
}
