"""The MCP bridge end to end: guests call the tools of other MCP servers with mcp.listTools and
mcp.callTool under an mcp_tools policy; the upstreams are real servers started here (a FastMCP
server over stdio and Streamable HTTP, and mcp-v8 itself over stdio, Streamable HTTP and SSE).
Upstreams that are down, die mid-call, hang or talk garbage fail only the calls that reach them."""
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import BINARY, http_server, raw_server, run, run_js, server, start_fails
from opa_server import asked_by, opa_server

UPSTREAM = str(Path(__file__).with_name("mcp_upstream.py"))
PYTHON = sys.executable
UP = f"up=stdio:{PYTHON} {UPSTREAM}"

ALLOW_ALL = "package mcp.mcp_tools\n\nallow := true\n"
# Lists anything; calls only echo on up.
ECHO_ONLY = """package mcp.mcp_tools

allow if input.operation == "list_tools"

allow if {
    input.operation == "call_tool"
    input.server == "up"
    input.tool == "echo"
}
"""


def policy_args(tmp_path, text: str = ALLOW_ALL) -> list[str]:
    path = tmp_path / "mcp_tools.rego"
    path.write_text(text)
    return ["--policies-json", json.dumps({"mcp_tools": {"policies": [{"url": f"file://{path}"}]}})]


async def value_of(session, code: str):
    content, is_error = await run_js(session, code)
    assert not is_error, content
    assert "error" not in content, content
    return content.get("result")


def settle(call: str) -> str:
    """A guest expression settling `call` to {value} or {error: 'Name [code]: message'}."""
    return (f"await {call}.then(value => ({{value}}), "
            "error => ({error: `${error.name} [${error.code}]: ${error.message}`}))")


async def tool_names(session) -> list[str]:
    return [tool.name for tool in (await session.list_tools()).tools]


async def wait_for_tool(session, name: str, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if name in await tool_names(session):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} was not listed within {seconds} s: {await tool_names(session)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def http_upstream(port: int):
    """The FastMCP upstream serving Streamable HTTP at http://127.0.0.1:<port>/mcp."""
    process = subprocess.Popen([PYTHON, UPSTREAM, "--http", str(port)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()


def test_guests_list_and_call_upstream_tools(binary, tmp_path):
    async def scenario():
        async with server(*policy_args(tmp_path), "--mcp-server", UP) as session:
            assert await value_of(session, "mcp.servers") == ["up"]
            assert await value_of(session, "Object.isFrozen(mcp.servers)") is True
            tools = await value_of(session, "await mcp.listTools('up')")
            by_name = {tool["name"]: tool for tool in tools}
            assert {"echo", "add", "sleep", "exit_now", "fail"} <= set(by_name)
            assert by_name["echo"]["description"] == "Returns the text it is given."
            assert by_name["echo"]["inputSchema"]["properties"]["text"]["type"] == "string"
            echoed = await value_of(session, "await mcp.callTool('up', 'echo', {text: 'hi there'})")
            assert echoed["isError"] is False
            assert echoed["content"] == [{"type": "text", "text": "hi there"}]
            added = await value_of(session, "await mcp.callTool('up', 'add', {a: 2, b: 3.5})")
            assert added["structuredContent"] == {"sum": 5.5}
            failed = await value_of(session, "await mcp.callTool('up', 'fail', {message: 'no luck'})")
            assert failed["isError"] is True and "no luck" in failed["content"][0]["text"]
            unknown = await value_of(session, "await mcp.callTool('up', 'nonesuch', {})")
            assert unknown["isError"] is True or "error" in unknown
    run(scenario())


def test_the_policy_sees_each_operation_and_denies_the_rest(binary):
    async def scenario():
        with opa_server({"mcp_tools.rego": ECHO_ONLY}) as opa:
            flags = ["--policies-json", json.dumps({"mcp_tools": {"policies": [{"url": opa}]}}), "--mcp-server", UP]
            async with server(*flags) as session:
                echoed = await value_of(session, "(await mcp.callTool('up', 'echo', {text: 'ok'})).content[0].text")
                assert echoed == "ok"
                denied = await value_of(session, settle("mcp.callTool('up', 'add', {a: 1, b: 2})"))
                assert denied["error"].startswith("Error [ERR_POLICY_DENIED]: mcp.call_tool denied by the mcp_tools policy")
                await value_of(session, "(await mcp.listTools('up')).length")
                assert opa.inputs == asked_by([
                    {"operation": "call_tool", "server": "up", "tool": "echo", "arguments": {"text": "ok"}},
                    {"operation": "call_tool", "server": "up", "tool": "add", "arguments": {"a": 1, "b": 2}},
                    {"operation": "list_tools", "server": "up"},
                ])
                # Bad input is a TypeError in the guest before anything reaches the policy.
                errors = await value_of(session, "[" + ", ".join(settle(call) for call in [
                    "mcp.callTool('nope', 'echo', {})", "mcp.listTools(42)", "mcp.callTool('up', 'echo', [1])",
                    "mcp.callTool('up', 'echo', null)", "mcp.callTool('up', '', {})", "mcp.callTool('up', 'echo', new Map())",
                ]) + "]")
                assert [error["error"].split(":")[0] for error in errors] == ["TypeError [undefined]"] * 6
                assert "'nope' is not a configured MCP server; the servers are 'up'" in errors[0]["error"]
                assert "got an array" in errors[2]["error"]
                assert len(opa.inputs) == 3
    run(scenario())


def test_without_a_policy_the_flags_do_nothing(binary):
    async def scenario():
        async with server("--mcp-server", UP) as session:
            assert await value_of(session, "typeof mcp") == "undefined"
            assert not [name for name in await tool_names(session) if name.startswith("runjs__up__")]
    run(scenario())


def test_stub_tools_are_listed_and_point_to_run_js(binary, tmp_path):
    async def scenario():
        async with server(*policy_args(tmp_path), "--mcp-server", UP) as session:
            await wait_for_tool(session, "runjs__up__echo")
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert {"run_js", "runjs__up__add", "runjs__up__sleep"} <= set(tools)
            description = tools["runjs__up__echo"].description
            assert "Returns the text it is given." in description
            assert "await mcp.callTool('up', 'echo', {...arguments})" in description
            result = await session.call_tool("runjs__up__echo", {"text": "x"})
            assert not result.isError
            assert "is not run directly" in result.structuredContent["guidance"]
    run(scenario())


def test_mcp_config_with_mcp_v8_as_an_upstream(binary, tmp_path):
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {
        "v8": {"command": BINARY, "args": ["--stateless"]},
        "py": {"command": PYTHON, "args": [UPSTREAM], "env": {"UNUSED": "1"}},
    }}))

    async def scenario():
        async with server(*policy_args(tmp_path), "--mcp-config", str(config)) as session:
            assert await value_of(session, "mcp.servers") == ["py", "v8"]
            answer = await value_of(session, "await mcp.callTool('v8', 'run_js', {code: '6 * 7'})")
            assert answer["isError"] is False and answer["structuredContent"]["result"] == 42
            assert await value_of(session, "(await mcp.callTool('py', 'echo', {text: 'b'})).content[0].text") == "b"
            await wait_for_tool(session, "runjs__v8__run_js")
    run(scenario())


def test_http_and_sse_upstreams(binary, tmp_path):
    async def scenario():
        with http_server("--http-port", "0", "--stateless") as streamable, \
                http_server("--sse-port", "0", "--stateless") as legacy:
            flags = [*policy_args(tmp_path), "--mcp-server", f"web=http:{streamable}/mcp",
                     "--mcp-server", f"old=sse:{legacy}/sse"]
            async with server(*flags) as session:
                for name in ["web", "old"]:
                    answer = await value_of(session, f"await mcp.callTool('{name}', 'run_js', {{code: '[1, 2].length'}})")
                    assert answer["structuredContent"]["result"] == 2, answer
                await wait_for_tool(session, "runjs__old__run_js")
    run(scenario())


def test_an_upstream_down_at_start_up_fails_its_calls_and_appears_when_up(binary, tmp_path):
    port = free_port()

    async def scenario():
        flags = [*policy_args(tmp_path), "--mcp-server", f"late=http:http://127.0.0.1:{port}/mcp", "--mcp-server", UP]
        async with server(*flags) as session:
            started = time.monotonic()
            down = await value_of(session, settle("mcp.callTool('late', 'echo', {text: 'x'})"))
            assert down["error"].startswith("Error [ERR_MCP_UNREACHABLE]: upstream 'late' is not reachable: "), down
            assert time.monotonic() - started < 10
            assert await value_of(session, "(await mcp.callTool('up', 'echo', {text: 'y'})).content[0].text") == "y"
            with http_upstream(port):
                await wait_for_tool(session, "runjs__late__echo")
                late = await value_of(session, "(await mcp.callTool('late', 'echo', {text: 'z'})).content[0].text")
                assert late == "z"
    run(scenario())


def test_an_upstream_that_dies_mid_call_fails_that_call_only(binary, tmp_path):
    async def scenario():
        async with server(*policy_args(tmp_path), "--mcp-server", UP) as session:
            first = await value_of(session, "(await mcp.callTool('up', 'pid', {})).structuredContent.result")
            died = await value_of(session, settle("mcp.callTool('up', 'exit_now', {})"))
            assert died["error"].startswith("Error [ECONNRESET]: upstream 'up' went away during the request"), died
            again = await value_of(session, "(await mcp.callTool('up', 'pid', {})).structuredContent.result")
            assert again != first
    run(scenario())


def test_a_hanging_tool_is_bounded_by_timeout_ms(binary, tmp_path):
    async def scenario():
        flags = [*policy_args(tmp_path), "--mcp-server", UP, "--plugin-config", "mcp.timeout_ms=1000"]
        async with server(*flags) as session:
            started = time.monotonic()
            hung = await value_of(session, settle("mcp.callTool('up', 'sleep', {seconds: 30})"))
            assert hung["error"] == ("Error [ETIMEDOUT]: upstream 'up' did not answer tools/call of 'sleep' "
                                     "within 1000 ms"), hung
            assert time.monotonic() - started < 5
            assert await value_of(session, "(await mcp.callTool('up', 'echo', {text: 'still'})).content[0].text") == "still"
    run(scenario())


def test_an_upstream_talking_garbage_fails_clearly(binary, tmp_path):
    async def scenario():
        flags = [*policy_args(tmp_path), "--mcp-server", f"junk=stdio:{PYTHON} {UPSTREAM} --garbage",
                 "--mcp-server", f"gone=stdio:{tmp_path}/no-such-server", "--mcp-server", UP,
                 "--plugin-config", "mcp.connect_timeout_ms=4000"]
        async with server(*flags) as session:
            started = time.monotonic()
            junk = await value_of(session, settle("mcp.listTools('junk')"))
            assert junk["error"] == ("Error [ERR_MCP_UNREACHABLE]: upstream 'junk' is not reachable: "
                                     "it did not complete the MCP handshake within 4000 ms"), junk
            assert time.monotonic() - started < 8
            gone = await value_of(session, settle("mcp.listTools('gone')"))
            assert gone["error"].startswith("Error [ERR_MCP_UNREACHABLE]: upstream 'gone' is not reachable: "), gone
            assert "no-such-server" in gone["error"]
            assert await value_of(session, "(await mcp.callTool('up', 'echo', {text: 'fine'})).content[0].text") == "fine"
    run(scenario())


def test_bad_flags_are_refused_at_start(binary, tmp_path):
    policy = policy_args(tmp_path)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"mcpServers": {"a": {"url": "ftp://x"}}}')
    for flags, message in [
        (["--mcp-server", "up=stdio:x", "--mcp-server", "up=stdio:y"], "'up' is given twice"),
        (["--mcp-server", "bad name=stdio:x"], "may only hold letters, digits"),
        (["--mcp-server", "up=carrier:x"], "must start with stdio:, http: or sse:"),
        (["--mcp-server", "up=http:nope"], "needs an http:// or https:// URL"),
        (["--mcp-config", str(tmp_path / "missing.json")], "cannot read the file"),
        (["--mcp-config", str(bad_json)], "needs an http:// or https:// URL"),
        (["--plugin-config", "mcp.timeout_ms=0"], "timeout_ms must be a whole number from 1"),
    ]:
        stderr = start_fails("--stateless", *policy, *flags)
        assert message in stderr, (flags, stderr)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def wait_until_gone(pid: int, seconds: float = 5):
    deadline = time.monotonic() + seconds
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.05)


def test_stdio_upstreams_die_with_their_worker_and_the_server(binary, tmp_path):
    async def scenario():
        flags = [*policy_args(tmp_path), "--mcp-server", UP, "--max-concurrent-executions", "1"]
        async with server(*flags) as session:
            code = "(await mcp.callTool('up', 'pid', {})).structuredContent.result"
            first = await value_of(session, code)
            os.kill(parent_of(first), signal.SIGKILL)
            wait_until_gone(first)
            # A run handed to the killed worker before the pool noticed its death was never
            # taken by it, so the replacement runs it (WorkerEvent.started).
            content, is_error = await run_js(session, code)
            assert not is_error, content
            second = content["result"]
            assert second != first and alive(second)
        wait_until_gone(second)
    run(scenario())


def test_a_run_that_ends_mid_call_cancels_it(binary, tmp_path):
    async def scenario():
        async with server(*policy_args(tmp_path), "--mcp-server", UP) as session:
            started = time.monotonic()
            content, is_error = await run_js(session, "await mcp.callTool('up', 'sleep', {seconds: 30})",
                                             execution_timeout_secs=1)
            assert is_error and "timed out" in content["error"], content
            assert time.monotonic() - started < 5
            assert await value_of(session, "(await mcp.callTool('up', 'echo', {text: 'next'})).content[0].text") == "next"
    run(scenario())


def test_stateful_runs_have_mcp_and_results_are_bounded(binary, tmp_path):
    async def scenario():
        # Starting the Python upstream takes longer than the default inline wait.
        flags = ["--directory-path", str(tmp_path / "heaps"), "--session-db-path", str(tmp_path / "sessions"),
                 "--inline-wait-ms", "30000",
                 *policy_args(tmp_path), "--mcp-server", UP, "--plugin-config", "mcp.max_result_bytes=2000"]
        async with raw_server(*flags) as session:
            content, is_error = await run_js(session, "(await mcp.callTool('up', 'echo', {text: 'kept'})).content[0].text")
            assert (content["status"], content["result"], is_error) == ("completed", "kept", False), content
            content, is_error = await run_js(session, settle("mcp.callTool('up', 'echo', {text: 'x'.repeat(5000)})"))
            assert content["result"]["error"].startswith(
                "Error [ERR_MCP_TOO_LARGE]: mcp: the upstream's answer is "), content
            assert content["result"]["error"].endswith("more than mcp.max_result_bytes (2000)")
    run(scenario())


class RecordingURL(str):
    """A server's base URL with the headers of the requests it received."""
    headers: list


@contextlib.contextmanager
def broken_http_upstream():
    """An HTTP server at /html (answers a web page), /json (answers JSON that is not JSON-RPC),
    /error (answers 500) and /hang (never answers); yields its base URL, whose `headers` holds the
    headers of every request, oldest first."""
    stop = threading.Event()
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(dict(self.headers))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/hang":
                stop.wait(30)
                return
            status, kind, body = {
                "/html": (200, "text/html", b"<html>hello</html>"),
                "/json": (200, "application/json", b'{"hello": "world"}'),
            }.get(self.path, (500, "text/plain", b"it broke"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        base = RecordingURL(f"http://127.0.0.1:{http.server_address[1]}")
        base.headers = received
        yield base
    finally:
        stop.set()
        http.shutdown()
        http.server_close()


def test_http_upstreams_answering_garbage_or_nothing_fail_clearly(binary, tmp_path):
    async def scenario():
        with broken_http_upstream() as base:
            config = tmp_path / "mcp.json"
            config.write_text(json.dumps({"mcpServers": {
                "json": {"url": f"{base}/json", "headers": {"Authorization": "Bearer s3cret"}}}}))
            flags = [*policy_args(tmp_path), "--plugin-config", "mcp.connect_timeout_ms=1500", "--mcp-config", str(config)]
            for name in ["html", "error", "hang"]:
                flags += ["--mcp-server", f"{name}=http:{base}/{name}"]
            async with server(*flags) as session:
                started = time.monotonic()
                errors = await value_of(session, "[" + ", ".join(
                    settle(f"mcp.listTools('{name}')") for name in ["html", "json", "error", "hang"]) + "]")
                assert time.monotonic() - started < 10
                prefix = "Error [ERR_MCP_UNREACHABLE]: upstream '{}' is not reachable: "
                html, json_, error, hang = [entry["error"] for entry in errors]
                assert html == prefix.format("html") + "it answered with Content-Type 'text/html', not JSON or an event stream"
                assert json_ == prefix.format("json") + "it did not complete the MCP handshake within 1500 ms"
                assert error == prefix.format("error") + "it answered HTTP 500: it broke"
                assert hang == prefix.format("hang") + "it did not complete the MCP handshake within 1500 ms"
                assert await value_of(session, "1 + 1") == 2
                assert [headers.get("Authorization") for headers in base.headers if headers.get("Authorization")]
                assert "s3cret" not in json.dumps(errors)
    run(scenario())
