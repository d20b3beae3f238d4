import CV8
import Foundation
import XCTest

final class EngineTests: XCTestCase {
    func testLibnodeBuildIdIsKnown() {
        let id = String(cString: cv8_libnode_build_id())
        XCTAssertEqual(id.count, 40, id)
        XCTAssertTrue(id.allSatisfy(\.isHexDigit), id)
    }

    func testTheTaskExample() {
        let report = sharedEngine.run("console.log([1,2,3].map(x => x*2)); 40 + 2")
        assertCompleted(report, result: "42")
        XCTAssertEqual(report.lines, ["[ 2, 4, 6 ]"])
    }

    func testResultsOfManyTypes() {
        let cases: [(String, String?)] = [
            ("1 + 1", "2"),
            ("'text'", "\"text\""),
            ("null", "null"),
            ("undefined", nil),
            ("true", "true"),
            ("({a: [1, {b: 2}], c: 'd'})", "{\"a\":[1,{\"b\":2}],\"c\":\"d\"}"),
            ("[1, 'two', null]", "[1,\"two\",null]"),
            ("new Date(0)", "\"1970-01-01T00:00:00.000Z\""),
            ("10n ** 20n", "\"100000000000000000000n\""),
            ("Symbol('s')", "\"Symbol(s)\""),
            ("(function named() {})", "\"[Function: named]\""),
            ("const o = {}; o.self = o; o", "\"<ref *1> { self: [Circular *1] }\""),
            ("NaN", "null"),
            ("'\\ud800 \\udc00 \\ud83d\\ude00 \\\\ud800'", "\"\\ufffd \\ufffd 😀 \\\\ud800\""),
        ]
        for (code, expected) in cases {
            assertCompleted(sharedEngine.run(code), result: expected)
        }
    }

    func testThrownErrorCarriesMessageAndStack() {
        let report = sharedEngine.run("function fail() { throw new TypeError('boom'); }\nfail()")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        let error = report.error ?? ""
        XCTAssertTrue(error.hasPrefix("TypeError: boom"), error)
        XCTAssertTrue(error.contains("at fail (main.js:1:"), error)
        XCTAssertNil(report.result)
    }

    func testThrownNonErrorIsDescribed() {
        let report = sharedEngine.run("throw {code: 7}")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertEqual(report.error, "Uncaught { code: 7 }")
    }

    func testSyntaxErrorHasLineAndColumn() {
        let report = sharedEngine.run("let a = 1;\nlet b = ;")
        XCTAssertEqual(report.status, CV8_STATUS_SYNTAX_ERROR)
        XCTAssertTrue(report.error?.hasPrefix("SyntaxError: Unexpected token ';' (main.js:2:9)") ?? false,
                      report.error ?? "")
        XCTAssertTrue(report.error?.contains("let b = ;\n        ^") ?? false, report.error ?? "")
    }

    func testTimersRunInOrderOfDueTime() {
        let report = sharedEngine.run("""
            setTimeout(() => console.log('c'), 20);
            setTimeout(() => console.log('a'), 0);
            const id = setTimeout(() => console.log('never'), 5);
            clearTimeout(id);
            setTimeout(() => console.log('b'), 10);
            let n = 0; const iv = setInterval(() => { if (++n === 3) { clearInterval(iv); console.log('i3'); } }, 1);
            queueMicrotask(() => console.log('micro'));
            'sync'
            """)
        assertCompleted(report, result: "\"sync\"")
        XCTAssertEqual(report.lines.first, "micro")
        XCTAssertEqual(report.lines.filter { ["a", "b", "c"].contains($0) }, ["a", "b", "c"])
        XCTAssertTrue(report.lines.contains("i3"))
        XCTAssertFalse(report.lines.contains("never"))
    }

    func testPromiseResultIsAwaited() {
        assertCompleted(sharedEngine.run("new Promise(r => setTimeout(() => r(5), 10))"), result: "5")
        assertCompleted(sharedEngine.run("(async () => { await null; return [1] })()"), result: "[1]")
    }

    func testRejectedResultIsAnError() {
        let report = sharedEngine.run("Promise.reject(new RangeError('no'))")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.hasPrefix("RangeError: no") ?? false, report.error ?? "")
    }

    func testUnhandledRejectionFailsTheRun() {
        let report = sharedEngine.run("Promise.reject(new Error('lost')); 1")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.hasPrefix("Uncaught (in promise) Error: lost") ?? false, report.error ?? "")
    }

    func testPromiseThatCanNeverSettleFailsFast() {
        let started = Date()
        let report = sharedEngine.run("new Promise(() => {})", timeoutMilliseconds: 5000)
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.contains("can never settle") ?? false, report.error ?? "")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4)
    }

    func testModuleWithTopLevelAwait() {
        let report = sharedEngine.run("""
            const value = await new Promise(r => setTimeout(() => r(20), 5));
            console.log('got', value);
            value * 2
            """)
        assertCompleted(report, result: "40")
        XCTAssertEqual(report.lines, ["got 20"])
    }

    func testAwaitInsideAnExpressionIsAModule() {
        assertCompleted(sharedEngine.run("[1, await Promise.resolve(2)]"), result: "[1,2]")
        let report = sharedEngine.run("[1, await 1 2]")  // neither a script nor a module
        XCTAssertEqual(report.status, CV8_STATUS_SYNTAX_ERROR)
        XCTAssertTrue(report.error?.contains("(main.js:1:") ?? false, report.error ?? "")
    }

    /// A script reads `await (x)` as a call of a variable named await; it means an await.
    func testAwaitBeforeParenthesesOrBracketsIsAnAwait() {
        assertCompleted(sharedEngine.run("await (async () => 5)()"), result: "5")
        assertCompleted(sharedEngine.run("await (Promise.resolve(1))"), result: "1")
        assertCompleted(sharedEngine.run("const p = Promise.resolve(3);\nlet x = await (p); x"), result: "3")
        assertCompleted(sharedEngine.run("await\n[Promise.resolve(4)]"), result: "[{}]")
        // A script that names its own function await keeps that meaning (a module could not).
        assertCompleted(sharedEngine.run("function await(x) { return x * 2 }\nawait (3)"), result: "6")
        // Inside an async function it was always an await: the program stays a script.
        assertCompleted(sharedEngine.run("var kept = 1; (async () => await (kept))()"), result: "1")
    }

    /// A module's result is the completion value a script would have: from blocks, branches,
    /// try/catch and loops too, never from inside functions.
    func testModuleResultIsTheScriptCompletionValue() {
        let cases: [(String, String?)] = [
            ("async function f() { throw new Error('boom') }\ntry { await f() } catch (e) { e.message }", "\"boom\""),
            ("await 0;\nif (true) { 'yes' } else { 'no' }", "\"yes\""),
            ("await 0;\nlet total = 0;\nfor (const i of [1, 2, 3]) { total += i }", "6"),
            ("await 0;\n5;\nfunction g() { 7 }\nconst h = () => { 8 };", "5"),
            ("await 0;\nlabel: { 'in label'; break label; }", "\"in label\""),
            ("await 0;\nswitch (2) { case 2: 'two'; break; default: 'other' }", "\"two\""),
            ("const only = await 1;", nil),
        ]
        for (code, expected) in cases { assertCompleted(sharedEngine.run(code), result: expected) }
    }

    func testModuleWithExportsAndNoTrailingExpression() {
        assertCompleted(sharedEngine.run("export const x = 1;\nexport function f() {}"), result: nil)
        assertCompleted(sharedEngine.run("export const x = 2;\nx + 1;\nconst y = 3;"), result: "3")
    }

    func testImportIsRefusedWithTheSpecifier() {
        let report = sharedEngine.run("import fs from 'node:fs';\n1")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.contains("cannot import 'node:fs'") ?? false, report.error ?? "")
        let dynamic = sharedEngine.run("await import('https://example.com/x.js')")
        XCTAssertEqual(dynamic.status, CV8_STATUS_ERROR)
        XCTAssertTrue(dynamic.error?.contains("cannot import 'https://example.com/x.js'") ?? false,
                      dynamic.error ?? "")
    }

    /// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
    static let addWasm = "new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,"
        + "0,0,10,9,1,7,0,32,0,32,1,106,11])"

    func testWebAssemblySynchronous() {
        let report = sharedEngine.run("""
            const instance = new WebAssembly.Instance(new WebAssembly.Module(\(Self.addWasm)));
            instance.exports.add(2, 3)
            """)
        assertCompleted(report, result: "5")
    }

    func testWebAssemblyAsynchronous() {
        let report = sharedEngine.run("""
            const { instance } = await WebAssembly.instantiate(\(Self.addWasm));
            instance.exports.add(20, 22)
            """)
        assertCompleted(report, result: "42")
    }

    func testRuntimeGlobals() {
        let report = sharedEngine.run("""
            [
              new TextDecoder().decode(new TextEncoder().encode('héllo')),
              btoa('hi'), atob('aGk='),
              new URL('../b?x=1#h', 'https://Example.com/a/c').href,
              new URLSearchParams({a: '1 2'}).toString(),
              structuredClone(new Map([[1, 2]])).get(1),
              typeof performance.now(),
              // Installed up front here; only stateful heaps wait for the first use.
              typeof Object.getOwnPropertyDescriptor(globalThis, 'URL').value,
            ]
            """)
        assertCompleted(report, result: "[\"héllo\",\"aGk=\",\"hi\",\"https://example.com/b?x=1#h\",\"a=1+2\",2,\"number\",\"function\"]")
    }

    func testConsoleLevelsAndFormatting() {
        let report = sharedEngine.run("""
            console.info('%s is %d', 'x', 42); console.warn({a: 1}); console.error(new Error('e').message);
            console.debug([1, 'a']); console.log('multi\\nline')
            """)
        assertCompleted(report, result: nil)
        XCTAssertEqual(report.lines, ["x is 42", "{ a: 1 }", "e", "[ 1, 'a' ]", "multi", "line"])
        XCTAssertEqual(report.output.map(\.level),
                       [CV8_CONSOLE_INFO, CV8_CONSOLE_WARN, CV8_CONSOLE_ERROR, CV8_CONSOLE_DEBUG, CV8_CONSOLE_LOG, CV8_CONSOLE_LOG])
    }

    func testEachRunStartsFresh() {
        assertCompleted(sharedEngine.run("globalThis.leftover = 1; Array.prototype.push = null; 0"), result: "0")
        assertCompleted(sharedEngine.run("[typeof leftover, [1].concat(2).length]"), result: "[\"undefined\",2]")
    }
}
