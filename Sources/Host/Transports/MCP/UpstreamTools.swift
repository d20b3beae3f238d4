import Foundation
import HostSupport
import Logging
import MCP
import MCPBridge

/// The tools of the upstream MCP servers (`--mcp-server`, `--mcp-config`), advertised as
/// `runjs__<server>__<tool>` so that an agent learns they exist; calling one only says how to reach
/// it from run_js, where `mcp.callTool` calls it under the mcp_tools policy. The host lists them
/// in the background, retrying a server that is down with backoff; listing clients hear
/// notifications/tools/list_changed when tools appear.
public final class UpstreamTools: @unchecked Sendable {
    static let prefix = "runjs__"

    let servers: [UpstreamServer]
    private let lock = NSLock()
    private var stubsByServer: [String: [Tool]] = [:]
    private var listeners: [WeakServer] = []
    private var discovery: Task<Void, Never>?

    public init(servers: [UpstreamServer]) {
        self.servers = servers
    }

    /// The stub tools found so far, in the order the servers were given.
    var tools: [Tool] {
        lock.lock()
        defer { lock.unlock() }
        return servers.flatMap { stubsByServer[$0.name] ?? [] }
    }

    /// Tells `server`'s client when the list grows.
    func register(_ server: Server) {
        lock.lock()
        listeners.removeAll { $0.server == nil }
        listeners.append(WeakServer(server: server))
        lock.unlock()
    }

    /// Connects to each server in the background, lists its tools and lets it go; a server that
    /// cannot be listed is retried after 1 s, 2 s, 4 s, ... up to a minute apart.
    public func startDiscovery(connectTimeout: Duration, timeout: Duration, reserved: Set<String>, logger: Logger) {
        discovery = Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                for server in servers {
                    group.addTask { await self.discover(server, connectTimeout: connectTimeout, timeout: timeout,
                                                        reserved: reserved, logger: logger) }
                }
            }
        }
    }

    public func stopDiscovery() {
        discovery?.cancel()
    }

    private func discover(_ server: UpstreamServer, connectTimeout: Duration, timeout: Duration,
                          reserved: Set<String>, logger: Logger) async {
        var delay = Duration.seconds(1)
        var attempt = 1
        while !Task.isCancelled {
            let connection = UpstreamConnection(server: server, connectTimeout: connectTimeout, requestTimeout: timeout,
                                                report: { logger.warning("\($0)") })
            do {
                let tools = try await connection.listTools(timeout: timeout)
                await connection.close()
                let stubs = Self.definitions(server: server.name, tools: tools, reserved: reserved, logger: logger)
                logger.info("MCP server '\(server.name)': \(stubs.count) tools listed as \(Self.prefix)\(server.name)__<tool>")
                publish(server: server.name, stubs: stubs)
                return
            } catch {
                await connection.close()
                if Task.isCancelled { return }
                logger.warning("MCP server '\(server.name)' could not be listed (attempt \(attempt), next in \(delay)): \(error)")
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(60))
            attempt += 1
        }
    }

    private func publish(server: String, stubs: [Tool]) {
        lock.lock()
        stubsByServer[server] = stubs
        let listening = listeners.compactMap(\.server)
        lock.unlock()
        for listener in listening {
            Task { try? await listener.notify(ToolListChangedNotification.message()) }
        }
    }

    static func definitions(server: String, tools: [Tool], reserved: Set<String>, logger: Logger) -> [Tool] {
        var seen = reserved
        return tools.compactMap { tool in
            let name = "\(prefix)\(server)__\(tool.name)"
            guard seen.insert(name).inserted else {
                logger.warning("MCP server '\(server)': tool '\(tool.name)' is not listed: \(name) is already a tool's name")
                return nil
            }
            return Tool(name: name, description: usage(server: server, tool: tool),
                        inputSchema: .object(["type": "object", "properties": .object([:])]))
        }
    }

    /// What calling a stub answers: how to call the real tool.
    static func answer(_ tool: Tool) -> ToolAnswer {
        ToolAnswer(fields: ["guidance": .string("\(tool.name) is not run directly. \(tool.description ?? "")")],
                   isError: false)
    }

    private static func usage(server: String, tool: Tool) -> String {
        var text = "The tool '\(tool.name)' of the MCP server '\(server)', reachable only from run_js code (calling "
            + "this tool does not run it)."
        if let description = tool.description?.trimmingCharacters(in: .whitespacesAndNewlines), !description.isEmpty {
            text += " What it does: \(description.prefix(2000))"
            if !description.hasSuffix(".") { text += "." }
        }
        let schema = String(decoding: PlainJSON.encoded(tool.inputSchema), as: UTF8.self)
        text += " From run_js: `const result = await mcp.callTool('\(server)', '\(tool.name)', {...arguments})` "
            + "resolves to {content: [...], structuredContent?, isError}; its arguments follow the JSON Schema "
            + (schema.count <= 4000 ? schema : String(schema.prefix(4000)) + "...") + "."
        return text
    }
}

private struct WeakServer {
    weak var server: Server?
}
