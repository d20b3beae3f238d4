import ArgumentParser
import Foundation

/// The command's flags as a configuration file and the environment may set them, read from the
/// command's own definition (ArgumentParser's help dump), so a flag added to `MCPV8Command` is
/// configurable without being listed twice.
struct FlagCatalog: Sendable {
    enum Kind: Sendable, Equatable {
        /// A switch: true sets it; false leaves the default (off).
        case flag
        case option
        /// May be given more than once; a file or variable gives a list.
        case repeating
    }

    struct Entry: Sendable, Equatable {
        /// The long name without dashes, `http-port`.
        let name: String
        let kind: Kind
        /// The default as help shows it, nil when there is none.
        let defaultText: String?

        /// Its key in a configuration file: `http_port`.
        var key: String { name.replacingOccurrences(of: "-", with: "_") }
        /// Its environment variable: `MCP_V8_HTTP_PORT`.
        var variable: String { "MCP_V8_" + key.uppercased() }
    }

    /// In definition order, as help lists them.
    let entries: [Entry]

    /// Options that read a JSON document (from a file, or inline for --policies-json): a file may
    /// give them a table or an array instead of a path.
    static let documentOptions: Set<String> = ["policies-json", "tenants", "fetch-header-config", "mcp-config", "wasm-config"]

    /// What only the command line can say: which file to read, what to print, and roles the
    /// server gives its own children.
    static let commandLineOnly: Set<String> = ["config", "print-config", "print-openapi", "help", "version", "worker"]

    static let mcpV8 = FlagCatalog(dump: MCPV8Command._dumpHelp())

    init(dump: String) {
        let tool = try? JSONDecoder().decode(Dump.self, from: Data(dump.utf8))
        entries = (tool?.command.arguments ?? []).compactMap { argument in
            guard let name = argument.names?.first(where: { $0.kind == "long" })?.name,
                  !Self.commandLineOnly.contains(name), argument.kind != "positional" else { return nil }
            let kind: Kind = argument.kind == "flag" ? .flag : argument.isRepeating ? .repeating : .option
            return Entry(name: name, kind: kind, defaultText: argument.defaultValue)
        }
    }

    func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
    func entry(key: String) -> Entry? { entries.first { $0.key == key } }

    // The parts of ArgumentParser's `ToolInfoV0` read here.
    private struct Dump: Decodable {
        struct Command: Decodable { let arguments: [Argument]? }
        struct Argument: Decodable {
            struct Name: Decodable { let kind: String; let name: String }
            let kind: String
            let names: [Name]?
            let isRepeating: Bool
            let defaultValue: String?
        }
        let command: Command
    }
}
