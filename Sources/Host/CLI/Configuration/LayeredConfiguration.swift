import Foundation

/// Where a flag's value came from. Precedence: the command line, then the environment, then the
/// configuration file, then the flag's default.
enum ConfigSource: Equatable, Sendable {
    case commandLine
    case environment(variable: String)
    case file(path: String, key: String)

    var phrase: String {
        switch self {
        case .commandLine: "the command line"
        case .environment(let variable): "the environment variable \(variable)"
        case .file(let path, let key): "key \(key) of \(path)"
        }
    }
}

/// The command line with what the environment (`MCP_V8_<FLAG>`) and a configuration file
/// (`--config FILE` or `MCP_V8_CONFIG`) add to it: a flag the command line gives keeps its
/// value there; otherwise the environment's, otherwise the file's. Everything here is pure: the
/// file is read and inline documents are made through the functions passed in.
struct LayeredConfiguration {
    struct Setting: Equatable {
        /// What the flag's arguments say: one value, several for a repeating option, "true" or
        /// "false" for a switch.
        var values: [String]
        var source: ConfigSource
        /// Set from a table or array in the file: its values are a document's location, not the document.
        var isInlineDocument = false
    }

    /// What to parse: the settings of the environment and the file as arguments, then the command line.
    let arguments: [String]
    /// The flags set by the environment or the file, by name (`http-port`).
    let settings: [String: Setting]
    let catalog: FlagCatalog

    init(commandLine: [String], environment: [String: String], catalog: FlagCatalog,
         readFile: (String) throws(ConfigurationError) -> ConfigFile,
         inlineDocument: (FlagCatalog.Entry, String) throws(ConfigurationError) -> String) throws(ConfigurationError) {
        self.catalog = catalog
        let given = Self.namesGiven(in: commandLine)
        var settings: [String: Setting] = [:]
        if let path = Self.value(of: "config", in: commandLine) ?? environment["MCP_V8_CONFIG"] {
            let file = try readFile(path)
            for (key, value) in file.values.sorted(by: { $0.key < $1.key }) {
                guard let entry = catalog.entry(key: key) else {
                    let hint = catalog.entry(named: key).map { " (write \($0.key))" }
                        ?? (FlagCatalog.commandLineOnly.contains(key.replacingOccurrences(of: "_", with: "-"))
                            ? " (it can only be given on the command line)" : "")
                    throw ConfigurationError("\(file.path): unknown key \(key)\(hint); the keys are the long flag names "
                        + "with _ for -, as `mcp-v8 --help` lists them")
                }
                guard !given.contains(entry.name) else { continue }
                settings[entry.name] = try Self.setting(entry, from: value, in: file.path, inlineDocument: inlineDocument)
            }
        }
        for entry in catalog.entries where !given.contains(entry.name) {
            guard let text = environment[entry.variable] else { continue }
            settings[entry.name] = try Self.setting(entry, fromVariable: text)
        }
        self.settings = settings
        arguments = catalog.entries.flatMap { entry in settings[entry.name].map { Self.arguments(entry, $0) } ?? [] }
            + commandLine
    }

    /// Says where the flags an error message names were set, when not on the command line, so the
    /// operator knows which file or variable to fix.
    func provenance(ofFlagsIn message: String) -> String? {
        let named = catalog.entries.compactMap { entry -> String? in
            guard let setting = settings[entry.name], Self.mentions(message, flag: entry.name) else { return nil }
            return "--\(entry.name) came from \(setting.source.phrase)"
        }
        return named.isEmpty ? nil : named.joined(separator: "; ")
    }

    // MARK: - Reading one setting

    private static func setting(_ entry: FlagCatalog.Entry, from value: ConfigValue, in path: String,
                                inlineDocument: (FlagCatalog.Entry, String) throws(ConfigurationError) -> String)
        throws(ConfigurationError) -> Setting {
        let source = ConfigSource.file(path: path, key: entry.key)
        func refuse(_ expected: String) -> ConfigurationError {
            ConfigurationError("\(path): key \(entry.key) must be \(expected); it is \(value.kind)")
        }
        switch (entry.kind, value) {
        case (.flag, .bool(let on)):
            return Setting(values: [String(on)], source: source)
        case (.flag, _):
            throw refuse("true or false")
        case (.option, .list), (.option, .table), (.repeating, .table):
            guard FlagCatalog.documentOptions.contains(entry.name) else {
                throw refuse(entry.kind == .repeating ? "a string or number, or an array of them" : "a string or a number")
            }
            return Setting(values: [try inlineDocument(entry, value.jsonText)], source: source, isInlineDocument: true)
        case (_, .bool):
            throw refuse(entry.kind == .repeating ? "a string or number, or an array of them" : "a string or a number")
        case (.repeating, .list(let elements)):
            let values = elements.compactMap { element -> String? in
                if case .bool = element { return nil }
                return element.argumentText
            }
            guard values.count == elements.count else { throw refuse("an array of strings or numbers") }
            return Setting(values: values, source: source)
        case (_, _):
            return Setting(values: [value.argumentText ?? ""], source: source)
        }
    }

    private static func setting(_ entry: FlagCatalog.Entry, fromVariable text: String) throws(ConfigurationError) -> Setting {
        let source = ConfigSource.environment(variable: entry.variable)
        switch entry.kind {
        case .flag:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return Setting(values: ["true"], source: source)
            case "false", "0", "no", "off", "": return Setting(values: ["false"], source: source)
            default:
                throw ConfigurationError("\(entry.variable) must be true or false (or 1/0, yes/no, on/off); got '\(text)'")
            }
        case .option:
            return Setting(values: [text], source: source)
        case .repeating:
            // Several values as a JSON array of strings; anything else is one value.
            guard text.hasPrefix("[") else { return Setting(values: [text], source: source) }
            guard let values = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw ConfigurationError("\(entry.variable) starts with [ but is not a JSON array of strings; give one "
                    + "value, or several as [\"a\", \"b\"]")
            }
            return Setting(values: values, source: source)
        }
    }

    private static func arguments(_ entry: FlagCatalog.Entry, _ setting: Setting) -> [String] {
        switch entry.kind {
        case .flag: setting.values == ["true"] ? ["--\(entry.name)"] : []
        case .option, .repeating: setting.values.flatMap { ["--\(entry.name)", $0] }
        }
    }

    // MARK: - The command line

    /// The long names the command line gives (`--name value` or `--name=value`).
    static func namesGiven(in commandLine: [String]) -> Set<String> {
        Set(commandLine.compactMap { token in
            guard token.hasPrefix("--"), token.count > 2 else { return nil }
            return String(token.dropFirst(2).prefix { $0 != "=" })
        })
    }

    static func value(of name: String, in commandLine: [String]) -> String? {
        for (index, token) in commandLine.enumerated() {
            if token == "--\(name)", index + 1 < commandLine.count { return commandLine[index + 1] }
            if token.hasPrefix("--\(name)=") { return String(token.dropFirst(name.count + 3)) }
        }
        return nil
    }

    private static func mentions(_ message: String, flag name: String) -> Bool {
        var rest = message[...]
        while let range = rest.range(of: "--\(name)") {
            let next = rest[range.upperBound...].first
            if next == nil || !(next!.isLetter || next!.isNumber || next! == "-") { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }
}
