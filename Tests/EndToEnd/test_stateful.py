"""Stateful mode over stdio: heaps carry state across calls and restarts; executions are
observable and cancellable."""
import asyncio
import subprocess

from conftest import call, raw_server, run, run_js, server, start_fails


def stateful(directory, *args, metadata=None):
    """A stateful server with heaps in `directory` and its metadata where `metadata` (the
    `metadata_store` fixture's flags) says, else in SQLite in `directory`."""
    metadata = metadata or ["--session-db-path", str(directory / "sessions")]
    return raw_server("--directory-path", str(directory), *metadata, *args)


def test_lists_the_stateful_tools(transport, tmp_path):
    async def scenario():
        async with stateful(tmp_path) as session:
            names = [tool.name for tool in (await session.list_tools()).tools]
            assert names == ["run_js", "get_execution", "get_execution_output", "cancel_execution", "list_executions",
                             "list_sessions", "list_session_snapshots", "get_heap_tags", "set_heap_tags",
                             "delete_heap_tags", "query_heaps_by_tags", "delete_heap"]
    run(scenario())


def test_state_carries_across_calls_forks_and_restarts(transport, tmp_path, metadata_store):
    async def first_server():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            first, is_error = await run_js(session, "var x = 1; x")
            assert (first["status"], first["result"], is_error) == ("completed", 1, False)
            assert len(first["heap"]) == 64
            second, _ = await run_js(session, "x += 1; x", heap=first["heap"])
            assert second["result"] == 2 and second["heap"] != first["heap"]
            fork, _ = await run_js(session, "x += 10; x", heap=first["heap"])
            assert fork["result"] == 11
            return second["heap"]

    async def second_server(heap):
        async with stateful(tmp_path, metadata=metadata_store) as session:
            content, is_error = await run_js(session, "x += 1; x", heap=heap)
            assert (content["result"], is_error) == (3, False)

    heap = run(first_server())
    assert (tmp_path / heap).is_file()
    run(second_server(heap))


def test_a_module_programs_heap_works_after_a_restart(transport, tmp_path):
    # Top-level await makes the program a module, and a heap holding a module cannot be rehashed
    # when V8 loads it: every process must hash strings with the same seed, or the next server
    # finds none of the runtime's properties in it.
    async def first_server():
        async with stateful(tmp_path) as session:
            made, _ = await run_js(session, "globalThis.f = () => 7; globalThis.key = {}; globalThis.weak = new WeakMap([[key, 'kept']]); "
                                            "await 1; f()")
            assert (made["status"], made["result"]) == ("completed", 7), made
            return made["heap"]

    async def second_server(heap):
        async with stateful(tmp_path) as session:
            resumed, is_error = await run_js(session, "[f() + 1, weak.get(key)]", heap=heap)
            assert (resumed["result"], is_error) == ([8, "kept"], False), resumed

    run(second_server(run(first_server())))


def test_polling_and_output_pages(transport, tmp_path, metadata_store):
    async def scenario():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            started, is_error = await run_js(
                session, "for (let i = 0; i < 5; i++) console.log('line', i, 'é'); await new Promise(r => setTimeout(r, 300)); 'done'",
                inline_wait_ms=0)
            assert not is_error and set(started) == {"execution_id", "status"} and started["status"] == "running"
            execution_id = started["execution_id"]
            for _ in range(100):
                state, _ = await call(session, "get_execution", execution_id=execution_id)
                if state["status"] != "running":
                    break
                await asyncio.sleep(0.05)
            assert state["status"] == "completed" and state["result"] == "done" and "completed_at" in state
            page, _ = await call(session, "get_execution_output", execution_id=execution_id, line_offset=1, line_limit=2)
            # The seeds' name for the page: { data: "hello\n", total_lines: 1 }.
            assert page["data"] == "line 1 é\nline 2 é\n" and "output" not in page
            assert (page["line_offset"], page["next_line_offset"], page["total_lines"], page["has_more"]) == (1, 3, 5, True)
            assert page["byte_offset"] == len("line 0 é\n".encode())
            text = b""
            offset = 0
            while True:
                page, _ = await call(session, "get_execution_output", execution_id=execution_id,
                                     byte_offset=offset, byte_limit=7)
                assert "\ufffd" not in page["data"]
                text += page["data"].encode()
                offset = page["next_byte_offset"]
                if not page["has_more"]:
                    break
            assert text.decode() == "".join(f"line {i} é\n" for i in range(5))
            listed, _ = await call(session, "list_executions")
            assert [entry["execution_id"] for entry in listed["executions"]] == [execution_id]
    run(scenario())


def test_cancel_and_failures_store_nothing(transport, tmp_path, metadata_store):
    async def scenario():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            base, _ = await run_js(session, "var kept = 'yes'")
            looping, _ = await run_js(session, "kept = 'no'; for(;;){}", heap=base["heap"], inline_wait_ms=200)
            assert looping["status"] == "running"
            cancelled, _ = await call(session, "cancel_execution", execution_id=looping["execution_id"])
            assert cancelled["message"] == "Cancellation requested."
            await asyncio.sleep(0.5)
            again, _ = await call(session, "cancel_execution", execution_id=looping["execution_id"])
            assert again["status"] == "cancelled" and "already ended" in again["message"]
            failed, is_error = await run_js(session, "kept = 'no'; throw new Error('boom')", heap=base["heap"])
            assert is_error and failed["status"] == "failed" and "heap" not in failed
            assert failed["error"].startswith("Error: boom")
            timed_out, is_error = await run_js(session, "kept = 'no'; for(;;){}", heap=base["heap"],
                                               execution_timeout_secs=1, inline_wait_ms=5000)
            assert is_error and timed_out["status"] == "timed_out"
            intl, is_error = await run_js(session, "globalThis.f = new Intl.NumberFormat()", heap=base["heap"])
            assert is_error and "not available in stateful runs" in intl["error"]
            still, _ = await run_js(session, "kept", heap=base["heap"])
            assert still["result"] == "yes"
    run(scenario())


def test_bad_input_is_named(transport, tmp_path):
    async def scenario():
        async with stateful(tmp_path) as session:
            content, is_error = await run_js(session, "1", heap="../../etc/passwd")
            assert is_error and "64 hexadecimal characters" in content["error"]
            content, is_error = await run_js(session, "1", heap="ab" * 32)
            assert is_error and "was not found in the heap store" in content["error"]
            content, is_error = await call(session, "get_execution", execution_id="nope")
            assert is_error and "no execution has the id 'nope'" in content["error"]
            base, _ = await run_js(session, "1")
            content, is_error = await call(session, "get_execution_output", execution_id=base["execution_id"],
                                           line_offset=0, byte_offset=0)
            assert is_error and "not both" in content["error"]
            content, is_error = await run_js(session, "1", inline_wait_ms=60001)
            assert is_error and "0 to 60000" in content["error"]
    run(scenario())


def test_a_damaged_heap_file_is_refused_and_left_alone(transport, tmp_path):
    async def scenario():
        async with stateful(tmp_path) as session:
            base, _ = await run_js(session, "var v = 1")
            path = tmp_path / base["heap"]
            damaged = bytearray(path.read_bytes())
            damaged[-5] ^= 0xFF
            path.write_bytes(bytes(damaged))
            content, is_error = await run_js(session, "v", heap=base["heap"])
            assert is_error and f"heap {base['heap']} cannot be used" in content["error"]
            assert path.read_bytes() == bytes(damaged)
            fresh, is_error = await run_js(session, "2 + 2")
            assert (fresh["result"], is_error) == (4, False)
    run(scenario())


def test_sessions_log_every_run_and_survive_restarts(transport, tmp_path, metadata_store):
    async def first_server():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            first, _ = await run_js(session, "var n = 1", session="project")
            second, _ = await run_js(session, "n += 1", session="project", heap=first["heap"])
            failed, _ = await run_js(session, "throw 1", session="project", heap=second["heap"])
            await run_js(session, "1", session="other")
            return first["heap"], second["heap"]

    async def second_server(heaps):
        async with stateful(tmp_path, metadata=metadata_store) as session:
            listed, _ = await call(session, "list_sessions")
            assert listed["sessions"] == ["other", "project"]
            log, _ = await call(session, "list_session_snapshots", session="project")
            entries = log["snapshots"]
            assert [entry["index"] for entry in entries] == [0, 1, 2]
            assert [entry["code"] for entry in entries] == ["var n = 1", "n += 1", "throw 1"]
            assert "input_heap" not in entries[0] and entries[0]["output_heap"] == heaps[0]
            assert entries[1]["input_heap"] == heaps[0] and entries[1]["output_heap"] == heaps[1]
            assert entries[2]["input_heap"] == heaps[1] and "output_heap" not in entries[2]
            some, _ = await call(session, "list_session_snapshots", session="project", fields="index, code")
            assert some["snapshots"][0] == {"index": 0, "code": "var n = 1"}
            content, is_error = await call(session, "list_session_snapshots", session="project", fields="index,size")
            assert is_error and "unknown field 'size'" in content["error"]
            content, is_error = await run_js(session, "1", session="")
            assert is_error and "'session'" in content["error"]

    heaps = run(first_server())
    run(second_server(heaps))


def test_stateless_conflicts_with_storage_flags(binary, tmp_path):
    for flag in ["--directory-path", "--session-db-path"]:
        completed = subprocess.run([binary, "--stateless", flag, str(tmp_path)], capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL, timeout=30)
        assert completed.returncode != 0 and "conflict" in completed.stderr


def test_state_of_many_kinds_survives(transport, tmp_path):
    async def scenario():
        async with stateful(tmp_path) as session:
            first, is_error = await run_js(session, """
                const counter = (() => { let n = 0; return () => ++n; })();
                class Account { #balance = 10; deposit(x) { this.#balance += x; return this.#balance; } }
                var account = new Account();
                var map = new Map([['a', 1]]);
                var set = new Set([1, 2]);
                var bytes = new Uint8Array([1, 2, 3]);
                var later = new Promise(resolve => { globalThis.resolveLater = resolve; });
                globalThis.counter = counter;
                counter()
                """)
            assert (first["result"], is_error) == (1, False), first
            second, is_error = await run_js(session, """
                resolveLater('settled');
                [counter(), account.deposit(5), map.get('a'), set.has(2), Array.from(bytes), await later]
                """, heap=first["heap"])
            assert (second["result"], is_error) == ([2, 15, 1, True, [1, 2, 3], "settled"], False), second
    run(scenario())


def test_pagination_values_out_of_range_are_named(transport, tmp_path):
    async def scenario():
        async with stateful(tmp_path) as session:
            base, _ = await run_js(session, "console.log('x')")
            for arguments, fragment in [({"line_offset": -1}, "'line_offset'"), ({"line_limit": 0}, "'line_limit'"),
                                        ({"byte_limit": 10**12}, "'byte_limit'"), ({"byte_offset": -5}, "'byte_offset'")]:
                content, is_error = await call(session, "get_execution_output", execution_id=base["execution_id"],
                                               **arguments)
                assert is_error and fragment in content["error"], (arguments, content)
            page, is_error = await call(session, "get_execution_output", execution_id=base["execution_id"],
                                        byte_offset=10**9)
            assert not is_error and page["data"] == "" and page["has_more"] is False
    run(scenario())


def test_heap_tags(transport, tmp_path, metadata_store):
    async def scenario():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            first, _ = await run_js(session, "var a = 1", tags={"project": "alpha", "stage": "draft"})
            second, _ = await run_js(session, "var b = 2", tags={"project": "alpha"})
            tags, _ = await call(session, "get_heap_tags", heap=first["heap"])
            assert tags == {"heap": first["heap"], "tags": {"project": "alpha", "stage": "draft"}}
            updated, _ = await call(session, "set_heap_tags", heap=first["heap"], tags={"stage": "final"})
            assert updated["tags"] == {"project": "alpha", "stage": "final"}
            found, _ = await call(session, "query_heaps_by_tags", tags={"project": "alpha"})
            assert found["heaps"] == sorted([first["heap"], second["heap"]])
            found, _ = await call(session, "query_heaps_by_tags", tags={"project": "alpha", "stage": "final"})
            assert found["heaps"] == [first["heap"]]
            removed, _ = await call(session, "delete_heap_tags", heap=first["heap"], keys=["stage"])
            assert removed["tags"] == {"project": "alpha"}
            content, is_error = await call(session, "set_heap_tags", heap="cd" * 32, tags={"a": "b"})
            assert is_error and "was not found in the heap store" in content["error"]
            content, is_error = await call(session, "set_heap_tags", heap=first["heap"], tags={"a": 1})
            assert is_error and "must be a string" in content["error"]
            content, is_error = await run_js(session, "1", tags={"": "empty key"})
            assert is_error and "tag keys are 1 to 200 characters" in content["error"]
            content, is_error = await call(session, "query_heaps_by_tags", tags={})
            assert is_error and "at least one tag" in content["error"]
    run(scenario())


def test_finished_executions_are_readable_after_a_restart(transport, tmp_path, metadata_store):
    async def first_server():
        async with stateful(tmp_path, metadata=metadata_store) as session:
            done, _ = await run_js(session, "for (let i = 0; i < 3; i++) console.log('row', i, '€'); 42")
            failed, _ = await run_js(session, "throw new Error('kept')")
            return done, failed

    async def second_server(done, failed):
        async with stateful(tmp_path, metadata=metadata_store) as session:
            state, is_error = await call(session, "get_execution", execution_id=done["execution_id"])
            assert not is_error
            assert {key: state[key] for key in ["status", "result", "heap", "started_at", "completed_at"]} == \
                {key: done[key] for key in ["status", "result", "heap", "started_at", "completed_at"]}
            page, _ = await call(session, "get_execution_output", execution_id=done["execution_id"], line_offset=1,
                                 line_limit=1)
            assert (page["data"], page["total_lines"], page["has_more"]) == ("row 1 €\n", 3, True)
            page, _ = await call(session, "get_execution_output", execution_id=done["execution_id"], byte_offset=6,
                                 byte_limit=2)
            assert page["data"] == "€" and page["byte_offset"] == 6
            state, _ = await call(session, "get_execution", execution_id=failed["execution_id"])
            assert state["status"] == "failed" and state["error"].startswith("Error: kept")
            listed, _ = await call(session, "list_executions")
            assert [entry["execution_id"] for entry in listed["executions"]] == \
                [done["execution_id"], failed["execution_id"]]
            cancelled, _ = await call(session, "cancel_execution", execution_id=done["execution_id"])
            assert "already ended" in cancelled["message"]

    run(second_server(*run(first_server())))


async def in_both_modes(tmp_path, scenario):
    """Runs `scenario(session, stateful)` on a stateless and on a stateful server."""
    async with server() as session:
        await scenario(session, False)
    async with stateful(tmp_path) as session:
        await scenario(session, True)


def test_await_before_parentheses_is_an_await_in_both_modes(binary, tmp_path):
    # Issue 16, item 10: a script reads `await (x)` as a call of a variable named await.
    async def scenario(session, _):
        for code, expected in [("await (async () => 5)()", 5), ("await (Promise.resolve(1))", 1),
                               ("const p = Promise.resolve(3);\nlet x = await (p); x", 3)]:
            content, is_error = await run_js(session, code)
            assert (content.get("result"), is_error) == (expected, False), content
    run(in_both_modes(tmp_path, scenario))


def test_errors_have_stacks_in_both_modes(binary, tmp_path):
    # Issue 16, item 11: stateful runs gave "Error: x" and no e.stack.
    async def scenario(session, is_stateful):
        thrown, is_error = await run_js(session, "function g() { throw new Error('x') }\ng()")
        assert is_error and thrown["error"] == "Error: x\n    at g (main.js:1:22)\n    at main.js:2:1", thrown
        caught, _ = await run_js(session, "var f = () => null.x;\ntry { f() } catch (e) { e.stack }")
        assert caught["result"] == ("TypeError: Cannot read properties of null (reading 'x')\n"
                                    "    at f (main.js:1:20)\n    at main.js:2:7"), caught
        if is_stateful:
            resumed, _ = await run_js(session, "try { f() } catch (e) { e.stack }", heap=caught["heap"])
            assert resumed["result"].endswith("at f (main.js:1:20)\n    at main.js:1:7"), resumed
        typed, is_error = await run_js(session, "const n: number = 1;\nfunction g(a: number): number { throw new Error('ts' + a) }\ng(n)")
        assert is_error and typed["error"] == "Error: ts1\n    at g (main.ts:2:39)\n    at main.ts:3:1", typed
    run(in_both_modes(tmp_path, scenario))


def test_a_module_answers_the_value_a_script_would(binary, tmp_path):
    # Issue 16, item 12: a module whose last statement is not an expression answered nothing.
    async def scenario(session, _):
        content, is_error = await run_js(
            session, "async function f() { throw new Error('boom') }\ntry { await f() } catch (e) { e.message }")
        assert (content.get("result"), is_error) == ("boom", False), content
        content, _ = await run_js(session, "let total = 0;\nfor (const n of await Promise.resolve([1, 2, 3])) { total += n }")
        assert content.get("result") == 6, content
    run(in_both_modes(tmp_path, scenario))


def test_a_run_that_freezes_the_global_object_stores_nothing(binary, tmp_path):
    # Issue 16, item 17: after Object.freeze(globalThis) every later run of the heap that read URL
    # or WASI, or installed a capability, failed with "Cannot redefine property".
    async def scenario():
        async with stateful(tmp_path) as session:
            base, _ = await run_js(session, "var kept = 'yes'")
            frozen, is_error = await run_js(session, "Object.freeze(globalThis); typeof URL", heap=base["heap"])
            assert is_error and frozen["status"] == "failed" and "heap" not in frozen, frozen
            assert frozen["error"].startswith("The run made globalThis non-extensible (Object.freeze"), frozen
            resumed, is_error = await run_js(session, "[kept, new URL('http://a.test/b').pathname, typeof WASI]",
                                             heap=base["heap"])
            assert (resumed["result"], is_error) == (["yes", "/b", "function"], False), resumed
    run(scenario())


def test_a_heap_over_the_limit_fails_the_run_and_stores_nothing(transport, tmp_path):
    """Issue 16 item 6: one stateful run stored a 317 MB heap, and a 600 MB one hung its worker
    until the deadline."""
    heaps = tmp_path / "heaps"

    async def scenario():
        async with raw_server("--directory-path", str(heaps), "--session-db-path", str(tmp_path / "sessions"),
                              "--max-heap-bytes", "1048576", "--max-concurrent-executions", "1") as session:
            base, is_error = await run_js(session, "var kept = 'yes'")
            assert not is_error, base
            stored = sorted(heaps.iterdir())
            big, is_error = await run_js(session, "globalThis.big = new Uint8Array(8_000_000); 'made'",
                                         heap=base["heap"], session="grow", tags={"size": "big"})
            assert is_error and big["status"] == "failed" and "heap" not in big
            assert big["error"].startswith("The heap would be 8."), big["error"]
            assert "over the limit of 1.0 MB (--max-heap-bytes 1048576)" in big["error"]
            assert sorted(heaps.iterdir()) == stored, "no heap file was written"
            found, _ = await call(session, "query_heaps_by_tags", tags={"size": "big"})
            assert found["heaps"] == []
            log, _ = await call(session, "list_session_snapshots", session="grow")
            assert [("output_heap" in entry) for entry in log["snapshots"]] == [False], "logged as a failed run"
            still, is_error = await run_js(session, "kept", heap=base["heap"])
            assert not is_error and still["result"] == "yes", "the one worker serves on"

    run(scenario())
    message = start_fails("--max-heap-bytes", "1000")
    assert "--max-heap-bytes must be between 1048576 and 268435456 bytes; got 1000." in message


async def wait_for_end(session, execution_id):
    """Polls until the execution ends; returns how many reads said running, and the end."""
    running = 0
    while (ended := (await call(session, "get_execution", execution_id=execution_id))[0])["status"] == "running":
        running += 1
        await asyncio.sleep(0.005)
    return running, ended


async def assert_stored_nothing(session, ended, tag):
    tagged, _ = await call(session, "query_heaps_by_tags", tags={"run": tag})
    log, _ = await call(session, "list_session_snapshots", session=tag)
    assert "heap" not in ended and tagged["heaps"] == [], ended
    assert len(log["snapshots"]) == 1 and "output_heap" not in log["snapshots"][0], log


def test_cancel_racing_completion_leaves_status_heap_tags_and_session_log_agreeing(tmp_path):
    """Issue 17 item 1: a cancel that lost the race to the run's completion made the execution read
    `cancelled` while its heap, tags and session log entry were stored; one that won must store none."""
    async def scenario():
        async with stateful(tmp_path) as session:
            outcomes = []
            for i in range(200):
                # Runs that end within a few milliseconds, so the cancel lands before, during or after.
                started, _ = await run_js(session, f"await new Promise(r => setTimeout(r, {i % 8})); globalThis.i = {i}",
                                          session="race", tags={"run": str(i)}, inline_wait_ms=0)
                await call(session, "cancel_execution", execution_id=started["execution_id"])
                _, ended = await wait_for_end(session, started["execution_id"])
                tagged, _ = await call(session, "query_heaps_by_tags", tags={"run": str(i)})
                log, _ = await call(session, "list_session_snapshots", session="race")
                assert len(log["snapshots"]) == i + 1, (i, ended, log)
                entry = log["snapshots"][i]
                if ended["status"] == "completed":
                    assert len(ended["heap"]) == 64 and tagged["heaps"] == [ended["heap"]], ended
                    assert entry["output_heap"] == ended["heap"]
                else:
                    assert ended["status"] == "cancelled", ended
                    assert "heap" not in ended and tagged["heaps"] == [] and "output_heap" not in entry, (ended, entry)
                outcomes.append(ended["status"])
            # It raced: some cancels landed before the completion and some after (about half each here).
            assert min(outcomes.count("completed"), outcomes.count("cancelled")) >= 10, outcomes
            stored = {path.name for path in tmp_path.iterdir() if len(path.name) >= 64}
            assert len(stored) == outcomes.count("completed"), "a heap file for every completed run and no other"
    run(scenario())


def test_a_run_queued_past_its_deadline_ends_timed_out_and_stores_nothing(tmp_path):
    """Issue 17 item 1: the deadline reaches the lifecycle; one that passes while the run waits for a
    worker takes it out of the queue, and it never runs."""
    async def scenario():
        async with stateful(tmp_path, "--max-concurrent-executions", "1") as session:
            hog, _ = await run_js(session, "for(;;){}", execution_timeout_secs=5, inline_wait_ms=0)
            queued, _ = await run_js(session, "console.log('ran'); globalThis.ran = true", session="queued",
                                     tags={"run": "queued"}, execution_timeout_secs=1, inline_wait_ms=0)
            running, ended = await wait_for_end(session, queued["execution_id"])
            assert ended["status"] == "timed_out" and running > 0, ended
            assert ended["error"] == ("Execution timed out after waiting 1s for a free worker: the server is "
                                      "saturated (--max-concurrent-executions 1)."), ended
            output, _ = await call(session, "get_execution_output", execution_id=queued["execution_id"])
            assert output["data"] == "", "it never ran"
            await assert_stored_nothing(session, ended, "queued")
            still, _ = await call(session, "get_execution", execution_id=hog["execution_id"])
            assert still["status"] == "running"
            await call(session, "cancel_execution", execution_id=hog["execution_id"])
    run(scenario())


def test_the_deadline_counts_the_wait_for_a_worker_and_stops_a_running_run(tmp_path):
    """Issue 17 item 1: a stateful run's wall-clock limit counts from run_js, waiting included. Here the
    run waits 1.5 s for the one worker, then needs 2.5 s of its 3 s limit: the host's deadline stops it
    after 1.5 s of running (its worker's own watchdog would have let it complete). It reads running
    until the worker confirms the stop, then timed_out, and stores nothing."""
    async def scenario():
        async with stateful(tmp_path, "--max-concurrent-executions", "1") as session:
            busy = "const end = Date.now() + {ms}; while (Date.now() < end) {{}}"
            first, _ = await run_js(session, busy.format(ms=1500) + "; 'first'", inline_wait_ms=0)
            waiting, _ = await run_js(session, "console.log('began'); " + busy.format(ms=2500) + "; globalThis.done = true",
                                      session="waiting", tags={"run": "waiting"}, execution_timeout_secs=3,
                                      inline_wait_ms=0)
            running, ended = await wait_for_end(session, waiting["execution_id"])
            assert ended["status"] == "timed_out" and running > 0, ended
            assert ended["error"].startswith("Execution timed out after 3 s."), ended
            assert "s of them for a free worker (--max-concurrent-executions 1)." in ended["error"], ended
            output, _ = await call(session, "get_execution_output", execution_id=waiting["execution_id"])
            assert output["data"] == "began\n", "it ran until the host stopped it"
            await assert_stored_nothing(session, ended, "waiting")
            done, _ = await call(session, "get_execution", execution_id=first["execution_id"])
            assert done["status"] == "completed" and done["result"] == "first"
    run(scenario())
