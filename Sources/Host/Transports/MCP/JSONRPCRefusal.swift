import Foundation
import HostSupport
import MCP

/// The error answers a transport gives itself to a message swift-sdk's Server should not see: one
/// that is not JSON-RPC, or one too large to read. JSON-RPC 2.0 asks for the request's id, or null
/// when it cannot be known (swift-sdk answers with a random one).
enum JSONRPCRefusal {
    static let parseErrorCode = -32700
    static let invalidRequestCode = -32600

    static func answer(id: Value = .null, code: Int, message: String) -> Data {
        PlainJSON.encoded(["jsonrpc": "2.0", "id": id, "error": ["code": .int(code), "message": .string(message)]])
    }

    /// The answer to a message, parsed into `value` (nil: it did not parse), when it is not
    /// JSON-RPC; nil when it is, to be handed on.
    static func answer(refusing value: Value?) -> Data? {
        guard let value else {
            return answer(code: parseErrorCode, message: "Parse error: the message is not valid JSON.")
        }
        let messages: [Value]
        switch value {
        case .object: messages = [value]
        case .array(let batch) where !batch.isEmpty: messages = batch
        default: messages = []
        }
        let id = if case .object(let fields) = value, let id = fields["id"], isID(id) { id } else { Value.null }
        guard !messages.isEmpty && messages.allSatisfy(isJSONRPC) else {
            return answer(id: id, code: invalidRequestCode, message: "Invalid request: a JSON-RPC 2.0 message is an "
                + "object with \"jsonrpc\": \"2.0\" and a method, or a result or error with an id (a string or an integer).")
        }
        guard !messages.contains(where: containsLongDataURL(outsideToolArguments:)) else {
            return answer(id: id, code: invalidRequestCode, message: "Invalid request: outside tool arguments, a "
                + "string that begins with \"data:\" may have at most \(longestDataURL) bytes.")
        }
        return nil
    }

    /// swift-sdk matches a regular expression against each string that begins with "data:", at
    /// about 0.5 µs a byte; tool arguments are set aside before it sees them (`SetAsideArguments`),
    /// and nothing else a client sends needs long ones.
    static let longestDataURL = 65536

    private static func containsLongDataURL(outsideToolArguments message: Value) -> Bool {
        guard case .object(var fields) = message, fields["method"] == "tools/call",
              case .object(var params)? = fields["params"] else { return hasLongDataURL(message) }
        params["arguments"] = nil
        fields["params"] = .object(params)
        return hasLongDataURL(.object(fields))
    }

    private static func hasLongDataURL(_ value: Value) -> Bool {
        switch value {
        case .string(let string): string.utf8.count > longestDataURL && string.hasPrefix("data:")
        case .array(let values): values.contains(where: hasLongDataURL)
        case .object(let fields): fields.values.contains(where: hasLongDataURL)
        default: false
        }
    }

    private static func isJSONRPC(_ message: Value) -> Bool {
        guard case .object(let fields) = message, fields["jsonrpc"] == "2.0" else { return false }
        if let id = fields["id"], !isID(id) { return false }
        if case .string? = fields["method"] { return true }
        return fields["id"] != nil && (fields["result"] != nil || fields["error"] != nil)
    }

    private static func isID(_ value: Value) -> Bool {
        switch value {
        case .string, .int: true
        default: false
        }
    }

    /// The `id` member of a JSON object cut short, found among the members before the point where
    /// it was cut (clients write it before `params`); null if it is not there.
    static func leadingID(of head: Data) -> Value {
        var scanner = JSONMemberScanner(bytes: Array(head.prefix(64 * 1024)))
        guard scanner.skip("{") else { return .null }
        while let key = scanner.string(), scanner.skip(":") {
            let valueStart = scanner.position
            guard scanner.skipValue() else { return .null }
            if key == "id" {
                let id = try? PlainJSON.value(from: Data(scanner.bytes[valueStart..<scanner.position]))
                return id.flatMap { isID($0) ? $0 : nil } ?? .null
            }
            guard scanner.skip(",") else { return .null }
        }
        return .null
    }
}

/// Walks JSON text one value at a time without decoding it, for text that may end anywhere.
private struct JSONMemberScanner {
    let bytes: [UInt8]
    var position = 0

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    /// Steps over `character` (after any whitespace) if it comes next.
    mutating func skip(_ character: Character) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == character.asciiValue else { return false }
        position += 1
        return true
    }

    /// The string that comes next, decoded; nil if none does or it is cut.
    mutating func string() -> String? {
        skipWhitespace()
        let start = position
        guard skipString(), case .string(let string)? = try? PlainJSON.value(from: Data(bytes[start..<position])) else {
            return nil
        }
        return string
    }

    private mutating func skipString() -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return false }
        position += 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""): position += 1; return true
            default: position += 1
            }
        }
        return false
    }

    /// Steps over the value that comes next; false if it is cut.
    mutating func skipValue() -> Bool {
        skipWhitespace()
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                position += 1
                if depth == 0 { return true }
            }
            return false
        default:  // a number or a literal, up to what follows it
            while position < bytes.count, !Array(",}] \t\n\r".utf8).contains(bytes[position]) { position += 1 }
            return position < bytes.count
        }
    }
}
