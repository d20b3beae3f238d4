import Foundation
import XCTest
@testable import Host

/// Local Rego policies through rego-cpp (the vendored librego_shared.so that scripts/setup installs).
final class RegoPolicyTests: XCTestCase {
    private func policy(_ text: String, category: String = "t") throws -> RegoPolicy {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).rego")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let library = try RegoLibrary(path: RegoLibrary.locate(explicitPath: nil))
        return try RegoPolicy(library: library, path: file.path, category: category)
    }

    func testInputDocumentsOfEveryJSONTypeReachThePolicyIntact() throws {
        let rego = try policy("""
            package mcp.t

            allow if {
                input.name == "x"
                input.count == 3
                input.ratio == 0.5
                input.flag == true
                input.nothing == null
                input.list == [1, "two", false]
                input.nested.deep == {"a": [{"b": 1}]}
            }
            """)
        let document = #"{"name":"x","count":3,"ratio":0.5,"flag":true,"nothing":null,"list":[1,"two",false],"nested":{"deep":{"a":[{"b":1}]}}}"#
        XCTAssertTrue(try rego.allows(inputJSON: document))
        XCTAssertFalse(try rego.allows(inputJSON: document.replacingOccurrences(of: "\"count\":3", with: "\"count\":4")))
        // `true` and 1 are different values to Rego.
        XCTAssertFalse(try rego.allows(inputJSON: document.replacingOccurrences(of: "\"flag\":true", with: "\"flag\":1")))
    }

    func testAStringHoldingNULIsJudgedWholeNotCutShort() throws {
        let rego = try policy("""
            package mcp.t

            allow if input.path == "/allowed"
            """)
        XCTAssertTrue(try rego.allows(inputJSON: #"{"path":"/allowed"}"#))
        XCTAssertFalse(try rego.allows(inputJSON: #"{"path":"/allowed\u0000/../etc/passwd"}"#))
    }

    func testSyntaxErrorsNameTheFileLineAndColumn() throws {
        XCTAssertThrowsError(try policy("package mcp.t\n\nallow if {\n  input.x ==\n}\n")) { error in
            XCTAssertTrue("\(error)".contains(".rego:4:11: Invalid boolean operator"), "\(error)")
        }
    }
}
