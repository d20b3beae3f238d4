import Foundation
import HostSupport
import MCP

/// Tool-call arguments as the client wrote them, decoded once by `JSONRPCCheckingTransport` and set
/// aside for the CallTool handler: swift-sdk sees only a placeholder. (Its `Value` decoding matches
/// a data-URL regular expression against every string, twice per call, at about 0.5 µs a byte for
/// strings that begin with "data:", and turns those that match into `.data`. It builds that
/// expression anew for each string, about 0.1 ms even for a short one, so the placeholder holds a
/// number, not a string.)
final class SetAsideArguments: @unchecked Sendable {
    static let placeholderKey = "mcp-v8/arguments"
    private let lock = NSLock()
    private var nextNumber = 0
    /// By placeholder number: the arguments, and the key of the request they came with.
    private var waiting: [Int: (request: String, arguments: [String: Value])] = [:]
    /// The placeholder number of each request whose arguments wait, by request key.
    private var numbers: [String: Int] = [:]

    /// Keeps `arguments` of the request `id`; returns the placeholder to send on in their place.
    func setAside(_ arguments: [String: Value], request id: Value) -> Value {
        let request = Self.key(id)
        let number = lock.withLock {
            nextNumber += 1
            waiting[nextNumber] = (request, arguments)
            numbers[request] = nextNumber
            return nextNumber
        }
        return [Self.placeholderKey: .int(number)]
    }

    /// The arguments a placeholder stands for, taken out; other arguments as they are.
    func take(_ arguments: [String: Value]?) -> [String: Value]? {
        guard let arguments, arguments.count == 1, case .int(let number)? = arguments[Self.placeholderKey] else {
            return arguments
        }
        let entry = lock.withLock {
            let entry = waiting.removeValue(forKey: number)
            if let entry, numbers[entry.request] == number { numbers[entry.request] = nil }
            return entry
        }
        return entry?.arguments ?? [:]
    }

    /// Drops what request `id` set aside: it was answered without reaching the handler.
    func discard(request id: Value) {
        let request = Self.key(id)
        lock.withLock {
            guard let number = numbers.removeValue(forKey: request) else { return }
            waiting[number] = nil
        }
    }

    private static func key(_ id: Value) -> String { String(decoding: PlainJSON.encoded(id), as: UTF8.self) }
}
