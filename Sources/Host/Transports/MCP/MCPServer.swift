import Logging
import MCP

/// The MCP face of mcp-v8: tool listing and tool calls, over any swift-sdk transport.
public struct MCPServerSetup: Sendable {
    /// What runs the code: fresh isolates answering inline, or executions over stored heaps.
    public enum Mode: Sendable {
        case stateless(StatelessExecutor)
        case stateful(ExecutionRegistry, inlineWaitMilliseconds: Int)
    }

    public var instructions: String
    public var runJSDescription: String
    public let mode: Mode

    public static let defaultInstructions = """
        mcp-v8 runs JavaScript in sandboxed V8 isolates. Use the run_js tool to compute, \
        transform data or test code: write a program instead of reasoning step by step. Print with \
        console.log; the value of the last expression is returned as the result.
        """

    public init(instructions: String?, runJSDescription: String?, mode: Mode) {
        self.instructions = instructions ?? Self.defaultInstructions
        self.mode = mode
        switch mode {
        case .stateless: self.runJSDescription = runJSDescription ?? RunJSTool.defaultDescription
        case .stateful: self.runJSDescription = runJSDescription ?? StatefulTools.runJSDescription
        }
    }

    public func makeServer() async -> Server {
        let server = Server(name: "mcp-v8", version: MCPV8Version.current, instructions: instructions,
                            capabilities: .init(tools: .init(listChanged: false)))
        let tools: [Tool] = switch mode {
        case .stateless(let executor):
            [RunJSTool.definition(description: runJSDescription, defaults: executor.defaults)]
        case .stateful(let registry, let wait):
            StatefulTools.definitions(runJSDescription: runJSDescription, defaults: registry.defaults,
                                      inlineWaitMilliseconds: wait)
        }
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools) }
        await server.withMethodHandler(CallTool.self) { [mode] call in
            guard tools.contains(where: { $0.name == call.name }) else {
                throw MCPError.invalidParams(
                    "Unknown tool '\(call.name)'; available: \(tools.map(\.name).joined(separator: ", ")).")
            }
            switch mode {
            case .stateless(let executor):
                do {
                    let parameters = try RunJSTool.parameters(from: call.arguments)
                    return RunJSTool.callResult(try await executor.execute(parameters))
                } catch let error as ToolArgumentError {
                    return RunJSTool.failure(error.description)
                } catch let error as ServerBusyError {
                    return RunJSTool.failure(error.description)
                }
            case .stateful(let registry, let wait):
                return try await StatefulTools.call(call.name, call.arguments, registry: registry,
                                                    inlineWaitMilliseconds: wait)
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
