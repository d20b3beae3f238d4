@testable import Host
import MCPBridge
import XCTest

/// One test per rule of `CapabilityPlan`: flags in, plugins with their policies and settings out.
/// Plugins are described by a table here instead of being loaded.
final class CapabilityPlanTests: XCTestCase {
    private static let bundled = ["fetch": "/bin/libmcpv8-fetch.so", "fs": "/bin/libmcpv8-fs.so",
                                  "modules": "/bin/libmcpv8-modules.so", "mcp_tools": "/bin/libmcpv8-mcp_tools.so"]
    private static let descriptions = [
        "/bin/libmcpv8-fetch.so": PluginDescription(name: "fetch", category: "fetch", globals: ["fetch", "Headers"]),
        "/bin/libmcpv8-fs.so": PluginDescription(name: "fs", category: "fs", globals: ["fs"]),
        "/bin/libmcpv8-modules.so": PluginDescription(name: "modules", category: "modules", globals: []),
        "/bin/libmcpv8-mcp_tools.so": PluginDescription(name: "mcp", category: "mcp_tools", globals: ["mcp"]),
        "/p/kv.so": PluginDescription(name: "kv", category: "kv", globals: ["kv"]),
        "/p/kv2.so": PluginDescription(name: "kv2", category: "kv", globals: ["kv2"]),
        "/p/myfetch.so": PluginDescription(name: "myfetch", category: "fetch", globals: ["fetch"]),
        "/p/grabs-fs.so": PluginDescription(name: "grabs", category: "grabs", globals: ["fs"]),
    ]

    /// The batches `describe` was asked about, in order.
    private var asked: [[String]] = []

    private func flags(policies categories: [String], _ change: (inout CapabilityFlags) -> Void = { _ in }) -> CapabilityFlags {
        var flags = CapabilityFlags()
        let json = categories.map { "\"\($0)\": {\"policies\": [{\"url\": \"http://127.0.0.1:1\"}]}" }.joined(separator: ",")
        flags.policies = try! PolicyConfiguration.parse("{\(json)}")
        flags.bundledPlugins = Self.bundled
        change(&flags)
        return flags
    }

    private func plan(_ flags: CapabilityFlags, descriptions: [String: PluginDescription] = descriptions) throws -> CapabilityPlan {
        try CapabilityPlan.make(flags) { paths, _ in
            asked.append(paths)
            return Dictionary(uniqueKeysWithValues: paths.map { ($0, descriptions[$0]!) })
        }
    }

    private func refusal(_ flags: CapabilityFlags, descriptions: [String: PluginDescription] = descriptions) -> String {
        do {
            _ = try plan(flags, descriptions: descriptions)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testNoPolicyMeansNoPluginAndNoCheck() throws {
        let plan = try plan(flags(policies: []))
        XCTAssertEqual(plan.plugins, [])
        XCTAssertEqual(plan.configuration.pluginPaths, [])
        XCTAssertEqual(asked, [])
    }

    func testAPolicyLoadsItsBundledPluginWithThatPolicyInCategoryOrder() throws {
        let plan = try plan(flags(policies: ["fs", "fetch"]))
        XCTAssertEqual(plan.plugins.map(\.path), ["/bin/libmcpv8-fetch.so", "/bin/libmcpv8-fs.so"])
        XCTAssertEqual(plan.configuration.pluginPaths, plan.plugins.map(\.path))
        XCTAssertEqual(plan.plugins.map(\.policy), [plan.configuration.policies.categories["fetch"]!,
                                                     plan.configuration.policies.categories["fs"]!])
        XCTAssertEqual(asked, [["/bin/libmcpv8-fetch.so", "/bin/libmcpv8-fs.so"]])
    }

    func testAPolicyWithoutAnyPluginForItsCategoryIsRefused() {
        XCTAssertTrue(refusal(flags(policies: ["kv_store"])).contains(
            "a kv_store policy is configured, but no plugin provides the kv_store category"))
    }

    func testAPluginFileOverridesTheBundledOneWhichIsNeverLoaded() throws {
        let plan = try plan(flags(policies: ["fetch"]) { $0.plugins = ["/p/./myfetch.so"] })
        XCTAssertEqual(plan.plugins.map(\.path), ["/p/myfetch.so"])
        XCTAssertEqual(asked, [["/p/myfetch.so"]])
    }

    func testAPluginFileWithoutAPolicyIsCheckedButNotLoaded() throws {
        let plan = try plan(flags(policies: []) { $0.plugins = ["/p/kv.so"] })
        XCTAssertEqual(plan.plugins, [])
        XCTAssertEqual(asked, [["/p/kv.so"]])
        XCTAssertEqual(plan.warnings, ["plugin /p/kv.so is not loaded: no kv policy is configured (--policies-json)"])
    }

    func testTwoPluginFilesForOneCategoryAreRefused() {
        XCTAssertEqual(refusal(flags(policies: ["kv"]) { $0.plugins = ["/p/kv.so", "/p/kv2.so"] }),
                       "plugin /p/kv2.so refused: /p/kv.so already provides the kv category")
    }

    func testABundledPluginOfAnotherCategoryIsRefused() {
        var descriptions = Self.descriptions
        descriptions["/bin/libmcpv8-fs.so"]?.category = "files"
        XCTAssertEqual(refusal(flags(policies: ["fs"]), descriptions: descriptions),
                       "plugin /bin/libmcpv8-fs.so refused: it says its category is files, not fs")
    }

    func testTwoPluginsClaimingOneGlobalAreRefused() {
        XCTAssertEqual(refusal(flags(policies: ["fs", "grabs"]) { $0.plugins = ["/p/grabs-fs.so"] }),
                       "plugin /p/grabs-fs.so refused: its global 'fs' is already claimed by /bin/libmcpv8-fs.so")
    }

    func testARefusalFromTheCheckStopsThePlan() {
        let refusal: String
        do {
            _ = try CapabilityPlan.make(flags(policies: ["fs"])) { paths, _ in
                throw PluginError("plugin \(paths[0]) refused: its entry crashed (signal 11)")
            }
            refusal = "no error"
        } catch {
            refusal = "\(error)"
        }
        XCTAssertEqual(refusal, "plugin /bin/libmcpv8-fs.so refused: its entry crashed (signal 11)")
    }

    func testPluginSettingsGoToThePluginOfThatNameAndToTheCheck() throws {
        var checkedWith: [String: [String: String]] = [:]
        let plan = try CapabilityPlan.make(flags(policies: ["fs"]) {
            $0.pluginConfig = ["fs.max_read_bytes=10", "fetch.timeout_ms=5", "fs.note=a=b"]
        }) { paths, settings in
            checkedWith = settings
            return Dictionary(uniqueKeysWithValues: paths.map { ($0, Self.descriptions[$0]!) })
        }
        XCTAssertEqual(plan.plugins[0].settings, ["max_read_bytes": "10", "note": "a=b"])
        XCTAssertEqual(plan.configuration.pluginSettings, ["fs": ["max_read_bytes": "10", "note": "a=b"],
                                                           "fetch": ["timeout_ms": "5"]])
        XCTAssertEqual(checkedWith, plan.configuration.pluginSettings)
    }

    func testAPluginSettingThatIsNotNameDotKeyIsRefused() {
        XCTAssertEqual(refusal(flags(policies: []) { $0.pluginConfig = ["no-dot=1"] }),
                       "--plugin-config 'no-dot=1' is not NAME.KEY=VALUE (such as fetch.timeout_ms=10000)")
    }

    func testTheOPAURLAddsAFetchPolicy() throws {
        let plan = try plan(flags(policies: []) { $0.opaURL = "http://127.0.0.1:8181/" })
        XCTAssertEqual(plan.configuration.policies.categories["fetch"]?.sources,
                       [.opa(url: "http://127.0.0.1:8181", policyPath: "mcp/fetch")])
        XCTAssertEqual(plan.plugins.map(\.path), ["/bin/libmcpv8-fetch.so"])
    }

    func testFetchHeaderRulesNeedAFetchPolicyAndBecomeItsHeaderRulesSetting() throws {
        let rule = try FetchHeaderRule.parse(flag: "host=a.example,header=X-Key,value=v")
        XCTAssertTrue(refusal(flags(policies: []) { $0.fetchHeaderRules = [rule] })
            .hasPrefix("--fetch-header and --fetch-header-config need a fetch policy"))
        let plan = try plan(flags(policies: ["fetch"]) { $0.fetchHeaderRules = [rule] })
        let setting = try XCTUnwrap(plan.plugins[0].settings["header_rules"])
        XCTAssertEqual(try JSONDecoder().decode([FetchHeaderRule].self, from: Data(setting.utf8)), [rule])
    }

    func testAModulesPolicyWithoutTheFlagIsDroppedWithAWarning() throws {
        let plan = try plan(flags(policies: ["modules"]))
        XCTAssertNil(plan.configuration.policies.categories["modules"])
        XCTAssertEqual(plan.plugins, [])
        XCTAssertEqual(plan.warnings, ["a modules policy is configured, but imports stay off without --allow-external-modules"])
    }

    func testTheModulesFlagNeedsAPolicyAndAnHTTPCDNWhichBecomesItsSetting() throws {
        XCTAssertTrue(refusal(flags(policies: []) { $0.allowExternalModules = true })
            .hasPrefix("--allow-external-modules needs a modules policy"))
        XCTAssertEqual(refusal(flags(policies: ["modules"]) {
            $0.allowExternalModules = true
            $0.moduleCDNURL = "ftp://cdn.example"
        }), "--module-cdn-url 'ftp://cdn.example' is not an http(s) URL")
        let plan = try plan(flags(policies: ["modules"]) {
            $0.allowExternalModules = true
            $0.moduleCDNURL = "http://127.0.0.1:9"
        })
        XCTAssertEqual(plan.plugins.map(\.path), ["/bin/libmcpv8-modules.so"])
        XCTAssertEqual(plan.plugins[0].settings, ["cdn_url": "http://127.0.0.1:9"])
    }

    func testMCPServersNeedAnMCPToolsPolicyElseOnlyAWarning() throws {
        let servers = [try UpstreamServer.parse(flag: "up=http:http://127.0.0.1:1/mcp")]
        let without = try plan(flags(policies: []) { $0.mcpServers = servers })
        XCTAssertEqual(without.configuration.pluginSettings, [:])
        XCTAssertEqual(without.warnings.count, 1)
        XCTAssertTrue(without.warnings[0].hasPrefix("--mcp-server and --mcp-config name MCP servers, but no mcp_tools policy"))
        let with = try plan(flags(policies: ["mcp_tools"]) { $0.mcpServers = servers })
        XCTAssertEqual(with.plugins.map(\.description.name), ["mcp"])
        XCTAssertEqual(with.plugins[0].settings, ["servers": UpstreamServer.setting(servers)])
    }

    /// A plugin without open_set (ABI 1.0's way) reads its settings once per process: sets that
    /// give it different settings are refused, naming the plugin and the sets; one that reads them
    /// per set may differ.
    func testSetsMustAgreeOnTheSettingsOfAPluginThatReadsThemOncePerProcess() {
        func set(_ settings: [String: String]) -> CapabilityConfiguration {
            var set = CapabilityConfiguration()
            set.pluginPaths = ["/p/libkv.so"]
            set.pluginSettings = ["kv": settings]
            return set
        }
        let same = WorkerCapabilities(sets: ["": set(["capacity": "1"]), "acme": set(["capacity": "1"])])
        XCTAssertNil(same.settingsDisagreement(opensSets: { _ in false }, pluginName: { _ in "kv" }))
        let differ = WorkerCapabilities(sets: ["": set(["capacity": "1"]), "acme": set(["capacity": "2"]),
                                               "labs": CapabilityConfiguration()])
        XCTAssertEqual(differ.settingsDisagreement(opensSets: { _ in false }, pluginName: { _ in "kv" }),
                       "plugin /p/libkv.so (kv) reads its settings once for the whole process (it has no open_set, "
                       + "ABI 1.0's way), but the server's own capability set and the capability set of tenant 'acme' "
                       + "give it different settings: give every tenant that uses it the same kv settings, or use a "
                       + "build of the plugin that reads them per set (ABI 1.1 open_set)")
        XCTAssertNil(differ.settingsDisagreement(opensSets: { _ in true }, pluginName: { _ in "kv" }))
    }
}
