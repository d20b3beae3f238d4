"""Hostile programs (shared/notes/hostile-inputs.md): each ends with a clear error within its
limit plus a margin, and the same server keeps serving, other callers included."""
import asyncio
import os
import time

import pytest

from conftest import raw_server, run, run_js, server

TIMEOUT = 2
MARGIN = 3  # seconds beyond the limit a stopped run may take to report (worker restart included)

CPU = [
    "for(;;){}",
    "(async()=>{for(;;) await 0})()",
    "/(a+)+$/.test('a'.repeat(40)+'!')",
    "setInterval(() => {}, 1)",
    "function rearm() { setTimeout(rearm, 0) } rearm()",
    "function again() { queueMicrotask(again) } again()",
    "for(;;){ try { for(;;){} } catch {} }",
]
MEMORY = [
    "let a=[]; for(;;) a.push(new Array(1e6))",
    "new Array(1e9).fill(0)",
    "'x'.repeat(2**29)",
    "[...'.'.repeat(1e9)]",
    "const m = new Map(); for (let i = 0;; i++) m.set(i, {i})",
    "let s = 'x'; for (;;) s += s",
    "JSON.parse('[' + '{\"a\":[1,2,3]},'.repeat(3e5) + '0]')",
    "const parts = []; for (;;) parts.push(new Uint8Array(1 << 20).map((_, i) => i))",
]


@pytest.mark.parametrize("code", CPU)
def test_cpu_hogs_time_out(binary, code):
    async def scenario():
        async with server() as session:
            started = time.monotonic()
            content, is_error = await run_js(session, code, execution_timeout_secs=TIMEOUT)
            assert is_error
            assert "timed out after 2 s" in content["error"]
            assert time.monotonic() - started < TIMEOUT + MARGIN
            content, is_error = await run_js(session, "1 + 1")
            assert (content["result"], is_error) == (2, False)
    run(scenario())


@pytest.mark.parametrize("code", MEMORY)
def test_memory_hogs_end_out_of_memory(binary, code):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, code, execution_timeout_secs=20)
            assert is_error
            error = content["error"]
            assert any(reason in error for reason in [
                "Out of memory", "Invalid string length", "Invalid array length",
                "Array buffer allocation failed"]), error
            content, is_error = await run_js(session, "[1, 2, 3].length")
            assert (content["result"], is_error) == (3, False)
    run(scenario())


def test_bigint_explosion_is_a_range_error(binary):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "2n ** (2n ** 30n)", execution_timeout_secs=TIMEOUT)
            assert is_error and "RangeError" in content["error"]
    run(scenario())


def test_off_heap_buffers_are_capped(binary):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(
                session, "try { new ArrayBuffer(2**31) } catch (e) { e.name + ': ' + e.message }")
            assert not is_error
            assert content["result"].startswith("RangeError")
            content, is_error = await run_js(session, "new WebAssembly.Memory({initial: 1}).grow(65535)")
            assert is_error and "RangeError" in content["error"]
    run(scenario())


def test_stack_and_parser_limits(binary):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "function f() { return f() + 1 } f()")
            assert is_error and "Maximum call stack size exceeded" in content["error"]
            content, is_error = await run_js(session, "[" * 100000 + "]" * 100000)
            assert is_error and content["error"].startswith("The code is nested too deeply to parse")
            content, is_error = await run_js(
                session, "let d = {}; for (let i = 0; i < 1e5; i++) d = {d}; JSON.stringify(d)")
            assert is_error and "Maximum call stack size exceeded" in content["error"]
            content, is_error = await run_js(session, "'still serving'")
            assert (content["result"], is_error) == ("still serving", False)
    run(scenario())


def test_deeply_nested_source_is_named_not_read_as_typescript(binary, tmp_path):
    # Issue 16, item 15: the parser's stack overflow went on to the TypeScript fallback, and
    # esbuild's failure ("esbuild stopped") was the answer.
    async def scenario(*args):
        async with raw_server(*args) as session:
            for code in ["[" * 100000, "const a: number = 1;\n" + "[" * 100000 + "a" + "]" * 100000]:
                content, is_error = await run_js(session, code)
                assert is_error and content["error"].startswith("The code is nested too deeply to parse: "), content
                assert "TypeScript" not in content["error"] and "esbuild" not in content["error"], content
            content, is_error = await run_js(session, "'still serving'")
            assert (content["result"], is_error) == ("still serving", False)
    run(scenario("--stateless"))
    run(scenario("--directory-path", str(tmp_path), "--session-db-path", str(tmp_path / "sessions")))


def test_output_flood_is_cut_and_says_so(binary):
    async def scenario():
        async with server("--max-output-bytes", "4096") as session:
            content, is_error = await run_js(session, "for (let i = 0; i < 1e5; i++) console.log(i); 'done'")
            assert not is_error and content["result"] == "done"
            assert len(content["output"]) < 4096 + 300
            assert "[output truncated: the run printed 588890 bytes; only the first 4096 are kept" in content["output"]
    run(scenario())


def test_host_boundary_values(binary):
    async def scenario():
        async with server() as session:
            cases = {
                "Object.prototype.then = r => r(666); Object.prototype.toJSON = () => 'poisoned'; 1": 1,
                "const o = {}; o.o = o; o": "<ref *1> { o: [Circular *1] }",
                "({ [Symbol.toPrimitive]() { throw new Error('no') }, toJSON() { throw new Error('no') } })": None,
                "new Proxy({}, { ownKeys() { throw new Error('trap') }, get() { throw new Error('trap') } })": None,
                "'lone \\ud800 surrogate'": "lone \ufffd surrogate",
                "Error.prepareStackTrace = () => { for(;;){} }; 'ok'": "ok",
            }
            for code, expected in cases.items():
                content, is_error = await run_js(session, code, execution_timeout_secs=TIMEOUT)
                assert not is_error, (code, content)
                assert "result" in content
                if expected is not None:
                    assert content["result"] == expected, code
            content, is_error = await run_js(session, "globalThis.console.log = null; throw {toString() { for(;;){} }}",
                                             execution_timeout_secs=TIMEOUT)
            assert is_error
    run(scenario())


def test_guest_cannot_write_into_the_protocol_stream(binary):
    async def scenario():
        async with server() as session:
            forged = '{"jsonrpc":"2.0","id":1,"result":{}}'
            content, is_error = await run_js(session, f"console.log({forged!r}); 'after'")
            assert (content["result"], is_error) == ("after", False)
            assert content["output"] == forged + "\n"
    run(scenario())


def test_a_hostile_run_does_not_stall_other_callers(binary):
    async def scenario():
        async with server("--max-concurrent-executions", "2") as session:
            hog = asyncio.create_task(run_js(session, "for(;;){}", execution_timeout_secs=10))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            for i in range(5):
                content, is_error = await run_js(session, f"{i} * 2")
                assert (content["result"], is_error) == (i * 2, False)
            assert not hog.done(), "the quick runs should finish while the hog is still running"
            assert time.monotonic() - started < 8
            content, is_error = await hog
            assert is_error and "timed out" in content["error"]
    run(scenario())


def test_full_queue_answers_busy(binary):
    async def scenario():
        async with server("--max-concurrent-executions", "1", "--max-queued-executions", "0") as session:
            hog = asyncio.create_task(run_js(session, "for(;;){}", execution_timeout_secs=3))
            await asyncio.sleep(0.5)
            content, is_error = await run_js(session, "1")
            assert is_error and "busy" in content["error"]
            await hog
            content, is_error = await run_js(session, "1")
            assert (content["result"], is_error) == (1, False)
    run(scenario())


def test_a_queued_run_times_out_while_waiting(binary):
    async def scenario():
        async with server("--max-concurrent-executions", "1") as session:
            hog = asyncio.create_task(run_js(session, "for(;;){}", execution_timeout_secs=6))
            await asyncio.sleep(0.5)
            started = time.monotonic()
            content, is_error = await run_js(session, "'never ran'", execution_timeout_secs=1)
            assert is_error and "waiting 1s for a free worker" in content["error"]
            assert time.monotonic() - started < 1 + MARGIN
            assert not hog.done()
            content, is_error = await hog
            assert is_error and "timed out" in content["error"]
    run(scenario())


def workers_of(server_marker: str) -> list[int]:
    """Pids of the worker processes of the server whose command line holds `server_marker`."""
    def arguments(pid) -> list[bytes]:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if b"--worker" in arguments(entry) and server_marker.encode() in arguments(parent):
                found.append(int(entry))
        except OSError:
            continue
    return found


def peak_resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


BUFFER_HOARDS = [
    # 768 MB of written (so resident) buffers, more than the limit: the RangeError ends the run.
    "const a = []; for (let i = 0; i < 24; i++) a.push(new Uint8Array(32 << 20).fill(1)); a.length",
    # Caught, and the buffers kept: writing the heap snapshot then fails at the limit, ending the worker.
    "const a = []; try { for (let i = 0; i < 24; i++) a.push(new Uint8Array(32 << 20).fill(1)) } catch {} a.length",
]


@pytest.mark.parametrize("code", BUFFER_HOARDS)
def test_a_stateful_run_holds_no_more_than_the_worker_memory_limit(binary, tmp_path, code):
    """Issue 16 item 5a: a stateful 8 MB-heap run held 3.7 GB of ArrayBuffers in its worker."""
    async def scenario():
        async with raw_server("--directory-path", str(tmp_path), "--session-db-path", str(tmp_path / "sessions"),
                              "--max-concurrent-executions", "1", "--worker-memory-max", "512") as session:
            content, is_error = await run_js(session, code, heap_memory_max_mb=8, execution_timeout_secs=60,
                                             inline_wait_ms=60000)
            assert is_error and "memory limit of 512 MB (--worker-memory-max)" in content["error"], content
            [worker] = workers_of(str(tmp_path))
            assert peak_resident_mb(worker) < 512
            content, is_error = await run_js(session, "[1, 2, 3].length", inline_wait_ms=60000)
            assert (content["result"], is_error) == (3, False), content
    run(scenario())
