"""run_js over stdio: tool listing, results, errors, parameters and flags."""
import subprocess

from conftest import run, run_js, server


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
    assert version.returncode == 0 and version.stdout.strip().count(".") == 2
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
    for flag in ["--stateless", "--directory-path", "--session-db-path", "--inline-wait-ms", "--heap-memory-max", "--execution-timeout", "--max-concurrent-executions",
                 "--max-queued-executions", "--max-output-bytes", "--instructions", "--run-js-description"]:
        assert flag in help_text
    assert "--worker" not in help_text


def test_workers_end_with_a_killed_host(binary):
    import json
    import os
    import signal
    import time
    from pathlib import Path

    host = subprocess.Popen([binary, "--stateless", "--max-concurrent-executions", "2"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    host.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).encode()
                     + b"\n")
    host.stdin.flush()
    assert json.loads(host.stdout.readline())["id"] == 1

    def workers():
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(host.pid):
                    found.append(int(entry.name))
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10
    while len(workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = workers()
    assert len(children) == 2
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    def alive(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while any(map(alive, children)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in children if alive(pid)] == []
