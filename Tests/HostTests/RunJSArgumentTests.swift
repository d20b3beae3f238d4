@testable import Host
import MCP
import XCTest

final class RunJSArgumentTests: XCTestCase {
    static let defaults = ExecutionDefaults(heapMB: 8, timeoutSeconds: 30, outputLimitBytes: 1 << 20)
    /// Every caller of a server without --tenants.
    static let server = Tenant(name: "", sharedState: false, limits: TenantLimits(server: defaults),
                               capabilities: CapabilityConfiguration())

    func testValidArguments() throws {
        let parameters = try RunJSTool.parameters(from: [
            "code": "1", "heap_memory_max_mb": 16, "execution_timeout_secs": .double(5),
        ], tenant: Self.server)
        XCTAssertEqual(parameters, RunParameters(code: "1", heapMB: 16, timeoutSeconds: 5))
        XCTAssertEqual(try RunJSTool.parameters(from: ["code": "x"], tenant: Self.server), RunParameters(code: "x"))
    }

    func testEachBadArgumentNamesTheParameterAndWhatIsAllowed() {
        let cases: [([String: Value], [String])] = [
            ([:], ["missing required parameter 'code'"]),
            (["code": 5], ["'code' must be a string"]),
            (["code": "1", "heap_memory_max_mb": 3], ["'heap_memory_max_mb'", "4 to 64", "got 3"]),
            (["code": "1", "heap_memory_max_mb": 65], ["'heap_memory_max_mb'", "4 to 64"]),
            (["code": "1", "execution_timeout_secs": 301], ["'execution_timeout_secs'", "1 to 300"]),
            (["code": "1", "execution_timeout_secs": .double(1.5)], ["'execution_timeout_secs'", "integer"]),
            (["code": "1", "execution_timeout_secs": "10"], ["'execution_timeout_secs'", "integer"]),
            (["code": "1", "heap": "abc"], ["unknown parameter 'heap'", "code, heap_memory_max_mb"]),
        ]
        for (arguments, fragments) in cases {
            do {
                _ = try RunJSTool.parameters(from: arguments, tenant: Self.server)
                XCTFail("accepted \(arguments)")
            } catch {
                for fragment in fragments {
                    XCTAssertTrue(error.description.contains(fragment), "\(error.description) lacks \(fragment)")
                }
            }
        }
    }

    func testATenantsLimitsAreItsDefaultsAndTheMostACallMayAskFor() throws {
        var settings = TenantLimitSettings()
        settings.heapMB = 32
        settings.timeoutSeconds = 60
        settings.maxOutputBytes = 4096
        let limits = TenantLimits(settings, server: Self.defaults)
        XCTAssertEqual(limits.defaults, ExecutionDefaults(heapMB: 32, timeoutSeconds: 60, outputLimitBytes: 4096))
        let labs = Tenant(name: "labs", sharedState: false, limits: limits, capabilities: CapabilityConfiguration())
        XCTAssertEqual(try RunJSTool.parameters(from: ["code": "1", "heap_memory_max_mb": 32, "execution_timeout_secs": 60],
                                                tenant: labs), RunParameters(code: "1", heapMB: 32, timeoutSeconds: 60))
        XCTAssertThrowsError(try RunJSTool.parameters(from: ["code": "1", "heap_memory_max_mb": 33], tenant: labs)) { error in
            XCTAssertEqual("\(error)", "run_js: parameter 'heap_memory_max_mb' must be an integer from 4 to 32 "
                + "(the most tenant 'labs' may ask for), got 33.")
        }
        XCTAssertThrowsError(try RunJSTool.parameters(from: ["code": "1", "execution_timeout_secs": 61], tenant: labs)) { error in
            XCTAssertTrue("\(error)".contains("from 1 to 60 (the most tenant 'labs' may ask for), got 61"), "\(error)")
        }
        XCTAssertEqual(TenantLimits(TenantLimitSettings(), server: Self.defaults), TenantLimits(server: Self.defaults),
                       "a tenant without limits has the server's")
    }

    private func callResult(_ result: StatelessResult) -> CallTool.Result {
        let answer = RunJSTool.answer(result)
        return RunJSTool.structured(answer.fields, isError: answer.isError)
    }

    func testCallResultCarriesStructuredAndTextualForms() throws {
        let success = callResult(StatelessResult(status: .completed, output: "hi\n",
                                                            resultJSON: "{\"a\":[1,2]}", error: nil))
        XCTAssertEqual(success.isError, false)
        XCTAssertEqual(success.structuredContent, ["output": "hi\n", "result": ["a": [1, 2]]])
        guard case .text(let text, _, _) = success.content.first else { return XCTFail("no text block") }
        XCTAssertEqual(try JSONDecoder().decode(Value.self, from: Data(text.utf8)), success.structuredContent)

        let dataURL = callResult(StatelessResult(status: .completed, output: "",
                                                            resultJSON: "[\"data:,kept as text\"]", error: nil))
        XCTAssertEqual(dataURL.structuredContent, ["output": "", "result": ["data:,kept as text"]])

        let failure = callResult(StatelessResult(status: .timedOut, output: "", resultJSON: nil,
                                                            error: "Execution timed out after 1 s."))
        XCTAssertEqual(failure.isError, true)
        XCTAssertEqual(failure.structuredContent, ["output": "", "error": "Execution timed out after 1 s."])
    }
}

final class CommandLineTests: XCTestCase {
    func testDefaults() throws {
        let command = try MCPV8Command.parseAsRoot(["--stateless"]) as! MCPV8Command
        XCTAssertEqual(command.heapMemoryMax, 8)
        XCTAssertEqual(command.executionTimeout, 30)
        XCTAssertNil(command.maxConcurrentExecutions)
        XCTAssertEqual(command.maxQueuedExecutions, 1000)
        XCTAssertEqual(command.maxOutputBytes, 1_048_576)
    }

    func testOutOfRangeValuesNameTheRange() {
        let cases: [([String], String)] = [
            (["--heap-memory-max", "0"], "--heap-memory-max must be between 1 and 64 MB; got 0."),
            (["--execution-timeout", "301"], "--execution-timeout must be between 1 and 300 s; got 301."),
            (["--max-concurrent-executions", "65"], "--max-concurrent-executions must be between 1 and 64; got 65."),
            (["--max-queued-executions=-1"], "--max-queued-executions must be between 0 and 100000; got -1."),
            (["--max-output-bytes", "10"], "--max-output-bytes must be between 1024 and 67108864 bytes; got 10."),
            (["--http-port", "70000"], "--http-port must be between 0 and 65535; got 70000."),
            (["--max-request-bytes", "100"], "--max-request-bytes must be between 1024 and 67108864 bytes; got 100."),
            (["--http-port", "1", "--sse-port", "2"], "--http-port and --sse-port conflict: the server speaks one "
                + "MCP transport; use --http-port for Streamable HTTP or --sse-port for legacy SSE clients."),
        ]
        for (arguments, message) in cases {
            XCTAssertThrowsError(try MCPV8Command.parseAsRoot(["--stateless"] + arguments)) { error in
                XCTAssertEqual(MCPV8Command.message(for: error), message)
            }
        }
    }

    func testHostAndOriginPatterns() {
        let hosts = HTTPService.localHosts
        XCTAssertTrue(RebindingGuardMiddleware.matches("127.0.0.1:8080", hosts))
        XCTAssertTrue(RebindingGuardMiddleware.matches("LOCALHOST", hosts), "no port, any case")
        XCTAssertFalse(RebindingGuardMiddleware.matches("localhost.attacker.example:80", hosts))
        XCTAssertFalse(RebindingGuardMiddleware.matches("127.0.0.1:80x", hosts))
        XCTAssertTrue(RebindingGuardMiddleware.matches("anything", ["*"]))
        XCTAssertTrue(RebindingGuardMiddleware.matches("http://[::1]:3000", HTTPService.localOrigins))
        XCTAssertFalse(RebindingGuardMiddleware.matches("https://localhost:3000", HTTPService.localOrigins))
        XCTAssertEqual(MCPV8Command.list(" a:*, ,b "), ["a:*", "b"])
    }

    func testTextOrFile() throws {
        XCTAssertEqual(try MCPV8Command.textOrFile("plain", flag: "--instructions"), "plain")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-v8-\(UUID()).txt")
        try "from a file".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertEqual(try MCPV8Command.textOrFile("@\(file.path)", flag: "--instructions"), "from a file")
        XCTAssertThrowsError(try MCPV8Command.textOrFile("@/no/such/file", flag: "--instructions"))
    }
}
