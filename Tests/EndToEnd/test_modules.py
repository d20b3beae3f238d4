"""ES module imports end to end: npm:, jsr: and URL imports from a module server on loopback (the
CDN base points at it), relative and dynamic imports, TypeScript modules, every import and
redirect judged by the modules policy, the disk cache, and the flags that turn it all on."""
import collections
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import (ENCODED_TRAVERSALS, file_server, http_server_process, raw_server, run, run_js, server, serving, start_fails,
                      write_tree)
from opa_server import asked_by, opa_server

# What the module server answers, by path: (status, content type, body). esm.sh answers a package
# with a small module re-exporting its build from a root-relative path; this does the same.
MODULES = {
    "/case-kit@1.0.0": (200, "application/javascript", 'export * from "/case-kit@1.0.0/es2022/case-kit.mjs";'),
    "/case-kit@1.0.0/es2022/case-kit.mjs": (200, "application/javascript", """
        import { words } from "./words.mjs";
        export const camelCase = (text) => words(text).map((w, i) => i ? w[0].toUpperCase() + w.slice(1) : w).join("");
        export default { camelCase };"""),
    "/case-kit@1.0.0/es2022/words.mjs": (200, "application/javascript",
                                         "export const words = (text) => text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);"),
    "/jsr/@luca/cases@1.0.0": (200, "application/javascript",
                               'export const pascalCase = (t) => t.split(" ").map((w) => w[0].toUpperCase() + w.slice(1)).join("");'),
    "/lib/cycle-a.js": (200, "application/javascript",
                        'import { b } from "./cycle-b.js"; export const a = () => "a"; export const both = () => a() + b();'),
    "/lib/cycle-b.js": (200, "application/javascript", 'import { a } from "./cycle-a.js"; export const b = () => "b" + typeof a;'),
    "/lib/greet.ts": (200, "application/typescript", """
        interface Person { name: string }
        enum Tone { Warm = "warm" }
        export function greet(person: Person, tone: Tone = Tone.Warm): string { return `hello ${person.name!} (${tone})`; }"""),
    "/lib/throws.js": (200, "application/javascript", 'throw new TypeError("this module refuses to load");'),
    "/lib/uses-private.js": (200, "application/javascript", 'export { secret } from "/private/secret.js";'),
    "/private/secret.js": (200, "application/javascript", 'export const secret = 42;'),
    "/lib/redirect-to-private": (302, "/private/secret.js", ""),
    "/lib/redirect-to-public": (302, "/lib/cycle-b.js", ""),
    "/lib/garbage.js": (200, "text/html", "<html><body>not a module</body></html>"),
    "/lib/huge.js": (200, "application/javascript", "// " + "x" * (2 * 1024 * 1024)),
}
SLOW_PATH = "/lib/slow.js"  # answers after SLOW_SECONDS
SLOW_SECONDS = 5

# Imports from 127.0.0.1, except under /private/.
LOOPBACK_POLICY = """package mcp.modules

allow if {
    input.operation == "import"
    input.url_parsed.host == "127.0.0.1"
    not startswith(input.url_parsed.path, "/private/")
}
"""


@pytest.fixture(scope="module")
def module_server():
    """Serves MODULES on 127.0.0.1; yields its base URL, with `hits`: requests per path."""
    hits = collections.Counter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits[self.path] += 1
            if self.path == SLOW_PATH:
                time.sleep(SLOW_SECONDS)
            status, kind, body = MODULES.get(self.path, (404, "text/plain", "no such module"))
            self.send_response(status)
            if status == 302:
                self.send_header("Location", kind)
            else:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # a module graph opens its imports at once

    with serving(Server(("127.0.0.1", 0), Handler), hits=hits) as base:
        yield base


def rego_file(tmp_path: Path, text: str, name: str = "modules.rego") -> str:
    path = tmp_path / name
    path.write_text(text)
    return path.as_uri()


def module_flags(base: str, tmp_path: Path, policy_source: dict | None = None) -> list[str]:
    source = policy_source or {"url": rego_file(tmp_path, LOOPBACK_POLICY)}
    return ["--allow-external-modules", "--module-cdn-url", base,
            "--policies-json", json.dumps({"modules": {"policies": [source]}}),
            "--plugin-config", f"modules.cache_dir={tmp_path / 'cache'}"]


async def value_of(session, code: str):
    content, is_error = await run_js(session, code)
    assert not is_error, content
    return content.get("result")


async def error_of(session, code: str) -> str:
    content, is_error = await run_js(session, code)
    assert is_error, content
    return content["error"]


def test_npm_jsr_url_relative_and_dynamic_imports_work(binary, module_server, tmp_path):
    async def scenario():
        async with server(*module_flags(module_server, tmp_path)) as session:
            assert await value_of(session, """
                import { camelCase } from "npm:case-kit@1.0.0";
                camelCase("hello big world")""") == "helloBigWorld"
            assert await value_of(session, """
                import { pascalCase } from "jsr:@luca/cases@1.0.0";
                pascalCase("hello world")""") == "HelloWorld"
            assert await value_of(session, f"""
                import {{ both }} from "{module_server}/lib/cycle-a.js";
                both()""") == "abfunction"
            # A TypeScript main program imports as JavaScript does.
            assert await value_of(session, """
                import { camelCase } from "npm:case-kit@1.0.0";
                const label: string = camelCase("typed main program");
                label""") == "typedMainProgram"
            assert await value_of(session, """
                const kit = await import("npm:case-kit@1.0.0");
                kit.camelCase("dynamic import")""") == "dynamicImport"
            # A redirect the policy allows is followed; the module is known by where it ended up.
            assert await value_of(session, f"""
                const m = await import("{module_server}/lib/redirect-to-public");
                m.b()""") == "bfunction"
    run(scenario())


def test_typescript_modules_are_stripped(binary, module_server, tmp_path):
    async def scenario():
        async with server(*module_flags(module_server, tmp_path)) as session:
            assert await value_of(session, f"""
                import {{ greet }} from "{module_server}/lib/greet.ts";
                greet({{ name: "Ada" }})""") == "hello Ada (warm)"
    run(scenario())


def test_the_policy_judges_every_import_transitive_import_and_redirect(binary, module_server, tmp_path):
    async def scenario():
        async with server(*module_flags(module_server, tmp_path)) as session:
            direct = await error_of(session, f'import {{ secret }} from "{module_server}/private/secret.js"; secret')
            assert f"'{module_server}/private/secret.js'" in direct and "denied by the modules policy" in direct
            transitive = await error_of(session, f'import {{ secret }} from "{module_server}/lib/uses-private.js"; secret')
            assert "'/private/secret.js'" in transitive and "denied" in transitive
            assert f"imported by {module_server}/lib/uses-private.js" in transitive
            redirected = await error_of(session, f'await import("{module_server}/lib/redirect-to-private")')
            assert "redirect-to-private" in redirected and f"{module_server}/private/secret.js" in redirected
            assert "denied" in redirected
            assert module_server.hits["/private/secret.js"] == 0
    run(scenario())


def test_encoded_separators_cannot_climb_out_of_an_allowed_path(binary, tmp_path):
    site = write_tree(tmp_path / "site", {
        "lib/ok.js": "export const ok = 'public';",
        "private/secret.js": "export const secret = 42;",
        **{f"lib/climbs-{index}.js": f'export {{ secret }} from "./{traversal}private/secret.js";'
           for index, traversal in enumerate(ENCODED_TRAVERSALS)},
    })

    async def scenario():
        with file_server(site) as base:
            async with server(*module_flags(base, tmp_path)) as session:
                assert await value_of(session, f'import {{ ok }} from "{base}/lib/ok.js"; ok') == "public"
                for index, traversal in enumerate(ENCODED_TRAVERSALS):
                    direct = await error_of(session, f'import {{ secret }} from "{base}/lib/{traversal}private/secret.js"; secret')
                    assert "denied by the modules policy" in direct, direct
                    relative = await error_of(session, f'import {{ secret }} from "{base}/lib/climbs-{index}.js"; secret')
                    assert "denied by the modules policy" in relative, relative
                    package = await error_of(session, f'import x from "npm:kit@1.0.0/{traversal}{traversal}private/secret.js"; x')
                    assert "without empty, '.' or '..' segments" in package, package
            assert not any("private" in path for path in base.paths), base.paths
    run(scenario())


def test_policy_input_is_the_documented_document(binary, module_server, tmp_path):
    port = int(module_server.rsplit(":", 1)[1])

    async def scenario():
        with opa_server({"modules.rego": "package mcp.modules\n\nallow := true\n"}) as opa:
            flags = module_flags(module_server, tmp_path, {"url": opa, "policy_path": "mcp/modules"})
            async with server(*flags) as session:
                assert await value_of(session, 'import { pascalCase } from "jsr:@luca/cases@1.0.0"; pascalCase("a b")') == "AB"
                assert opa.inputs == asked_by([{
                    "operation": "import", "specifier": "jsr:@luca/cases@1.0.0", "specifier_type": "jsr",
                    "resolved_url": f"{module_server}/jsr/@luca/cases@1.0.0",
                    "url_parsed": {"scheme": "http", "host": "127.0.0.1", "port": port,
                                   "path": "/jsr/@luca/cases@1.0.0", "query": ""},
                }])
                opa.inputs.clear()
                await value_of(session, 'import { camelCase } from "npm:case-kit@1.0.0"; camelCase("a b")')
                assert [(i["specifier"], i["specifier_type"], i["resolved_url"]) for i in opa.inputs] == [
                    ("npm:case-kit@1.0.0", "npm", f"{module_server}/case-kit@1.0.0"),
                    ("/case-kit@1.0.0/es2022/case-kit.mjs", "url", f"{module_server}/case-kit@1.0.0/es2022/case-kit.mjs"),
                    ("./words.mjs", "url", f"{module_server}/case-kit@1.0.0/es2022/words.mjs"),
                ]
    run(scenario())


def test_bad_imports_get_errors_that_name_the_specifier(binary, module_server, tmp_path):
    async def scenario():
        async with server(*module_flags(module_server, tmp_path)) as session:
            missing = await error_of(session, 'import x from "npm:case-kit@9.9.9"; x')
            assert "npm:case-kit@9.9.9" in missing and "404" in missing
            throws = await error_of(session, f'import "{module_server}/lib/throws.js";')
            assert "TypeError: this module refuses to load" in throws
            relative = await error_of(session, 'import x from "./local.js"; x')
            assert "'./local.js'" in relative and "relative" in relative
            bare = await error_of(session, 'import _ from "lodash"; _')
            assert "'lodash'" in bare and "npm:" in bare
            for scheme_url in ["data:text/javascript,export default 1", "blob:http://127.0.0.1/x", "node:fs"]:
                refused = await error_of(session, f"import x from {json.dumps(scheme_url)}; x")
                assert f"'{scheme_url}'" in refused and "npm:" in refused, refused
            # Numeric spellings of an address reach the policy as the address itself.
            port = module_server.rsplit(":", 1)[1]
            assert await value_of(session, f'(await import("http://2130706433:{port}/lib/cycle-b.js")).b()') == "bfunction"
            # A guest that poisons Object.prototype.then cannot get between the loader and the engine.
            assert await value_of(session, f"""
                Object.prototype.then = function (resolve) {{ resolve({{ url: "{module_server}/x", source: "export const a = 0" }}); }};
                const m = await import("{module_server}/lib/cycle-a.js");
                delete Object.prototype.then;
                m.both()""") == "abfunction"
            # The server is unaffected: the next run works.
            assert await value_of(session, "1 + 1") == 2
    run(scenario())


def test_garbage_huge_and_hanging_modules_fail_clearly_and_in_bounded_time(binary, module_server, tmp_path):
    async def scenario():
        flags = module_flags(module_server, tmp_path) + [
            "--plugin-config", "modules.timeout_ms=1000", "--plugin-config", "modules.max_module_bytes=1048576"]
        async with server(*flags) as session:
            garbage = await error_of(session, f'import "{module_server}/lib/garbage.js";')
            assert "SyntaxError" in garbage and f"{module_server}/lib/garbage.js:1:1" in garbage
            huge = await error_of(session, f'import "{module_server}/lib/huge.js";')
            assert "huge.js" in huge and "1048576 bytes" in huge
            started = time.monotonic()
            slow = await error_of(session, f'import "{module_server}/lib/slow.js";')
            assert time.monotonic() - started < SLOW_SECONDS - 1
            assert "slow.js" in slow and "1000 ms" in slow
            assert await value_of(session, "1 + 1") == 2
    run(scenario())


def test_a_module_is_fetched_once_then_served_from_the_disk_cache(binary, module_server, tmp_path):
    path = "/jsr/@luca/cases@1.0.0"
    code = 'import { pascalCase } from "jsr:@luca/cases@1.0.0"; pascalCase("from cache")'

    async def scenario():
        before = module_server.hits[path]
        async with server(*module_flags(module_server, tmp_path)) as session:
            assert await value_of(session, code) == "FromCache"
            assert await value_of(session, code) == "FromCache"
        # A new server (new workers) reads the same cache.
        async with server(*module_flags(module_server, tmp_path)) as session:
            assert await value_of(session, code) == "FromCache"
        assert module_server.hits[path] - before == 1
        assert any((tmp_path / "cache").rglob("*")), "the cache directory is empty"
    run(scenario())


def test_a_plugins_own_log_lines_name_the_tenant_of_the_run(binary, module_server, tmp_path):
    """Issue 18 item 4: a plugin's log line (here the modules plugin's warning about a cache it
    cannot use, a file where a directory should be) names the tenant whose run it served."""
    not_a_directory = tmp_path / "not-a-directory"
    not_a_directory.write_text("")
    policy = {"modules": {"policies": [{"url": rego_file(tmp_path, LOOPBACK_POLICY)}]}}
    tenants = tmp_path / "tenants.json"
    tenants.write_text(json.dumps({"tenants": {"acme": {
        "policies": policy, "plugin_config": {"modules.cache_dir": str(not_a_directory)}}}}))
    code = 'import { pascalCase } from "jsr:@luca/cases@1.0.0"; pascalCase("logged")'
    with http_server_process("--stateless", "--http-port", "0", "--tenants", str(tenants), "--tenant", "acme",
                             "--allow-external-modules", "--module-cdn-url", module_server,
                             "--policies-json", json.dumps(policy)) as (url, _, log):
        answer = httpx.post(f"{url}/api/exec", json={"code": code}, timeout=60).json()
        assert answer.get("result") == "Logged", answer
        deadline = time.monotonic() + 30
        while not [line for line in (log.seek(0), log.read())[1].splitlines() if "cannot use the cache" in line]:
            assert time.monotonic() < deadline, "no log line about the cache"
            time.sleep(0.1)
        log.seek(0)
        warnings = [line for line in log.read().splitlines() if "cannot use the cache" in line]
    assert warnings and all("tenant=acme" in line and "plugin=modules" in line for line in warnings), warnings


def test_a_cached_redirect_is_judged_again_by_the_policy_of_the_day(binary, module_server, tmp_path):
    allow_all = {"url": rego_file(tmp_path, "package mcp.modules\n\nallow := true\n", "allow-all.rego")}
    code = f'(await import("{module_server}/lib/redirect-to-private")).secret'

    async def scenario():
        async with server(*module_flags(module_server, tmp_path, allow_all)) as session:
            assert await value_of(session, code) == 42
        # The same cache under a policy that denies /private/: the cached redirect is not followed.
        async with server(*module_flags(module_server, tmp_path)) as session:
            denied = await error_of(session, code)
            assert f"{module_server}/private/secret.js" in denied and "denied" in denied
    run(scenario())


def test_stateful_runs_refuse_imports_and_go_on(binary, module_server, tmp_path):
    # V8 cannot snapshot a heap holding imported modules: a stateful run that imports fails cleanly.
    async def scenario():
        flags = module_flags(module_server, tmp_path) + [
            "--directory-path", str(tmp_path / "heaps"), "--session-db-path", str(tmp_path / "sessions.db")]
        async with raw_server(*flags) as session:
            refused, _ = await run_js(session, 'import { camelCase } from "npm:case-kit@1.0.0"; camelCase("a b")',
                                      inline_wait_ms=30000)
            assert refused["status"] == "failed" and refused.get("heap") is None, refused
            assert "stateful runs cannot import modules" in refused["error"] and "--stateless" in refused["error"]
            kept, _ = await run_js(session, "globalThis.f = () => 7; await 1; f()", inline_wait_ms=30000)
            assert kept["status"] == "completed" and kept["result"] == 7, kept
            resumed, _ = await run_js(session, "f() + 1", heap=kept["heap"], inline_wait_ms=30000)
            assert resumed.get("result") == 8, resumed
    run(scenario())


def test_imports_need_the_flag_and_a_policy(binary, module_server, tmp_path):
    policies = json.dumps({"modules": {"policies": [{"url": rego_file(tmp_path, LOOPBACK_POLICY)}]}})

    async def scenario():
        # A policy alone does not turn imports on.
        async with server("--policies-json", policies) as session:
            refused = await error_of(session, 'import { pascalCase } from "jsr:@luca/cases@1.0.0"; pascalCase("x")')
            assert "module imports are not enabled" in refused and "--allow-external-modules" in refused
    run(scenario())
    assert "--allow-external-modules needs a modules policy" in start_fails("--stateless", "--allow-external-modules")
    bad_cdn = start_fails("--stateless", "--allow-external-modules", "--policies-json", policies,
                          "--module-cdn-url", "ftp://mirror.example")
    assert "--module-cdn-url 'ftp://mirror.example' is not an http(s) URL" in bad_cdn
