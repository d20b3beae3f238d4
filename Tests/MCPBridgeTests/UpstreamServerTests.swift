import Foundation
@testable import MCPBridge
import XCTest

final class UpstreamServerTests: XCTestCase {
    func testParsesEachTransportFromAFlag() throws {
        let stdio = try UpstreamServer.parse(flag: #"up=stdio:python3 server.py --name 'two words' "x y" a\ b"#)
        XCTAssertEqual(stdio, UpstreamServer(name: "up", transport: .stdio, command: "python3",
                                             args: ["server.py", "--name", "two words", "x y", "a b"]))
        let http = try UpstreamServer.parse(flag: "web=http:http://127.0.0.1:8080/mcp")
        XCTAssertEqual(http, UpstreamServer(name: "web", transport: .http, url: "http://127.0.0.1:8080/mcp"))
        let sse = try UpstreamServer.parse(flag: "old_1=sse:https://example.com/sse")
        XCTAssertEqual(sse.transport, .sse)
    }

    func testRefusesBadFlags() {
        for bad in ["noequals", "up=ftp:x", "up=stdio:", "bad name=stdio:x", "up=http:file:///etc/passwd",
                    "up=http:not a url", "up=stdio:x 'unbalanced", "=stdio:x", "ü=stdio:x"] {
            XCTAssertThrowsError(try UpstreamServer.parse(flag: bad), "\(bad)") { XCTAssertTrue($0 is UpstreamConfigurationError) }
        }
    }

    func testReadsTheCommonConfigFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-config-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"""
            {"mcpServers": {
              "local": {"command": "node", "args": ["s.js"], "env": {"KEY": "v"}},
              "remote": {"url": "http://127.0.0.1:9/mcp"},
              "legacy": {"url": "http://127.0.0.1:9/sse", "transport": "sse"},
              "typed": {"url": "http://127.0.0.1:9/mcp", "type": "streamable-http", "disabled": false,
                        "headers": {"Authorization": "Bearer t"}}
            }}
            """#.utf8).write(to: file)
        let servers = try UpstreamServer.parse(configFile: file.path)
        XCTAssertEqual(servers.map(\.name), ["legacy", "local", "remote", "typed"])
        XCTAssertEqual(servers[1], UpstreamServer(name: "local", transport: .stdio, command: "node", args: ["s.js"], env: ["KEY": "v"]))
        XCTAssertEqual(servers[0].transport, .sse)
        XCTAssertEqual(servers[2].transport, .http)
        XCTAssertEqual(servers[3].transport, .http)
        XCTAssertEqual(servers[3].headers, ["Authorization": "Bearer t"])
    }

    func testRefusesBadConfigFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-config-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        for bad in [#"{"servers": {}}"#, #"{"mcpServers": {"a": {"command": "x", "url": "http://h/"}}}"#,
                    #"{"mcpServers": {"a": {"url": "http://h/", "transport": "carrier-pigeon"}}}"#,
                    #"{"mcpServers": {"a b": {"command": "x"}}}"#, "not json",
                    #"{"mcpServers": {"a": {"url": "http://h/", "headers": {"X-Key": "v\r\nX-Other: w"}}}}"#,
                    #"{"mcpServers": {"a": {"url": "http://h/", "headers": {"Bad Name": "v"}}}}"#,
                    #"{"mcpServers": {"a": {"command": "x", "headers": {"X-Key": "v"}}}}"#] {
            try Data(bad.utf8).write(to: file)
            XCTAssertThrowsError(try UpstreamServer.parse(configFile: file.path), "\(bad)") { XCTAssertTrue($0 is UpstreamConfigurationError) }
        }
        XCTAssertThrowsError(try UpstreamServer.parse(configFile: "/nonexistent/mcp.json")) { XCTAssertTrue($0 is UpstreamConfigurationError) }
    }

    func testDuplicateNamesAreRefusedAndTheSettingRoundTrips() throws {
        let one = UpstreamServer(name: "a", transport: .stdio, command: "x")
        XCTAssertThrowsError(try UpstreamServer.checked([one, one])) { XCTAssertTrue($0 is UpstreamConfigurationError) }
        let servers = [one, UpstreamServer(name: "b", transport: .http, url: "http://127.0.0.1/mcp")]
        XCTAssertEqual(try UpstreamServer.parse(setting: UpstreamServer.setting(servers)), servers)
    }

    func testEventStreamsParseInAnyChunking() {
        let text = "event: endpoint\ndata: /message?id=1\n\n: comment\ndata: {\"a\":\r\ndata: 1}\n\nevent: message\ndata: x"
        var whole = EventStreamParser()
        let expected = [EventStreamParser.Event(name: "endpoint", data: "/message?id=1"),
                        EventStreamParser.Event(name: "message", data: "{\"a\":\n1}"),
                        EventStreamParser.Event(name: "message", data: "x")]
        XCTAssertEqual(whole.feed(Data(text.utf8)) + whole.finish(), expected)
        var bytewise = EventStreamParser()
        var events: [EventStreamParser.Event] = []
        for byte in Data(text.utf8) { events += bytewise.feed(Data([byte])) }
        XCTAssertEqual(events + bytewise.finish(), expected)
    }
}
