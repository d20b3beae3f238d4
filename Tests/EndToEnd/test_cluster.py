"""Three nodes sharing one PostgreSQL database and one S3 bucket behind nginx running
docs/deploy/nginx.conf (cluster.py): REST round-robin continues a session on any node, an MCP
session stays on the node its id names, the nodes started at once migrate the database once, a
PostgreSQL restart under load fails calls clearly and loses nothing, and a node killed with -9
leaves the others serving. One cluster for the module; the node kill comes last."""
import re
import shutil
import subprocess
import threading
import time

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from cluster import NGINX_CONF, cluster, node_name
from conftest import call, http_server, run, run_js

MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-03-26", "capabilities": {},
                         "clientInfo": {"name": "test_cluster", "version": "1"}}}


@pytest.fixture(scope="module")
def nodes(postgres_server, s3):
    with cluster(3, postgres=postgres_server, s3=s3) as running:
        yield running


def executions_counted(node) -> int:
    """The runs a node finished, from its own /metrics."""
    metrics = httpx.get(f"{node.url}/metrics", timeout=30).text
    return sum(int(float(value)) for value in re.findall(r"^mcpv8_executions_total\{[^}]*\} (\S+)$", metrics, re.M))


def node_of(nodes, session_id: str):
    return next(node for node in nodes.nodes if session_id.startswith(f"{node.name}."))


def upstreams_of(nodes, session_id: str) -> set[str]:
    """The node addresses nginx sent the requests carrying `session_id` to (its access log)."""
    return {match for match in re.findall(rf'upstream=(\S+) upstream_status=\S+ session="{re.escape(session_id)}"',
                                         nodes.access_log())}


def exec_rest(url: str, **body) -> httpx.Response:
    return httpx.post(f"{url}/api/exec", json=body, timeout=30)


def test_a_rest_session_continues_on_whichever_node_round_robin_picks(nodes):
    before = [executions_counted(node) for node in nodes.nodes]
    made = exec_rest(nodes.url, code="var n = 1; n", session="round", tags={"test": "round-robin"}).json()
    assert (made["status"], made["result"]) == ("completed", 1), made
    heap = made["heap"]
    for expected in range(2, 7):
        answer = exec_rest(nodes.url, code="n += 1; n", heap=heap, session="round").json()
        assert (answer["status"], answer["result"]) == ("completed", expected), answer
        heap = answer["heap"]
    served = [executions_counted(node) - count for node, count in zip(nodes.nodes, before)]
    # Six calls spread over all three nodes, each resuming the heap the previous one made elsewhere.
    assert sum(served) == 6 and all(count >= 1 for count in served), served

    async def seen_from(node):
        async with streamable_http_client(f"{node.url}/mcp") as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                log, _ = await call(session, "list_session_snapshots", session="round")
                tagged, _ = await call(session, "query_heaps_by_tags", tags={"test": "round-robin"})
                return [entry["code"] for entry in log["snapshots"]], tagged["heaps"]

    for node in nodes.nodes:
        assert run(seen_from(node)) == (["var n = 1; n"] + ["n += 1; n"] * 5, [made["heap"]]), node.name


def test_an_mcp_session_stays_on_the_node_its_id_names(nodes):
    async def scenario():
        async with streamable_http_client(f"{nodes.url}/mcp") as first_streams, \
                streamable_http_client(f"{nodes.url}/mcp") as second_streams:
            async with ClientSession(first_streams[0], first_streams[1]) as first, \
                    ClientSession(second_streams[0], second_streams[1]) as second:
                await first.initialize()
                await second.initialize()
                first_id, second_id = first_streams[2](), second_streams[2]()
                made, _ = await run_js(first, "var count = 1; count")
                heap = made["heap"]
                for expected in range(2, 5):
                    answer, is_error = await run_js(first, "count += 1; count", heap=heap)
                    assert (answer["result"], is_error) == (expected, False), answer
                    heap = answer["heap"]
                # The other client's session is on another node, and continues the same heap there.
                answer, is_error = await run_js(second, "count * 10", heap=heap)
                assert (answer["result"], is_error) == (40, False), answer
                return first_id, second_id

    first_id, second_id = run(scenario())
    assert re.fullmatch(r"node-[123]\.[0-9a-f-]{36}", first_id), first_id
    first_node, second_node = node_of(nodes, first_id), node_of(nodes, second_id)
    assert first_node is not second_node, (first_id, second_id)
    # Every request of each session (initialized, the calls, the event stream, the closing DELETE)
    # went to the node its id names.
    assert upstreams_of(nodes, first_id) == {first_node.url.removeprefix("http://")}
    assert upstreams_of(nodes, second_id) == {second_node.url.removeprefix("http://")}


def test_legacy_sse_messages_go_to_the_node_their_session_id_names(nodes):
    # These nodes serve Streamable HTTP, so /message is not found; nginx's choice of node is the point.
    session = f"node-2.{'0' * 8}-0000-4000-8000-{'0' * 12}"
    for _ in range(3):
        sent = httpx.post(f"{nodes.url}/message", params={"sessionId": session}, json={}, timeout=30)
        assert sent.status_code == 404, sent.text
    routed = re.findall(rf'"POST /message\?sessionId={session} HTTP/1.1" 404 \d+ \S+ upstream=(\S+)',
                        nodes.access_log())
    assert routed == [nodes.nodes[1].url.removeprefix("http://")] * 3, routed


def test_the_shipped_nginx_conf_is_valid_as_it_is(tmp_path):
    # The tests run it with their ports put in; its example nodes must be a working file too.
    for folder in ("logs", "temp"):  # as docs/deploy/cluster.md makes them
        (tmp_path / folder).mkdir()
    checked = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-e",
                              "logs/error.log", "-c", str(NGINX_CONF)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr


def test_legacy_sse_session_ids_start_with_the_node_name(binary):
    with http_server("--sse-port", "0", "--stateless", "--node-name", "sse-node-7") as url:
        with httpx.stream("GET", f"{url}/sse", timeout=30) as events:
            for line in events.iter_lines():
                if line.startswith("data:"):
                    assert re.fullmatch(r"data: ?/message\?sessionId=sse-node-7\.[0-9a-f-]{36}", line), line
                    break


def test_the_nodes_started_at_once_migrated_the_database_once(nodes, postgres_server):
    database = nodes.database_url.split("/")[-1].split("?")[0]
    versions = [int(v) for v in postgres_server.psql("SELECT version FROM mcpv8_schema_migrations ORDER BY version",
                                                      database).split()]
    assert versions == list(range(1, len(versions) + 1)) and versions, versions
    applied = [int(v) for node in nodes.nodes
               for v in re.findall(r"applied PostgreSQL schema migration (\d+)", node.log())]
    assert sorted(applied) == versions, applied
    assert all(node.process.poll() is None for node in nodes.nodes)


def test_a_postgres_restart_under_load_fails_calls_clearly_and_loses_nothing(nodes, postgres_server):
    database = nodes.database_url.split("/")[-1].split("?")[0]
    first = exec_rest(nodes.url, code="var n = 0; n", session="load").json()
    assert first["status"] == "completed", first
    answers = []  # (phase, status code, body) of every call
    state = {"heap": first["heap"], "phase": "before", "stop": False}

    def load():
        while not state["stop"]:
            phase = state["phase"]
            try:
                # 10 s inline (under the client's 30 s): three nodes, SeaweedFS and PostgreSQL share 2
                # cores, and a run answered 202 after the default 2 s would read as neither outcome.
                response = exec_rest(nodes.url, code="n += 1; n", heap=state["heap"], session="load",
                                     inline_wait_ms=10000)
            except httpx.HTTPError as error:  # a hang (30 s) or a dropped connection: fails below
                answers.append((phase, None, {"status": None, "error": repr(error)}))
                continue
            answers.append((phase, response.status_code, response.json()))
            if response.status_code == 200 and response.json()["status"] == "completed":
                state["heap"] = response.json()["heap"]

    def wait_for(predicate, seconds=60):
        deadline = time.monotonic() + seconds
        while not predicate():
            assert time.monotonic() < deadline, answers[-5:]
            time.sleep(0.05)

    def completed(phase):
        return sum(1 for p, code, body in answers if p == phase and code == 200 and body["status"] == "completed")

    def failed(phase):
        return sum(1 for p, code, body in answers if p == phase and code != 200)

    caller = threading.Thread(target=load)
    caller.start()
    try:
        wait_for(lambda: completed("before") >= 3)
        state["phase"] = "down"
        postgres_server.stop()
        try:
            wait_for(lambda: failed("down") >= 2)
        finally:
            postgres_server.start()
        state["phase"] = "after"
        wait_for(lambda: completed("after") >= 3)
    finally:
        state["stop"] = True
        caller.join(timeout=60)
    assert not caller.is_alive()

    values = []
    for phase, code, body in answers:
        if code == 200 and body["status"] == "completed":
            values.append(body["result"])
            continue
        # A call that could not use the database says so: 503 naming it, or a run failed saying why.
        assert code == 503 or (code == 200 and body["status"] == "failed"), (phase, code, body)
        message = body["error"]
        assert f"postgres://postgres@127.0.0.1:{postgres_server.port}/{database}" in message \
            or "could not" in message, (phase, code, body)
    # Every completed call continued from the previous completed one: no wrong or repeated state.
    assert values == list(range(1, len(values) + 1)), values
    # Nothing finished is lost: each completed call is in the session log, the nodes never restarted.
    logged = postgres_server.psql("SELECT count(*) FROM session_runs WHERE session = convert_to('load', 'UTF8')",
                                  database)
    assert int(logged) == len(values) + 1, (logged, values)
    assert all(node.process.poll() is None for node in nodes.nodes)


def initialize_raw(url: str) -> str:
    opened = httpx.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
    assert opened.status_code == 200, opened.text
    return opened.headers["mcp-session-id"]


def test_a_killed_node_leaves_the_others_serving_new_sessions(nodes):
    victim = nodes.nodes[2]
    opened = [initialize_raw(nodes.url) for _ in range(6)]
    orphaned = next((session for session in opened if session.startswith(f"{victim.name}.")), None)
    assert orphaned, f"no session id of six names {victim.name}: {opened}"
    nodes.kill(2)

    # Its sessions are gone: the client is told to open a new one (404 makes MCP clients do so).
    gone = httpx.post(f"{nodes.url}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                      headers={**MCP_HEADERS, "mcp-session-id": orphaned}, timeout=30)
    assert gone.status_code == 404 and "not answering" in gone.json()["error"]["message"], gone.text

    # Everything else goes to the survivors: stateful REST calls and new MCP sessions.
    made = exec_rest(nodes.url, code="var after = 1; after", session="after-kill").json()
    heap = made["heap"]
    for expected in range(2, 8):
        answer = exec_rest(nodes.url, code="after += 1; after", heap=heap, session="after-kill").json()
        assert (answer["status"], answer["result"]) == ("completed", expected), answer
        heap = answer["heap"]
    opened = [initialize_raw(nodes.url) for _ in range(6)]
    survivors = {node_name(0), node_name(1)}
    assert {session.split(".")[0] for session in opened} == survivors, opened
