"""Drives the real mcp-v8 binary over stdio with the official Python MCP client."""
import asyncio
import contextlib
import functools
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

BINARY = os.environ.get("MCP_V8_BINARY") or str(Path(__file__).resolve().parents[2] / ".build/debug/mcp-v8")

# `make sanitize` runs the plugins' tests against a server built with ASan and UBSan (scripts/sanitize
# sets MCP_V8_SANITIZED=1). Its workers start and call plugins several times slower, so the tests
# that give a run a 1 s limit and watch something the run started give it this many times longer.
SANITIZED = os.environ.get("MCP_V8_SANITIZED") == "1"
RUN_LIMIT_FACTOR = 5 if SANITIZED else 1


def sanitizer_options() -> dict[str, str]:
    """The sanitizers' options scripts/sanitize set. The MCP client starts a stdio server with only
    a few variables it deems safe; without these, a sanitized server's reports went to the stderr the
    tests discard, and UBSan's and LeakSanitizer's did not even fail the run."""
    return {name: os.environ[name] for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "SWIFT_BACKTRACE")
            if name in os.environ}


@contextlib.asynccontextmanager
async def server(*args: str):
    """A started and initialized session with `mcp-v8 --stateless *args`."""
    async with raw_server("--stateless", *args) as session:
        yield session


# The transport the shared suite is running over; set by the `transport` fixture.
TRANSPORTS = ["stdio", "http", "sse"]
current_transport = "stdio"


@contextlib.asynccontextmanager
async def raw_server(*args: str):
    """A started and initialized session with `mcp-v8 *args`, over the current transport."""
    if current_transport == "stdio":
        params = StdioServerParameters(command=BINARY, args=list(args), env=sanitizer_options())
        with open(os.devnull, "w") as quiet:
            async with stdio_client(params, errlog=quiet) as (read, write):
                async with ClientSession(read, write) as session:
                    session.initialized = await session.initialize()
                    yield session
        return
    port_flag = "--http-port" if current_transport == "http" else "--sse-port"
    with http_server(port_flag, "0", *args) as base_url:
        client = (streamable_http_client(f"{base_url}/mcp") if current_transport == "http"
                  else sse_client(f"{base_url}/sse"))
        async with client as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                session.initialized = await session.initialize()
                yield session


@contextlib.contextmanager
def http_server(*args: str):
    """`mcp-v8 *args` serving HTTP on a free port: yields its base URL; SIGTERM at the end."""
    with http_server_process(*args) as (url, _, _):
        yield url


@contextlib.contextmanager
def http_server_process(*args: str):
    """Like `http_server`, yielding (base URL, the server's Popen, its stderr log file)."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([BINARY, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=log)
        try:
            yield f"http://127.0.0.1:{listening_port(process, log)}", process, log
        finally:
            if not terminate(process):
                raise AssertionError("the server did not shut down within 15 s of SIGTERM")


def terminate(process: subprocess.Popen) -> bool:
    """SIGTERM, and SIGKILL if the process has not ended 15 s later: whether it ended by itself."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return False
    return True


# "/public/" + each, + "private/...": encoded separators that a server decoding before it resolves
# dot segments turns into "/private/..." (issue 16, item 4).
ENCODED_TRAVERSALS = ["..%2f", "..%2F", "%2e%2e%2f", "%2E%2E%5C"]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Writes each of `files` (relative path: text) below `root`; returns `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@contextlib.contextmanager
def serving(httpd, **attributes):
    """Serves `httpd` (listening on 127.0.0.1) on a thread; yields its base URL, a str that carries
    `attributes`."""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    class BaseURL(str):
        pass

    base = BaseURL(f"http://127.0.0.1:{httpd.server_address[1]}")
    base.__dict__.update(attributes)
    try:
        yield base
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextlib.contextmanager
def file_server(directory: Path):
    """Python's SimpleHTTPRequestHandler serving `directory` on 127.0.0.1: it decodes the path
    (%2F included; %5C too, as a Windows server would) before resolving dot segments. Yields its
    base URL, with `paths`: the request paths it received."""
    paths = []

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            paths.append(path)
            return super().translate_path(path.replace("%5C", "/").replace("%5c", "/"))

        def log_message(self, *arguments):
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))),
                 paths=paths) as base:
        yield base


def listening_port(process: subprocess.Popen, log) -> int:
    """Waits for the server's `listening on` log line and returns its port."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        found = re.search(r"listening on http://[^:]+:(\d+)", log.read())
        if found:
            return int(found.group(1))
        assert process.poll() is None, f"the server exited: {log.read()}"
        time.sleep(0.02)
    raise AssertionError("the server did not start listening within 30 s")


def start_fails(*args: str) -> str:
    """Starts `mcp-v8 *args`; asserts it refuses to start and returns what it said on stderr."""
    finished = subprocess.run([BINARY, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0, finished.stderr
    # Over stdio, stdout carries JSON-RPC: nothing (rego-cpp's own error printing included) may leak there.
    assert finished.stdout == "", finished.stdout
    return finished.stderr


async def run_js(client: ClientSession, code: str, **arguments):
    """Calls run_js; returns (structured content, isError) after checking the text mirrors it."""
    return await call(client, "run_js", code=code, **arguments)


async def call(client: ClientSession, tool: str, **arguments):
    """Calls a tool; returns (structured content, isError) after checking the text mirrors it."""
    result = await client.call_tool(tool, arguments)
    assert len(result.content) == 1 and result.content[0].type == "text"
    assert json.loads(result.content[0].text) == result.structuredContent
    return result.structuredContent, bool(result.isError)


@pytest.fixture
def binary() -> str:
    assert Path(BINARY).is_file(), f"build the server first: {BINARY} is missing"
    return BINARY


@pytest.fixture(params=TRANSPORTS)
def transport(request, binary) -> str:
    """Runs a test of the shared suite once per MCP transport."""
    global current_transport
    current_transport = request.param
    yield request.param
    current_transport = "stdio"


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="session")
def s3():
    """One SeaweedFS for the whole session (s3_server.py); each test makes its own bucket."""
    from s3_server import seaweedfs
    with seaweedfs() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole test session, started when a test first needs it."""
    from postgres_server import PostgresServer
    server = PostgresServer()
    yield server
    server.close()


METADATA_STORES = ["sqlite", "postgres"]


@pytest.fixture(params=METADATA_STORES)
def metadata_store(request, tmp_path) -> list[str]:
    """Runs a stateful test once per metadata store: the flags that choose it, SQLite in the test's
    folder or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ["--session-db-path", str(tmp_path / "sessions")]
    return ["--database-url", request.getfixturevalue("postgres_server").new_database()]
