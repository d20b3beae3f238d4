/*
 * The MCP bridge capability plugin: gives guests `mcp` (servers, listTools, callTool) to call the
 * tools of other MCP servers, gated by the "mcp_tools" policy category. Written in Swift against
 * the C ABI alone (mcpv8_capability.h); the connections are the MCPBridge module's.
 *
 * Operation "list_tools": request {"server"}; policy {"operation": "list_tools", "server"};
 *   completion [{"name", "description", "inputSchema", "outputSchema"?}, ...]
 * Operation "call_tool": request {"server", "tool", "arguments"}; policy {"operation": "call_tool",
 *   "server", "tool", "arguments"}; completion {"content": [...], "structuredContent"?, "isError"}
 *
 * Settings (the server builds `servers` from --mcp-server and --mcp-config; the others are
 * --plugin-config mcp.KEY=VALUE):
 *   servers             [{"name", "transport": "stdio"|"http"|"sse", "command", "args", "env", "url"}]
 *   timeout_ms          most time for one list or call, once connected (default 60000)
 *   connect_timeout_ms  most time to start or reach a server and complete the handshake (default 10000)
 *   max_result_bytes    largest result, as JSON, handed to the guest (default 10485760)
 */
import CapabilityABI
import Foundation
import HostSupport
import MCP
import MCPBridge

/// Not "MCPBridge" like the code: users write this name as the guest global `mcp` and the settings
/// prefix (`--plugin-config mcp.timeout_ms=...`), as they write the category `mcp_tools` in policies.
private let pluginName = "mcp"

/// The host's API table, static for the life of the process (mcpv8_capability.h).
struct HostAPI: @unchecked Sendable {
    let table: UnsafePointer<mcpv8_host_api>

    func complete(_ call: CallHandle, json: Data) {
        json.withUnsafeBytes {
            table.pointee.complete!(call.pointer, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, nil, 0)
        }
    }

    func fail(_ call: CallHandle, code: String, message: String) {
        table.pointee.fail!(call.pointer, code, message)
    }

    func warn(_ message: String) {
        table.pointee.log!(pluginName, MCPV8_LOG_WARNING, message)
    }
}

/// The bridge in this process: the host's API table, a connection per server, calls in flight.
final class Bridge: @unchecked Sendable {
    let host: HostAPI
    let connections: [String: UpstreamConnection]
    let timeout: Duration
    let maxResultBytes: Int
    private let lock = NSLock()
    private var running: [Int: Task<Void, Never>] = [:]

    init(host: HostAPI, servers: [UpstreamServer], timeout: Duration, connectTimeout: Duration, maxResultBytes: Int) {
        self.host = host
        self.timeout = timeout
        self.maxResultBytes = maxResultBytes
        connections = Dictionary(uniqueKeysWithValues: servers.map {
            ($0.name, UpstreamConnection(server: $0, connectTimeout: connectTimeout,
                                         requestTimeout: timeout + .seconds(5), report: { host.warn($0) }))
        })
    }

    /// Runs `work` on a task of its own; its JSON completes the call, its error fails it.
    func start(_ call: CallHandle, _ work: @escaping @Sendable () async throws -> Data) {
        let key = Int(bitPattern: call.pointer)
        lock.lock()
        defer { lock.unlock() }
        running[key] = Task { [self] in
            let outcome: Result<Data, Error>
            do {
                outcome = .success(try await work())
            } catch {
                outcome = .failure(error)
            }
            lock.withLock { running[key] = nil }
            switch outcome {
            case .success(let json) where json.count > maxResultBytes:
                host.fail(call, code: "ERR_MCP_TOO_LARGE",
                          message: "mcp: the upstream's answer is \(json.count) bytes of JSON, more than mcp.max_result_bytes (\(maxResultBytes))")
            case .success(let json):
                host.complete(call, json: json)
            case .failure(let error as UpstreamError):
                host.fail(call, code: error.code, message: error.description)
            case .failure(is CancellationError):
                host.fail(call, code: "ECANCELED", message: "mcp: the run ended before the upstream answered")
            case .failure(let error):
                host.fail(call, code: "ERR_MCP", message: "mcp: \(error)")
            }
        }
    }

    func cancel(_ call: CallHandle) {
        lock.lock()
        let task = running[Int(bitPattern: call.pointer)]
        lock.unlock()
        task?.cancel()
    }

    /// Cancels what is in flight and stops every connection (stdio servers are killed).
    func shutdown() {
        lock.lock()
        let tasks = Array(running.values)
        lock.unlock()
        tasks.forEach { $0.cancel() }
        let done = DispatchSemaphore(value: 0)
        let connections = Array(self.connections.values)
        Task {
            for connection in connections { await connection.close() }
            done.signal()
        }
        _ = done.wait(timeout: .now() + 2)
    }
}

struct CallHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

nonisolated(unsafe) private var bridge: Bridge?

// MARK: - requests and policy input

private struct ListToolsRequest: Decodable {
    let server: String
}

private struct CallToolRequest: Decodable {
    let server: String
    let tool: String
    let arguments: PlainJSON.Node
}

private enum RequestError: Error, CustomStringConvertible {
    case invalid(String)
    var description: String { if case .invalid(let text) = self { text } else { "" } }
}

private func decode<Request: Decodable>(_ type: Request.Type, _ json: UnsafePointer<CChar>?, _ length: Int,
                                        operation: String) throws -> Request {
    let data = Data(bytes: json!, count: length)
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch {
        throw RequestError.invalid("mcp.\(operation): malformed request (\(error))")
    }
}

private func connection(_ server: String, operation: String) throws -> UpstreamConnection {
    guard let connection = bridge?.connections[server] else {
        let known = bridge.map { $0.connections.keys.sorted().joined(separator: ", ") } ?? ""
        throw RequestError.invalid("mcp.\(operation): '\(server)' is not a configured MCP server (configured: \(known.isEmpty ? "none" : known))")
    }
    return connection
}

private func callArguments(_ request: CallToolRequest) throws -> [String: Value] {
    guard case .object(let arguments) = request.arguments.value else {
        throw RequestError.invalid("mcp.callTool: the arguments must be a JSON object")
    }
    return arguments
}

/// The policy input document of a request, or the error the guest gets for it.
private func policyInput(operation: String, _ json: UnsafePointer<CChar>?, _ length: Int) throws -> Data {
    switch operation {
    case "list_tools":
        let request = try decode(ListToolsRequest.self, json, length, operation: "listTools")
        _ = try connection(request.server, operation: "listTools")
        return PlainJSON.encoded(.object(["operation": "list_tools", "server": .string(request.server)]))
    default:
        let request = try decode(CallToolRequest.self, json, length, operation: "callTool")
        _ = try connection(request.server, operation: "callTool")
        guard !request.tool.isEmpty else { throw RequestError.invalid("mcp.callTool: the tool name is empty") }
        return PlainJSON.encoded(.object(["operation": "call_tool", "server": .string(request.server), "tool": .string(request.tool),
                                "arguments": .object(try callArguments(request))]))
    }
}

private func policyInputEntry(operation: String, _ json: UnsafePointer<CChar>?, _ length: Int,
                              _ input: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                              _ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    do {
        let document = try policyInput(operation: operation, json, length)
        input?.pointee = strdup(String(decoding: document, as: UTF8.self))
        return 0
    } catch {
        errorOut?.pointee = strdup("\(error)")
        return 1
    }
}

// MARK: - operations

private func startListTools(_ call: CallHandle, _ json: UnsafePointer<CChar>?, _ length: Int) {
    guard let bridge else { return }
    do {
        let request = try decode(ListToolsRequest.self, json, length, operation: "listTools")
        let upstream = try connection(request.server, operation: "listTools")
        let timeout = bridge.timeout
        bridge.start(call) {
            let tools = try await upstream.listTools(timeout: timeout)
            return PlainJSON.encoded(.array(tools.map { tool in
                var fields: [String: Value] = [
                    "name": .string(tool.name), "description": .string(tool.description ?? ""),
                    "inputSchema": tool.inputSchema,
                ]
                fields["outputSchema"] = tool.outputSchema
                return .object(fields)
            }))
        }
    } catch {
        bridge.host.fail(call, code: "ERR_INVALID_ARG_VALUE", message: "\(error)")
    }
}

private func startCallTool(_ call: CallHandle, _ json: UnsafePointer<CChar>?, _ length: Int) {
    guard let bridge else { return }
    do {
        let request = try decode(CallToolRequest.self, json, length, operation: "callTool")
        let upstream = try connection(request.server, operation: "callTool")
        let arguments = try callArguments(request)
        let (tool, timeout) = (request.tool, bridge.timeout)
        bridge.start(call) {
            let result = try await upstream.callTool(tool, arguments: arguments, timeout: timeout)
            return try resultJSON(result)
        }
    } catch {
        bridge.host.fail(call, code: "ERR_INVALID_ARG_VALUE", message: "\(error)")
    }
}

/// `{content, structuredContent?, isError}` with isError always present.
private func resultJSON(_ result: CallTool.Result) throws -> Data {
    var fields: [String: Value] = [
        "content": try PlainJSON.value(from: JSONEncoder().encode(result.content)),
        "isError": .bool(result.isError ?? false),
    ]
    fields["structuredContent"] = result.structuredContent
    return PlainJSON.encoded(.object(fields))
}

// MARK: - the descriptor

nonisolated(unsafe) private let operations: UnsafeMutablePointer<mcpv8_operation> = {
    let table = UnsafeMutablePointer<mcpv8_operation>.allocate(capacity: 2)
    table[0] = mcpv8_operation(
        size: MemoryLayout<mcpv8_operation>.size, name: UnsafePointer(strdup("list_tools")),
        policy_input: { _, json, length, input, error in policyInputEntry(operation: "list_tools", json, length, input, error) },
        start: { _, call, json, length, _, _ in startListTools(CallHandle(pointer: call!), json, length) },
        cancel: { _, call in bridge?.cancel(CallHandle(pointer: call!)) })
    table[1] = mcpv8_operation(
        size: MemoryLayout<mcpv8_operation>.size, name: UnsafePointer(strdup("call_tool")),
        policy_input: { _, json, length, input, error in policyInputEntry(operation: "call_tool", json, length, input, error) },
        start: { _, call, json, length, _, _ in startCallTool(CallHandle(pointer: call!), json, length) },
        cancel: { _, call in bridge?.cancel(CallHandle(pointer: call!)) })
    return table
}()

nonisolated(unsafe) private let globals: UnsafeMutablePointer<UnsafePointer<CChar>?> = {
    let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: 1)
    list[0] = UnsafePointer(strdup("mcp"))
    return list
}()

/// A numeric setting within `range`, or `fallback` when unset.
private func setting(_ host: UnsafePointer<mcpv8_host_api>, _ key: String, fallback: Int,
                     range: ClosedRange<Int>) throws -> Int {
    guard let raw = host.pointee.config_host_owned!(pluginName, key) else { return fallback }
    defer { host.pointee.release!(raw) }
    let text = String(cString: raw)
    guard let value = Int(text), range.contains(value) else {
        throw RequestError.invalid("mcp: the setting \(key) must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'")
    }
    return value
}

@_cdecl("mcpv8_plugin_entry")
public func mcpv8PluginEntry(_ host: UnsafePointer<mcpv8_host_api>?, _ error: UnsafeMutablePointer<CChar>?,
                             _ errorCapacity: Int) -> UnsafePointer<mcpv8_plugin>? {
    func refuse(_ message: String) -> UnsafePointer<mcpv8_plugin>? {
        if let error, errorCapacity > 0 {
            let bytes = Array(message.utf8.prefix(errorCapacity - 1)).map { CChar(bitPattern: $0) } + [0]
            bytes.withUnsafeBufferPointer { error.update(from: $0.baseAddress!, count: bytes.count) }
        }
        return nil
    }
    // The table may be an older minor's, shorter than this header's: like plugin_support.c, ask
    // only that `size` covers the fields used here (ABI 1.0's; `release` is the last of them).
    let needed = MemoryLayout<mcpv8_host_api>.offset(of: \.release)! + MemoryLayout<UnsafeRawPointer?>.size
    guard let host, host.pointee.size >= needed,
          host.pointee.abi_major == UInt32(MCPV8_ABI_MAJOR),
          host.pointee.complete != nil, host.pointee.fail != nil, host.pointee.log != nil,
          host.pointee.config_host_owned != nil, host.pointee.release != nil else {
        return refuse("mcp: the host's API table is not ABI \(MCPV8_ABI_MAJOR).x or lacks the functions this plugin uses")
    }
    let servers: [UpstreamServer]
    let timeoutMilliseconds: Int
    let connectMilliseconds: Int
    let maxResultBytes: Int
    do {
        timeoutMilliseconds = try setting(host, "timeout_ms", fallback: 60_000, range: 1...86_400_000)
        connectMilliseconds = try setting(host, "connect_timeout_ms", fallback: 10_000, range: 1...600_000)
        maxResultBytes = try setting(host, "max_result_bytes", fallback: 10_485_760, range: 1...1_073_741_824)
        if let raw = host.pointee.config_host_owned!(pluginName, "servers") {
            defer { host.pointee.release!(raw) }
            servers = try UpstreamServer.parse(setting: String(cString: raw))
        } else {
            servers = []
        }
    } catch {
        return refuse("\(error)")
    }
    bridge?.shutdown()
    bridge = Bridge(host: HostAPI(table: host), servers: servers, timeout: .milliseconds(timeoutMilliseconds),
                    connectTimeout: .milliseconds(connectMilliseconds), maxResultBytes: maxResultBytes)
    let descriptor = UnsafeMutablePointer<mcpv8_plugin>.allocate(capacity: 1)
    descriptor.initialize(to: mcpv8_plugin(
        size: MemoryLayout<mcpv8_plugin>.size,
        abi_major: UInt32(MCPV8_ABI_MAJOR),
        abi_minor: UInt32(MCPV8_ABI_MINOR),
        name: UnsafePointer(strdup(pluginName)),
        version: UnsafePointer(strdup("1.0.0")),
        category: UnsafePointer(strdup("mcp_tools")),
        globals: UnsafePointer(globals),
        global_count: 1,
        prelude_js: UnsafePointer(strdup(Prelude.text(servers: servers.map(\.name)))),
        operations: UnsafePointer(operations),
        operation_count: 2,
        state: nil,
        release: { free($0) },
        shutdown: { _ in bridge?.shutdown() },
        usage: UnsafePointer(strdup("await mcp.listTools(server), await mcp.callTool(server, tool, args) -> "
                                    + "{content, structuredContent?, isError}; mcp.servers names the servers, the "
                                    + "runjs__<server>__<tool> tools describe theirs")),
        // Its servers shape its prelude, so they are one per process: no per-set settings.
        open_set: nil))
    return UnsafePointer(descriptor)
}
