"""run_js over stdio: tool listing, results, errors, parameters and flags."""
import os
import pty
import re
import subprocess

from conftest import BINARY, run, run_js, server


def test_lists_run_js_with_parameter_ranges(transport):
    async def scenario():
        async with server() as session:
            tools = (await session.list_tools()).tools
            assert [tool.name for tool in tools] == ["run_js"]
            properties = tools[0].inputSchema["properties"]
            assert tools[0].inputSchema["required"] == ["code"]
            assert (properties["heap_memory_max_mb"]["minimum"], properties["heap_memory_max_mb"]["maximum"]) == (4, 64)
            assert (properties["execution_timeout_secs"]["minimum"],
                    properties["execution_timeout_secs"]["maximum"]) == (1, 300)
    run(scenario())


def test_runs_code_and_returns_output_and_result(transport):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "console.log([1,2,3].map(x => x*2)); 40 + 2")
            assert not is_error
            assert content == {"output": "[ 2, 4, 6 ]\n", "result": 42}
    run(scenario())


def test_results_of_several_types(transport):
    async def scenario():
        async with server() as session:
            cases = {
                "({a: [1, 'b'], c: null})": {"a": [1, "b"], "c": None},
                "'text'": "text",
                "2n ** 70n": "1180591620717411303424n",
                "(() => 1)": "[Function (anonymous)]",
                "Promise.resolve('awaited')": "awaited",
            }
            for code, expected in cases.items():
                content, is_error = await run_js(session, code)
                assert not is_error, content
                assert content["result"] == expected, code
            content, _ = await run_js(session, "undefined")
            assert "result" not in content
    run(scenario())


def test_thrown_error_is_reported(transport):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "console.log('before'); throw new Error('boom')")
            assert is_error
            assert content["output"] == "before\n"
            assert content["error"].startswith("Error: boom\n    at main.js:1:")
    run(scenario())


def test_syntax_error_names_line_and_column(transport):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "const a = 1;\nconst = 2;")
            assert is_error
            assert "(main.js:2:7)" in content["error"]
    run(scenario())


def test_es_module_with_top_level_await(transport):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "const v = await new Promise(r => setTimeout(() => r(3), 5));\nv * 2")
            assert (content.get("result"), is_error) == (6, False)
    run(scenario())


def test_bad_parameters_name_what_is_allowed(transport):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "1", heap_memory_max_mb=100)
            assert is_error and "heap_memory_max_mb" in content["error"] and "4 to 64" in content["error"]
            content, is_error = await run_js(session, "1", execution_timeout_secs=0)
            assert is_error and "execution_timeout_secs" in content["error"] and "1 to 300" in content["error"]
            content, is_error = await run_js(session, "1", colour="blue")
            assert is_error and "colour" in content["error"]
            result = await session.call_tool("run_js", {})
            assert result.isError and "code" in result.content[0].text
            content, is_error = await run_js(session, "1 + 2")
            assert (content["result"], is_error) == (3, False)
    run(scenario())


def test_instructions_and_description_overrides(transport, tmp_path):
    description = tmp_path / "description.txt"
    description.write_text("Custom run_js description.")

    async def scenario():
        async with server("--instructions", "Use run_js for arithmetic.",
                          "--run-js-description", f"@{description}") as session:
            assert session.initialized.instructions == "Use run_js for arithmetic."
            tools = (await session.list_tools()).tools
            assert tools[0].description == "Custom run_js description."
    run(scenario())


def test_out_of_range_flags_exit_with_the_range(binary):
    cases = [
        (["--heap-memory-max", "65"], "--heap-memory-max must be between 1 and 64 MB"),
        (["--execution-timeout", "0"], "--execution-timeout must be between 1 and 300 s"),
        (["--max-concurrent-executions", "0"], "--max-concurrent-executions must be between 1 and 64"),
        (["--instructions", "@/nonexistent/file"], "cannot read the file '/nonexistent/file'"),
    ]
    for arguments, message in cases:
        completed = subprocess.run([binary, "--stateless", *arguments], capture_output=True, text=True,
                                   stdin=subprocess.DEVNULL, timeout=30)
        assert completed.returncode != 0, arguments
        assert message in completed.stderr, completed.stderr


def test_version_and_help(binary):
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    # The commit is baked into release builds (scripts/stamp-commit); a debug build says "unknown".
    assert version.returncode == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n", version.stdout), version.stdout
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
    for flag in ["--stateless", "--directory-path", "--session-db-path", "--inline-wait-ms", "--heap-memory-max", "--execution-timeout", "--max-concurrent-executions",
                 "--max-queued-executions", "--max-output-bytes", "--instructions", "--run-js-description"]:
        assert flag in help_text
    # The hidden worker-role flag is not listed (--worker-memory-max, a user's flag, is).
    assert re.search(r"--worker(?![\w-])", help_text) is None and "--worker-memory-max" in help_text


def test_workers_end_with_a_killed_host(binary):
    import json
    import os
    import signal

    host = subprocess.Popen([binary, "--stateless", "--max-concurrent-executions", "2"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    host.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).encode()
                     + b"\n")
    host.stdin.flush()
    assert json.loads(host.stdout.readline())["id"] == 1

    children = children_of(host.pid, count=2)
    assert len(children) == 2
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    assert still_alive(children) == []


def children_of(pid, count):
    """The processes whose parent is `pid`, once there are `count` of them (or after 10 s)."""
    import time
    from pathlib import Path

    def children():
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                    found.append(int(entry.name))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while len(children()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return children()


def still_alive(pids):
    """Those of `pids` still running (not zombies) after up to 10 s."""
    import time
    from pathlib import Path

    def alive(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


class RawStdio:
    """`mcp-v8 --stateless *args` spoken to line by line, initialized."""

    def __init__(self, binary, *args):
        import queue
        import threading
        self.process = subprocess.Popen([binary, "--stateless", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True).start()
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        assert self.receive()["id"] == 0
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message, end=b"\n"):
        import json
        self.process.stdin.write((message if isinstance(message, bytes) else json.dumps(message).encode()) + end)
        self.process.stdin.flush()

    def receive(self):
        import json
        return json.loads(self.lines.get(timeout=60))

    def run_js(self, request_id, code, **arguments):
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                   "params": {"name": "run_js", "arguments": {"code": code, **arguments}}})
        return self.receive()

    def rss_bytes(self):
        status = open(f"/proc/{self.process.pid}/status").read()
        return int(status.split("VmRSS:")[1].split()[0]) * 1024

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_a_request_longer_than_max_request_bytes_is_refused_and_the_stream_stays_in_sync(binary):
    # Issue 16: --max-request-bytes bounded HTTP bodies only; a stdio line of any size was buffered whole
    # and scanned again for its newline on every read (8 MB took 8 s).
    host = RawStdio(binary, "--max-request-bytes", "65536")
    try:
        answer = host.run_js(1, "'x'.repeat(3) // " + "x" * 1_000_000, execution_timeout_secs=0)
        assert answer["id"] == 1 and answer["error"]["code"] == -32600, answer
        assert "larger than 65536 bytes (--max-request-bytes)" in answer["error"]["message"]
        # Just under the limit still runs, and so does the request after the skipped one.
        answer = host.run_js(2, "'x'.repeat(3) // " + "x" * 60_000)
        assert answer["id"] == 2 and answer["result"]["structuredContent"]["result"] == "xxx", answer
    finally:
        host.close()


def test_an_endless_stdio_line_is_refused_before_it_ends_and_is_not_kept(binary):
    # The answer comes once the limit is passed, without waiting for the newline, and the skipped
    # bytes are not kept: 64 MiB sent in one line grow the host's RSS by about the limit (4 MiB).
    host = RawStdio(binary)
    try:
        assert host.run_js(1, "1")["id"] == 1
        rss_before = host.rss_bytes()
        host.send(b'{"jsonrpc": "2.0", "id": "long", "method": "tools/call", "params": {"name": "run_js", '
                  b'"arguments": {"code": "' + b"x" * (8 << 20), end=b"")
        answer = host.receive()
        assert answer["id"] == "long" and "larger than 4194304 bytes" in answer["error"]["message"], answer
        for _ in range(56):
            host.send(b"x" * (1 << 20), end=b"")
        assert host.rss_bytes() - rss_before < 16 << 20, (rss_before, host.rss_bytes())
        host.send(b'"}}}')
        answer = host.run_js(3, "40 + 2")
        assert answer["id"] == 3 and answer["result"]["structuredContent"]["result"] == 42, answer
    finally:
        host.close()


def test_messages_that_are_not_json_rpc_are_answered_with_their_id_or_null(binary):
    # Issue 16: a parse error was answered with a random id; JSON-RPC 2.0 asks for null.
    host = RawStdio(binary)
    try:
        host.send(b'{"jsonrpc": "2.0", "id": 5, "method": ')
        answer = host.receive()
        assert (answer["id"], answer["error"]["code"]) == (None, -32700), answer
        host.send({"jsonrpc": "2.0", "params": {}})
        answer = host.receive()
        assert (answer["id"], answer["error"]["code"]) == (None, -32600), answer
        host.send({"jsonrpc": "2.0", "id": 6, "params": {}})
        answer = host.receive()
        assert (answer["id"], answer["error"]["code"]) == (6, -32600), answer
        assert "jsonrpc" in answer["error"]["message"]
        host.send([])
        assert host.receive()["id"] is None
        answer = host.run_js(7, "6 * 7")
        assert answer["id"] == 7 and answer["result"]["structuredContent"]["result"] == 42, answer
    finally:
        host.close()


def test_start_up_failures_name_the_flag_and_exit_as_usage_errors(binary, tmp_path):
    # Issue 16: these printed library internals (a bind(2) errno after a "shutting down" line, a
    # SocketAddressError, an NSCocoaErrorDomain dump) with exit 1, and an unwritable heap directory
    # was found only by the first run.
    import socket

    (tmp_path / "file").write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [
            (["--stateless", "--http-port", str(port)], f"--http-port {port}: the address is in use"),
            (["--stateless", "--sse-port", "0", "--bind-host", "nosuch.invalid"],
             "--bind-host nosuch.invalid: the host name does not resolve"),
            (["--session-db-path", "/proc/nope", "--directory-path", str(tmp_path / "heaps")],
             "--session-db-path /proc/nope: the directory cannot be created (/proc/nope: No such file or directory)"),
            (["--directory-path", str(tmp_path / "file" / "heaps"), "--session-db-path", str(tmp_path / "db")],
             f"--directory-path {tmp_path}/file/heaps: the directory cannot be created"),
            (["--directory-path", "/proc/self", "--session-db-path", str(tmp_path / "db")],
             "--directory-path /proc/self: files cannot be created in this directory"),
        ]
        for arguments, message in cases:
            completed = subprocess.run([binary, *arguments], capture_output=True, text=True,
                                       stdin=subprocess.DEVNULL, timeout=60)
            assert completed.returncode == 64, (arguments, completed.stderr)
            assert message in completed.stderr, completed.stderr
            for internal in ["errno", "bind(", "SocketAddressError", "NSCocoaErrorDomain", "shutting down"]:
                assert internal not in completed.stderr, completed.stderr


def test_tool_arguments_reach_the_tool_as_written(transport):
    # swift-sdk turns any string shaped like a data URL into binary data (matching a regular
    # expression against every string, at ~0.5 µs a byte: a 4 MiB request cost ~2 s of CPU); tool
    # arguments now reach run_js as the client wrote them. This program starts with a label.
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "data: { console.log('a,b') }\n40 + 2")
            assert (content, is_error) == ({"output": "a,b\n", "result": 42}, False)
    run(scenario())


def test_a_long_data_url_outside_tool_arguments_is_refused(binary):
    host = RawStdio(binary)
    try:
        host.send({"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"_meta": {"x": "data:," + "x" * 70_000}}})
        answer = host.receive()
        assert answer["id"] == 8 and "\"data:\" may have at most 65536 bytes" in answer["error"]["message"], answer
        host.send({"jsonrpc": "2.0", "id": 9, "method": "ping", "params": {"_meta": {"x": "data:," + "x" * 60_000}}})
        assert host.receive() == {"jsonrpc": "2.0", "id": 9, "result": {}}
        answer = host.run_js(10, "data: 6 * 7 // " + "data:," * 20_000)
        assert answer["result"]["structuredContent"]["result"] == 42, answer
    finally:
        host.close()


def sigterm_with_a_run_in_flight(binary, *args):
    """SIGTERM to a stdio server while a 2 s run is on a worker: the run's answer, the server's exit
    status, and its workers still alive afterwards."""
    import signal
    import time
    server = RawStdio(binary, "--max-concurrent-executions", "2", *args)
    assert server.run_js(1, "1 + 1")["result"]["structuredContent"]["result"] == 2
    workers = children_of(server.process.pid, count=2)
    assert len(workers) == 2
    server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "run_js", "arguments": {
        "code": "const t = Date.now(); while (Date.now() - t < 2000) {} console.log('ran'); 'done'"}}})
    time.sleep(0.5)  # the run reaches a worker (it takes milliseconds)
    server.process.send_signal(signal.SIGTERM)
    answer = server.receive()
    status = server.process.wait(timeout=30)
    return answer, status, still_alive(workers)


def test_sigterm_lets_a_running_run_finish_and_answer_then_leaves_no_worker(binary):
    answer, status, alive = sigterm_with_a_run_in_flight(binary)
    assert answer["id"] == 2
    assert answer["result"]["structuredContent"]["result"] == "done", answer
    assert answer["result"]["structuredContent"]["output"] == "ran\n"
    assert status == 0
    assert alive == []


def test_sigterm_past_the_shutdown_timeout_answers_with_a_shutdown_error_and_leaves_no_worker(binary):
    answer, status, alive = sigterm_with_a_run_in_flight(binary, "--shutdown-timeout", "0")
    assert answer["id"] == 2
    assert answer["result"]["isError"] is True
    assert answer["result"]["structuredContent"]["error"] == "The server is shutting down.", answer
    assert status == 0
    assert alive == []


def test_a_person_at_a_terminal_is_told_what_the_server_waits_for_and_a_client_is_not(tmp_path):
    primary, secondary = pty.openpty()
    try:
        server = subprocess.Popen([BINARY, "--stateless"], stdin=secondary, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        os.close(secondary)
        try:
            # After the start-up log line.
            line = next((line for line in iter(server.stderr.readline, "") if "MCP client" in line), "")
            assert "is waiting for an MCP client on stdin" in line, line
            assert 'see "Quick start: connect a client" in the README' in line, line
        finally:
            server.kill()
            server.wait()
    finally:
        os.close(primary)
    # Started by a client (stdin a pipe): not a word on stderr before the first message.
    piped = subprocess.run([BINARY, "--stateless"], input="", capture_output=True, text=True, timeout=30)
    assert "waiting for an MCP client" not in piped.stderr, piped.stderr
