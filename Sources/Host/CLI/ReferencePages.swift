import MCP

/// The reference pages under `docs/reference/`, generated from the code so they cannot say what
/// the code does not: the flags from the command's definition, the tools from their schemas (as a
/// server with default flags and no capabilities offers them). `ReferencePagesTests` fails when a
/// committed page differs; `make reference` writes them again.
public enum ReferencePages {
    public static let all: [(path: String, text: @Sendable () -> String)] = [
        ("docs/reference/flags.md", flags),
        ("docs/reference/tools.md", tools),
    ]

    static func flags() -> String {
        let catalog = FlagCatalog.mcpV8
        var text = """
            # Flags

            Generated from the command's definition (`make reference`); do not edit. Each flag can also be set \
            by its variable or by its key in a `--config` file (docs/configuration.md).

            | flag | variable | config key | default | meaning |
            | --- | --- | --- | --- | --- |

            """
        for entry in catalog.entries {
            let flag = entry.kind == .flag ? "`--\(entry.name)`" : "`--\(entry.name) VALUE`"
                + (entry.kind == .repeating ? " (repeatable)" : "")
            text += "| \(flag) | `\(entry.variable)` | `\(entry.key)` | \(entry.defaultText.map { "`\($0)`" } ?? "") "
                + "| \(cell(entry.abstract)) |\n"
        }
        text += "\nOnly on the command line:\n\n"
        for entry in catalog.commandLineEntries {
            text += "- `--\(entry.name)`\(entry.kind == .flag ? "" : " VALUE"): \(entry.abstract)\n"
        }
        return text
    }

    static func tools() -> String {
        // The defaults a command line without flags gets.
        let command = MCPV8Command.parseOrExit([])
        let defaults = ExecutionDefaults(heapMB: command.heapMemoryMax, timeoutSeconds: command.executionTimeout,
                                         outputLimitBytes: command.maxOutputBytes)
        let stateless = [RunJSTool.definition(description: CapabilitySummary.none.runJSDescription(stateless: true),
                                              defaults: defaults)]
        let stateful = StatefulTools.definitions(
            runJSDescription: CapabilitySummary.none.runJSDescription(stateless: false), defaults: defaults,
            inlineWaitMilliseconds: command.inlineWaitMilliseconds)
        func section(_ tools: [Tool]) -> String {
            DocumentationResources.toolsPage(tools).replacingOccurrences(of: "# Tools\n", with: "")
                .replacingOccurrences(of: "\n## ", with: "\n### ")
        }
        return """
            # Tools

            Generated from the tools' schemas (`make reference`); do not edit. These are the tools of a server \
            with default flags and no capabilities; a connection's own list is its `docs://tools` resource.

            ## Stateless (`--stateless`)
            \(section(stateless))
            ## Stateful (the default)
            \(section(stateful))
            """
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
