import Foundation
import XCTest
@testable import Host

/// The configuration layers without files or a process environment: the command line, then
/// MCP_V8_* variables, then the file.
final class LayeredConfigurationTests: XCTestCase {
    private func layers(_ commandLine: [String], environment: [String: String] = [:],
                        file: [String: ConfigValue]? = nil) throws -> LayeredConfiguration {
        try LayeredConfiguration(
            commandLine: commandLine + (file == nil ? [] : ["--config", "/etc/mcp-v8.toml"]), environment: environment,
            catalog: .mcpV8,
            readFile: { path throws(ConfigurationError) in ConfigFile(path: path, values: file ?? [:]) },
            inlineDocument: { entry, json throws(ConfigurationError) in "inline:\(entry.key):\(json)" })
    }

    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testTheCatalogHasEveryFlagButTheCommandLineOnlyOnes() {
        let names = Set(FlagCatalog.mcpV8.entries.map(\.name))
        for name in ["stateless", "http-port", "fetch-header", "database-url", "tenants", "log-level"] {
            XCTAssertTrue(names.contains(name), name)
        }
        for name in ["config", "print-config", "help", "version", "worker", "print-openapi"] {
            XCTAssertFalse(names.contains(name), name)
        }
        let fetchHeader = FlagCatalog.mcpV8.entry(named: "fetch-header")
        XCTAssertEqual(fetchHeader?.kind, .repeating)
        XCTAssertEqual(fetchHeader?.key, "fetch_header")
        XCTAssertEqual(fetchHeader?.variable, "MCP_V8_FETCH_HEADER")
        XCTAssertEqual(FlagCatalog.mcpV8.entry(named: "stateless")?.kind, .flag)
        XCTAssertEqual(FlagCatalog.mcpV8.entry(named: "execution-timeout")?.defaultText, "30")
    }

    func testEveryFlagIsReachableFromAVariableAndAFileKey() throws {
        for entry in FlagCatalog.mcpV8.entries {
            let text = entry.kind == .flag ? "true" : "v"
            let file: ConfigValue = entry.kind == .flag ? .bool(true) : .string("v")
            for layered in [try layers([], environment: [entry.variable: text]), try layers([], file: [entry.key: file])] {
                let expected = entry.kind == .flag ? ["--\(entry.name)"] : ["--\(entry.name)", "v"]
                XCTAssertEqual(Array(layered.arguments.prefix(expected.count)), expected, entry.name)
            }
        }
    }

    func testTheCommandLineWinsOverTheEnvironmentWhichWinsOverTheFile() throws {
        let file: [String: ConfigValue] = ["http_port": .integer(1), "execution_timeout": .integer(2), "heap_memory_max": .integer(3)]
        let environment = ["MCP_V8_HTTP_PORT": "10", "MCP_V8_EXECUTION_TIMEOUT": "20"]
        let layered = try layers(["--http-port", "100"], environment: environment, file: file)
        XCTAssertNil(layered.settings["http-port"])
        XCTAssertEqual(layered.settings["execution-timeout"], .init(values: ["20"], source: .environment(variable: "MCP_V8_EXECUTION_TIMEOUT")))
        XCTAssertEqual(layered.settings["heap-memory-max"], .init(values: ["3"], source: .file(path: "/etc/mcp-v8.toml", key: "heap_memory_max")))
        // The command line comes last, and nothing else names --http-port.
        XCTAssertEqual(layered.arguments.filter { $0 == "--http-port" }.count, 1)
        XCTAssertEqual(Array(layered.arguments.suffix(4)), ["--http-port", "100", "--config", "/etc/mcp-v8.toml"])
        let parsed = try MCPV8Command.parse(layered.arguments)
        XCTAssertEqual(parsed.httpPort, 100)
        XCTAssertEqual(parsed.executionTimeout, 20)
        XCTAssertEqual(parsed.heapMemoryMax, 3)
    }

    func testSwitchesListsAndDocuments() throws {
        let file: [String: ConfigValue] = [
            "stateless": .bool(true), "fetch_header": .list([.string("a"), .string("b")]),
            "tenants": .table(["t": .table(["limits": .table([:])])]),
        ]
        let layered = try layers([], environment: ["MCP_V8_ALLOW_EXTERNAL_MODULES": "no"], file: file)
        XCTAssertTrue(layered.arguments.contains("--stateless"))
        XCTAssertFalse(layered.arguments.contains("--allow-external-modules"))
        XCTAssertEqual(layered.settings["allow-external-modules"]?.values, ["false"])
        XCTAssertEqual(layered.arguments.split(separator: "--fetch-header").count, 3)
        XCTAssertEqual(layered.settings["tenants"]?.values, [#"inline:tenants:{"t":{"limits":{}}}"#])
        XCTAssertEqual(layered.settings["tenants"]?.isInlineDocument, true)
        let several = try layers([], environment: ["MCP_V8_PLUGIN": #"["/a.so", "/b.so"]"#])
        XCTAssertEqual(several.settings["plugin"]?.values, ["/a.so", "/b.so"])
    }

    func testBadValuesNameTheFileOrVariableTheKeyAndWhatIsAllowed() {
        XCTAssertEqual(message { _ = try layers([], file: ["htp_port": .integer(1)]) },
                       "/etc/mcp-v8.toml: unknown key htp_port; the keys are the long flag names with _ for -, as `mcp-v8 --help` lists them")
        XCTAssertTrue(message { _ = try layers([], file: ["http-port": .integer(1)]) }.contains("(write http_port)"))
        XCTAssertTrue(message { _ = try layers([], file: ["config": .string("x")]) }.contains("only be given on the command line"))
        XCTAssertEqual(message { _ = try layers([], file: ["stateless": .string("yes")]) },
                       "/etc/mcp-v8.toml: key stateless must be true or false; it is a string")
        XCTAssertEqual(message { _ = try layers([], file: ["http_port": .table([:])]) },
                       "/etc/mcp-v8.toml: key http_port must be a string or a number; it is a table")
        XCTAssertEqual(message { _ = try layers([], file: ["fetch_header": .list([.bool(true)])]) },
                       "/etc/mcp-v8.toml: key fetch_header must be an array of strings or numbers; it is an array")
        XCTAssertTrue(message { _ = try layers([], environment: ["MCP_V8_STATELESS": "maybe"]) }
            .hasPrefix("MCP_V8_STATELESS must be true or false"))
        XCTAssertTrue(message { _ = try layers([], environment: ["MCP_V8_PLUGIN": "[1, 2"]) }
            .hasPrefix("MCP_V8_PLUGIN starts with [ but is not a JSON array of strings"))
    }

    func testAnErrorNamingAFlagSaysWhereItsValueCameFrom() throws {
        let layered = try layers([], environment: ["MCP_V8_HTTP_PORT": "x"])
        XCTAssertEqual(layered.provenance(ofFlagsIn: "The value 'x' is invalid for '--http-port <http-port>'"),
                       "--http-port came from the environment variable MCP_V8_HTTP_PORT")
        // A longer flag that starts with the same name is not this one.
        XCTAssertNil(layered.provenance(ofFlagsIn: "--http-port-range is wrong"))
    }

    func testThePrintedConfigurationMasksSecretsAndSaysWhereEachValueCameFrom() throws {
        let file: [String: ConfigValue] = [
            "database_url": .string("postgres://app:hunter2@db/mcp"),
            "fetch_header": .list([.string("host=a,header=X-Key,value=s3cret,methods=GET")]),
            "tenants": .table(["t": .table([:])]),
        ]
        let layered = try layers([], environment: ["MCP_V8_LOG_LEVEL": "debug"], file: file)
        let printed = EffectiveConfiguration(configuration: layered, commandLine: ["--execution-timeout", "5"]).render()
        XCTAssertFalse(printed.contains("hunter2"))
        XCTAssertFalse(printed.contains("s3cret"))
        XCTAssertTrue(printed.contains(#"database_url = "postgres://app:***@db/mcp"  # key database_url of /etc/mcp-v8.toml"#), printed)
        XCTAssertTrue(printed.contains(#"fetch_header = ["host=a,header=X-Key,value=***,methods=GET"]"#), printed)
        XCTAssertTrue(printed.contains("# tenants: a table in key tenants of /etc/mcp-v8.toml (not printed"), printed)
        XCTAssertTrue(printed.contains(#"log_level = "debug"  # the environment variable MCP_V8_LOG_LEVEL"#), printed)
        XCTAssertTrue(printed.contains("execution_timeout = 5  # the command line"), printed)
        XCTAssertTrue(printed.contains("heap_memory_max = 8  # default"), printed)
        XCTAssertTrue(printed.contains("stateless = false  # default"), printed)
    }
}
