import CV8
import Foundation
import XCTest

/// ES module imports: a capability's prelude gives the runtime a loader, and the engine loads the
/// graph through it (in parallel, each module once per run), links, evaluates, and supports
/// import() and import.meta. Sources here come from a dictionary instead of the network.
final class ModuleTests: XCTestCase {
    private let loaderPrelude = """
        host.setModuleLoader(async (specifier, referrer) => {
          const { value, bytes } = await host.call('import', { specifier, referrer });
          return { url: value.url, source: bytes };
        });
        """

    /// Serves `sources` by URL, resolving relative specifiers against the importer; records what
    /// was asked for.
    private final class ModuleServer: @unchecked Sendable {
        let sources: [String: String]
        private let lock = NSLock()
        private var asked: [String] = []

        init(_ sources: [String: String]) { self.sources = sources }

        var requests: [String] { lock.withLock { asked } }

        func capabilities(prelude: String) -> TestCapabilities {
            TestCapabilities(preludes: [prelude]) { [self] call, _, request, _ in
                let json = try! JSONSerialization.jsonObject(with: Data(request.utf8)) as! [String: Any]
                let specifier = json["specifier"] as! String
                let referrer = json["referrer"] as? String
                let url = URL(string: specifier, relativeTo: referrer.flatMap(URL.init(string:)))?.absoluteString ?? specifier
                lock.withLock { asked.append(url) }
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 0...5))) {
                    if let source = self.sources[url] {
                        completeHostCall(call, json: #"{"url":"\#(url)"}"#, bytes: Array(source.utf8))
                    } else {
                        completeHostCall(call, ok: false, json: #"{"message":"cannot import '\#(specifier)': not found","code":"ERR_MODULE_NOT_FOUND"}"#)
                    }
                }
            }
        }
    }

    private let library = [
        "https://mod.test/lib/math.js": "import { log } from './log.js'; export const double = (x) => { log('double'); return 2 * x; };",
        "https://mod.test/lib/log.js": "export const calls = []; export function log(name) { calls.push(name); }",
        "https://mod.test/lib/index.js": "export * from './math.js'; export { calls } from './log.js';",
        "https://mod.test/even.js": "import { odd } from './odd.js'; export const even = (n) => n === 0 || odd(n - 1);",
        "https://mod.test/odd.js": "import { even } from './even.js'; export const odd = (n) => n !== 0 && even(n - 1);",
        "https://mod.test/meta.js": "export const url = import.meta.url;",
        "https://mod.test/throws.js": "throw new RangeError('broken at load time');",
        "https://mod.test/bad-syntax.js": "export const x = 1;\nexport const = 2;",
        "https://mod.test/missing-child.js": "import './nowhere.js'; export const x = 1;",
        "https://mod.test/counter.js": "globalThis.loads = (globalThis.loads ?? 0) + 1; export const n = globalThis.loads;",
        "https://mod.test/tla.js": "export const value = await new Promise((resolve) => setTimeout(() => resolve(42), 5));",
    ]

    func testStaticImportsLoadTheWholeGraphAndTheLastExpressionIsTheResult() {
        let server = ModuleServer(library)
        let report = sharedEngine.run("""
            import { double, calls } from 'https://mod.test/lib/index.js';
            import { even } from 'https://mod.test/even.js';
            [double(21), calls, even(10), even(7)]
            """, capabilities: server.capabilities(prelude: loaderPrelude))
        assertCompleted(report, result: #"[42,["double"],true,false]"#)
        // Each module once, though index.js and math.js both import log.js.
        XCTAssertEqual(server.requests.filter { $0 == "https://mod.test/lib/log.js" }.count, 2)
        XCTAssertEqual(Set(server.requests).count, 5, "\(server.requests)")
    }

    func testDynamicImportGivesTheNamespaceAndEvaluatesAModuleOncePerRun() {
        let server = ModuleServer(library)
        let capabilities = server.capabilities(prelude: loaderPrelude)
        let report = sharedEngine.run("""
            const a = await import('https://mod.test/counter.js');
            const b = await import('https://mod.test/counter.js');
            const { url } = await import('https://mod.test/meta.js');
            const { value } = await import('https://mod.test/tla.js');
            [a === b, a.n, loads, url, value]
            """, capabilities: capabilities)
        assertCompleted(report, result: #"[true,1,1,"https://mod.test/meta.js",42]"#)
        // A script (no import statement) may use import() too, and the next run evaluates afresh.
        assertCompleted(sharedEngine.run("import('https://mod.test/counter.js').then((m) => m.n)", capabilities: capabilities),
                        result: "1")
    }

    func testFailuresNameTheModuleAndWhatWentWrong() {
        let capabilities = ModuleServer(library).capabilities(prelude: loaderPrelude)
        let thrown = sharedEngine.run("import 'https://mod.test/throws.js';", capabilities: capabilities)
        XCTAssertEqual(thrown.status, CV8_STATUS_ERROR)
        XCTAssertTrue(thrown.error?.contains("RangeError: broken at load time") == true, thrown.error ?? "")
        XCTAssertTrue(thrown.error?.contains("https://mod.test/throws.js") == true, thrown.error ?? "")

        let syntax = sharedEngine.run("import { x } from 'https://mod.test/bad-syntax.js'; x", capabilities: capabilities)
        XCTAssertEqual(syntax.status, CV8_STATUS_ERROR)
        XCTAssertTrue(syntax.error?.contains("SyntaxError") == true, syntax.error ?? "")
        XCTAssertTrue(syntax.error?.contains("(https://mod.test/bad-syntax.js:2:14)") == true, syntax.error ?? "")

        let missing = sharedEngine.run("import 'https://mod.test/missing-child.js';", capabilities: capabilities)
        XCTAssertEqual(missing.error,
                       "Error: cannot import './nowhere.js': not found (imported by https://mod.test/missing-child.js)")

        let caught = sharedEngine.run("await import('https://mod.test/none.js').catch((e) => [e.message, e.code])",
                                      capabilities: capabilities)
        assertCompleted(caught, result: #"["cannot import 'https://mod.test/none.js': not found","ERR_MODULE_NOT_FOUND"]"#)
    }

    func testWithoutALoaderImportsAreRefusedWithHowToEnableThem() {
        let report = sharedEngine.run("import { x } from 'npm:lodash-es@4.17.21'; x")
        XCTAssertEqual(report.status, CV8_STATUS_ERROR)
        XCTAssertTrue(report.error?.contains("cannot import 'npm:lodash-es@4.17.21': module imports are not enabled") == true,
                      report.error ?? "")
        XCTAssertTrue(report.error?.contains("--allow-external-modules") == true, report.error ?? "")
        assertCompleted(sharedEngine.run("await import('./x.js').catch((e) => e.code)"), result: #""ERR_MODULES_DISABLED""#)
    }

    func testStatefulRunsRefuseImportsBecauseTheirHeapCouldNotBeSnapshotted() throws {
        // V8 aborts (or stores a broken heap) when it snapshots a context holding imported modules.
        let capabilities = ModuleServer(library).capabilities(prelude: loaderPrelude)
        let checkpointer = TestCheckpointer()
        let (refused, heap) = checkpointer.run(
            "import { double } from 'https://mod.test/lib/math.js'; double(2)", capabilities: capabilities)
        XCTAssertEqual(refused.status, CV8_STATUS_ERROR)
        XCTAssertNil(heap)
        XCTAssertTrue(refused.error?.contains("cannot import 'https://mod.test/lib/math.js': stateful runs cannot import modules") == true,
                      refused.error ?? "")
        let (caught, _) = checkpointer.run("await import('https://mod.test/meta.js').catch((e) => e.code)",
                                           capabilities: capabilities)
        assertCompleted(caught, result: #""ERR_MODULES_STATEFUL""#)
    }
}
