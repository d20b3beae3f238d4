@testable import Host
import MCP
import XCTest

final class TenantsFileTests: XCTestCase {
    static let bounds = TenantsFile.ServerBounds(workerCount: 4, maxQueuedExecutions: 1000)

    private func parse(_ json: String) throws -> [String: TenantEntry] {
        try TenantsFile.parse(Data(json.utf8), file: "/etc/tenants.json", bounds: Self.bounds)
    }

    /// The issue's example, field for field.
    func testTheIssuesThreeTenants() throws {
        let tenants = try parse("""
            {"tenants": {
              "acme":  {"policies": {"fetch": {"policies": [{"url": "file:///etc/mcp-v8/acme/fetch.rego"}]}},
                        "fetch_headers": [{"host": "api.acme.example", "headers": {"X-Api-Key": "k"}}],
                        "plugin_config": {"fetch.timeout_ms": "10000"},
                        "limits": {"max_concurrent_executions": 2, "max_queued_executions": 100}},
              "labs":  {"policies": {"fs": {"policies": [{"url": "file:///etc/mcp-v8/labs/fs.rego"}]}},
                        "limits": {"heap_memory_max_mb": 32, "execution_timeout_secs": 60}, "shared_state": true},
              "guest": {"limits": {"max_concurrent_executions": 1, "max_queued_executions": 2, "max_output_bytes": 4096}}}}
            """)
        XCTAssertEqual(tenants.keys.sorted(), ["acme", "guest", "labs"])
        let acme = try XCTUnwrap(tenants["acme"])
        XCTAssertEqual(acme.policies.categories["fetch"]?.sources, [.rego(path: "/etc/mcp-v8/acme/fetch.rego")])
        XCTAssertEqual(acme.fetchHeaders, [FetchHeaderRule(host: "api.acme.example", methods: nil, headers: ["X-Api-Key": "k"])])
        XCTAssertEqual(acme.pluginConfig, ["fetch.timeout_ms=10000"])
        XCTAssertEqual(acme.limits, TenantLimitSettings(maxConcurrentExecutions: 2, maxQueuedExecutions: 100))
        XCTAssertFalse(acme.sharedState)
        XCTAssertEqual(tenants["labs"]?.limits, TenantLimitSettings(heapMB: 32, timeoutSeconds: 60))
        XCTAssertEqual(tenants["labs"]?.sharedState, true)
        XCTAssertEqual(tenants["guest"]?.policies, PolicyConfiguration())
        XCTAssertEqual(tenants["guest"]?.limits.maxOutputBytes, 4096)
    }

    /// Each bad input of the issue, refused with the file, the tenant and the reason.
    func testBadFilesAreRefusedNamingTheFileTheTenantAndTheReason() {
        let cases: [(String, String)] = [
            (#"{"tenants": {"acme": {"limit": {}}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': unknown field 'limit'; allowed: fetch_headers, limits, plugin_config, policies, shared_state"),
            (#"{"tenants": {}, "tenant": 1}"#,
             "--tenants /etc/tenants.json: unknown field 'tenant' at the top; allowed: tenants"),
            (#"{"tenants": {"acme": {"limits": {"heap_mb": 8}}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': limits: unknown field 'heap_mb'; allowed: heap_memory_max_mb, "
                + "execution_timeout_secs, max_concurrent_executions, max_queued_executions, max_output_bytes"),
            (#"{"tenants": {"acme": {"fetch_headers": [{"host": "a.example", "headers": {"K": "v"}, "method": "GET"}]}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': fetch_headers[0]: unknown field 'method'; allowed: headers, host, methods"),
            (#"{"tenants": {"acme": {"policies": {"fetch": {"policies": [{"url": "file:///a.rego", "extra": 1}]}}}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': policies: 'fetch.policies[0]' has an unknown field 'extra'; allowed: url, policy_path"),
            (#"{"tenants": {"acme": {"policies": {"Fetch!": {"policies": [{"url": "file:///a.rego"}]}}}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': policies: 'Fetch!' is not a category name (lowercase letters, digits and _, such as fetch or fs)"),
            (#"{"tenants": {"acme": {}, "labs": {}, "acme": {"limits": {}}}}"#,
             "--tenants /etc/tenants.json: the tenant 'acme' is given twice"),
            (#"{"tenants": {"acme": {"limits": {"max_output_bytes": 2048, "max_output_bytes": 4096}}}}"#,
             "--tenants /etc/tenants.json: the key 'tenants.acme.limits.max_output_bytes' is given twice"),
            (#"{"tenants": {"Acme": {}}}"#,
             "--tenants /etc/tenants.json: 'Acme' is not a tenant name: 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or digit"),
            (#"{"tenants": {"../etc": {}}}"#, "'../etc' is not a tenant name"),
            (#"{"tenants": {"a'; DROP TABLE x; --": {}}}"#, "is not a tenant name"),
            (#"{"tenants": {"-acme": {}}}"#, "'-acme' is not a tenant name"),
            ("{\"tenants\": {\"\(String(repeating: "a", count: 65))\": {}}}", "is not a tenant name: 1 to 64 characters"),
            (#"{"tenants": {"acme": {"limits": {"heap_memory_max_mb": 65}}}}"#,
             "--tenants /etc/tenants.json: tenant 'acme': limits.heap_memory_max_mb must be an integer from 4 to 64 (MB, as a call's heap_memory_max_mb)"),
            (#"{"tenants": {"acme": {"limits": {"execution_timeout_secs": 0}}}}"#,
             "tenant 'acme': limits.execution_timeout_secs must be an integer from 1 to 300"),
            (#"{"tenants": {"acme": {"limits": {"max_concurrent_executions": 5}}}}"#,
             "tenant 'acme': limits.max_concurrent_executions must be an integer from 1 to 4 (at most the server's --max-concurrent-executions)"),
            (#"{"tenants": {"acme": {"limits": {"max_queued_executions": 1001}}}}"#,
             "tenant 'acme': limits.max_queued_executions must be an integer from 0 to 1000 (at most the server's --max-queued-executions)"),
            (#"{"tenants": {"acme": {"limits": {"max_output_bytes": "4096"}}}}"#,
             "tenant 'acme': limits.max_output_bytes must be an integer from 1024 to 67108864"),
            (#"{"tenants": {"acme": {"limits": {"heap_memory_max_mb": 8.5}}}}"#, "limits.heap_memory_max_mb must be an integer"),
            (#"{"tenants": {"acme": {"shared_state": "yes"}}}"#, "tenant 'acme': shared_state must be true or false"),
            (#"{"tenants": {"acme": {"plugin_config": {"timeout_ms": "1"}}}}"#,
             "tenant 'acme': plugin_config: 'timeout_ms' is not NAME.KEY (such as fetch.timeout_ms)"),
            (#"{"tenants": {"acme": {"plugin_config": {"fetch.timeout_ms": 1}}}}"#,
             "tenant 'acme': plugin_config: the value of 'fetch.timeout_ms' must be a string"),
            (#"{"tenants": {"acme": {"fetch_headers": [{"host": "a/b", "headers": {"K": "v"}}]}}}"#,
             "tenant 'acme': fetch_headers: host 'a/b' must be a host name"),
            (#"{"tenants": []}"#, #"--tenants /etc/tenants.json: needs "tenants": an object of tenants by name"#),
            ("[1]", "--tenants /etc/tenants.json: is not a JSON object"),
            (#"{"tenants": {"acme": {"#, "--tenants /etc/tenants.json: is not a JSON object"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try parse(json), json) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)\n  lacks: \(message)")
            }
        }
    }

    func testDuplicateKeysAreFoundAtAnyDepthAndThroughEscapes() {
        let find = { (json: String) in DuplicateJSONKeys.first(in: Data(json.utf8)) }
        XCTAssertNil(find(#"{"a": {"b": 1}, "c": [{"b": 1}, {"b": 2}], "d": "{\"a\": 1, \"a\": 2}"}"#))
        XCTAssertEqual(find(#"{"a": 1, "\u0061": 2}"#), ["a"])
        XCTAssertEqual(find(#"{"x": [{"y": {"z": 1, "z": 2}}]}"#), ["x", "y", "z"])
        XCTAssertEqual(find(#"{"k\"": 1, "k\"": 2}"#), ["k\""])
    }

    func testTheNameRule() {
        for name in ["a", "acme", "0", "team_1-x", String(repeating: "z", count: 64)] {
            XCTAssertTrue(TenantsFile.isValidName(name), name)
        }
        for name in ["", "_a", "-a", "A", "a.b", "a/b", "a b", "é", "a\u{1}", String(repeating: "z", count: 65)] {
            XCTAssertFalse(TenantsFile.isValidName(name), name)
        }
    }
}

final class TenantResolutionTests: XCTestCase {
    static let acme = Tenant(name: "acme", sharedState: false,
                             limits: TenantLimits(server: ExecutionDefaults(heapMB: 8, timeoutSeconds: 30, outputLimitBytes: 1024)),
                             capabilities: CapabilityConfiguration())

    private func refusal(_ value: Value?, _ directory: TenantDirectory) -> String {
        do {
            let tenant = try directory.tenant(claim: "tenant", value: value)
            return "accepted \(tenant.name)"
        } catch {
            return error.description
        }
    }

    func testATokensClaimPicksAConfiguredTenantOrIsRefusedNamingTheClaim() throws {
        let directory = TenantDirectory(TenantConfiguration(tenants: ["acme": Self.acme]))
        XCTAssertEqual(try directory.tenant(claim: "tenant", value: "acme").name, "acme")
        let about = "the token's 'tenant' claim (--tenant-claim)"
        XCTAssertEqual(refusal(nil, directory), "the token has no 'tenant' claim (--tenant-claim) naming its tenant")
        XCTAssertEqual(refusal(.null, directory), "the token has no 'tenant' claim (--tenant-claim) naming its tenant")
        XCTAssertEqual(refusal(7, directory), "\(about) must be a string naming a tenant, got a number")
        XCTAssertEqual(refusal(["acme"], directory), "\(about) must be a string naming a tenant, got an array")
        XCTAssertEqual(refusal("", directory), "\(about) is empty")
        XCTAssertEqual(refusal(.string(String(repeating: "a", count: 5000)), directory),
                       "\(about) is 5000 characters long; tenant names have at most 64")
        XCTAssertEqual(refusal("labs", directory), "\(about) names no tenant of this server ('labs')")
        XCTAssertEqual(refusal("../acme'--", directory), "\(about) names no tenant of this server",
                       "a value that is no tenant name is not echoed")
    }

    func testAReloadSwapsTheWholeConfigurationAndARemovedTenantIsRefused() throws {
        let directory = TenantDirectory(TenantConfiguration(tenants: ["acme": Self.acme]))
        let before = try directory.tenant(of: Self.acme.namespace(subject: "alice"))
        directory.replace(with: TenantConfiguration(tenants: [:]))
        XCTAssertEqual(before.name, "acme", "a tenant resolved before the reload keeps its value")
        XCTAssertThrowsError(try directory.tenant(of: Self.acme.namespace(subject: "alice"))) { error in
            XCTAssertEqual("\(error)", "the tenant 'acme' is no longer configured (--tenants)")
        }
        XCTAssertThrowsError(try directory.fixedTenant("acme"))
    }

    func testWithoutTenantsEveryCallerIsTheImplicitTenantWithItsSubjectsNamespace() throws {
        let limits = TenantLimits(server: ExecutionDefaults(heapMB: 8, timeoutSeconds: 30, outputLimitBytes: 1024))
        let directory = TenantDirectory(.implicit(limits: limits, capabilities: CapabilityConfiguration()))
        let tenant = try directory.tenant(of: Namespace(subject: "alice"))
        XCTAssertEqual(tenant.name, "")
        XCTAssertEqual(tenant.namespace(subject: "alice").key, "alice", "stored state keeps its owners")
        XCTAssertEqual(Self.acme.namespace(subject: "alice"), Namespace(tenant: "acme", subject: "alice", sharedState: false))
    }
}
