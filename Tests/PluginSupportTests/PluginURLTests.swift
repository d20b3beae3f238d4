import Foundation
import PluginSupport
import XCTest

/// plugin_url.c, called directly: the URL a Fetch or Modules policy judges must be the one curl
/// connects to and asks for, written one way however the guest spelled it.
final class PluginURLTests: XCTestCase {
    private struct URLParts: Equatable {
        var href, scheme, host: String
        var port: Int
        var path, query: String
    }

    private func parse(_ text: String, base: String? = nil, advice: String = "") -> Result<URLParts, Refusal> {
        var url = plugin_url()
        var error: UnsafeMutablePointer<CChar>?
        guard plugin_url_parse(text, base, "fetch: ", advice, &url, &error) == 0 else {
            defer { free(error) }
            return .failure(Refusal(message: error.map { String(cString: $0) } ?? "(no message)"))
        }
        defer { plugin_url_free(&url) }
        return .success(URLParts(href: String(cString: url.href), scheme: String(cString: url.scheme),
                                 host: String(cString: url.host), port: url.port, path: String(cString: url.path),
                                 query: String(cString: url.query)))
    }

    private struct Refusal: Error, Equatable { var message: String }

    /// The href `text` canonicalises to, checking that parsing it again changes nothing.
    private func href(_ text: String, base: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard case .success(let parts) = parse(text, base: base) else {
            XCTFail("\(text) was refused: \(parse(text, base: base))", file: file, line: line)
            return nil
        }
        XCTAssertEqual(try parse(parts.href).get(), parts, "the canonical form of \(text) is a fixed point", file: file, line: line)
        return parts.href
    }

    private func refusal(_ text: String, advice: String = "") -> String? {
        if case .failure(let refusal) = parse(text, advice: advice) { return refusal.message }
        return nil
    }

    func testCanonicalForms() throws {
        XCTAssertEqual(try parse("HTTP://Example.COM:80/a/./b/../c?x=1#fragment").get(), URLParts(
            href: "http://example.com/a/c?x=1", scheme: "http", host: "example.com", port: 80, path: "/a/c", query: "x=1"))
        XCTAssertEqual(href("https://a.com:443"), "https://a.com/")
        XCTAssertEqual(href("http://example.com.:8080"), "http://example.com:8080/")
        XCTAssertEqual(href("http://a/p?q=1&r=%2F"), "http://a/p?q=1&r=%2F")
        XCTAssertEqual(href("http://a/ é"), "http://a/%20%c3%a9")
        XCTAssertEqual(href("../x?y", base: "https://a.com/b/c/d"), "https://a.com/b/x?y")
    }

    /// Found by `make fuzz`: a trailing dot or a percent-encoded dot kept a numeric host from being
    /// rewritten ("0x7f.1." reached the policy as "0x7f.1"), while the resolver read it as 127.0.0.1.
    func testEveryNumericSpellingOfAnAddressReachesThePolicyAsTheSameHost() {
        for spelling in ["127.0.0.1", "127.1", "127.0.1", "0x7f.1", "0x7F000001", "2130706433", "0177.0.0.1",
                         "017700000001", "0x7f.0.0.1", "127.0.0.1.", "0x7f.1.", "0x7f.1..", "2130706433.", "127%2e1",
                         "127%2E0%2E0%2E1", "%31%32%37.0.0.1", "[::ffff:127.0.0.1]", "[::FFFF:7f00:1]",
                         "[0:0:0:0:0:ffff:7f00:1]"] {
            XCTAssertEqual(href("http://\(spelling)/"), "http://127.0.0.1/", spelling)
        }
    }

    func testIPv6IsCanonicalAndWithoutBracketsForPolicies() throws {
        XCTAssertEqual(try parse("http://[0:0:0:0:0:0:0:1]:8080/").get().host, "::1")
        XCTAssertEqual(href("http://[0:0:0:0:0:0:0:1]:8080/"), "http://[::1]:8080/")
        XCTAssertEqual(href("http://[FE80::0001]/"), "http://[fe80::1]/")
        XCTAssertEqual(href("http://[::]/"), "http://[::]/")
        XCTAssertEqual(refusal("http://[fe80::1%25eth0]/"),
                       #"fetch: "http://[fe80::1%25eth0]/" names an IPv6 zone (%...), which is not allowed"#)
        XCTAssertEqual(refusal("http://[::1/"),
                       #"fetch: "http://[::1/" is not a valid URL; only absolute http:// and https:// URLs are allowed"#)
    }

    /// Servers that decode %2F and %5C before resolving dot segments see these as climbing out.
    func testDotSegmentsWithEncodedSeparatorsAreResolved() {
        XCTAssertEqual(href("http://a/public/..%2fprivate"), "http://a/private")
        XCTAssertEqual(href("http://a/public/..%5Cprivate"), "http://a/private")
        XCTAssertEqual(href("http://a/a/%2e%2e/b"), "http://a/b")
        XCTAssertEqual(href("http://a/x/.%2E/y"), "http://a/y")
        XCTAssertEqual(href("http://a/a/%2E/b"), "http://a/a/b")
        XCTAssertEqual(href("http://a/a%2Fb"), "http://a/a%2Fb", "an encoded separator beside no dot segment stays")
    }

    func testUserNamesAndPasswordsAreRefused() {
        for text in ["http://u:p@a/", "http://u@a/", "http://:p@a/"] {
            XCTAssertEqual(refusal(text, advice: "; send credentials in headers"),
                           "fetch: URLs with a user name or password are not allowed; send credentials in headers", text)
        }
    }

    func testPorts() throws {
        XCTAssertEqual(try parse("http://a:65535/").get().port, 65535)
        XCTAssertEqual(try parse("https://a/").get().port, 443)
        XCTAssertEqual(try parse("http://a/").get().port, 80)
        for text in ["http://a:65536/", "http://a:x/", "http://a:-1/"] {
            XCTAssertEqual(refusal(text), "fetch: \"\(text)\" is not a valid URL; only absolute http:// and https:// URLs are allowed")
        }
    }

    func testInvalidURLsAreRefusedWithWhatIsAllowed() {
        XCTAssertEqual(refusal("ftp://a/"),
                       #"fetch: "ftp://a/" uses the scheme "ftp"; only absolute http:// and https:// URLs are allowed"#)
        for text in ["", "not a url", "javascript:alert(1)", "http://a b/", "http://a%2fb/", "http://a%00b/"] {
            XCTAssertEqual(refusal(text), "fetch: \"\(text)\" is not a valid URL; only absolute http:// and https:// URLs are allowed")
        }
        XCTAssertEqual(refusal("http://exämple.com/"),
                       #"fetch: "http://exämple.com/" has a host name that is not plain ASCII; write international names in their xn-- form"#)
    }

    func testConfiguredHostsAreWrittenAsURLHostsAre() {
        for (configured, canonical) in [("Example.COM.", "example.com"), ("[::FFFF:127.0.0.1]", "127.0.0.1"),
                                        ("[0:0::1]", "::1"), ("localhost", "localhost")] {
            let result = plugin_url_canonical_host(configured)!
            defer { free(result) }
            XCTAssertEqual(String(cString: result), canonical, configured)
        }
    }
}
