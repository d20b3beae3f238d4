"""An installed release bundle, driven by the official MCP client: `scripts/dist-check` installs the .deb
(or the tarball with install.sh) into a fresh Debian bookworm root and runs these against
`chroot MCP_V8_DIST_ROOT MCP_V8_DIST_BINARY` over stdio. Not part of `make test` (`make dist-check`)."""
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "EndToEnd"))
from conftest import run, run_js  # noqa: E402  (the end-to-end suite's helpers)

ROOT = os.environ["MCP_V8_DIST_ROOT"]
BINARY = os.environ["MCP_V8_DIST_BINARY"]


def in_root(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", ROOT, *command], capture_output=True, text=True, timeout=60)


@contextlib.asynccontextmanager
async def installed_server(*args: str):
    """An initialized session with the installed `mcp-v8 *args`, inside the root."""
    params = StdioServerParameters(command="chroot", args=[ROOT, BINARY, *args])
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def test_version_names_the_release_and_its_commit():
    finished = in_root(BINARY, "--version")
    assert finished.returncode == 0, finished.stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)\n", finished.stdout), finished.stdout


def test_libnode_is_the_bundles_own_and_no_nodejs_was_installed():
    for package in ("nodejs", "libnode108"):
        status = in_root("dpkg-query", "-W", "-f=${Status}", package).stdout
        assert "install ok installed" not in status, (package, status)
    # ldd of the file itself: run through the symlink, the loader finds $ORIGIN from /proc/self/exe.
    real = "/" + str(Path(os.path.realpath(ROOT + BINARY)).relative_to(os.path.realpath(ROOT)))
    libraries = in_root("ldd", real).stdout
    libnode = re.search(r"libnode\.so\.108 => (\S+)", libraries)
    assert libnode and os.path.normpath(libnode[1]) == f"{Path(real).parents[1]}/lib/libnode.so.108", libraries
    assert "not found" not in libraries, libraries


def test_a_stateless_call_runs_javascript_and_typescript():
    async def scenario():
        async with installed_server("--stateless") as session:
            content, is_error = await run_js(session, "console.log('from the bundle'); 6 * 7")
            assert (content["result"], content["output"], is_error) == (42, "from the bundle\n", False), content
            # TypeScript goes through Debian's esbuild, a Depends of the package.
            content, is_error = await run_js(session, "const n: number = 5; n * 2")
            assert (content["result"], is_error) == (10, False), content
    run(scenario())


def test_stateful_calls_keep_state_in_a_heap():
    async def scenario():
        async with installed_server("--directory-path", "/tmp/dist-check/heaps",
                                    "--session-db-path", "/tmp/dist-check/sessions") as session:
            first, is_error = await run_js(session, "var x = 41; x")
            assert (first["status"], first["result"], is_error) == ("completed", 41, False), first
            second, is_error = await run_js(session, "x + 1", heap=first["heap"])
            assert (second["status"], second["result"], is_error) == ("completed", 42, False), second
    run(scenario())


def test_a_bundled_plugin_runs_under_a_local_rego_policy():
    # The fs plugin and rego-cpp are found in the bundle's lib/, beside bin/.
    folder = Path(ROOT, "tmp/dist-check/files")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "note.txt").write_text("inside")
    Path(ROOT, "tmp/dist-check/fs.rego").write_text(
        'package mcp.fs\n\ndefault allow := false\n\nallow if startswith(input.path, "/tmp/dist-check/files/")\n')
    policies = json.dumps({"fs": {"policies": [{"url": "file:///tmp/dist-check/fs.rego"}]}})

    async def scenario():
        async with installed_server("--stateless", "--policies-json", policies) as session:
            content, is_error = await run_js(session, "await fs.readFile('/tmp/dist-check/files/note.txt', 'utf8')")
            assert (content["result"], is_error) == ("inside", False), content
            content, _ = await run_js(session, "await fs.readFile('/etc/passwd', 'utf8').catch((e) => e.message)")
            assert "denied" in content["result"].lower(), content
    run(scenario())
