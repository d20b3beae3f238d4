"""Bearer tokens checked against a JWKS served from loopback, with keys made here."""
import asyncio
import base64
import json
import time
from contextlib import asynccontextmanager, contextmanager
from http.server import ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from conftest import call, file_server, http_server, run, run_js, serving
from opa_server import JSONAnswers

ISSUER, AUDIENCE = "https://issuer.test", "mcp-v8"


class KeySet:
    """RSA keys by kid, and which of them the JWKS endpoint currently publishes."""

    def __init__(self):
        self.private = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}
        self.published = ["k1"]
        self.fetches = 0

    def document(self) -> dict:
        keys = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def token(self, subject="alice", kid="k1", **claims) -> str:
        now = int(time.time())
        payload = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "nbf": now - 5, **claims}
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, self.private[kid],
                          algorithm="RS256", headers={"kid": kid})


@contextmanager
def jwks_server(keys: KeySet):
    class Handler(JSONAnswers):
        def do_GET(self):
            keys.fetches += 1
            self.answer(200, keys.document())

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as base:
        yield f"{base}/jwks.json"


@pytest.fixture
def keys():
    return KeySet()


@pytest.fixture
def secured(keys, tmp_path, binary):
    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
                         "--directory-path", str(tmp_path / "heaps"), "--session-db-path", str(tmp_path / "db")) as url:
            yield url


def exec_as(url: str, token: str | None, code="1 + 1", **extra):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/api/exec", json={"code": code, **extra}, headers=headers, timeout=30)


def test_a_valid_token_gets_in_and_a_missing_one_does_not(secured, keys):
    assert exec_as(secured, keys.token()).json()["result"] == 2
    missing = exec_as(secured, None)
    assert missing.status_code == 401 and "Bearer" in missing.headers["www-authenticate"]
    assert "bearer token is required" in missing.json()["error"]
    assert httpx.get(f"{secured}/healthz", timeout=30).status_code == 200, "health checks need no token"


def unsigned(claims: dict) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
    return f"{encode({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{encode(claims)}."


@pytest.mark.parametrize("make_token, status", [
    (lambda keys: keys.token(exp=int(time.time()) - 60), 401),
    (lambda keys: keys.token(nbf=int(time.time()) + 600), 401),
    (lambda keys: keys.token(exp=None), 401),
    (lambda keys: keys.token(subject=None), 401),
    (lambda keys: keys.token(aud="someone-else"), 403),
    (lambda keys: keys.token(iss="https://elsewhere.test"), 403),
    (lambda keys: keys.token(kid="k2"), 401),
    (lambda keys: keys.token()[:-4] + "AAAA", 401),
    (lambda keys: unsigned({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}), 401),
    (lambda keys: "not.a.jwt", 401),
], ids=["expired", "not-yet-valid", "no-exp", "no-sub", "other-audience", "other-issuer", "unknown-key",
        "bad-signature", "alg-none", "garbage"])
def test_bad_tokens_are_refused_with_a_reason(secured, keys, make_token, status):
    answer = exec_as(secured, make_token(keys))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"].startswith("Invalid bearer token" if status == 401 else "Forbidden")
    assert exec_as(secured, keys.token()).status_code == 200, "the server goes on serving"


def test_a_rotated_key_is_fetched_when_a_token_names_it(secured, keys):
    assert exec_as(secured, keys.token(kid="k2")).status_code == 401
    keys.published = ["k1", "k2"]
    time.sleep(2.2)  # refetches triggered by unknown keys are at most one per 2 s
    fetches = keys.fetches
    assert exec_as(secured, keys.token(kid="k2")).status_code == 200
    assert keys.fetches == fetches + 1


def test_executions_belong_to_the_caller(secured, keys):
    alice, bob = keys.token("alice"), keys.token("bob")
    started = exec_as(secured, alice, "console.log('secret'); 7").json()
    own = httpx.get(f"{secured}/api/executions/{started['execution_id']}",
                    headers={"authorization": f"Bearer {alice}"}, timeout=30)
    assert own.status_code == 200 and own.json()["result"] == 7
    for method, suffix in [("GET", ""), ("GET", "/output"), ("POST", "/cancel")]:
        other = httpx.request(method, f"{secured}/api/executions/{started['execution_id']}{suffix}",
                              headers={"authorization": f"Bearer {bob}"}, timeout=30)
        assert other.status_code == 404, f"{method} {suffix}: {other.text}"
    listed = httpx.get(f"{secured}/api/executions", headers={"authorization": f"Bearer {bob}"}, timeout=30).json()
    assert listed == {"executions": []}


def test_mcp_transports_need_the_token_and_keep_sessions_to_their_caller(keys, tmp_path, binary):
    async def call_over_streamable_http(url, token):
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
            async with streamable_http_client(f"{url}/mcp", http_client=client) as (read, write, session_id):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    result = await session.call_tool("run_js", {"code": "40 + 2"})
                    return result.structuredContent["result"], session_id()

    async def call_over_sse(url, token):
        async with sse_client(f"{url}/sse", headers={"authorization": f"Bearer {token}"}) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return (await session.call_tool("run_js", {"code": "6 * 7"})).structuredContent["result"]

    with jwks_server(keys) as jwks_url:
        common = ["--jwks-url", jwks_url, "--directory-path", str(tmp_path / "heaps"),
                  "--session-db-path", str(tmp_path / "db")]
        with http_server("--http-port", "0", *common) as url:
            result, session_id = run(call_over_streamable_http(url, keys.token("alice")))
            assert result == 42
            assert httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
                              timeout=30).status_code == 401
            alice_session = open_mcp_session(url, keys.token("alice"))
            assert list_tools_status(url, keys.token("bob"), alice_session) == 404
        with http_server("--sse-port", "0", *common) as url:
            assert run(call_over_sse(url, keys.token("alice"))) == 42
            assert httpx.get(f"{url}/sse", timeout=30).status_code == 401


MCP_ACCEPT = {"accept": "application/json, text/event-stream"}


def open_mcp_session(url: str, token: str) -> str:
    """Opens a Streamable HTTP session with `token` by a bare initialize; returns its id."""
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    opened = httpx.post(f"{url}/mcp", json=initialize, timeout=30,
                        headers={"authorization": f"Bearer {token}", **MCP_ACCEPT})
    return opened.headers["mcp-session-id"]


def list_tools_status(url: str, token: str, session: str) -> int:
    """The status of tools/list in `session`, asked with `token`."""
    return httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, timeout=30,
                      headers={"authorization": f"Bearer {token}", "mcp-session-id": session, **MCP_ACCEPT}).status_code


@asynccontextmanager
async def mcp_as(url: str, token: str):
    """An initialized MCP session over Streamable HTTP, calling with `token`."""
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=30) as client:
        async with streamable_http_client(f"{url}/mcp", http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def test_sessions_tags_and_heaps_of_one_subject_are_unknown_to_another(secured, keys, tmp_path):
    """Issue 16's attack, step by step: bob finds alice's session, reads her code and heaps, finds
    her heaps by tag, resumes one to read her globals, retags it, and appends a run that trojans
    JSON.stringify to her session, so that her next run from its latest heap leaks into a heap he
    can read. Each step must find nothing of hers: the same answers as for names and ids that do
    not exist."""
    missing = "ab" * 32

    def unnamed(error: str, heap: str) -> str:
        return error.replace(heap, "<heap>")

    async def scenario():
        async with mcp_as(secured, keys.token("alice")) as alice, mcp_as(secured, keys.token("bob")) as bob:
            hers, _ = await run_js(alice, "var secret = 'alice-data'; 1", session="diary", tags={"owner": "alice"})
            assert hers["status"] == "completed"
            heap = hers["heap"]

            assert (await call(bob, "list_sessions"))[0] == {"sessions": []}
            snapshots, is_error = await call(bob, "list_session_snapshots", session="diary")
            assert (snapshots, is_error) == ({"session": "diary", "snapshots": []}, False)
            assert (await call(bob, "query_heaps_by_tags", tags={"owner": "alice"}))[0] == {"heaps": []}

            read, is_error = await run_js(bob, "secret", heap=heap)
            absent, _ = await run_js(bob, "secret", heap=missing)
            assert is_error and "secret" not in json.dumps(read)
            assert unnamed(read["error"], heap) == unnamed(absent["error"], missing)
            for tool, arguments in [("get_heap_tags", {}), ("set_heap_tags", {"tags": {"owner": "bob"}}),
                                    ("delete_heap_tags", {"keys": ["owner"]})]:
                theirs, is_error = await call(bob, tool, heap=heap, **arguments)
                nobody, _ = await call(bob, tool, heap=missing, **arguments)
                assert is_error and unnamed(theirs["error"], heap) == unnamed(nobody["error"], missing), tool

            trojan = "const original = JSON.stringify; JSON.stringify = v => (globalThis.leak = v, original(v)); 1"
            planted, is_error = await run_js(bob, trojan, session="diary", heap=heap)
            assert is_error and unnamed(planted["error"], heap) == unnamed(absent["error"], missing)
            own, is_error = await run_js(bob, trojan, session="diary")
            assert not is_error, own

            assert (await call(alice, "list_sessions"))[0] == {"sessions": ["diary"]}
            diary, _ = await call(alice, "list_session_snapshots", session="diary")
            assert [(run["code"], run["output_heap"]) for run in diary["snapshots"]] == [
                ("var secret = 'alice-data'; 1", heap)]
            assert (await call(alice, "get_heap_tags", heap=heap))[0]["tags"] == {"owner": "alice"}
            assert (await call(alice, "query_heaps_by_tags", tags={"owner": "alice"}))[0] == {"heaps": [heap]}
            later, _ = await run_js(alice, "var later = 'more'; JSON.stringify({secret, later}); typeof leak",
                                    session="diary", heap=diary["snapshots"][-1]["output_heap"])
            assert later["result"] == "undefined"
            stolen, is_error = await run_js(bob, "leak", heap=later["heap"])
            assert is_error and unnamed(stolen["error"], later["heap"]) == unnamed(absent["error"], missing)

            # The same bytes made by both are stored once, and each of them may resume them.
            same = [(await run_js(caller, "var shared = 41; 1"))[0]["heap"] for caller in (alice, bob)]
            assert same[0] == same[1]
            for caller in (alice, bob):
                assert (await run_js(caller, "shared + 1", heap=same[0]))[0]["result"] == 42
            assert [path.name for path in (tmp_path / "heaps").iterdir()].count(same[0]) == 1
            return heap

    heap = run(scenario())

    # REST: resuming alice's heap answers as a missing heap does; a session of the same name is bob's own.
    bob = keys.token("bob")
    theirs, nobody = exec_as(secured, bob, "secret", heap=heap), exec_as(secured, bob, "secret", heap=missing)
    assert theirs.status_code == nobody.status_code == 404
    assert unnamed(theirs.json()["error"], heap) == unnamed(nobody.json()["error"], missing)
    assert exec_as(secured, bob, "1", session="diary", heap=heap).status_code == 404
    assert exec_as(secured, bob, "2", session="diary").json()["status"] == "completed"

    async def alices_diary():
        async with mcp_as(secured, keys.token("alice")) as alice:
            return [run["code"] for run in (await call(alice, "list_session_snapshots", session="diary"))[0]["snapshots"]]

    assert len(run(alices_diary())) == 2, "only alice's two runs"


@pytest.mark.parametrize("mode", ["stateful", "stateless"])
def test_one_subject_filling_its_share_leaves_room_for_others(keys, tmp_path, binary, mode):
    """Issue 16 item 8: one subject filled the whole execution queue with `for(;;){}` runs asking
    for 300 s, and everyone else got 429."""
    storage = ["--stateless"] if mode == "stateless" else ["--directory-path", str(tmp_path / "heaps"),
                                                           "--session-db-path", str(tmp_path / "db")]
    alice, bob = keys.token("alice"), keys.token("bob")

    async def scenario(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            def exec_as_async(token, **body):
                return client.post("/api/exec", json=body, headers={"authorization": f"Bearer {token}"})

            # Three loops of alice's, for a share of two: two hold their places (for 300 s), one is refused.
            loop = {"code": "for(;;){}", "execution_timeout_secs": 300}
            if mode == "stateful":
                answers = [await exec_as_async(alice, **loop, inline_wait_ms=0) for _ in range(3)]
                assert [answer.status_code for answer in answers] == [202, 202, 429]
                refused, running = answers[2], [answer.json()["execution_id"] for answer in answers[:2]]
            else:  # a stateless call answers when its run ends: alice's loops stay in flight
                calls = [asyncio.create_task(exec_as_async(alice, **loop)) for _ in range(3)]
                done, running = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
                assert len(done) == 1 and len(running) == 2
                refused = done.pop().result()
            assert refused.status_code == 429, refused.text
            assert "2 of yours are queued or running" in refused.json()["error"]
            assert "--max-executions-per-subject 2" in refused.json()["error"]

            bobs = await exec_as_async(bob, code="40 + 2")
            assert bobs.status_code == 200 and bobs.json()["result"] == 42, "bob's run starts and ends meanwhile"

            async with (httpx.AsyncClient(headers={"authorization": f"Bearer {alice}"}, timeout=30) as as_alice,
                        streamable_http_client(f"{url}/mcp", http_client=as_alice) as (read, write, _),
                        ClientSession(read, write) as session):
                await session.initialize()
                result = await session.call_tool("run_js", {"code": "1"})
                assert result.isError and "--max-executions-per-subject 2" in result.structuredContent["error"]
            for execution in running:
                if mode == "stateful":
                    cancel = await client.post(f"/api/executions/{execution}/cancel",
                                               headers={"authorization": f"Bearer {alice}"})
                    assert cancel.status_code == 200
                else:
                    execution.cancel()

    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--jwks-url", jwks_url, "--max-concurrent-executions", "3",
                         "--max-executions-per-subject", "2", *storage) as url:
            run(scenario(url))


def test_a_free_worker_goes_to_another_subject_before_one_subjects_backlog(keys, tmp_path, binary):
    """Issue 16 item 8: with one subject's runs queued ahead, another's still start, at the next free
    worker rather than behind the whole backlog."""
    alice, bob = keys.token("alice"), keys.token("bob")

    def as_caller(token):
        return {"authorization": f"Bearer {token}"}

    def status(url, token, execution):
        return httpx.get(f"{url}/api/executions/{execution}", headers=as_caller(token), timeout=30).json()["status"]

    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--jwks-url", jwks_url, "--max-concurrent-executions", "1",
                         "--max-executions-per-subject", "3", "--directory-path", str(tmp_path / "heaps"),
                         "--session-db-path", str(tmp_path / "db")) as url:
            # One worker: alice's first loop takes it for 2 s; her next two (30 s each) wait, queued
            # before bob's run.
            loops = [httpx.post(f"{url}/api/exec", headers=as_caller(alice), timeout=30,
                                json={"code": "for(;;){}", "execution_timeout_secs": seconds, "inline_wait_ms": 0})
                     for seconds in (2, 30, 30)]
            assert [loop.status_code for loop in loops] == [202, 202, 202]
            bobs = httpx.post(f"{url}/api/exec", headers=as_caller(bob), timeout=30,
                              json={"code": "40 + 2", "inline_wait_ms": 0}).json()["execution_id"]
            while status(url, bob, bobs) == "running":
                time.sleep(0.05)
            assert status(url, bob, bobs) == "completed"
            # First in, first out would have run alice's next loop to its end before bob's run.
            waiting = [loop.json()["execution_id"] for loop in loops[1:]]
            assert [status(url, alice, execution) for execution in waiting] == ["running", "running"], \
                "bob's run took the worker before alice's backlog"
            for execution in waiting:
                cancel = httpx.post(f"{url}/api/executions/{execution}/cancel", headers=as_caller(alice), timeout=30)
                assert cancel.status_code == 200


CALLER_POLICY = """package mcp.fetch

allow if input.caller == {"tenant": null, "subject": "alice"}
"""


def test_a_policy_decides_on_who_is_asking(keys, tmp_path, binary):
    """Issue 18 item 6: every policy input carries `caller` with the verified token subject (never
    the token), so one policy lets alice fetch and not bob."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "x.txt").write_text("hello")
    rego = tmp_path / "fetch.rego"
    rego.write_text(CALLER_POLICY)
    with file_server(tmp_path / "site") as site, jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--stateless", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER,
                         "--jwt-audience", AUDIENCE,
                         "--policies-json", json.dumps({"fetch": {"policies": [{"url": f"file://{rego}"}]}})) as url:
            code = f"await (await fetch('{site}/x.txt')).text()"
            alice = exec_as(url, keys.token("alice"), code).json()
            assert alice.get("result") == "hello", alice
            bob = exec_as(url, keys.token("bob"), code).json()
            assert "fetch.request denied by the fetch policy" in bob["error"], bob
            assert site.paths == ["/x.txt"], "bob's fetch never left the sandbox"
