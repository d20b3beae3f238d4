/// The body of `function (host) { ... }` the host runs before the guest's code, with SERVERS
/// replaced by the configured names as an array literal (`Prelude.text(servers:)`).
enum Prelude {
    static let template = #"""
// The MCP bridge's prelude: the body of `function (host) { ... }`, run before the guest's code,
// with SERVERS replaced by the configured names (Prelude.swift). It defines the global
// `mcp` on host.call("list_tools", {server}) and host.call("call_tool", {server, tool, arguments}).
'use strict';

// Captured now: guest code runs after this and may replace the globals.
const { Array, Object, String, TypeError } = globalThis;
const objectPrototype = Object.prototype;

const servers = Object.freeze(SERVERS);
const serverList = servers.length === 0
  ? 'none are configured (the operator adds them with --mcp-server or --mcp-config)'
  : servers.map((name) => `'${name}'`).join(', ');

function checkServer(where, server) {
  if (typeof server !== 'string' || !servers.includes(server)) {
    const given = typeof server === 'string' ? `'${server}'` : `a ${server === null ? 'null' : typeof server}`;
    throw new TypeError(`${where}: ${given} is not a configured MCP server; the servers are ${serverList} (mcp.servers)`);
  }
}

function isPlainObject(value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === objectPrototype || prototype === null;
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `a ${value?.constructor?.name ?? 'non-plain'} object` : `a ${typeof value}`;
}

async function listTools(server) {
  checkServer('mcp.listTools', server);
  return (await host.call('list_tools', { server })).value;
}

async function callTool(server, tool, args = {}) {
  checkServer('mcp.callTool', server);
  if (typeof tool !== 'string' || tool === '' || tool.includes('\0')) {
    throw new TypeError(`mcp.callTool: the tool name must be a non-empty string without NUL; got ${describe(tool)} (mcp.listTools('${server}') lists them)`);
  }
  if (!isPlainObject(args)) {
    throw new TypeError(`mcp.callTool: the arguments must be a plain object such as {text: 'hi'}; got ${describe(args)}`);
  }
  return (await host.call('call_tool', { server, tool, arguments: args })).value;
}

const mcp = Object.freeze({ servers, listTools, callTool });
Object.defineProperty(globalThis, 'mcp', { value: mcp, writable: true, configurable: true, enumerable: false });
"""#

    static func text(servers: [String]) -> String {
        let names = servers.map { "'\($0)'" }.joined(separator: ", ")
        return template.replacingOccurrences(of: "Object.freeze(SERVERS)", with: "Object.freeze([\(names)])")
    }
}
