@testable import Host
import Foundation
import Logging
import MCP
import MCPBridge
import XCTest

/// The run_js description, the server instructions and the tool list a caller sees, built from the
/// capability set it has. The bundled plugins are described by the real plugin check (a child of
/// the debug binary loading each `.so`), so their usage lines are the ones the host really gets.
final class CapabilityDescriptionTests: XCTestCase {
    private static let buildFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug")
    private static let binary = buildFolder.appendingPathComponent("mcp-v8").path
    private static let bundledCategories = ["fetch", "fs", "mcp_tools", "modules", "subprocess"]
    private static let noWayOut = "No network, filesystem or Node APIs"

    /// What the plugin check says the bundled plugins of `categories` are, in the plan's order.
    private func bundled(_ categories: [String]) throws -> CapabilitySummary {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary)")
        let paths = categories.map { Self.buildFolder.appendingPathComponent("libmcpv8-\($0).so").path }
        let described = try PluginCheck.describe(paths, settings: ["modules": ["cdn_url": "https://esm.sh"]],
                                                 logLevel: "error", executable: Self.binary)
        return CapabilitySummary(plugins: paths.map { described[$0]! }, wasmModules: [])
    }

    private func lines(after marker: String, in text: String) -> [String] {
        guard let range = text.range(of: marker) else { return [] }
        return text[range.upperBound...].split(separator: "\n").map(String.init)
    }

    func testWithoutCapabilitiesTheTextsSayThereIsNoWayOut() {
        let none = CapabilitySummary.none
        XCTAssertTrue(none.runJSDescription(stateless: true).contains("\(Self.noWayOut). Nothing persists between calls."))
        XCTAssertTrue(none.runJSDescription(stateless: false)
            .contains("\(Self.noWayOut); Intl and FinalizationRegistry are unavailable in stateful runs."))
        for text in [none.runJSDescription(stateless: true), none.runJSDescription(stateless: false), none.instructions] {
            XCTAssertFalse(text.contains("Also available"), text)
            XCTAssertFalse(text.contains("Runs can also use"), text)
            XCTAssertFalse(text.contains("\n"), "one paragraph: \(text)")
        }
    }

    func testWithFetchOnlyTheTextsNameFetchAndNothingElse() throws {
        let fetch = try bundled(["fetch"])
        XCTAssertEqual(fetch.plugins.map(\.usage), ["fetch(url, {method, headers, body}?) -> Promise<Response> "
            + "(status, ok, headers.get(name), text(), json(), arrayBuffer()), redirects followed; Headers and "
            + "Response as in browsers"])
        for stateless in [true, false] {
            let description = fetch.runJSDescription(stateless: stateless)
            XCTAssertFalse(description.contains(Self.noWayOut), description)
            XCTAssertEqual(lines(after: "Also available, each call allowed or denied by the operator's policies:\n",
                                 in: description),
                           ["- " + fetch.plugins[0].usage!])
        }
        XCTAssertTrue(fetch.instructions.hasSuffix(" Runs can also use fetch (the run_js description shows how); "
            + "the operator's policies decide what each call may reach."), fetch.instructions)
    }

    func testWithEveryBundledPluginEachHasItsOwnLineAndTheTextsStayShort() throws {
        let all = try bundled(Self.bundledCategories)
        XCTAssertEqual(all.plugins.map(\.category), Self.bundledCategories)
        let description = all.runJSDescription(stateless: true)
        let pluginLines = lines(after: "policies:\n", in: description)
        XCTAssertEqual(pluginLines.count, 5)
        for (line, marker) in zip(pluginLines, ["fetch(url", "fs.readFile(path", "mcp.callTool(server, tool, args)",
                                                "import (static or dynamic) from npm:", "child_process.execFile(file"]) {
            XCTAssertTrue(line.contains(marker), "\(line) lacks \(marker)")
        }
        XCTAssertFalse(description.contains(Self.noWayOut))
        // An agent reads these every turn.
        XCTAssertLessThan(description.utf8.count, 1800, description)
        XCTAssertTrue(all.instructions.contains("Runs can also use fetch, fs, mcp_tools, modules and subprocess ("))
        XCTAssertLessThan(all.instructions.utf8.count, 500)
    }

    func testAPluginWithoutAUsageLineGetsOneFromWhatItDeclares() {
        let summary = CapabilitySummary(plugins: [PluginDescription(name: "kv", category: "kv", globals: ["kv", "kv2"]),
                                                  PluginDescription(name: "audit", category: "audit", globals: [])],
                                        wasmModules: [])
        XCTAssertEqual(summary.pluginLines, ["- the kv plugin (kv category): globals kv, kv2",
                                             "- the audit plugin (audit category): no globals"])
    }

    func testAUsageLineIsOneShortLine() {
        XCTAssertTrue(PluginDescription.isValidUsage("kv.get(key) -> Promise<string|null>"))
        XCTAssertTrue(PluginDescription.isValidUsage(String(repeating: "é", count: 200)))
        XCTAssertFalse(PluginDescription.isValidUsage(""))
        XCTAssertFalse(PluginDescription.isValidUsage(String(repeating: "é", count: 201)))
        XCTAssertFalse(PluginDescription.isValidUsage("two\nlines"))
        XCTAssertFalse(PluginDescription.isValidUsage("tab\there"))
    }

    // MARK: per capability set

    private func stateless() -> MCPServerSetup.Mode {
        let pool = WorkerPool(configuration: WorkerPoolConfiguration(workerCount: 1, maximumQueued: 1, defaultHeapLimitMB: 16,
                                                                     executablePath: Self.binary),
                              logger: Logger(label: "test"))
        return .stateless(StatelessExecutor(pool: pool, defaults: ExecutionDefaults(heapMB: 16, timeoutSeconds: 5,
                                                                                    outputLimitBytes: 1 << 20)))
    }

    /// A tenant for each named set.
    private func tenants(_ sets: [String: CapabilitySummary]) -> TenantDirectory {
        let limits = TenantLimits(server: ExecutionDefaults(heapMB: 16, timeoutSeconds: 5, outputLimitBytes: 1 << 20))
        return TenantDirectory(TenantConfiguration(tenants: sets.reduce(into: [:]) { tenants, set in
            tenants[set.key] = Tenant(name: set.key, sharedState: false, limits: limits,
                                      capabilities: CapabilityConfiguration(), summary: set.value)
        }))
    }

    private func caller(of tenant: String) -> Namespace {
        Namespace(tenant: tenant, subject: "agent", sharedState: false)
    }

    private func unknownTool(_ setup: MCPServerSetup, _ tool: String, for tenant: String) async -> String? {
        do {
            _ = try await setup.answer(tool: tool, arguments: ["code": "1"], namespace: caller(of: tenant))
            return nil
        } catch let error as UnknownToolError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    func testEachSetIsOfferedItsOwnToolsAndACallOfAnotherSetsToolIsAnUnknownTool() async throws {
        let fetch = try bundled(["fetch"])
        let mcp = try bundled(["mcp_tools"])
        let wasm = [(spec: WasmModuleSpec(name: "math", path: "/m.wasm"),
                     summary: try WasmModuleSummary(bytes: [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))]
        let setup = MCPServerSetup(
            instructions: nil, runJSDescription: nil, mode: stateless(),
            tenants: tenants(["": .none, "acme": fetch,
                              "labs": CapabilitySummary(plugins: mcp.plugins, wasmModules: wasm)]),
            upstreamTools: UpstreamTools(servers: [try UpstreamServer.parse(flag: "up=http:http://127.0.0.1:9/mcp")]))

        XCTAssertEqual(setup.offer(caller(of: "")).tools.map(\.name), ["run_js"])
        XCTAssertEqual(setup.offer(caller(of: "acme")).tools.map(\.name), ["run_js"])
        XCTAssertEqual(setup.offer(caller(of: "labs")).tools.map(\.name), ["run_js", "runjs__wasm__math"])
        XCTAssertEqual(["", "acme", "labs"].map { setup.offer(caller(of: $0)).listsUpstreamTools }, [false, false, true])
        XCTAssertTrue(setup.offer(caller(of: "")).tools[0].description!.contains(Self.noWayOut))
        XCTAssertTrue(setup.offer(caller(of: "acme")).tools[0].description!.contains("fetch(url"))
        XCTAssertTrue(setup.offer(caller(of: "labs")).tools[0].description!.contains("Pre-loaded WebAssembly modules: math "))
        XCTAssertTrue(setup.offer(caller(of: "labs")).instructions.contains("Runs can also use mcp_tools ("))
        XCTAssertEqual(setup.toolNames, ["run_js", "runjs__wasm__math"])

        let refused = await unknownTool(setup, "runjs__wasm__math", for: "acme")
        XCTAssertEqual(refused, "Unknown tool 'runjs__wasm__math'; available: run_js.")
        let answered = try await setup.answer(tool: "runjs__wasm__math", arguments: nil, namespace: caller(of: "labs"))
        XCTAssertTrue(answered.isError)  // the stub says how to use the module from run_js
        // A tenant the server does not know is offered nothing and refused: no fallback to the server's set.
        XCTAssertEqual(setup.offer(caller(of: "ghost")).tools.count, 0)
        let ghost = await unknownTool(setup, "run_js", for: "ghost")
        XCTAssertEqual(ghost, "the tenant 'ghost' is no longer configured (--tenants)")
    }

    func testTheOperatorsTextsWinInEverySet() throws {
        let setup = MCPServerSetup(instructions: "Use run_js.", runJSDescription: "Runs code.", mode: stateless(),
                                   tenants: tenants(["": .none, "acme": try bundled(["fetch"])]))
        for name in ["", "acme"] {
            XCTAssertEqual(setup.offer(caller(of: name)).instructions, "Use run_js.")
            XCTAssertEqual(setup.offer(caller(of: name)).tools[0].description, "Runs code.")
        }
    }
}
