"""Pre-loaded WebAssembly modules (--wasm-module, --wasm-config) and WASI, with modules built from
the .wat files beside this one by Debian's wat2wasm."""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import run, run_js, server, start_fails

WAT = Path(__file__).with_name("wasm")


@pytest.fixture(scope="module")
def wasm(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wasm")
    built = {}
    for source in sorted(WAT.glob("*.wat")):
        built[source.stem] = folder / f"{source.stem}.wasm"
        subprocess.run(["wat2wasm", str(source), "-o", str(built[source.stem])], check=True)
    return built


def test_a_module_without_imports_is_a_global_with_a_fresh_instance_per_run(wasm):
    async def scenario():
        async with server("--wasm-module", f"math={wasm['math']}") as session:
            content, is_error = await run_js(session, "[math.add(2, 3), math.count(), math.count(), "
                                                      "__wasm_math instanceof WebAssembly.Module]")
            assert (content["result"], is_error) == ([5, 1, 2, True], False)
            # The next run starts from a new instance: module state never carries over.
            assert (await run_js(session, "math.count()"))[0]["result"] == 1
    run(scenario())


def test_a_module_with_imports_is_left_for_the_guest_to_instantiate(wasm):
    async def scenario():
        async with server("--wasm-module", f"logger={wasm['logger']}") as session:
            content, _ = await run_js(session, "let got; const instance = new WebAssembly.Instance(__wasm_logger, "
                                               "{env: {report: (value) => { got = value; }}}); "
                                               "instance.exports.run(4); [typeof logger, got]")
            assert content["result"] == ["undefined", 40]
    run(scenario())


def test_each_module_is_advertised_as_a_tool_that_points_to_run_js(wasm):
    async def scenario():
        async with server("--wasm-module", f"math={wasm['math']}", "--wasm-module",
                          f"hello={wasm['hello_wasi']}") as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == {"run_js", "runjs__wasm__math", "runjs__wasm__hello"}
            assert "exports (add, count) are on the global math" in tools["runjs__wasm__math"].description
            assert "wasi.getImportObject()" in tools["runjs__wasm__hello"].description
            result = await session.call_tool("runjs__wasm__math", {})
            assert result.isError and "is not run directly" in result.content[0].text
    run(scenario())


def test_wasi_commands_print_to_the_console_and_return_their_exit_code(wasm):
    async def scenario():
        async with server("--wasm-module", f"hello={wasm['hello_wasi']}") as session:
            content, is_error = await run_js(session, "const wasi = new WASI({args: ['hello', 'a', 'b']}); "
                                                      "wasi.start(new WebAssembly.Instance(__wasm_hello, "
                                                      "wasi.getImportObject()))")
            assert not is_error
            assert content == {"output": "Hello from WASI\nto stderr\n", "result": 3}
    run(scenario())


def test_a_wasi_import_that_is_not_provided_fails_with_a_clear_link_error(wasm):
    async def scenario():
        async with server("--wasm-module", f"files={wasm['needs_files']}") as session:
            content, is_error = await run_js(session, "new WebAssembly.Instance(__wasm_files, new WASI().getImportObject())")
            assert is_error
            assert 'LinkError' in content["error"] and 'function="path_filestat_get"' in content["error"]
    run(scenario())


def test_the_config_file_and_the_flags_are_merged(wasm, tmp_path):
    config = tmp_path / "modules.json"
    config.write_text(json.dumps({"adder": str(wasm["math"])}))

    async def scenario():
        async with server("--wasm-config", str(config), "--wasm-module", f"math={wasm['math']}") as session:
            assert (await run_js(session, "adder.add(1, 1) + math.add(2, 2)"))[0]["result"] == 6
    run(scenario())


def test_bad_modules_stop_the_server_with_the_reason(wasm, tmp_path):
    not_wasm = tmp_path / "notes.wasm"
    not_wasm.write_text("hello")
    assert "does not begin with \\0asm" in start_fails("--stateless", "--wasm-module", f"x={not_wasm}")
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(wasm["math"].read_bytes()[:-3])
    assert f"WebAssembly module 'x' ({broken})" in start_fails("--stateless", "--wasm-module", f"x={broken}")
    # After one that compiled: under `make sanitize`, LeakSanitizer checks that the refusal frees it.
    assert f"WebAssembly module 'x' ({broken})" in start_fails("--stateless", "--wasm-module", f"math={wasm['math']}",
                                                               "--wasm-module", f"x={broken}")
    assert "cannot read" in start_fails("--stateless", "--wasm-module", f"x={tmp_path / 'missing.wasm'}")
    config = tmp_path / "modules.json"
    config.write_text(json.dumps({"math": str(wasm["math"])}))
    assert "is given twice" in start_fails("--stateless", "--wasm-config", str(config), "--wasm-module",
                                           f"math={wasm['math']}")
    assert "must be a JavaScript identifier" in start_fails("--stateless", "--wasm-module", f"no-dash={wasm['math']}")
    assert "is not NAME=PATH" in start_fails("--stateless", "--wasm-module", "math")
    assert "need --stateless" in start_fails("--wasm-module", f"math={wasm['math']}")
