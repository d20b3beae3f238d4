@testable import Host
import XCTest

/// The hand-written JSON reader policy input documents go through.
final class PolicyDocumentTests: XCTestCase {
    func testReadsEveryKindOfValue() {
        let document = PolicyDocument(parsing: #"""
            {"operation": "fetch", "n": -12, "big": 18446744073709551616, "x": 1.5e3, "ok": true, "no": false,
             "none": null, "list": [1, [], {}], "text": "tab\there \"quoted\" \\ \/ \u00e9 \ud83d\ude00"}
            """#)
        XCTAssertEqual(document, .object([
            ("operation", .string("fetch")), ("n", .int(-12)), ("big", .float(18446744073709551616)), ("x", .float(1500)),
            ("ok", .bool(true)), ("no", .bool(false)), ("none", .null), ("list", .array([.int(1), .array([]), .object([])])),
            ("text", .string("tab\there \"quoted\" \\ / é 😀")),
        ]))
        XCTAssertEqual(PolicyDocument(parsing: "  \"only\"\n"), .string("only"))
    }

    func testRefusesWhatIsNotExactlyOneJSONValue() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "-", "1.", "1e", "tru", "nul", "\"open",
                     "\"\\x\"", "\"\\ud83d\"", "\"\\ude00\"", "\"line\nbreak\"", "1 2", "{} x", "'single'",
                     String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
                     // Found by `make fuzz`: read as infinity, and as "\u0041", before.
                     "605e6666", "-1e400", "[1.5E+309]", #""\u+041""#, #""\u-041""#, #""\u+F05""#] {
            XCTAssertNil(PolicyDocument(parsing: text), text)
        }
    }

    func testNoticesNULInKeysAndValues() {
        XCTAssertEqual(PolicyDocument(parsing: #"{"path": "a\u0000b"}"#)?.containsNUL, true)
        XCTAssertEqual(PolicyDocument(parsing: #"{"a\u0000": 1}"#)?.containsNUL, true)
        XCTAssertEqual(PolicyDocument(parsing: #"{"path": "ab"}"#)?.containsNUL, false)
    }
}
