import MCP

/// A tool call's arguments, checked one by one so every complaint names the parameter, what it
/// must be, and what came instead.
struct ToolArguments {
    private let values: [String: Value]
    private let toolName: String

    init(_ values: [String: Value]?, tool: String, allowed: [String]) throws(ToolArgumentError) {
        self.values = values ?? [:]
        toolName = tool
        if let unknown = self.values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ToolArgumentError(
                "\(tool): unknown parameter '\(unknown)'; allowed: \(allowed.joined(separator: ", ")).")
        }
    }

    func requiredString(_ name: String) throws(ToolArgumentError) -> String {
        guard let value = values[name], value != .null else {
            throw ToolArgumentError("\(toolName): missing required parameter '\(name)' (a string).")
        }
        guard case .string(let string) = value else {
            throw ToolArgumentError("\(toolName): parameter '\(name)' must be a string, got \(describe(value)).")
        }
        return string
    }

    func optionalString(_ name: String) throws(ToolArgumentError) -> String? {
        guard let value = values[name], value != .null else { return nil }
        guard case .string(let string) = value else {
            throw ToolArgumentError("\(toolName): parameter '\(name)' must be a string, got \(describe(value)).")
        }
        return string
    }

    /// An object whose values are all strings (tags).
    func optionalStringMap(_ name: String) throws(ToolArgumentError) -> [String: String]? {
        guard let value = values[name], value != .null else { return nil }
        guard case .object(let object) = value else {
            throw ToolArgumentError("\(toolName): parameter '\(name)' must be an object of strings, got \(describe(value)).")
        }
        var map: [String: String] = [:]
        for (key, entry) in object {
            guard case .string(let string) = entry else {
                throw ToolArgumentError("\(toolName): parameter '\(name)': the value of '\(key.prefix(40))' must be a "
                    + "string, got \(describe(entry)).")
            }
            map[key] = string
        }
        return map
    }

    func requiredStringArray(_ name: String) throws(ToolArgumentError) -> [String] {
        guard let value = values[name], value != .null else {
            throw ToolArgumentError("\(toolName): missing required parameter '\(name)' (an array of strings).")
        }
        guard case .array(let array) = value else {
            throw ToolArgumentError("\(toolName): parameter '\(name)' must be an array of strings, got \(describe(value)).")
        }
        var strings: [String] = []
        for entry in array {
            guard case .string(let string) = entry else {
                throw ToolArgumentError("\(toolName): parameter '\(name)' must hold only strings, got \(describe(entry)).")
            }
            strings.append(string)
        }
        return strings
    }

    func has(_ name: String) -> Bool { values[name].map { $0 != .null } ?? false }

    /// `tenant`: whose limit the range is, named in the complaint (none for the implicit tenant).
    func optionalInteger(_ name: String, in range: ClosedRange<Int>, of tenant: Tenant? = nil) throws(ToolArgumentError) -> Int? {
        guard let value = values[name], value != .null else { return nil }
        let integer: Int? = switch value {
        case .int(let int): int
        case .double(let double) where double.rounded() == double && abs(double) < 1e15: Int(double)
        default: nil
        }
        guard let integer, range.contains(integer) else {
            throw ToolArgumentError("\(toolName): parameter '\(name)' must be an integer from "
                + "\(range.lowerBound) to \(range.upperBound)"
                + (tenant.map { $0.name.isEmpty ? "" : " (the most tenant '\($0.name)' may ask for)" } ?? "")
                + ", got \(describe(value)).")
        }
        return integer
    }
}

struct ToolArgumentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func describe(_ value: Value) -> String {
    switch value {
    case .null: "null"
    case .bool(let bool): "\(bool)"
    case .int(let int): "\(int)"
    case .double(let double): "\(double)"
    case .string(let string): "the string \"\(string.prefix(40))\(string.count > 40 ? "..." : "")\""
    case .data: "binary data"
    case .array: "an array"
    case .object: "an object"
    }
}
