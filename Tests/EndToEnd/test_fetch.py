"""The Fetch capability end to end: fetch, Headers and Response in the guest, every request and
every redirect hop judged by a local Rego policy or an OPA server, operator headers injected
without reaching the guest's policy input, and bad input refused with clear errors."""
import asyncio
import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ENCODED_TRAVERSALS, RUN_LIMIT_FACTOR, SANITIZED, file_server, run, run_js, server, write_tree
from opa_server import asked_by, opa_server

# GET to 127.0.0.1 under /public/, /echo, /bytes and /redirect-*; POST and PUT only to /echo (and to
# /redirect-see-other, whose 303 turns them into a GET of /echo).
LOOPBACK_POLICY = """package mcp.fetch

allow if {
    input.operation == "fetch"
    input.url_parsed.host == "127.0.0.1"
    input.method == "GET"
    readable(input.url_parsed.path)
}

allow if {
    input.url_parsed.host == "127.0.0.1"
    input.method in {"POST", "PUT"}
    input.url_parsed.path in {"/echo", "/redirect-see-other"}
}

readable(path) if startswith(path, "/public/")
readable(path) if path in {"/echo", "/bytes", "/big", "/nine-mib", "/slow", "/trickle"}
readable(path) if startswith(path, "/redirect-")
"""

# Only the name localhost: a numeric spelling of 127.0.0.1 must not pass for it.
LOCALHOST_POLICY = """package mcp.fetch

allow if input.url_parsed.host == "localhost"
"""

# Both loopback names, any path: for following a redirect from one host to the other.
BOTH_HOSTS_POLICY = """package mcp.fetch

allow if input.url_parsed.host in {"127.0.0.1", "localhost"}
"""

# The example of docs/policies.md: one path prefix.
PUBLIC_ONLY_POLICY = """package mcp.fetch

allow if startswith(input.url_parsed.path, "/public/")
"""

ALLOW_ALL_POLICY = """package mcp.fetch

allow := true
"""

DENY_ALL_POLICY = """package mcp.fetch

allow := false
"""

SECRET = "s3cret-injected-value"

NINE_MIB = b"x" * (9 << 20)

# When the client of the last /trickle response went away (time.monotonic()).
trickle_state = {"disconnected_at": None}


class TargetHandler(BaseHTTPRequestHandler):
    """The site the guest fetches from."""
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        port = self.server.server_address[1]
        routes = {
            "/public/data": lambda: self.answer(200, json.dumps({"items": [1, 2, 3]}).encode(),
                                                [("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b")]),
            "/private": lambda: self.answer(200, b"private"),
            "/echo": lambda: self.answer(200, json.dumps({
                "method": self.command,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "bytes": list(body),
            }).encode(), [("Content-Type", "application/json")]),
            "/bytes": lambda: self.answer(200, bytes(range(256)), [("Content-Type", "application/octet-stream")]),
            "/big": lambda: self.answer(200, b"x" * 100_000),
            "/nine-mib": lambda: self.answer_while_read(NINE_MIB),
            "/slow": lambda: (time.sleep(3), self.answer(200, b"late")),
            "/trickle": self.trickle,
            "/redirect-public": lambda: self.redirect("/public/data"),
            "/redirect-private": lambda: self.redirect("/private"),
            "/redirect-evil": lambda: self.redirect(f"http://localhost:{port}/public/data"),
            "/redirect-other-host-echo": lambda: self.redirect(f"http://localhost:{port}/echo"),
            "/redirect-see-other": lambda: self.redirect("/echo", status=303),
        }
        routes.get(self.path, lambda: self.answer(404, b"no such page"))()

    do_GET = do_POST = do_PUT = do_HEAD = handle_any

    def trickle(self):
        """A byte every 100 ms for 15 s, noting when the client stops listening."""
        trickle_state["disconnected_at"] = None
        self.send_response(200)
        self.send_header("Content-Length", "150")
        self.end_headers()
        try:
            for _ in range(150):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            trickle_state["disconnected_at"] = time.monotonic()

    def answer_while_read(self, body: bytes):
        try:
            self.answer(200, body)
        except OSError:
            pass  # the client gave up on it

    def redirect(self, location: str, status: int = 302):
        self.answer(status, b"", [("Location", location)])

    def answer(self, status: int, body: bytes, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *arguments):
        pass


@pytest.fixture(scope="module")
def target():
    """The base URL of the target site on 127.0.0.1."""
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), TargetHandler)
    http_server.daemon_threads = True
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http_server.server_address[1]}"
    http_server.shutdown()
    http_server.server_close()
    thread.join()


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def rego_file(tmp_path, text: str, name: str = "fetch.rego") -> str:
    path = tmp_path / name
    path.write_text(text)
    return f"file://{path}"


def policies(*sources, mode: str = "all") -> str:
    return json.dumps({"fetch": {"mode": mode, "policies": list(sources)}})


def local_policy_args(tmp_path, text: str) -> list[str]:
    return ["--policies-json", policies({"url": rego_file(tmp_path, text)})]


async def value_of(session, base: str, code: str):
    """Runs `code` with `BASE` bound to the target's URL; returns its result, failing on an error."""
    content, is_error = await run_js(session, f"const BASE = {json.dumps(base)};\n{code}")
    assert not is_error, content
    return content.get("result")


def outcome(call: str) -> str:
    """A guest expression settling the promise `call` to 'resolved' or '<error name>: <message>'."""
    return f"await {call}.then(() => 'resolved', error => error.name + ': ' + error.message)"


def outcomes(*calls: str) -> str:
    """The outcomes of several calls, one after the other, as an array."""
    return "[" + ", ".join(outcome(call) for call in calls) + "]"


@contextlib.contextmanager
def policy_flags(kind: str, tmp_path, text: str):
    """Server flags that make `text` the fetch policy, as a local file, through --policies-json with
    an OPA server, or through the seeds' --opa-url shortcut."""
    if kind == "local":
        yield local_policy_args(tmp_path, text)
        return
    with opa_server({"fetch.rego": text}) as opa:
        if kind == "opa":
            yield ["--policies-json", policies({"url": opa, "policy_path": "mcp/fetch"})]
        else:
            yield ["--opa-url", opa, "--opa-fetch-policy", "mcp/fetch"]


@pytest.mark.parametrize("kind", ["local", "opa", "opa-url"])
def test_policy_allows_denies_and_judges_every_redirect(binary, target, tmp_path, kind):
    async def scenario():
        with policy_flags(kind, tmp_path, LOOPBACK_POLICY) as flags:
            async with server(*flags) as session:
                allowed = await value_of(session, target, """
                    const response = await fetch(BASE + '/public/data');
                    ({status: response.status, ok: response.ok, statusText: response.statusText, url: response.url,
                      redirected: response.redirected, type: response.type, tag: response.headers.get('x-tag'),
                      type_header: response.headers.get('Content-Type'), json: await response.json()})""")
                assert allowed == {"status": 200, "ok": True, "statusText": "OK", "url": f"{target}/public/data",
                                   "redirected": False, "type": "basic", "tag": "a, b",
                                   "type_header": "application/json", "json": {"items": [1, 2, 3]}}

                denied = await value_of(session, target, outcome("fetch(BASE + '/private')"))
                assert denied.startswith("TypeError: ") and "denied" in denied

                followed = await value_of(session, target, """
                    const response = await fetch(BASE + '/redirect-public');
                    [response.redirected, response.url, (await response.json()).items]""")
                assert followed == [True, f"{target}/public/data", [1, 2, 3]]

                into_private = await value_of(session, target, outcome("fetch(BASE + '/redirect-private')"))
                assert f"redirect to {target}/private was denied by policy" in into_private

                other_host = await value_of(session, target, outcome("fetch(BASE + '/redirect-evil')"))
                assert f"redirect to http://localhost:{port_of(target)}/public/data was denied by policy" in other_host
    run(scenario())


def test_a_numeric_address_is_judged_as_the_address_curl_connects_to(binary, target):
    port = port_of(target)

    async def scenario():
        with opa_server({"fetch.rego": LOCALHOST_POLICY}) as opa:
            async with server("--opa-url", opa) as session:
                by_name = await value_of(session, target, f"(await fetch('http://localhost:{port}/public/data')).status")
                assert by_name == 200
                for disguised in [f"http://2130706433:{port}/public/data", f"http://0x7f.1:{port}/public/data",
                                  f"http://[::ffff:127.0.0.1]:{port}/public/data"]:
                    result = await value_of(session, target, outcome(f"fetch({json.dumps(disguised)})"))
                    assert "denied" in result, disguised
                    assert opa.inputs[-1]["url"] == f"http://127.0.0.1:{port}/public/data"
                    assert opa.inputs[-1]["url_parsed"]["host"] == "127.0.0.1"
    run(scenario())


def test_policy_input_is_the_documented_document(binary, target):
    async def scenario():
        with opa_server({"fetch.rego": ALLOW_ALL_POLICY}) as opa:
            async with server("--opa-url", opa) as session:
                await value_of(session, target, """
                    (await fetch(BASE + '/public/data/../data?a=1#part', {headers: {'X-Guest': 'one'}})).status""")
                assert opa.inputs == asked_by([{
                    "operation": "fetch", "url": f"{target}/public/data?a=1", "method": "GET",
                    "headers": {"x-guest": "one"},
                    "url_parsed": {"scheme": "http", "host": "127.0.0.1", "port": port_of(target),
                                   "path": "/public/data", "query": "a=1"},
                }])
    run(scenario())


def test_encoded_separators_cannot_climb_out_of_an_allowed_path(binary, tmp_path):
    site = write_tree(tmp_path / "site", {"public/ok.txt": "public text", "private/secret.txt": "secret text"})

    async def scenario():
        with file_server(site) as base, opa_server({"fetch.rego": PUBLIC_ONLY_POLICY}) as opa:
            async with server("--opa-url", opa) as session:
                assert await value_of(session, base, "await (await fetch(BASE + '/public/ok.txt')).text()") == "public text"
                for traversal in ENCODED_TRAVERSALS:
                    result = await value_of(session, base,
                                            outcome(f"fetch(BASE + '/public/{traversal}private/secret.txt')"))
                    assert "denied" in result, traversal
                    assert opa.inputs[-1]["url_parsed"]["path"] == "/private/secret.txt"
                    assert opa.inputs[-1]["url"] == f"{base}/private/secret.txt"
                # An encoded slash beside no dot segment is part of a name, and stays as written.
                await value_of(session, base, outcome("fetch(BASE + '/public/a%2Fb')"))
                assert opa.inputs[-1]["url_parsed"]["path"] == "/public/a%2Fb"
            assert not any("private" in path for path in base.paths), base.paths
    run(scenario())


def test_operator_headers_reach_the_server_but_never_the_policy_or_errors(binary, target):
    async def scenario():
        with opa_server({"fetch.rego": LOOPBACK_POLICY}) as opa:
            flags = ["--opa-url", opa, "--fetch-header", f"host=127.0.0.1,header=X-Api-Key,value={SECRET}"]
            async with server(*flags) as session:
                injected = await value_of(session, target, "(await (await fetch(BASE + '/echo')).json()).headers")
                assert injected["x-api-key"] == SECRET

                guest_wins = await value_of(session, target, """
                    (await (await fetch(BASE + '/echo', {headers: {'x-api-key': 'mine'}})).json()).headers""")
                assert guest_wins["x-api-key"] == "mine"

                errors = await value_of(session, target, outcomes(
                    "fetch(BASE + '/private')", "fetch(BASE + '/redirect-private')",
                    "fetch(BASE + '/echo', {method: 'DELETE'})"))
                assert all("denied" in error for error in errors), errors
                assert not any(SECRET in error for error in errors)
            received = json.dumps(opa.inputs)
            assert "/echo" in received and "/private" in received
            assert SECRET not in received
    run(scenario())


def test_an_injected_header_stays_with_its_host_across_redirects(binary, target, tmp_path):
    async def scenario():
        flags = local_policy_args(tmp_path, BOTH_HOSTS_POLICY) + [
            "--fetch-header", f"host=127.0.0.1,header=X-Api-Key,value={SECRET}"]
        async with server(*flags) as session:
            result = await value_of(session, target, """
                const response = await fetch(BASE + '/redirect-other-host-echo', {headers: {'X-Guest': 'kept'}});
                [response.url, (await response.json()).headers]""")
            assert result[0] == f"http://localhost:{port_of(target)}/echo"
            assert result[1]["x-guest"] == "kept"
            assert "x-api-key" not in result[1]
    run(scenario())


def test_header_config_file_with_a_methods_filter(binary, target, tmp_path):
    rules = tmp_path / "headers.json"
    rules.write_text(json.dumps([{"host": "127.0.0.1", "methods": ["POST"], "headers": {"X-Post-Key": "p0st"}},
                                 {"host": "*.example.com", "headers": {"X-Elsewhere": "no"}}]))

    async def scenario():
        flags = local_policy_args(tmp_path, LOOPBACK_POLICY) + ["--fetch-header-config", str(rules)]
        async with server(*flags) as session:
            got, posted = await value_of(session, target, """[
                (await (await fetch(BASE + '/echo')).json()).headers,
                (await (await fetch(BASE + '/echo', {method: 'POST', body: 'x'})).json()).headers]""")
            assert "x-post-key" not in got and "x-elsewhere" not in got
            assert posted["x-post-key"] == "p0st" and "x-elsewhere" not in posted
    run(scenario())


def test_request_and_response_bodies(binary, target, tmp_path):
    async def scenario():
        async with server(*local_policy_args(tmp_path, LOOPBACK_POLICY)) as session:
            text = await value_of(session, target, """
                const echo = await (await fetch(BASE + '/echo', {method: 'POST', body: 'héllo ✓'})).json();
                [echo.method, echo.headers['content-type'], new TextDecoder().decode(new Uint8Array(echo.bytes))]""")
            assert text == ["POST", "text/plain;charset=UTF-8", "héllo ✓"]

            binary_round_trip = await value_of(session, target, """
                const sent = new Uint8Array(256).map((_, i) => 255 - i);
                const echo = await (await fetch(BASE + '/echo', {method: 'PUT', body: sent.buffer})).json();
                const received = new Uint8Array(await (await fetch(BASE + '/bytes')).arrayBuffer());
                [echo.bytes.every((b, i) => b === 255 - i) && echo.bytes.length, echo.headers['content-type'] ?? null,
                 received.length, received.every((b, i) => b === i)]""")
            assert binary_round_trip == [256, None, 256, True]

            form = await value_of(session, target, """
                const echo = await (await fetch(BASE + '/echo', {
                    method: 'POST', body: new URLSearchParams({q: 'a b', r: '&'})})).json();
                [echo.headers['content-type'], String.fromCharCode(...echo.bytes)]""")
            assert form == ["application/x-www-form-urlencoded;charset=UTF-8", "q=a+b&r=%26"]

            see_other = await value_of(session, target, """
                const response = await fetch(BASE + '/redirect-see-other', {method: 'POST', body: 'gone'});
                const echo = await response.json();
                [response.redirected, echo.method, echo.bytes.length]""")
            assert see_other == [True, "GET", 0]
    run(scenario())


def test_response_and_headers_behave_as_in_the_fetch_standard(binary, target, tmp_path):
    async def scenario():
        async with server(*local_policy_args(tmp_path, LOOPBACK_POLICY)) as session:
            result = await value_of(session, target, """
                const response = await fetch(new URL('/public/data', BASE));
                const copy = response.clone();
                const first = await response.text();
                const second = await response.text().then(() => 'read twice', e => e.name);
                const headers = new Headers([['B', '2'], ['a', '1'], ['A', '3']]);
                const seen = [];
                headers.forEach((value, name) => seen.push(name + '=' + value));
                ({first, second, used: response.bodyUsed, copy: (await copy.json()).items,
                  cloneUsed: (() => { try { response.clone(); return 'cloned' } catch (e) { return e.name } })(),
                  names: [...response.headers.keys()].includes('x-tag'), entries: [...headers], seen,
                  has: headers.has('A'), made: await new Response('made', {status: 201}).text()})""")
            assert result == {"first": '{"items": [1, 2, 3]}', "second": "TypeError", "used": True,
                              "copy": [1, 2, 3], "cloneUsed": "TypeError", "names": True,
                              "entries": [["a", "1, 3"], ["b", "2"]], "seen": ["a=1, 3", "b=2"], "has": True,
                              "made": "made"}
            many = await value_of(session, target, """
                (await Promise.all([1, 2, 3, 4, 5].map(() => fetch(BASE + '/public/data')))).map(r => r.status)""")
            assert many == [200] * 5
    run(scenario())


def test_bad_input_is_refused_clearly(binary, target, tmp_path):
    async def scenario():
        async with server(*local_policy_args(tmp_path, ALLOW_ALL_POLICY)) as session:
            errors = await value_of(session, target, outcomes(
                "fetch('not a url')",
                "fetch('ftp://127.0.0.1/file')",
                "fetch(BASE + '/echo', {headers: {'X-Bad': 'one\\r\\nInjected: two'}})",
                "fetch(BASE + '/echo', {headers: [['X-Bad', 'one'], ['Host', 'elsewhere']]})",
                "fetch(BASE + '/echo', {body: 'not with GET'})",
                "fetch(BASE + '/echo', {method: 'GE T'})"))
            not_url, ftp, crlf, host, get_body, method = errors
            assert not_url.startswith("TypeError") and '"not a url" is not a valid URL' in not_url
            assert '"ftp://127.0.0.1/file" uses the scheme "ftp"' in ftp and "http:// and https://" in ftp
            assert crlf.startswith("TypeError") and '"x-bad"' in crlf and "CR, LF" in crlf
            assert '"host" cannot be set' in host
            assert "GET request cannot have a body" in get_body
            assert '"GE T" is not a valid HTTP method' in method

            content, is_error = await run_js(session, "await fetch('not a url')")
            assert is_error and "TypeError" in content["error"] and "not a valid URL" in content["error"]
    run(scenario())


def test_limits_name_the_setting_to_raise(binary, target, tmp_path):
    async def scenario():
        flags = local_policy_args(tmp_path, LOOPBACK_POLICY) + [
            "--plugin-config", "fetch.max_response_bytes=10000", "--plugin-config", "fetch.timeout_ms=500"]
        async with server(*flags) as session:
            too_big, too_slow = await value_of(session, target, outcomes("fetch(BASE + '/big')",
                                                                          "fetch(BASE + '/slow')"))
            assert "larger than the limit of 10000 bytes" in too_big
            assert "--plugin-config fetch.max_response_bytes=N" in too_big
            assert "limit of 500 ms" in too_slow and "fetch.timeout_ms" in too_slow
            assert await value_of(session, target, "(await fetch(BASE + '/bytes')).status") == 200
    run(scenario())


def test_without_a_fetch_policy_there_is_no_fetch(binary):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "[typeof fetch, typeof Headers, typeof Response]")
            assert not is_error
            assert content["result"] == ["undefined", "undefined", "undefined"]
    run(scenario())


@pytest.mark.parametrize("mode, expected", [("any", "resolved"), ("all", "denied")])
def test_mode_any_needs_one_policy_and_all_needs_every_one(binary, target, tmp_path, mode, expected):
    async def scenario():
        with opa_server({"deny.rego": DENY_ALL_POLICY}) as opa:
            flags = ["--policies-json", policies({"url": rego_file(tmp_path, ALLOW_ALL_POLICY)},
                                                 {"url": opa, "policy_path": "mcp/fetch"}, mode=mode)]
            async with server(*flags) as session:
                result = await value_of(session, target, outcome("fetch(BASE + '/public/data')"))
                assert expected in result
                if mode == "all":
                    assert len(opa.inputs) == 1, "every policy is asked until one denies"
    run(scenario())


def test_a_transfer_stops_when_its_run_ends(binary, target, tmp_path):
    async def scenario():
        async with server(*local_policy_args(tmp_path, LOOPBACK_POLICY)) as session:
            content, is_error = await run_js(session, f"await (await fetch({json.dumps(target + '/trickle')})).text()",
                                             execution_timeout_secs=RUN_LIMIT_FACTOR)
            ended = time.monotonic()
            assert is_error and "timed out" in content["error"]
            while trickle_state["disconnected_at"] is None and time.monotonic() < ended + 5:
                await asyncio.sleep(0.05)
            # Without cancel the transfer would go on for 15 s; curl checks for it about once a second.
            assert trickle_state["disconnected_at"] is not None, "the transfer outlived its run"
            assert trickle_state["disconnected_at"] - ended < 3
    run(scenario())


def peak_worker_rss_bytes() -> int:
    """The highest peak resident set (VmHWM) among the worker processes of servers this test started."""
    def descends_from_here(pid: str) -> bool:
        while pid not in ("0", "1"):
            if int(pid) == os.getpid():
                return True
            with open(f"/proc/{pid}/stat") as stat:
                pid = stat.read().rsplit(")", 1)[1].split()[1]
        return False

    peak = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"--worker" not in cmdline.read().split(b"\0") or not descends_from_here(pid):
                    continue
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return peak


# Under `make sanitize` a worker also keeps up to 256 MiB of freed memory in ASan's quarantine
# (quarantine_size_mb) and an eighth of what it touches as shadow: still well short of the ~0.9 GB
# the worker held before bodies counted against the run's memory.
PEAK_WORKER_RSS_BOUND = (256 << 20) * 9 // 8 + (256 << 20) if SANITIZED else 256 << 20


def test_parallel_large_answers_are_refused_as_they_arrive(binary, target, tmp_path):
    """100 fetches of 9 MiB at once in an 8 MB run: each body counts against the run's memory for
    buffers as it arrives, so they are refused before the worker holds them all (it held ~0.9 GB)."""
    async def scenario():
        async with server(*local_policy_args(tmp_path, LOOPBACK_POLICY)) as session:
            refusals = await value_of(session, target, """
                const settled = await Promise.allSettled(
                    Array.from({length: 100}, () => fetch(BASE + '/nine-mib').then((r) => r.arrayBuffer())));
                settled.map((s) => s.status === 'fulfilled' ? 'fulfilled' : s.reason.message)""")
            assert len(refusals) == 100
            assert all("does not fit in this run's memory for buffers" in refusal for refusal in refusals), refusals[:3]
            peak = peak_worker_rss_bytes()
            assert 0 < peak < PEAK_WORKER_RSS_BOUND, f"a worker's peak RSS was {peak >> 20} MiB"
            assert await value_of(session, target, "(await fetch(BASE + '/public/data')).status") == 200
    run(scenario())
