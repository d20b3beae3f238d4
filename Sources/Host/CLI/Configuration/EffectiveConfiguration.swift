import Foundation

/// `--print-config`: every flag with the value the server runs with and where it came from, as
/// a TOML file `--config` would accept. Secrets are masked: the password in `database_url`, the
/// header values of `fetch_header`; a document given inline is not printed at all.
struct EffectiveConfiguration {
    let configuration: LayeredConfiguration
    /// The command line as given (its values win).
    let commandLine: [String]

    func render() -> String {
        var lines = ["# mcp-v8 \(MCPV8Version.current): the effective configuration (command line, then MCP_V8_* "
            + "variables, then the config file, then defaults)"]
        for entry in configuration.catalog.entries {
            let given = Self.commandLineValues(of: entry, in: commandLine)
            let setting = given.isEmpty ? configuration.settings[entry.name]
                : LayeredConfiguration.Setting(values: given, source: .commandLine)
            guard let setting else {
                lines.append(entry.defaultText.map { "\(entry.key) = \(Self.toml(entry, [$0]))  # default" }
                    ?? (entry.kind == .flag ? "\(entry.key) = false  # default" : "# \(entry.key) is not set"))
                continue
            }
            if setting.isInlineDocument {
                lines.append("# \(entry.key): a table in \(setting.source.phrase) (not printed: it may hold secrets)")
                continue
            }
            let values = setting.values.map { Self.masked(entry, $0) }
            lines.append("\(entry.key) = \(Self.toml(entry, values))  # \(setting.source.phrase)")
        }
        return lines.joined(separator: "\n")
    }

    /// A flag's values on the command line; a switch given there is "true".
    private static func commandLineValues(of entry: FlagCatalog.Entry, in commandLine: [String]) -> [String] {
        var values: [String] = []
        var index = 0
        while index < commandLine.count {
            let token = commandLine[index]
            if token == "--\(entry.name)" {
                if entry.kind == .flag { values = ["true"] } else if index + 1 < commandLine.count {
                    values = entry.kind == .repeating ? values + [commandLine[index + 1]] : [commandLine[index + 1]]
                    index += 1
                }
            } else if token.hasPrefix("--\(entry.name)=") {
                let value = String(token.dropFirst(entry.name.count + 3))
                values = entry.kind == .repeating ? values + [value] : [value]
            }
            index += 1
        }
        return values
    }

    private static func toml(_ entry: FlagCatalog.Entry, _ values: [String]) -> String {
        func scalar(_ text: String) -> String {
            if entry.kind == .flag, text == "true" || text == "false" { return text }
            if Int(text) != nil { return text }
            let quoted = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
                .flatMap { String(data: $0, encoding: .utf8) }
            return quoted ?? "\"\""
        }
        return entry.kind == .repeating ? "[" + values.map(scalar).joined(separator: ", ") + "]" : scalar(values.first ?? "")
    }

    private static func masked(_ entry: FlagCatalog.Entry, _ value: String) -> String {
        switch entry.name {
        case "database-url":
            // postgres://user:password@host/...: the password goes.
            guard let scheme = value.range(of: "://"), let at = value[scheme.upperBound...].firstIndex(of: "@"),
                  let colon = value[scheme.upperBound..<at].firstIndex(of: ":") else { return value }
            return String(value[..<value.index(after: colon)]) + "***" + String(value[at...])
        case "fetch-header":
            // host=...,header=...,value=SECRET,methods=...: the value goes.
            return value.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("value=") ? "value=***" : String($0) }.joined(separator: ",")
        default:
            return value
        }
    }
}
