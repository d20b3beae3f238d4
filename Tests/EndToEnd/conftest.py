"""Drives the real mcp-v8 binary over stdio with the official Python MCP client."""
import asyncio
import contextlib
import json
import os
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BINARY = os.environ.get("MCP_V8_BINARY") or str(Path(__file__).resolve().parents[2] / ".build/debug/mcp-v8")


@contextlib.asynccontextmanager
async def server(*args: str):
    """A started and initialized session with `mcp-v8 --stateless *args`."""
    async with raw_server("--stateless", *args) as session:
        yield session


@contextlib.asynccontextmanager
async def raw_server(*args: str):
    """A started and initialized session with `mcp-v8 *args`."""
    params = StdioServerParameters(command=BINARY, args=list(args))
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                session.initialized = await session.initialize()
                yield session


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


def run(coroutine):
    return asyncio.run(coroutine)
