import Foundation

/// A value a configuration file gives a flag, as TOML and JSON both can say it, before it
/// becomes command-line text.
enum ConfigValue: Equatable, Sendable {
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case list([ConfigValue])
    case table([String: ConfigValue])

    /// What the value is, for errors that say what was expected instead.
    var kind: String {
        switch self {
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .list: "an array"
        case .table: "a table"
        }
    }

    /// The text a scalar stands for on the command line (nil for arrays and tables).
    var argumentText: String? {
        switch self {
        case .bool(let value): String(value)
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .string(let value): value
        case .list, .table: nil
        }
    }

    /// The value as JSON text, keys sorted, for the flags that take a JSON document.
    var jsonText: String {
        let data = try? JSONSerialization.data(withJSONObject: foundationObject,
                                               options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return data.flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    }

    private var foundationObject: Any {
        switch self {
        case .bool(let value): value
        case .integer(let value): value
        case .number(let value): value
        case .string(let value): value
        case .list(let values): values.map(\.foundationObject)
        case .table(let entries): entries.mapValues(\.foundationObject)
        }
    }
}

extension ConfigValue: Decodable {
    /// JSON's own types; `true` is a boolean and `1` an integer, never each other.
    init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var values: [ConfigValue] = []
            while !list.isAtEnd { values.append(try list.decode(ConfigValue.self)) }
            self = .list(values)
            return
        }
        if let table = try? decoder.container(keyedBy: AnyKey.self) {
            var entries: [String: ConfigValue] = [:]
            for key in table.allKeys { entries[key.stringValue] = try table.decode(ConfigValue.self, forKey: key) }
            self = .table(entries)
            return
        }
        let value = try decoder.singleValueContainer()
        if let bool = try? value.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? value.decode(Int.self) { self = .integer(integer) }
        else if let number = try? value.decode(Double.self) { self = .number(number) }
        else if let string = try? value.decode(String.self) { self = .string(string) }
        else {
            throw DecodingError.dataCorruptedError(in: value, debugDescription: "null is not a flag value; leave the key out instead")
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
