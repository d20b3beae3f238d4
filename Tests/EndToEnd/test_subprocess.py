"""The subprocess capability: policy-gated commands judged by their real executables, run without a
shell in an empty environment, within time and output limits, and never outliving their call or run."""
import asyncio
import json
import os
import signal
import time

import pytest

from conftest import RUN_LIMIT_FACTOR, raw_server, run, run_js, server, start_fails
from opa_server import asked_by, opa_server


def real(path: str) -> str:
    """The executable a path leads to, as the policy sees it (/bin/sh is /usr/bin/dash on Debian)."""
    resolved = os.path.realpath(path)
    assert os.access(resolved, os.X_OK), f"{resolved} is needed by these tests"
    return resolved


ECHO, ENV, CAT, SLEEP, YES, PWD, TRUE, FALSE = (real(f"/usr/bin/{name}") for name in
                                                ("echo", "env", "cat", "sleep", "yes", "pwd", "true", "false"))
TOOLS = [ECHO, ENV, CAT, SLEEP, YES, PWD, TRUE, FALSE]
SHELL = real("/bin/sh")

ALLOW_ALL_POLICY = "package mcp.subprocess\n\nallow := true\n"

# Settles a promise (or a function that throws or returns one) into a JSON-friendly record.
OUTCOME_JS = """
const outcome = async (attempt) => {
  try {
    const value = await (typeof attempt === "function" ? attempt() : attempt);
    return { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    return { ok: false, name: error.name, code: error.code ?? null, message: String(error.message) };
  }
};
const text = (bytes) => new TextDecoder().decode(bytes);
"""


def allowing(commands) -> str:
    return f"""package mcp.subprocess

default allow := false

allow if input.command in {json.dumps(sorted(commands))}
"""


def policies(tmp_path, rego: str) -> str:
    """--policies-json for one Rego file written into tmp_path."""
    rego_path = tmp_path / "subprocess.rego"
    rego_path.write_text(rego)
    return json.dumps({"subprocess": {"policies": [{"url": "file://" + str(rego_path)}]}})


def js(value) -> str:
    """A JavaScript literal."""
    return json.dumps(value if isinstance(value, (list, dict)) else str(value))


async def result_of(session, code: str, **arguments):
    content, is_error = await run_js(session, code, **arguments)
    assert not is_error, content
    return content["result"]


def assert_denied(attempt):
    assert attempt["ok"] is False and attempt["code"] == "ERR_POLICY_DENIED", attempt
    assert "denied" in attempt["message"], attempt


def processes_with(argument: str) -> list[int]:
    """Pids of processes, zombies aside, with `argument` among their command-line arguments."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if argument.encode() in cmdline.read().split(b"\0")[1:]:
                    found.append(int(entry))
        except OSError:
            continue
    return found


async def started(argument: str, seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while not (pids := processes_with(argument)):
        assert time.monotonic() < deadline, f"no process with the argument {argument} started"
        await asyncio.sleep(0.02)
    return pids


def still_there(pid: int) -> bool:
    """Running, or dead but not reaped by the parent that should (a zombie the plugin leaves); a
    killed grandchild is init's to reap, which some container inits do only now and then."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    state, parent = fields[0], int(fields[1])
    return state != "Z" or parent != 1


async def assert_gone(pids: list[int], seconds: float = 3.0):
    """Each process ends and is reaped within `seconds`."""
    deadline = time.monotonic() + seconds
    while left := [pid for pid in pids if still_there(pid)]:
        assert time.monotonic() < deadline, f"processes {left} outlived their call"
        await asyncio.sleep(0.02)


def test_globals_are_absent_without_a_policy():
    async def scenario():
        async with server() as session:
            assert await result_of(session, "[typeof Deno, typeof child_process]") == ["undefined", "undefined"]
    run(scenario())


def test_allowed_commands_run_and_report_output_and_exit_codes(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const echoed = await new Deno.Command("/usr/bin/echo", {{ args: ["hello", "wörld ✓"] }}).output();
                const failed = await new Deno.Command("false").output();
                const complaint = await new Deno.Command("cat", {{ args: ["/no/such/file"] }}).output();
                const command = new Deno.Command("echo", {{ args: ["again"] }});
                ({{
                  kind: [typeof Deno, typeof Deno.Command, typeof child_process, typeof child_process.execFile],
                  echoed: {{ ...echoed, stdout: text(echoed.stdout), stderr: text(echoed.stderr),
                             bytes: echoed.stdout instanceof Uint8Array && echoed.stderr instanceof Uint8Array }},
                  failed: {{ code: failed.code, success: failed.success, signal: failed.signal,
                             stdout: failed.stdout.length, stderr: failed.stderr.length }},
                  complaint: {{ code: complaint.code, stdout: text(complaint.stdout), stderr: text(complaint.stderr) }},
                  twice: [text((await command.output()).stdout), text((await command.output()).stdout)],
                  execFile: await child_process.execFile("echo", ["from", "execFile"]),
                  execFileFalse: await outcome(child_process.execFile("/usr/bin/false")),
                  execFileTrue: await child_process.execFile(`/usr/bin/../bin/true`),
                  execFileStderr: await child_process.execFile("cat", ["/no/such/file"]),
                }})
            """)
            assert result["kind"] == ["object", "function", "object", "function"]
            assert result["echoed"] == {"code": 0, "success": True, "signal": None, "stdout": "hello wörld ✓\n",
                                        "stderr": "", "bytes": True}
            assert result["failed"] == {"code": 1, "success": False, "signal": None, "stdout": 0, "stderr": 0}
            assert result["complaint"]["code"] == 1 and result["complaint"]["stdout"] == ""
            assert "/no/such/file" in result["complaint"]["stderr"]
            assert result["twice"] == ["again\n", "again\n"]
            assert result["execFile"] == {"stdout": "from execFile\n", "stderr": "", "code": 0, "signal": None}
            # A non-zero exit resolves with its code.
            assert result["execFileFalse"] == {"ok": True, "value": {"stdout": "", "stderr": "", "code": 1,
                                                                     "signal": None}}
            assert result["execFileTrue"]["code"] == 0
            assert result["execFileStderr"]["code"] == 1 and "/no/such/file" in result["execFileStderr"]["stderr"]
    run(scenario())


def test_the_environment_is_empty_unless_given_and_cwd_is_honoured(tmp_path):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "link").symlink_to(work / "sub")

    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                ({{
                  empty: await child_process.execFile("env"),
                  emptyDeno: text((await new Deno.Command("env").output()).stdout),
                  given: await child_process.execFile("env", [], {{ env: {{ GREETING: "hi there", EMPTY: "",
                                                                            ["__proto__"]: "kept" }} }}),
                  givenDeno: text((await new Deno.Command("env", {{ env: {{ ONLY: "this" }} }}).output()).stdout),
                  defaultCwd: (await child_process.execFile("pwd")).stdout,
                  cwd: (await child_process.execFile("pwd", [], {{ cwd: {js(work)} }})).stdout,
                  linkedCwd: text((await new Deno.Command("pwd", {{ cwd: {js(work / "link")} }}).output()).stdout),
                  relativeCommand: await outcome(child_process.execFile("../../../../../../../../usr/bin/pwd", [],
                                                                        {{ cwd: {js(work)} }})),
                  missingCwd: await outcome(child_process.execFile("pwd", [], {{ cwd: {js(work / "missing")} }})),
                }})
            """)
            assert result["empty"] == {"stdout": "", "stderr": "", "code": 0, "signal": None}
            assert result["emptyDeno"] == ""
            assert sorted(result["given"]["stdout"].splitlines()) == ["EMPTY=", "GREETING=hi there", "__proto__=kept"]
            assert result["givenDeno"] == "ONLY=this\n"
            assert result["defaultCwd"] == os.path.realpath(os.getcwd()) + "\n"
            assert result["cwd"] == f"{work}\n"
            assert result["linkedCwd"] == f"{work / 'sub'}\n"
            assert result["relativeCommand"]["value"]["stdout"] == f"{work}\n"
            missing = result["missingCwd"]
            assert missing["ok"] is False and missing["code"] == "ENOENT", missing
            assert missing["message"] == f"ENOENT: no such file or directory, chdir '{work / 'missing'}'"
    run(scenario())


def test_stdin_data_is_written_then_closed(tmp_path):
    big = 512 * 1024 + 7  # far more than a pipe holds, so writing and reading must interleave

    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const all = new Uint8Array(256).map((_, i) => i);
                const big = new Uint8Array({big}).map((_, i) => i % 251);
                const middle = new TextEncoder().encode("xABCx").subarray(1, 4);
                const bigBack = (await new Deno.Command("cat", {{ stdin: big }}).output()).stdout;
                let same = bigBack.length === big.length;
                for (let i = 0; same && i < big.length; i++) same = bigBack[i] === big[i];
                ({{
                  text: await child_process.execFile("cat", [], {{ input: "piped ✓\\nline two" }}),
                  bytes: Array.from((await new Deno.Command("cat", {{ stdin: all }}).output()).stdout),
                  view: text((await new Deno.Command("cat", {{ stdin: middle }}).output()).stdout),
                  noInput: await child_process.execFile("cat"),
                  emptyInput: await child_process.execFile("cat", [], {{ input: "" }}),
                  unread: await child_process.execFile("true", [], {{ input: big }}),
                  big: same,
                }})
            """)
            assert result["text"] == {"stdout": "piped ✓\nline two", "stderr": "", "code": 0, "signal": None}
            assert result["bytes"] == list(range(256))
            assert result["view"] == "ABC"
            assert result["noInput"]["stdout"] == "" and result["emptyInput"]["stdout"] == ""
            # A child that exits without reading its input is no error.
            assert result["unread"]["code"] == 0
            assert result["big"] is True
    run(scenario())


def test_commands_are_judged_by_the_real_executable(tmp_path):
    links = tmp_path / "links"
    links.mkdir()
    (links / "my-echo").symlink_to(ECHO)
    (links / "innocent").symlink_to("/bin/sh")
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "sh").symlink_to(ECHO)  # a PATH of the guest's own cannot make "sh" mean another program

    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const shell = ["-c", "echo from the shell"];
                ({{
                  binSh: await outcome(child_process.execFile("/bin/sh", shell)),
                  sh: await outcome(child_process.execFile("sh", shell)),
                  dash: await outcome(new Deno.Command({js(SHELL)}, {{ args: shell }}).output()),
                  disguised: await outcome(child_process.execFile({js(links / "innocent")}, shell)),
                  relative: await outcome(child_process.execFile("./innocent", shell, {{ cwd: {js(links)} }})),
                  ownPath: await outcome(child_process.execFile("sh", shell, {{ env: {{ PATH: {js(bin_folder)} }} }})),
                  linkToAllowed: await child_process.execFile({js(links / "my-echo")}, ["via", "link"]),
                  binEcho: await child_process.execFile("/bin/echo", ["via", "/bin"]),
                }})
            """)
            for name in ("binSh", "sh", "dash", "disguised", "relative", "ownPath"):
                assert_denied(result[name])
            assert result["linkToAllowed"]["stdout"] == "via link\n"
            assert result["binEcho"]["stdout"] == "via /bin\n"
    run(scenario())


def test_a_shell_runs_only_when_the_policy_allows_the_real_shell(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing([SHELL, ECHO]))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                ({{
                  shell: await child_process.execFile("/bin/sh", ["-c", "echo \\"$0 says $1\\"; echo oops >&2; exit 3",
                                                                  "sh", "hi"]),
                  noShellExpansion: (await child_process.execFile("echo", ["$HOME", "*", "a;b", "`id`"])).stdout,
                  killed: await new Deno.Command("sh", {{ args: ["-c", "kill -TERM $$"] }}).output(),
                  killedExecFile: await child_process.execFile("sh", ["-c", "kill -KILL $$"]),
                }})
            """)
            assert result["shell"] == {"stdout": "sh says hi\n", "stderr": "oops\n", "code": 3, "signal": None}
            assert result["noShellExpansion"] == "$HOME * a;b `id`\n"
            killed = result["killed"]
            assert (killed["code"], killed["success"], killed["signal"]) == (143, False, "SIGTERM")
            assert result["killedExecFile"] == {"stdout": "", "stderr": "", "code": None, "signal": "SIGKILL"}
    run(scenario())


def test_descendants_die_with_the_child(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing([SHELL]))) as session:
            # The background sleep keeps stdout open: the call must not wait for it, and it must not survive.
            begun = time.monotonic()
            result = await result_of(session, """
                await child_process.execFile("sh", ["-c", "sleep 23.4591 & echo $!"])
            """)
            assert time.monotonic() - begun < 10
            assert result["code"] == 0
            grandchild = int(result["stdout"])
            await assert_gone([grandchild])
            assert processes_with("23.4591") == []
    run(scenario())


# Issue 16, item 3: processes that leave their call's process group (setsid, a double fork).
DETACHING = "setsid sleep {0}.1 & setsid -f sleep {0}.2; (sleep {0}.3 &); sh -c 'sleep {0}.4 &'; echo detached"


def detached(marker: int) -> list[int]:
    return [pid for part in range(1, 5) for pid in processes_with(f"{marker}.{part}")]


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_detached_processes_die_when_their_run_ends(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing([SHELL]))) as session:
            result = await result_of(session, f"await child_process.execFile('sh', ['-c', {js(DETACHING.format(4242))}])")
            assert result["stdout"] == "detached\n", result
            # Killed before the answer, not some time later.
            assert detached(4242) == []
            assert await result_of(session, "1 + 1") == 2
    run(scenario())


def test_detached_processes_die_with_the_server(tmp_path):
    async def scenario():
        async with raw_server("--directory-path", str(tmp_path), "--session-db-path", str(tmp_path / "sessions"),
                              "--policies-json", policies(tmp_path, allowing([SHELL]))) as session:
            # Still running (it waits on its last child) when the server exits.
            content, is_error = await run_js(session, f"""
                await child_process.execFile('sh', ['-c', {js(DETACHING.format(4243) + "; exec sleep 4243.5")}])
            """, inline_wait_ms=0)
            assert not is_error and content["status"] == "running", content
            await started("4243.5")
            for part in range(1, 5):
                await started(f"4243.{part}")
            pids = detached(4243) + processes_with("4243.5")
        await assert_gone(pids)
    run(scenario())


def test_detached_processes_die_with_a_killed_worker(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing([SHELL]))) as session:
            running = asyncio.create_task(run_js(session, f"""
                await child_process.execFile('sh', ['-c', {js(DETACHING.format(4244) + "; exec sleep 4244.5")}])
            """))
            [child] = await started("4244.5")
            for part in range(1, 5):
                await started(f"4244.{part}")
            pids = detached(4244) + [child]
            os.kill(parent_of(child), signal.SIGKILL)  # the worker, gone without a word
            content, is_error = await running
            assert is_error and "killed by signal 9" in content["error"], content
            await assert_gone(pids)
            assert await result_of(session, "1 + 1") == 2
    run(scenario())


def test_spawn_failures_reject_with_node_codes(tmp_path):
    not_executable = tmp_path / "notes.txt"
    not_executable.write_text("not a program")
    not_executable.chmod(0o644)
    missing = tmp_path / "missing-tool"

    async def scenario():
        async with server("--policies-json", policies(tmp_path, ALLOW_ALL_POLICY)) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                ({{
                  bareName: await outcome(child_process.execFile("no-such-command-4711")),
                  bareNameDeno: await outcome(new Deno.Command("no-such-command-4711").output()),
                  missingPath: await outcome(child_process.execFile({js(missing)})),
                  notExecutable: await outcome(child_process.execFile({js(not_executable)})),
                  directory: await outcome(new Deno.Command({js(tmp_path)}).output()),
                  isError: await child_process.execFile({js(missing)}).catch((error) => error instanceof Error),
                }})
            """)
            assert result.pop("isError") is True
            expected = {
                "bareName": ("ENOENT", "ENOENT: no such file or directory, spawn 'no-such-command-4711'"),
                "bareNameDeno": ("ENOENT", "ENOENT: no such file or directory, spawn 'no-such-command-4711'"),
                "missingPath": ("ENOENT", f"ENOENT: no such file or directory, spawn '{missing}'"),
                "notExecutable": ("EACCES", f"EACCES: permission denied, spawn '{not_executable}'"),
                "directory": ("EACCES", f"EACCES: permission denied, spawn '{tmp_path}'"),
            }
            for name, (code, message) in expected.items():
                attempt = result[name]
                assert attempt["ok"] is False and attempt["code"] == code, (name, attempt)
                assert attempt["message"].startswith(message), (name, attempt)
    run(scenario())


def test_time_and_output_limits_kill_the_child(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS)),
                          "--plugin-config", "subprocess.timeout_ms=300",
                          "--plugin-config", "subprocess.max_output_bytes=1000") as session:
            begun = time.monotonic()
            result = await result_of(session, f"""{OUTCOME_JS}
                ({{
                  slow: await outcome(child_process.execFile("sleep", ["30.1234"])),
                  flood: await outcome(new Deno.Command("yes", {{ args: ["flood-7321"] }}).output()),
                  atLimit: await outcome(child_process.execFile("cat", [], {{ input: "x".repeat(1000) }})),
                  overLimit: await outcome(child_process.execFile("cat", [], {{ input: "x".repeat(1001) }})),
                }})
            """)
            assert time.monotonic() - begun < 10
            slow = result["slow"]
            assert slow["ok"] is False and slow["code"] == "ETIMEDOUT", slow
            assert "300 ms" in slow["message"] and "--plugin-config subprocess.timeout_ms=N" in slow["message"]
            for name in ("flood", "overLimit"):
                attempt = result[name]
                assert attempt["ok"] is False and attempt["code"] == "ENOBUFS", (name, attempt)
                assert "1000 bytes to stdout" in attempt["message"], attempt
                assert "--plugin-config subprocess.max_output_bytes=N" in attempt["message"], attempt
            assert result["atLimit"]["ok"] is True and len(result["atLimit"]["value"]["stdout"]) == 1000
            assert processes_with("30.1234") == [] and processes_with("flood-7321") == []
    run(scenario())


def test_output_counts_against_the_runs_memory_for_buffers_as_it_arrives(tmp_path):
    """With a per-stream limit above the run's 8 MB, 16 floods at once would have the plugin hold
    16 x 64 MiB; each stops once the run's memory for buffers is full instead."""
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS)),
                          "--plugin-config", f"subprocess.max_output_bytes={64 << 20}") as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                await Promise.all(Array.from({{ length: 16 }}, () =>
                  outcome(new Deno.Command("yes", {{ args: ["flood-8642"] }}).output())))
            """)
            assert all(attempt["ok"] is False and attempt["code"] == "ERR_BUFFER_LIMIT" for attempt in result), result
            assert "wrote more to stdout than fits in this run's memory for buffers" in result[0]["message"]
            assert processes_with("flood-8642") == []
    run(scenario())


def test_bad_settings_stop_the_server_naming_the_key(tmp_path):
    configuration = policies(tmp_path, allowing(TOOLS))
    for setting in ("timeout_ms=0", "timeout_ms=soon", "max_output_bytes=-1", "max_output_bytes=99999999999999"):
        stderr = start_fails("--stateless", "--policies-json", configuration, "--plugin-config", f"subprocess.{setting}")
        key = setting.split("=")[0]
        assert f"subprocess.{key} must be a whole number" in stderr, stderr


def test_children_die_when_their_run_ends(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            # The run times out while awaiting the child.
            timing_out = asyncio.create_task(run_js(
                session, "await new Deno.Command('sleep', { args: ['23.456'] }).output()",
                execution_timeout_secs=RUN_LIMIT_FACTOR))
            pids = await started("23.456")
            content, is_error = await timing_out
            assert is_error and "timed out" in content["error"], content
            await assert_gone(pids)

            # A child the run does not await keeps the run going (the host waits for its calls), up to
            # the run's time limit.
            not_awaiting = asyncio.create_task(run_js(session, """
                new Deno.Command('sleep', { args: ['23.457'] }).output();
                child_process.execFile('sleep', ['23.4571']);
                'not awaited'
            """, execution_timeout_secs=RUN_LIMIT_FACTOR))
            pids = await started("23.457") + await started("23.4571")
            content, is_error = await not_awaiting
            assert is_error and "timed out" in content["error"], content
            await assert_gone(pids)
    run(scenario())


def test_policy_input_documents(tmp_path):
    """Exactly the documented document reaches the policy, here a remote OPA that keeps them."""
    work = tmp_path.resolve() / "work"
    work.mkdir()
    (work / "tool").symlink_to(ECHO)
    cwd = os.path.realpath(os.getcwd())
    expected = [
        {"operation": "spawn", "command": ECHO, "args": ["a b", "", "*"], "cwd": cwd, "env": {}},
        {"operation": "spawn", "command": ECHO, "args": ["x"], "cwd": str(work), "env": {"B": "2", "A": "1"}},
        {"operation": "spawn", "command": ECHO, "args": [], "cwd": str(work), "env": {}},
        {"operation": "spawn", "command": CAT, "args": [], "cwd": cwd, "env": {}},
        {"operation": "spawn", "command": SHELL, "args": ["-c", "echo hi"], "cwd": cwd, "env": {}},
        {"operation": "spawn", "command": "no-such-command-4711", "args": [], "cwd": cwd, "env": {}},
    ]

    async def scenario():
        with opa_server({"subprocess.rego": allowing(TOOLS)}) as opa:
            configuration = json.dumps({"subprocess": {"policies": [{"url": opa, "policy_path": "mcp/subprocess"}]}})
            async with server("--policies-json", configuration) as session:
                result = await result_of(session, f"""{OUTCOME_JS}
                    [
                      await outcome(new Deno.Command("echo", {{ args: ["a b", "", "*"] }}).output()),
                      await outcome(child_process.execFile("/bin/echo", ["x"], {{ cwd: {js(work / ".." / "work")},
                                                                                 env: {{ B: "2", A: "1" }} }})),
                      await outcome(child_process.execFile("./tool", [], {{ cwd: {js(work)} }})),
                      await outcome(child_process.execFile("cat", [], {{ input: "not in the document" }})),
                      await outcome(child_process.execFile("sh", ["-c", "echo hi"])),
                      await outcome(child_process.execFile("no-such-command-4711")),
                    ].map((attempt) => attempt.ok || attempt.code)
                """)
            assert result == [True, True, True, True, "ERR_POLICY_DENIED", "ERR_POLICY_DENIED"]
            # One decision per call: `start` compares with the allowed document instead of asking again.
            assert opa.inputs == asked_by(expected)
    run(scenario())


def test_a_command_that_changes_after_the_decision_is_refused(tmp_path):
    link = tmp_path.resolve() / "tool"
    link.symlink_to(ECHO)

    def repoint_link(document):
        # The command changes between the decision and the start.
        replacement = link.with_name("replacement")
        replacement.symlink_to(ENV)
        os.replace(replacement, link)

    async def scenario():
        with opa_server({"allow.rego": "package mcp.subprocess\n\nallow := true\n"},
                        before_deciding=repoint_link) as url:
            documents = url.inputs
            configuration = json.dumps({"subprocess": {"policies": [{"url": url, "policy_path": "mcp/subprocess"}]}})
            async with server("--policies-json", configuration) as session:
                result = await result_of(session, f"""{OUTCOME_JS}
                    await outcome(child_process.execFile({js(link)}, [], {{ env: {{ LEAK: "if env ran" }} }}))
                """)
            assert [document["command"] for document in documents] == [ECHO]
            assert result["ok"] is False and result["code"] == "EACCES", result
            assert "changed since the policy allowed it" in result["message"] and ENV in result["message"], result
    run(scenario())


def test_bad_arguments_are_type_errors(tmp_path):
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                ({{
                  numberCommand: await outcome(() => new Deno.Command(42)),
                  emptyCommand: await outcome(() => child_process.execFile("")),
                  nulCommand: await outcome(() => new Deno.Command("ec\\0ho")),
                  argsNotArray: await outcome(() => new Deno.Command("echo", {{ args: "hi" }})),
                  argNotString: await outcome(() => child_process.execFile("echo", ["ok", 7])),
                  nulArg: await outcome(() => child_process.execFile("echo", ["a\\0b"])),
                  envNotObject: await outcome(() => new Deno.Command("env", {{ env: "A=1" }})),
                  envValue: await outcome(() => child_process.execFile("env", [], {{ env: {{ A: 1 }} }})),
                  envName: await outcome(() => child_process.execFile("env", [], {{ env: {{ "A=B": "c" }} }})),
                  cwd: await outcome(() => new Deno.Command("pwd", {{ cwd: 5 }})),
                  stdin: await outcome(() => new Deno.Command("cat", {{ stdin: 5 }})),
                  input: await outcome(() => child_process.execFile("cat", [], {{ input: {{}} }})),
                  options: await outcome(() => child_process.execFile("echo", [], "utf8")),
                  rejectsRatherThanThrows: (() => {{
                    const promise = child_process.execFile(1);
                    promise.catch(() => {{}});
                    return promise instanceof Promise;
                  }})(),
                }})
            """)
            assert result.pop("rejectsRatherThanThrows") is True
            expected_words = {
                "numberCommand": ['"command"', "string", "a number"], "emptyCommand": ['"file"', "non-empty"],
                "nulCommand": ['"command"', "NUL"], "argsNotArray": ['"options.args"', "array of strings"],
                "argNotString": ['"args[1]"', "string"], "nulArg": ['"args[0]"', "NUL"],
                "envNotObject": ['"options.env"', "object"], "envValue": ['"options.env.A"', "string"],
                "envName": ['"options.env"', '"A=B"'], "cwd": ['"options.cwd"', "string"],
                "stdin": ['"options.stdin"', "Uint8Array"], "input": ['"options.input"', "Uint8Array"],
                "options": ['"options"', "object"],
            }
            for name, words in expected_words.items():
                assert result[name]["ok"] is False and result[name]["name"] == "TypeError", (name, result[name])
                for word in words:
                    assert word in result[name]["message"], (name, word, result[name])
    run(scenario())


def test_concurrent_commands(tmp_path):
    count = 24

    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS))) as session:
            result = await result_of(session, f"""
                const runs = Array.from({{ length: {count} }}, (_, i) =>
                  i % 2 ? child_process.execFile("echo", [`run ${{i}}`]).then((r) => r.stdout)
                        : new Deno.Command("cat", {{ stdin: `run ${{i}}\\n` }}).output()
                            .then((r) => new TextDecoder().decode(r.stdout)));
                await Promise.all(runs)
            """)
            assert result == [f"run {i}\n" for i in range(count)]
    run(scenario())


@pytest.mark.parametrize("flags, cap, count", [([], 16, 300), (["--max-capability-calls", "4"], 4, 40)])
def test_calls_in_flight_per_run_are_capped_and_the_rest_wait(tmp_path, flags, cap, count):
    """300 execFile('sleep') at once ran 300 children (and 300 plugin threads) at once; at most
    --max-capability-calls (default 16) run now, and the others still run once those end."""
    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(TOOLS)), *flags) as session:
            running = asyncio.create_task(result_of(session, f"""
                const done = await Promise.all(Array.from({{ length: {count} }}, () =>
                  child_process.execFile("sleep", ["0.2{count}"]).then(() => 1)));
                done.length
            """))
            most = 0
            while not running.done():
                most = max(most, len(processes_with(f"0.2{count}")))
                await asyncio.sleep(0.005)
            assert await running == count
            assert 0 < most <= cap, f"{most} sleep processes at once"
    run(scenario())


def test_the_cap_on_calls_in_flight_is_checked():
    error = start_fails("--max-capability-calls", "0")
    assert "--max-capability-calls must be between 1 and 1024; got 0." in error


# name: (command, args, options, stdout, the executable the policy judges)
MATRIX_COMMANDS = {
    "echo": ("echo", ["matrix"], {}, "matrix\n", ECHO),
    "/bin/echo": ("/bin/echo", ["matrix"], {}, "matrix\n", ECHO),
    "cat": ("cat", [], {"input": "matrix"}, "matrix", CAT),
    "env": ("env", [], {"env": {"M": "matrix"}}, "M=matrix\n", ENV),
    "sh": ("sh", ["-c", "echo matrix"], {}, "matrix\n", SHELL),
    "/bin/sh": ("/bin/sh", ["-c", "echo matrix"], {}, "matrix\n", SHELL),
    "link-to-sh": ("./link-to-sh", ["-c", "echo matrix"], {}, "matrix\n", SHELL),
    "sleep": ("sleep", ["0"], {}, "", SLEEP),
}
MATRIX_POLICIES = {"tools": [ECHO, CAT, SLEEP], "tools-and-shell": [ECHO, ENV, SHELL]}


@pytest.mark.parametrize("policy", MATRIX_POLICIES)
@pytest.mark.parametrize("name", MATRIX_COMMANDS)
def test_policy_matrix(tmp_path, name, policy):
    command, args, options, output, executable = MATRIX_COMMANDS[name]
    (tmp_path / "link-to-sh").symlink_to("/bin/sh")

    async def scenario():
        async with server("--policies-json", policies(tmp_path, allowing(MATRIX_POLICIES[policy]))) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const options = {{ ...{js(options)}, cwd: {js(tmp_path)} }};
                await outcome(child_process.execFile({js(command)}, {js(args)}, options))
            """)
            if executable in MATRIX_POLICIES[policy]:
                assert result == {"ok": True, "value": {"stdout": output, "stderr": "", "code": 0, "signal": None}}
            else:
                assert_denied(result)
    run(scenario())
