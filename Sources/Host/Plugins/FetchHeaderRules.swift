import Foundation

/// Headers the Fetch plugin adds to requests for matching hosts and methods (`--fetch-header`,
/// `--fetch-header-config`): secrets the guest uses without ever seeing. Parsed and checked here;
/// the plugin gets them as JSON in its `header_rules` setting.
public struct FetchHeaderRule: Codable, Sendable, Equatable {
    /// `api.example.com`, or `*.example.com` for the domain and all below it; case-insensitive.
    public var host: String
    /// Upper-case methods the rule applies to; nil for all.
    public var methods: [String]?
    public var headers: [String: String]

    /// `host=<host>,header=<name>,value=<value>[,methods=GET;POST]`.
    public static func parse(flag argument: String) throws -> FetchHeaderRule {
        var fields: [String: String] = [:]
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            guard pair.count == 2, ["host", "header", "value", "methods"].contains(key) else {
                throw PluginError("--fetch-header: '\(part)' is not one of host=, header=, value=, methods= "
                                  + "(format: host=<host>,header=<name>,value=<value>[,methods=GET;POST])")
            }
            guard fields.updateValue(String(pair[1]), forKey: key) == nil else {
                throw PluginError("--fetch-header: '\(key)' is given twice")
            }
        }
        for required in ["host", "header", "value"] where fields[required] == nil {
            throw PluginError("--fetch-header: '\(required)=' is missing (format: host=<host>,header=<name>,value=<value>[,methods=GET;POST])")
        }
        let methods = fields["methods"].map { $0.split(separator: ";").map(String.init) }
        return try FetchHeaderRule(host: fields["host"]!, methods: methods,
                                   headers: [fields["header"]!: fields["value"]!]).checked(source: "--fetch-header")
    }

    /// A JSON file: `[{"host": "...", "methods": ["GET"], "headers": {"Name": "value"}}]`.
    public static func parse(configFile path: String) throws -> [FetchHeaderRule] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PluginError("--fetch-header-config: cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(json: data, source: "--fetch-header-config \(path)")
    }

    /// Rules as JSON, from a file or a tenant's `fetch_headers`; `source` names it in errors.
    public static func parse(json data: Data, source: String) throws -> [FetchHeaderRule] {
        let rules: [FetchHeaderRule]
        do {
            rules = try JSONDecoder().decode([FetchHeaderRule].self, from: data)
        } catch {
            throw PluginError("\(source) is not a JSON array of "
                              + #"{"host": "...", "methods": ["GET"], "headers": {"Name": "value"}} (\#(error))"#)
        }
        return try rules.map { try $0.checked(source: source) }
    }

    /// The rules as the plugin's `header_rules` setting.
    public static func setting(_ rules: [FetchHeaderRule]) -> String {
        String(decoding: (try? JSONEncoder().encode(rules)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Rejects what would let a rule smuggle another header or request line (CR, LF, NUL) and
    /// names that are not HTTP tokens. Messages name the header, never its value.
    private func checked(source: String) throws -> FetchHeaderRule {
        let hostPattern = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        guard !hostPattern.isEmpty, !hostPattern.contains(where: { $0 == "*" || $0 == "/" || $0.isWhitespace }) else {
            throw PluginError("\(source): host '\(host)' must be a host name such as api.example.com or *.example.com")
        }
        guard !headers.isEmpty else { throw PluginError("\(source): the rule for \(host) has no headers") }
        for (name, value) in headers {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                throw PluginError("\(source): '\(name)' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
            }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw PluginError("\(source): the value of header '\(name)' contains CR, LF or NUL")
            }
        }
        var rule = self
        rule.methods = try methods.map { methods in
            try methods.map { method in
                guard !method.isEmpty, method.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                    throw PluginError("\(source): '\(method)' is not an HTTP method")
                }
                return method.uppercased()
            }
        }
        return rule
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
    }
}
