import Foundation

/// One MCP server the bridge connects to, as `--mcp-server`, `--mcp-config` and the plugin's
/// `mcp.servers` setting describe it.
public struct UpstreamServer: Codable, Sendable, Equatable {
    public enum Transport: String, Codable, Sendable {
        /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
        case stdio
        /// Streamable HTTP (one POST per message; JSON or an event stream in answer).
        case http
        /// The older HTTP+SSE transport (an event stream from GET, messages POSTed to its endpoint).
        case sse
    }

    /// `[A-Za-z0-9_-]+`: the guest names the server with it, and it is part of tool names.
    public var name: String
    public var transport: Transport
    /// stdio: the executable (PATH searched), its arguments and the environment it adds.
    public var command: String?
    public var args: [String]?
    public var env: [String: String]?
    /// http and sse: the endpoint, and headers sent with every request (credentials, say; they
    /// never reach policy input, logs or errors).
    public var url: String?
    public var headers: [String: String]?

    public init(name: String, transport: Transport, command: String? = nil, args: [String]? = nil,
                env: [String: String]? = nil, url: String? = nil, headers: [String: String]? = nil) {
        self.name = name
        self.transport = transport
        self.command = command
        self.args = args
        self.env = env
        self.url = url
        self.headers = headers
    }

    /// `name=stdio:command arg ...` (arguments split at spaces; quote with '...' or "..."),
    /// `name=http:URL` or `name=sse:URL`.
    public static func parse(flag argument: String) throws -> UpstreamServer {
        let format = "(format: NAME=stdio:COMMAND ARGS..., NAME=http:URL or NAME=sse:URL)"
        let pair = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard pair.count == 2 else { throw UpstreamConfigurationError("--mcp-server '\(argument)' has no '=' \(format)") }
        let name = String(pair[0])
        let spec = String(pair[1])
        let kind = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard kind.count == 2, let transport = Transport(rawValue: String(kind[0])) else {
            throw UpstreamConfigurationError("--mcp-server '\(argument)': the value must start with stdio:, http: or sse: \(format)")
        }
        let rest = String(kind[1])
        let server: UpstreamServer
        switch transport {
        case .stdio:
            let words = try splitWords(rest, source: "--mcp-server \(name)")
            guard let command = words.first else {
                throw UpstreamConfigurationError("--mcp-server \(name): stdio: needs a command \(format)")
            }
            server = UpstreamServer(name: name, transport: .stdio, command: command, args: Array(words.dropFirst()))
        case .http, .sse:
            server = UpstreamServer(name: name, transport: transport, url: rest)
        }
        return try server.checked(source: "--mcp-server")
    }

    /// The common `{"mcpServers": {"name": {"command", "args", "env"} | {"url", "transport", "headers"}}}` file
    /// (`type` is taken for `transport`; `streamable-http` and `streamableHttp` for `http`).
    public static func parse(configFile path: String) throws -> [UpstreamServer] {
        let source = "--mcp-config \(path)"
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw UpstreamConfigurationError("\(source): cannot read the file: \(error.localizedDescription)")
        }
        struct Entry: Decodable {
            var command: String?
            var args: [String]?
            var env: [String: String]?
            var url: String?
            var headers: [String: String]?
            var transport: String?
            var type: String?
        }
        struct File: Decodable {
            var mcpServers: [String: Entry]
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw UpstreamConfigurationError(#"\#(source): not a JSON object {"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}} or {"url": ..., "transport": "http"|"sse"}}} (\#(error))"#)
        }
        return try file.mcpServers.keys.sorted().map { name in
            let entry = file.mcpServers[name]!
            let declared = entry.transport ?? entry.type
            let transport: Transport
            switch declared?.lowercased() {
            case nil: transport = entry.command != nil ? .stdio : .http
            case "stdio": transport = .stdio
            case "http", "streamable-http", "streamablehttp", "streamable_http": transport = .http
            case "sse": transport = .sse
            case let other?:
                throw UpstreamConfigurationError("\(source): server '\(name)' has transport '\(other)'; use stdio, http or sse")
            }
            if transport == .stdio && (entry.url != nil || entry.headers != nil) || transport != .stdio && entry.command != nil {
                throw UpstreamConfigurationError("\(source): server '\(name)' must have either a command (stdio) or a url (http, sse), not both")
            }
            return try UpstreamServer(name: name, transport: transport, command: entry.command, args: entry.args,
                                      env: entry.env, url: entry.url, headers: entry.headers).checked(source: source)
        }
    }

    /// Checks a whole list: each server, and that no name is given twice.
    public static func checked(_ servers: [UpstreamServer]) throws -> [UpstreamServer] {
        var seen = Set<String>()
        for server in servers {
            _ = try server.checked(source: "mcp server")
            guard seen.insert(server.name).inserted else {
                throw UpstreamConfigurationError("the MCP server name '\(server.name)' is given twice (--mcp-server, --mcp-config); names must be unique")
            }
        }
        return servers
    }

    /// The list as the plugin's `mcp.servers` setting.
    public static func setting(_ servers: [UpstreamServer]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(servers)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// The plugin's `mcp.servers` setting, checked as at start-up.
    public static func parse(setting json: String) throws -> [UpstreamServer] {
        let servers: [UpstreamServer]
        do {
            servers = try JSONDecoder().decode([UpstreamServer].self, from: Data(json.utf8))
        } catch {
            throw UpstreamConfigurationError("the mcp.servers setting is not a JSON list of servers (\(error))")
        }
        return try checked(servers)
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-")
        }
    }

    private func checked(source: String) throws -> UpstreamServer {
        guard Self.isValidName(name) else {
            throw UpstreamConfigurationError("\(source): the server name '\(name)' may only hold letters, digits, '_' and '-'")
        }
        switch transport {
        case .stdio:
            guard let command, !command.isEmpty else {
                throw UpstreamConfigurationError("\(source): server '\(name)' (stdio) needs a command")
            }
            let texts = [command] + (args ?? []) + (env ?? [:]).flatMap { [$0.key, $0.value] }
            guard !texts.contains(where: { $0.contains("\0") }) else {
                throw UpstreamConfigurationError("\(source): server '\(name)': the command, arguments and environment may not contain NUL")
            }
            guard !(env ?? [:]).keys.contains(where: { $0.isEmpty || $0.contains("=") }) else {
                throw UpstreamConfigurationError("\(source): server '\(name)': environment names may not be empty or contain '='")
            }
        case .http, .sse:
            guard let url, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                  let host = parsed.host, !host.isEmpty else {
                throw UpstreamConfigurationError("\(source): server '\(name)' needs an http:// or https:// URL; got '\(url ?? "")'")
            }
            for (header, value) in headers ?? [:] {
                guard !header.isEmpty, header.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                    throw UpstreamConfigurationError("\(source): server '\(name)': '\(header)' is not an HTTP header name")
                }
                guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                    throw UpstreamConfigurationError("\(source): server '\(name)': the value of header '\(header)' contains CR, LF or NUL")
                }
            }
        }
        return self
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
    }

    /// Splits at unquoted whitespace; '...' keeps everything, "..." and bare words take \ escapes.
    static func splitWords(_ text: String, source: String) throws -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
            } else if quote == "'" {
                if character == "'" { quote = nil } else { word.append(character) }
            } else if character == "\\" {
                escaped = true
                inWord = true
            } else if quote == "\"" {
                if character == "\"" { quote = nil } else { word.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else {
            throw UpstreamConfigurationError("\(source): unbalanced quote or trailing backslash in '\(text)'")
        }
        if inWord { words.append(word) }
        return words
    }
}

/// A server list that cannot be used; the message names the flag or file and what is wrong.
public struct UpstreamConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
