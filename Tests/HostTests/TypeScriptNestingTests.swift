@testable import Host
import XCTest

/// The depth check that keeps code too deep for any parser away from esbuild (issue 16, item 15).
final class TypeScriptNestingTests: XCTestCase {
    func testBracketsOfEveryKindCount() {
        XCTAssertFalse(TypeScript.nestsDeeperThan(3, "f([{ a: 1 }])"))
        XCTAssertTrue(TypeScript.nestsDeeperThan(3, "f([{ a: (1) }])"))
        XCTAssertTrue(TypeScript.nestsDeeperThan(3, "`${ `${ [[1]] }` }`"))
        XCTAssertTrue(TypeScript.nestsDeeperThan(5_000, String(repeating: "[", count: 100_000)))
    }

    func testClosedBracketsAndBracketsInStringsAndCommentsDoNot() {
        XCTAssertFalse(TypeScript.nestsDeeperThan(2, "[1]; [2]; (3); {4}; [[5]]"))
        XCTAssertFalse(TypeScript.nestsDeeperThan(1, "const s: string = '[[[\\'[[' + \"(((\" + `{{{ ${ 1 } [[[`"))
        XCTAssertFalse(TypeScript.nestsDeeperThan(1, "// [[[[\n/* (((( */ [1]"))
        XCTAssertFalse(TypeScript.nestsDeeperThan(
            5_000, "const data: string = '" + String(repeating: "[", count: 100_000) + "'; data.length"))
    }
}
