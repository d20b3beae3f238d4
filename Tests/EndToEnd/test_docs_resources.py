"""The documentation an agent reads before it writes code: docs:// MCP resources through the
official client, and /llms.txt over HTTP, each made for the caller's capabilities."""
import json
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import McpError

from conftest import http_server, raw_server, run

ROOT = Path(__file__).resolve().parents[2]
URIS = ["docs://readme", "docs://tools", "docs://capabilities", "docs://policies", "docs://configuration",
        "docs://openapi"]


async def read(session, uri: str) -> str:
    contents = (await session.read_resource(uri)).contents
    assert len(contents) == 1 and str(contents[0].uri) == uri
    return contents[0].text


def fetch_policy(tmp_path: Path) -> str:
    rego = tmp_path / "fetch.rego"
    rego.write_text('package mcp.fetch\n\nallow if input.url == "https://api.example.com/"\n')
    return json.dumps({"fetch": {"policies": [{"url": f"file://{rego}"}]}})


def test_the_resources_are_listed_and_read_with_the_official_client(tmp_path):
    async def scenario():
        async with raw_server("--directory-path", str(tmp_path / "heaps"), "--session-db-path", str(tmp_path / "db"),
                              "--policies-json", fetch_policy(tmp_path)) as session:
            assert session.initialized.capabilities.resources is not None
            listed = (await session.list_resources()).resources
            assert [str(resource.uri) for resource in listed] == URIS
            assert all(resource.description and resource.mimeType for resource in listed)
            # The documents compiled into the binary are the repository's.
            assert await read(session, "docs://readme") == (ROOT / "README.md").read_text()
            assert await read(session, "docs://policies") == (ROOT / "docs/policies.md").read_text()
            assert json.loads(await read(session, "docs://openapi"))["openapi"].startswith("3.")
            # Made for this connection: its stateful tools, their parameters, and its fetch capability.
            tools = await read(session, "docs://tools")
            for heading in ["## run_js", "## get_execution", "## list_executions"]:
                assert heading in tools, tools
            assert "| `code` | string | yes |" in tools, tools
            assert "fetch" in await read(session, "docs://capabilities")
            with pytest.raises(McpError) as refused:
                await session.read_resource("docs://nope")
            assert "Unknown resource 'docs://nope'; available: docs://readme" in str(refused.value)

    run(scenario())


def test_capabilities_and_llms_txt_follow_the_callers_capabilities(tmp_path):
    with http_server("--stateless", "--http-port", "0") as bare, \
            http_server("--stateless", "--http-port", "0", "--policies-json", fetch_policy(tmp_path)) as fetching:
        without = httpx.get(f"{bare}/llms.txt", timeout=30)
        assert without.status_code == 200 and without.headers["content-type"].startswith("text/markdown")
        assert without.text.startswith("# mcp-v8\n\n> An MCP server that runs JavaScript")
        assert "### run_js" in without.text and "### get_execution" not in without.text
        with_fetch = httpx.get(f"{fetching}/llms.txt", timeout=30).text
        assert "fetch(" in with_fetch and "fetch(" not in without.text
