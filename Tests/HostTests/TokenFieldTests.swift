@testable import Host
import Foundation
import MCP
import XCTest

/// A token's header and payload fields as written (its `kid`, the `--tenant-claim`), read from
/// base64url without padding, as every JWT carries them.
final class TokenFieldTests: XCTestCase {
    private func base64URL(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    func testAClaimIsReadWithEachPaddingAndTheURLAlphabet() {
        for filler in ["", "x", "xy"] {  // payloads of each length modulo 3: two, one and no `=` left out
            // "a~~~???" puts `~~~` and `???` on 3-byte boundaries: `fn5-` and `Pz8_` in base64url.
            let payload = #"{"tenant":"a~~~???\#(filler)","n":[1]}"#
            XCTAssert(base64URL(payload).contains("-") && base64URL(payload).contains("_"), base64URL(payload))
            let token = "\(base64URL(#"{"alg":"RS256","kid":"k1"}"#)).\(base64URL(payload)).c2lnbmF0dXJl"
            XCTAssertEqual(JWKSVerifier.claim("tenant", of: token), .string("a~~~???\(filler)"))
            XCTAssertEqual(JWKSVerifier.claim("n", of: token), .array([.int(1)]))
            XCTAssertNil(JWKSVerifier.claim("kid", of: token), "the header's fields are not claims")
        }
    }

    func testAMalformedTokenHasNoClaims() {
        XCTAssertNil(JWKSVerifier.claim("tenant", of: "no-dots-at-all"))
        XCTAssertNil(JWKSVerifier.claim("tenant", of: "\(base64URL("{}")).!!!.c2ln"), "not base64")
        XCTAssertNil(JWKSVerifier.claim("tenant", of: "\(base64URL("{}")).\(base64URL("[1]")).c2ln"), "not an object")
        XCTAssertNil(JWKSVerifier.claim("tenant", of: "é.éé.é"), "not ASCII")
    }
}
