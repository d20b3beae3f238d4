import Foundation
import MCP

/// JSON text to and from an MCP `Value`. Decoding keeps values exactly as written. (`Value`'s own
/// decoding turns any string shaped like a data URL into `.data`, and matches a freshly built regex
/// against every string to find out, which cost a third of the host's CPU when decoding results.)
public enum PlainJSON {
    public static func value(from json: String) throws -> Value {
        try value(from: Data(json.utf8))
    }

    public static func value(from json: Data) throws -> Value {
        try JSONDecoder().decode(Node.self, from: json).value
    }

    /// `value` as key-sorted JSON with unescaped slashes: the one form every answer is written in.
    public static func encoded(_ value: Value, pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    /// A run's result for the `result` field: its JSON value, or the text itself if it does not parse.
    public static func result(_ json: String) -> Value {
        (try? value(from: json)) ?? .string(json)
    }

    /// A JSON value as written, for Decodable types that hold one.
    public struct Node: Decodable {
        public let value: Value

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                value = .null
            } else if let bool = try? container.decode(Bool.self) {
                value = .bool(bool)
            } else if let int = try? container.decode(Int.self) {
                value = .int(int)
            } else if let double = try? container.decode(Double.self) {
                value = .double(double)
            } else if let string = try? container.decode(String.self) {
                value = .string(string)
            } else if let array = try? container.decode([Node].self) {
                value = .array(array.map(\.value))
            } else {
                value = .object(try container.decode([String: Node].self).mapValues(\.value))
            }
        }
    }
}
