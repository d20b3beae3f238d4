import Foundation

/// The operator's policies per capability category, as `--policies-json` gives them:
/// `{"fetch": {"mode": "all", "policies": [{"url": "file:///abs/fetch.rego"},
///  {"url": "http://opa:8181", "policy_path": "mcp/fetch"}]}}`.
public struct PolicyConfiguration: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Every policy of the category must allow.
        case all
        /// One allowing policy is enough.
        case any
    }

    public enum Source: Codable, Sendable, Equatable, CustomStringConvertible {
        /// A Rego file, or a folder of them, evaluated in-process with rego-cpp.
        case rego(path: String)
        /// A remote OPA: `POST <url>/v1/data/<policyPath>`, decision `result.allow`.
        case opa(url: String, policyPath: String)

        public var description: String {
            switch self {
            case .rego(let path): "file://\(path)"
            case .opa(let url, let policyPath): "OPA \(url)/v1/data/\(policyPath)"
            }
        }
    }

    public struct Category: Codable, Sendable, Equatable {
        public var mode: Mode
        public var sources: [Source]
    }

    public var categories: [String: Category] = [:]

    public init() {}

    /// Other names a category is known by (the seeds call fs "filesystem").
    static let aliases = ["filesystem": "fs"]

    /// Category names become Rego package names (`data.mcp.<category>.allow`).
    static func isValidCategoryName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Parses `--policies-json`: the JSON itself, or the path of a file holding it. `source` names
    /// where it came from in error messages (a tenant's `policies` has the same shape).
    public static func parse(_ argument: String, source: String = "--policies-json") throws -> PolicyConfiguration {
        let text: String
        if argument.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{") {
            text = argument
        } else {
            do {
                text = try String(contentsOfFile: argument, encoding: .utf8)
            } catch {
                throw PolicyError("\(source): '\(argument)' is neither a JSON object nor a readable file: \(error.localizedDescription)")
            }
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PolicyError("\(source) is not valid JSON with an object at the top, such as "
                              + #"{"fetch": {"policies": [{"url": "file:///etc/mcp-v8/fetch.rego"}]}}"#)
        }
        var configuration = PolicyConfiguration()
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            let category = aliases[name] ?? name
            guard isValidCategoryName(category) else {
                throw PolicyError("\(source): '\(name)' is not a category name (lowercase letters, digits and _, such as fetch or fs)")
            }
            guard configuration.categories[category] == nil else {
                throw PolicyError("\(source): '\(category)' is given twice (filesystem is another name for fs)")
            }
            configuration.categories[category] = try parseCategory(value, name: name, category: category, source: source)
        }
        return configuration
    }

    private static func parseCategory(_ value: Any, name: String, category: String, source: String) throws -> Category {
        guard let object = value as? [String: Any] else {
            throw PolicyError("\(source): '\(name)' must be an object with \"policies\" (and optionally \"mode\")")
        }
        if let unknown = Set(object.keys).subtracting(["mode", "policies"]).sorted().first {
            throw PolicyError("\(source): '\(name)' has an unknown field '\(unknown)'; allowed: mode, policies")
        }
        var mode = Mode.all
        if let modeValue = object["mode"] {
            guard let text = modeValue as? String, let parsed = Mode(rawValue: text) else {
                throw PolicyError("\(source): '\(name).mode' must be \"all\" or \"any\"")
            }
            mode = parsed
        }
        guard let policies = object["policies"] as? [Any], !policies.isEmpty else {
            throw PolicyError("\(source): '\(name).policies' must be a non-empty array of {\"url\": ...}")
        }
        let sources = try policies.enumerated().map { index, policy in
            try parseSource(policy, at: "\(name).policies[\(index)]", category: category, source: source)
        }
        return Category(mode: mode, sources: sources)
    }

    private static func parseSource(_ value: Any, at location: String, category: String, source: String) throws -> Source {
        guard let object = value as? [String: Any], let url = object["url"] as? String else {
            throw PolicyError("\(source): '\(location)' must be an object with a \"url\" string")
        }
        if let unknown = Set(object.keys).subtracting(["url", "policy_path"]).sorted().first {
            throw PolicyError("\(source): '\(location)' has an unknown field '\(unknown)'; allowed: url, policy_path")
        }
        let policyPath = object["policy_path"]
        if policyPath != nil && !(policyPath is String) {
            throw PolicyError("\(source): '\(location).policy_path' must be a string such as \"mcp/\(category)\"")
        }
        if url.hasPrefix("file://") {
            guard policyPath == nil else {
                throw PolicyError("\(source): '\(location)': policy_path is for OPA URLs; a Rego file is queried at data.mcp.\(category).allow")
            }
            let path = String(url.dropFirst("file://".count))
            guard path.hasPrefix("/") else {
                throw PolicyError("\(source): '\(location)': '\(url)' must name an absolute path, such as file:///etc/mcp-v8/\(category).rego")
            }
            return .rego(path: path)
        }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
              parsed.host != nil else {
            throw PolicyError("\(source): '\(location)': '\(url)' is not a file:// URL of a Rego file or folder, nor an http(s):// URL of an OPA server")
        }
        return .opa(url: opaBase(url), policyPath: try normalizedPolicyPath(policyPath as? String ?? "mcp/\(category)", at: location))
    }

    /// Adds the seeds' `--opa-url` / `--opa-fetch-policy` as one more fetch policy.
    public mutating func addOPAFetchPolicy(url: String, policyPath: String) throws {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
              parsed.host != nil else {
            throw PolicyError("--opa-url: '\(url)' is not an http(s):// URL")
        }
        let source = Source.opa(url: Self.opaBase(url), policyPath: try Self.normalizedPolicyPath(policyPath, at: "--opa-fetch-policy"))
        categories["fetch", default: Category(mode: .all, sources: [])].sources.append(source)
    }

    private static func opaBase(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    private static func normalizedPolicyPath(_ path: String, at location: String) throws -> String {
        let trimmed = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let segments = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.isEmpty, segments.allSatisfy({ segment in
            !segment.isEmpty && segment.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
        }) else {
            throw PolicyError("\(location): '\(path)' is not a policy path such as mcp/fetch (segments of letters, digits, _ and -)")
        }
        return trimmed
    }
}
