"""The run_js description and the server instructions tell the truth about the capabilities a
caller's runs have: one line per plugin (its own usage line, or one made from its name, category and
globals), and "No network, filesystem or Node APIs" only when there are none. The operator's
--run-js-description and --instructions still win. (Before, the texts were fixed and said "No
network, filesystem or Node APIs" even with fetch, fs and subprocess enabled.)"""
import json

from conftest import raw_server, run, run_js, server, start_fails
from test_plugins import ABI_1_0_INCLUDE, KV_SOURCE, build_plugin
from test_plugins import policies as kv_policies

NO_WAY_OUT = "No network, filesystem or Node APIs"
POLICY_LINES = "Also available, each call allowed or denied by the operator's policies:\n"


def deny_all(tmp_path, *categories: str) -> str:
    """--policies-json with a deny-everything Rego policy for each category: the plugins load."""
    configuration = {}
    for category in categories:
        rego = tmp_path / f"{category}.rego"
        rego.write_text(f"package mcp.{category}\n\ndefault allow := false\n")
        configuration[category] = {"policies": [{"url": f"file://{rego}"}]}
    return json.dumps(configuration)


async def texts(session):
    """(instructions, run_js's description) as the client sees them."""
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    return session.initialized.instructions, tools["run_js"].description


def test_without_capabilities_the_texts_say_runs_cannot_reach_out(transport):
    async def scenario():
        async with server() as session:
            instructions, description = await texts(session)
            assert f"{NO_WAY_OUT}. Nothing persists between calls." in description
            assert POLICY_LINES not in description and "Runs can also use" not in instructions
            content, _ = await run_js(session, "[typeof fetch, typeof fs, typeof child_process]")
            assert content["result"] == ["undefined"] * 3
    run(scenario())


def test_with_fetch_and_fs_policies_the_texts_name_fetch_and_fs(transport, tmp_path):
    async def scenario():
        async with server("--policies-json", deny_all(tmp_path, "fetch", "fs")) as session:
            instructions, description = await texts(session)
            assert NO_WAY_OUT not in description
            lines = description.split(POLICY_LINES)[1].split("\n")
            assert len(lines) == 2
            assert lines[0].startswith("- fetch(url, {method, headers, body}?) -> Promise<Response>")
            assert lines[1].startswith("- fs, all async: fs.readFile(path, 'utf8'|'buffer'?) -> string|Uint8Array")
            assert "Runs can also use fetch and fs (the run_js description shows how)" in instructions
            content, _ = await run_js(session, "[typeof fetch, typeof fs.readFile, typeof child_process]")
            assert content["result"] == ["function", "function", "undefined"]
    run(scenario())


def test_stateful_run_js_names_its_capabilities_too(transport, tmp_path):
    async def scenario():
        async with raw_server("--directory-path", str(tmp_path / "heaps"), "--session-db-path",
                              str(tmp_path / "sessions"), "--policies-json",
                              deny_all(tmp_path, "subprocess")) as session:
            _, description = await texts(session)
            assert NO_WAY_OUT not in description
            assert "Intl and FinalizationRegistry are unavailable in stateful runs." in description
            assert description.split(POLICY_LINES)[1].startswith("- child_process.execFile(file, args?")
    run(scenario())


def test_the_operators_texts_win_over_the_built_ones(transport, tmp_path):
    async def scenario():
        async with server("--policies-json", deny_all(tmp_path, "fetch", "fs"), "--instructions", "Use run_js.",
                          "--run-js-description", "Runs code.") as session:
            assert await texts(session) == ("Use run_js.", "Runs code.")
    run(scenario())


def test_a_plugin_supplies_its_own_line_and_a_1_0_plugin_gets_one_made_for_it(tmp_path):
    current = build_plugin(tmp_path / "libkv.so")
    old = build_plugin(tmp_path / "libkv-1.0.so", include=ABI_1_0_INCLUDE)

    async def scenario():
        for plugin, line in [
            (current, "- await kv.set(key, value), await kv.get(key) -> string|null: a key-value store of the "
                      "worker process"),
            (old, "- the kv plugin (kv category): globals kv"),
        ]:
            async with server("--plugin", str(plugin), "--policies-json", kv_policies(tmp_path)) as session:
                instructions, description = await texts(session)
                assert description.split(POLICY_LINES)[1] == line
                assert "Runs can also use kv (" in instructions
    run(scenario())


def test_a_usage_line_that_is_not_one_short_line_is_refused(tmp_path):
    for name, usage in [("multiline", r'"two\nlines"'), ("long", '"' + "x" * 401 + '"'), ("empty", '""')]:
        plugin = build_plugin(tmp_path / f"{name}.so", KV_SOURCE, f"-DKV_USAGE={usage}")
        stderr = start_fails("--stateless", "--plugin", str(plugin), "--policies-json", kv_policies(tmp_path))
        assert (f"plugin {plugin} refused: its usage line is not one line of 1 to 400 bytes without control "
                "characters") in stderr
