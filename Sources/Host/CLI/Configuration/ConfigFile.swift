import Foundation
import TOMLKit

/// A `--config` file: TOML (`.toml`) or JSON (`.json`), one key per flag at the top level.
struct ConfigFile: Sendable {
    let path: String
    let values: [String: ConfigValue]

    static func read(_ path: String) throws(ConfigurationError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError("cannot read the config file \(path): \(error.localizedDescription)")
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "toml": return ConfigFile(path: path, values: try parseTOML(text, path: path))
        case "json": return ConfigFile(path: path, values: try parseJSON(text, path: path))
        default:
            throw ConfigurationError("the config file \(path) must end in .toml or .json, which says how to read it")
        }
    }

    private static func parseJSON(_ text: String, path: String) throws(ConfigurationError) -> [String: ConfigValue] {
        let value: ConfigValue
        do {
            value = try JSONDecoder().decode(ConfigValue.self, from: Data(text.utf8))
        } catch {
            throw ConfigurationError("the config file \(path) is not valid JSON: \(describe(error))")
        }
        guard case .table(let entries) = value else {
            throw ConfigurationError("the config file \(path) must hold a JSON object of flag names and values; it holds \(value.kind)")
        }
        return entries
    }

    private static func parseTOML(_ text: String, path: String) throws(ConfigurationError) -> [String: ConfigValue] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError("the config file \(path) is not valid TOML: \(error.description) at "
                + "line \(error.source.begin.line), column \(error.source.begin.column)")
        } catch {
            throw ConfigurationError("the config file \(path) is not valid TOML: \(error)")
        }
        var entries: [String: ConfigValue] = [:]
        for (key, value) in table { entries[key] = try convert(value, path: path, key: key) }
        return entries
    }

    private static func convert(_ value: TOMLValueConvertible, path: String, key: String) throws(ConfigurationError) -> ConfigValue {
        switch value.type {
        case .bool: return .bool(value.bool ?? false)
        case .int: return .integer(value.int ?? 0)
        case .double: return .number(value.double ?? 0)
        case .string: return .string(value.string ?? "")
        case .array:
            var values: [ConfigValue] = []
            for element in value.array ?? TOMLArray() { values.append(try convert(element, path: path, key: key)) }
            return .list(values)
        case .table:
            var entries: [String: ConfigValue] = [:]
            for (name, element) in value.table ?? TOMLTable() {
                entries[name] = try convert(element, path: path, key: "\(key).\(name)")
            }
            return .table(entries)
        default:
            throw ConfigurationError("\(path): key \(key) holds a TOML \(value.type); flags take strings, numbers, "
                + "booleans, arrays and tables")
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let context)?, .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            let at = context.codingPath.map(\.stringValue).joined(separator: ".")
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return (at.isEmpty ? "" : "at \(at): ") + (underlying ?? context.debugDescription)
        default:
            return "\(error)"
        }
    }
}

/// A configuration file or environment variable that cannot be used, naming where and why.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
