"""A small MCP server (FastMCP) that the MCP bridge tests use as an upstream: over stdio by
default, or Streamable HTTP on 127.0.0.1 with `--http PORT` (prints "listening" once up).
`--garbage` makes it answer everything with text that is not JSON-RPC."""
import asyncio
import os
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP("upstream", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Returns the text it is given."""
    return text


@server.tool()
def add(a: float, b: float) -> dict[str, float]:
    """Adds two numbers."""
    return {"sum": a + b}


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleeps, then says how long."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def exit_now() -> str:
    """Exits the whole server process in the middle of the call."""
    os._exit(3)


@server.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ValueError(message)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


def garbage():
    for _ in sys.stdin:
        sys.stdout.write("this is not JSON-RPC\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if "--garbage" in sys.argv:
        garbage()
    elif "--http" in sys.argv:
        server.settings.port = int(sys.argv[sys.argv.index("--http") + 1])
        server.settings.host = "127.0.0.1"
        server.run("streamable-http")
    else:
        server.run("stdio")
