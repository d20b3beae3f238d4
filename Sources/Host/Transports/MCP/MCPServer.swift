import Logging
import MCP

/// The MCP face of mcp-v8: tool listing and tool calls, over any swift-sdk transport.
public struct MCPServerSetup: Sendable {
    public var instructions: String
    public var runJSDescription: String
    public let executor: StatelessExecutor

    public static let defaultInstructions = """
        mcp-v8 runs JavaScript and TypeScript in sandboxed V8 isolates. Use the run_js tool to compute, \
        transform data or test code: write a program instead of reasoning step by step. Print with \
        console.log; the value of the last expression is returned as the result.
        """

    public init(instructions: String?, runJSDescription: String?, executor: StatelessExecutor) {
        self.instructions = instructions ?? Self.defaultInstructions
        self.runJSDescription = runJSDescription ?? RunJSTool.defaultDescription
        self.executor = executor
    }

    public func makeServer() async -> Server {
        let server = Server(name: "mcp-v8", version: MCPV8Version.current, instructions: instructions,
                            capabilities: .init(tools: .init(listChanged: false)))
        let tools = [RunJSTool.definition(description: runJSDescription, defaults: executor.defaults)]
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools) }
        await server.withMethodHandler(CallTool.self) { [executor] call in
            guard call.name == RunJSTool.name else {
                throw MCPError.invalidParams(
                    "Unknown tool '\(call.name)'; available: \(tools.map(\.name).joined(separator: ", ")).")
            }
            do {
                let parameters = try RunJSTool.parameters(from: call.arguments)
                return RunJSTool.callResult(try await executor.execute(parameters))
            } catch let error as ToolArgumentError {
                return RunJSTool.failure(error.description)
            } catch let error as ServerBusyError {
                return RunJSTool.failure(error.description)
            }
        }
        return server
    }

    /// Serves one client on stdin/stdout until it disconnects.
    public func serveStdio(logger: Logger) async throws {
        let server = await makeServer()
        try await server.start(transport: BlockingStdioTransport(logger: logger))
        await server.waitUntilCompleted()
    }
}

public enum MCPV8Version {
    public static let current = "0.1.0"
}
