"""Capability plugins: a third-party plugin in plain C, built here with `cc` against the ABI header
alone, loaded with --plugin, gated by its own policy category; the loader's refusals; the policy
configuration's errors."""
import json
import os
import re
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import BINARY, http_server, raw_server, run, run_js, server
from conftest import start_fails as server_refuses

ROOT = Path(__file__).resolve().parents[2]
KV_SOURCE = Path(__file__).with_name("plugins") / "kv_plugin.c"
ABI_INCLUDE = ROOT / "Sources/CapabilityABI/include"
# The header exactly as ABI 1.0 shipped it, to build an old plugin for this newer host.
ABI_1_0_INCLUDE = KV_SOURCE.with_name("abi-1.0")

KV_POLICY = """package mcp.kv

default allow := false

allow if {
    input.operation in ["get", "set"]
    not startswith(input.key, "secret")
}

allow if input.operation == "crash"
"""


def build_plugin(out: Path, source: Path = KV_SOURCE, *defines: str, include: Path = ABI_INCLUDE) -> Path:
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", f"-I{include}",
                    *defines, "-o", str(out), str(source), "-lpthread"], check=True)
    return out


@pytest.fixture(scope="module")
def kv_plugin(tmp_path_factory) -> Path:
    return build_plugin(tmp_path_factory.mktemp("kv") / "libkv.so")


def policies(tmp_path: Path, category: str = "kv", text: str = KV_POLICY, **extra) -> str:
    rego = tmp_path / f"{category}.rego"
    rego.write_text(text)
    return json.dumps({category: {"policies": [{"url": f"file://{rego}"}], **extra}})


def test_a_plugin_in_plain_c_is_loaded_and_its_operations_run(kv_plugin, tmp_path):
    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", policies(tmp_path)) as session:
            # get answers from a thread of the plugin's own; values travel as bytes.
            content, is_error = await run_js(session, "await kv.set('greeting', 'héllo'); await kv.get('greeting')")
            assert (content, is_error) == ({"output": "", "result": "héllo"}, False)
            content, _ = await run_js(session, "await kv.get('never-set')")
            assert content["result"] is None
            content, _ = await run_js(session, "await Promise.all([1,2,3].map(i => kv.set('k' + i, i)))"
                                               ".then(() => Promise.all([1,2,3].map(i => kv.get('k' + i))))")
            assert content["result"] == ["1", "2", "3"]
    run(scenario())


def test_the_policy_is_asked_about_every_operation(kv_plugin, tmp_path):
    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", policies(tmp_path)) as session:
            content, is_error = await run_js(session, "await kv.set('secret-token', 'x')")
            assert is_error
            assert "kv.set denied by the kv policy" in content["error"]
            assert str(tmp_path / "kv.rego") in content["error"]
            # A denial is an ordinary rejection the guest can catch, with a code.
            content, _ = await run_js(session, "await kv.get('secret-x').catch(e => e.code)")
            assert content["result"] == "ERR_POLICY_DENIED"
            # Invalid requests never reach the policy or the operation.
            content, is_error = await run_js(session, "await kv.get('no spaces allowed')")
            assert is_error and "a key is 1-64 letters" in content["error"]
    run(scenario())


def test_without_a_policy_for_its_category_a_plugin_installs_nothing(kv_plugin, tmp_path):
    async def scenario():
        async with server("--plugin", str(kv_plugin)) as session:
            content, _ = await run_js(session, "[typeof kv, typeof fetch, typeof fs].join()")
            assert content["result"] == "undefined,undefined,undefined"
    run(scenario())


def test_a_plugin_that_crashes_fails_only_its_run(kv_plugin, tmp_path):
    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", policies(tmp_path)) as session:
            content, is_error = await run_js(session, "await kv.crash()")
            assert is_error
            assert "worker process" in content["error"] and "signal 6" in content["error"]
            content, is_error = await run_js(session, "await kv.set('after', 'crash'); await kv.get('after')")
            assert (content["result"], is_error) == ("crash", False)
    run(scenario())


def test_plugins_work_in_stateful_runs_and_their_globals_survive_in_the_heap(kv_plugin, tmp_path):
    async def scenario():
        async with raw_server("--plugin", str(kv_plugin), "--policies-json", policies(tmp_path),
                              "--directory-path", str(tmp_path / "heaps"),
                              "--session-db-path", str(tmp_path / "db")) as session:
            # Top-level await makes the code a module: what should persist goes on globalThis.
            first, is_error = await run_js(session, "await kv.set('s', 'stateful'); globalThis.kept = await kv.get('s')")
            assert not is_error and first["status"] == "completed", first
            assert first["result"] == "stateful"
            second, _ = await run_js(session, "kept + ':' + typeof kv.get", heap=first["heap"])
            assert second["result"] == "stateful:function"
    run(scenario())


@pytest.mark.parametrize("text, allowed", [
    ("package mcp.kv\n\ndefault allow := true\n", True),
    ("package mcp.kv\n\ndefault allow := false\n", False),
    ("package mcp.kv\n\nallow := 1\n", False),
    ('package mcp.kv\n\nallow := "true"\n', False),
    ("package mcp.other\n\nallow := true\n", False),
])
def test_only_a_true_allow_allows(kv_plugin, tmp_path, text, allowed):
    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", policies(tmp_path, text=text)) as session:
            content, is_error = await run_js(session, "await kv.set('key', 'v')")
            assert is_error != allowed, content
    run(scenario())


@pytest.mark.parametrize("mode, allowed", [("all", {"set": False, "get": False}), ("any", {"set": True, "get": True})])
def test_mode_all_needs_every_policy_and_any_needs_one(kv_plugin, tmp_path, mode, allowed):
    only = {}
    for operation in ("set", "get"):
        only[operation] = tmp_path / f"only-{operation}.rego"
        only[operation].write_text(f'package mcp.kv\n\nallow if input.operation == "{operation}"\n')
    configuration = json.dumps({"kv": {"mode": mode, "policies": [{"url": f"file://{only['set']}"},
                                                                  {"url": f"file://{only['get']}"}]}})

    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", configuration) as session:
            for operation in ("set", "get"):
                code = f"await kv.{operation}('key', 'v')"
                _, is_error = await run_js(session, code)
                assert is_error != allowed[operation], (mode, operation)
    run(scenario())


def test_a_folder_of_rego_files_is_one_policy(kv_plugin, tmp_path):
    folder = tmp_path / "policies"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "rules.rego").write_text('package mcp.kv\n\nallow if input.key == allowed_key\n')
    (folder / "data.rego").write_text('package mcp.kv\n\nallowed_key := "shared"\n')

    async def scenario():
        configuration = json.dumps({"kv": {"policies": [{"url": f"file://{folder}"}]}})
        async with server("--plugin", str(kv_plugin), "--policies-json", configuration) as session:
            assert (await run_js(session, "await kv.set('shared', 1)"))[1] is False
            assert (await run_js(session, "await kv.set('other', 1)"))[1] is True
    run(scenario())


def start_fails(*args: str) -> str:
    """A stateless server with `args` refuses to start: what it said."""
    return server_refuses("--stateless", *args)


@pytest.mark.parametrize("built_for", ["1.0", "a later minor"])
def test_a_plugin_of_another_minor_version_loads_and_runs(tmp_path, built_for):
    """Minor versions only append fields. A plugin built against the 1.0 header runs on this host,
    whose API table has grown since (and whose `config` is now named `config_host_owned`); one built
    for a later minor (its descriptor and each of its operations a field longer) is read field by
    field, its operations at its own stride."""
    assert "#define MCPV8_ABI_MINOR 0\n" in (ABI_1_0_INCLUDE / "mcpv8_capability.h").read_text()
    assert "#define MCPV8_ABI_MINOR 0\n" not in (ABI_INCLUDE / "mcpv8_capability.h").read_text()
    if built_for == "1.0":
        plugin = build_plugin(tmp_path / "libkv.so", include=ABI_1_0_INCLUDE)
    else:
        plugin = build_plugin(tmp_path / "libkv.so", KV_SOURCE, "-DKV_NEWER_MINOR")

    async def scenario():
        async with server("--plugin", str(plugin), "--policies-json", policies(tmp_path),
                          "--plugin-config", "kv.capacity=1") as session:
            content, is_error = await run_js(session, "await kv.set('a', 'x');"
                                                      "const full = await kv.set('b', 'y').catch(e => e.code);"
                                                      "[await kv.get('a'), await kv.get('b'), full]")
            assert (content, is_error) == ({"output": "", "result": ["x", None, "ENOSPC"]}, False)
            content, is_error = await run_js(session, "await kv.set('secret', 'x')")
            assert is_error and "kv.set denied by the kv policy" in content["error"]
    run(scenario())


def test_the_loader_refuses_broken_plugins_naming_the_file_and_the_reason(kv_plugin, tmp_path):
    configuration = policies(tmp_path)
    not_a_plugin = tmp_path / "notes.so"
    not_a_plugin.write_text("not a shared library")
    stderr = start_fails("--plugin", str(not_a_plugin), "--policies-json", configuration)
    assert str(not_a_plugin) in stderr and "not a loadable shared library" in stderr

    no_entry_source = tmp_path / "no_entry.c"
    no_entry_source.write_text("int mcpv8_something_else(void) { return 1; }\n")
    no_entry = build_plugin(tmp_path / "no_entry.so", no_entry_source)
    stderr = start_fails("--plugin", str(no_entry), "--policies-json", configuration)
    assert str(no_entry) in stderr and "no mcpv8_plugin_entry symbol" in stderr

    future = build_plugin(tmp_path / "future.so", KV_SOURCE, "-DKV_ABI_MAJOR=2")
    stderr = start_fails("--plugin", str(future), "--policies-json", configuration)
    assert str(future) in stderr and "built for capability ABI 2.1; this server speaks 1.1" in stderr

    short = build_plugin(tmp_path / "short.so", KV_SOURCE, "-DKV_DESCRIPTOR_SIZE=40")
    stderr = start_fails("--plugin", str(short), "--policies-json", configuration)
    assert str(short) in stderr and "its descriptor is 40 bytes, smaller than ABI 1.0's 104" in stderr

    failing = build_plugin(tmp_path / "failing.so", KV_SOURCE, "-DKV_FAIL_INIT")
    stderr = start_fails("--plugin", str(failing), "--policies-json", configuration)
    assert str(failing) in stderr and "initialisation failed: kv: the store could not be opened" in stderr

    twin = build_plugin(tmp_path / "twin.so", KV_SOURCE, '-DKV_CATEGORY="kv_twin"')
    both = json.dumps({"kv": json.loads(configuration)["kv"], "kv_twin": {"policies": [
        {"url": f"file://{tmp_path / 'kv.rego'}"}]}})
    stderr = start_fails("--plugin", str(kv_plugin), "--plugin", str(twin), "--policies-json", both)
    assert "its global 'kv' is already claimed by" in stderr


def left_in_session(pid: int) -> list[int]:
    """The processes still in the session `pid` led (started with start_new_session): the server's
    children and theirs, even once they are orphaned."""
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[3]) == pid:
                    children.append(int(entry))
        except OSError:
            continue
    return children


def test_a_plugin_whose_entry_crashes_is_refused_and_the_server_stops_cleanly(kv_plugin, tmp_path, monkeypatch):
    """Plugins are checked at start-up in a child process: an entry that crashes kills only that
    child, and the server names the plugin and the signal, exits 64 and leaves no process behind.
    (Before, the entry ran inside the server, which died of it with no word about which plugin.)"""
    # Under `make sanitize`, ASan would catch this crash itself, report it and exit 1 instead of
    # dying of the signal; the crash is wanted here, so ASan leaves SIGSEGV to the kernel.
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":handle_segv=0")
    crashing = build_plugin(tmp_path / "crashing.so", KV_SOURCE, "-DKV_CRASH_ENTRY", '-DKV_CATEGORY="kv_crash"')
    both = json.dumps({category: {"policies": [{"url": f"file://{tmp_path / 'kv.rego'}"}]}
                       for category in ("kv", "kv_crash")})
    (tmp_path / "kv.rego").write_text(KV_POLICY)
    # The good plugin is checked first, in the same child: the refusal names the one that crashed.
    server_process = subprocess.Popen([BINARY, "--stateless", "--plugin", str(kv_plugin), "--plugin", str(crashing),
                                       "--policies-json", both], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, start_new_session=True)
    stdout, stderr = server_process.communicate(timeout=60)
    assert server_process.returncode == 64, stderr
    assert f"plugin {crashing} refused: its entry crashed (signal 11)" in stderr
    assert stdout == ""
    assert left_in_session(server_process.pid) == []
    # Without a policy for its category the server cannot know what it is without calling its
    # entry, so it is refused all the same: the operator asked for it with --plugin.
    stderr = start_fails("--plugin", str(crashing))
    assert f"plugin {crashing} refused: its entry crashed (signal 11)" in stderr


def test_a_plugin_whose_entry_never_returns_is_refused_and_the_server_stops(tmp_path):
    """A plugin entry that hangs used to hang the server's start with it: the check child is
    killed after 10 s and the server names the plugin, exits 64 and leaves no process behind."""
    hanging = build_plugin(tmp_path / "hanging.so", KV_SOURCE, "-DKV_HANG_ENTRY", '-DKV_CATEGORY="kv_hang"')
    server_process = subprocess.Popen([BINARY, "--stateless", "--plugin", str(hanging)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    stdout, stderr = server_process.communicate(timeout=60)
    assert server_process.returncode == 64, stderr
    assert f"plugin {hanging} refused: its entry did not return within 10" in stderr
    assert stdout == "" and left_in_session(server_process.pid) == []


def test_policy_configuration_errors_stop_the_server_with_what_is_wrong(kv_plugin, tmp_path):
    broken = tmp_path / "broken.rego"
    broken.write_text("package mcp.kv\n\nallow if {\n  input.x ==\n}\n")
    stderr = start_fails("--plugin", str(kv_plugin), "--policies-json",
                         json.dumps({"kv": {"policies": [{"url": f"file://{broken}"}]}}))
    assert f"{broken}:4:11" in stderr

    missing = tmp_path / "missing.rego"
    stderr = start_fails("--policies-json", json.dumps({"kv": {"policies": [{"url": f"file://{missing}"}]}}),
                         "--plugin", str(kv_plugin))
    assert f"the policy file {missing} does not exist" in stderr

    cases = {
        "{not json": "not valid JSON",
        json.dumps({"kv": {"policies": []}}): "must be a non-empty array",
        json.dumps({"kv": {"mode": "most", "policies": [{"url": "http://127.0.0.1:1"}]}}): 'must be "all" or "any"',
        json.dumps({"kv": {"policies": [{"url": "ftp://x"}]}}): "is not a file:// URL",
        json.dumps({"kv": {"policies": [{"url": "file://relative.rego"}]}}): "must name an absolute path",
        json.dumps({"kv": {"rules": []}}): "unknown field 'rules'",
        json.dumps({"Bad-Name": {"policies": [{"url": "http://127.0.0.1:1"}]}}): "is not a category name",
        json.dumps({"kv_store": {"policies": [{"url": "http://127.0.0.1:1"}]}}):
            "no plugin provides the kv_store category: the bundled ones are fetch, fs, mcp_tools, modules and subprocess",
        str(tmp_path / "no-such-file.json"): "is neither a JSON object nor a readable file",
    }
    for argument, message in cases.items():
        assert message in start_fails("--policies-json", argument), argument


def test_plugin_settings_and_header_rules_are_checked_at_start(tmp_path):
    assert "is not NAME.KEY=VALUE" in start_fails("--plugin-config", "no-dot=1")
    assert "need a fetch policy" in start_fails("--fetch-header", "host=a.example,header=X-Key,value=v")
    fetch = json.dumps({"fetch": {"policies": [{"url": "http://127.0.0.1:1"}]}})
    assert "'value=' is missing" in start_fails("--policies-json", fetch, "--fetch-header", "host=a.example,header=X-Key")
    assert "contains CR, LF or NUL" in start_fails("--policies-json", fetch, "--fetch-header",
                                                   "host=a.example,header=X-Key,value=a\r\nInjected: yes")
    assert "is not an HTTP header name" in start_fails("--policies-json", fetch, "--fetch-header",
                                                       "host=a.example,header=Bad Name,value=v")
    config = tmp_path / "headers.json"
    config.write_text('{"host": "a.example"}')
    assert "is not a JSON array" in start_fails("--policies-json", fetch, "--fetch-header-config", str(config))


def test_the_example_in_the_plugin_guide_builds_and_runs(tmp_path):
    guide = (ROOT / "docs/plugin-abi.md").read_text()
    source = tmp_path / "hello.c"
    source.write_text(guide.split("```c\n", 1)[1].split("```", 1)[0])
    plugin = build_plugin(tmp_path / "libhello.so", source)
    rego = tmp_path / "hello.rego"
    rego.write_text(guide.split("cat > /tmp/hello.rego <<'EOF'\n", 1)[1].split("EOF", 1)[0])

    async def scenario():
        configuration = json.dumps({"hello": {"policies": [{"url": f"file://{rego}"}]}})
        async with server("--plugin", str(plugin), "--policies-json", configuration) as session:
            assert (await run_js(session, 'await hello("Ada")'))[0]["result"] == "Hello, Ada!"
            content, is_error = await run_js(session, 'await hello("Mallory")')
            assert is_error and f"hello.greet denied by the hello policy: file://{rego} did not allow it" in content["error"]
    run(scenario())


def test_an_unreachable_opa_denies_and_says_so(kv_plugin):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    configuration = json.dumps({"kv": {"policies": [{"url": f"http://127.0.0.1:{closed_port}"}]}})

    async def scenario():
        async with server("--plugin", str(kv_plugin), "--policies-json", configuration) as session:
            content, is_error = await run_js(session, "await kv.set('key', 'v')")
            assert is_error
            assert f"OPA http://127.0.0.1:{closed_port}/v1/data/mcp/kv could not be asked, so it denies" in content["error"]
    run(scenario())


def test_filesystem_is_another_name_for_fs(tmp_path):
    rego = tmp_path / "fs.rego"
    rego.write_text('package mcp.fs\n\nallow if input.operation == "exists"\n')

    async def scenario():
        configuration = json.dumps({"filesystem": {"policies": [{"url": f"file://{rego}"}]}})
        async with server("--policies-json", configuration) as session:
            content, _ = await run_js(session, f"await fs.exists({json.dumps(str(rego))})")
            assert content["result"] is True
    run(scenario())


def test_policy_decisions_are_counted_in_the_metrics(kv_plugin, tmp_path):
    with http_server("--stateless", "--http-port", "0", "--plugin", str(kv_plugin),
                     "--policies-json", policies(tmp_path)) as base:
        for code in ("await kv.set('open', 1)", "await kv.get('open')", "await kv.get('secret-x')"):
            httpx.post(f"{base}/api/exec", json={"code": code}, timeout=30)
        metrics = httpx.get(f"{base}/metrics", timeout=30).text
    counts = dict(re.findall(r'mcpv8_policy_decisions_total\{category="kv",decision="(\w+)"\} (\d+)', metrics))
    assert counts == {"allowed": "2", "denied": "1"}, metrics
