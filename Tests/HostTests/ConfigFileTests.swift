import Foundation
import XCTest
@testable import Host

final class ConfigFileTests: XCTestCase {
    private func write(_ name: String, _ text: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func failure(_ path: String) -> String {
        do {
            _ = try ConfigFile.read(path)
            return "read"
        } catch {
            return error.description
        }
    }

    func testTOMLAndJSONSayTheSame() throws {
        let toml = try ConfigFile.read(try write("a.toml", """
            stateless = true
            http_port = 8080
            heap_retention_days = 0.5
            fetch_header = ["host=a,header=X,value=1"]
            [tenants.team]
            limits = { max_executions = 2 }
            """))
        let json = try ConfigFile.read(try write("a.json", """
            {"stateless": true, "http_port": 8080, "heap_retention_days": 0.5, "fetch_header": ["host=a,header=X,value=1"],
             "tenants": {"team": {"limits": {"max_executions": 2}}}}
            """))
        XCTAssertEqual(toml.values, json.values)
        XCTAssertEqual(json.values["stateless"], .bool(true))
        XCTAssertEqual(json.values["http_port"], .integer(8080))
        XCTAssertEqual(json.values["tenants"]?.jsonText, #"{"team":{"limits":{"max_executions":2}}}"#)
    }

    func testAFileThatCannotBeReadSaysWhereAndWhy() throws {
        XCTAssertTrue(failure(try write("a.yaml", "x: 1")).hasSuffix("must end in .toml or .json, which says how to read it"))
        let badTOML = try write("b.toml", "a = 1\nb = \n")
        XCTAssertTrue(failure(badTOML).hasPrefix("the config file \(badTOML) is not valid TOML: "), failure(badTOML))
        XCTAssertTrue(failure(badTOML).contains("line 2"), failure(badTOML))
        XCTAssertTrue(failure(try write("c.json", "[1]")).hasSuffix("must hold a JSON object of flag names and values; it holds an array"))
        XCTAssertTrue(failure(try write("d.json", #"{"a": null}"#)).contains("leave the key out"))
        XCTAssertTrue(failure(try write("e.toml", "a = 1979-05-27")).hasSuffix("key a holds a TOML date; flags take strings, numbers, booleans, arrays and tables"))
        XCTAssertTrue(failure("/nonexistent/x.toml").hasPrefix("cannot read the config file /nonexistent/x.toml"))
    }
}
