"""Tenants (--tenants): the strict file, the caller's tenant from its token, state kept apart by
tenant, per-tenant limits and SIGHUP reload. Tokens are signed here and the JWKS served on loopback."""
import asyncio
import contextlib
import json
import signal
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from conftest import BINARY, call, http_server_process, run, run_js, serving, start_fails
from opa_server import JSONAnswers
from test_auth import AUDIENCE, ISSUER, KeySet, exec_as, jwks_server, list_tools_status, mcp_as, open_mcp_session

MISSING_HEAP = "ab" * 32
MISSING_ID = "00000000-0000-0000-0000-000000000000"


def tenants_file(path: Path, tenants: dict) -> str:
    path.write_text(json.dumps({"tenants": tenants}))
    return str(path)


def three_tenants(tmp_path: Path) -> dict:
    rego = tmp_path / "acme-fetch.rego"
    rego.write_text('package mcp.fetch\n\nallow if input.url == "https://api.acme.example/"\n')
    return {
        "acme": {"policies": {"fetch": {"policies": [{"url": f"file://{rego}"}]}},
                 "fetch_headers": [{"host": "api.acme.example", "headers": {"X-Api-Key": "acme-key"}}],
                 "plugin_config": {"fetch.timeout_ms": "10000"},
                 "limits": {"max_concurrent_executions": 1, "max_queued_executions": 100}},
        "labs": {"limits": {"heap_memory_max_mb": 32, "execution_timeout_secs": 60}},
        "guest": {"limits": {"max_concurrent_executions": 1, "max_queued_executions": 2, "max_output_bytes": 1024}},
        "team": {"shared_state": True},
    }


@pytest.fixture
def keys():
    return KeySet()


@pytest.fixture
def tenanted(keys, tmp_path, binary):
    """A stateful HTTP server with tokens and the tenants above: yields (url, process, log, tenants file)."""
    file = tenants_file(tmp_path / "tenants.json", three_tenants(tmp_path))
    with jwks_server(keys) as jwks_url:
        with http_server_process("--http-port", "0", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER,
                                 "--jwt-audience", AUDIENCE, "--tenants", file, "--max-concurrent-executions", "2",
                                 "--directory-path", str(tmp_path / "heaps"),
                                 "--session-db-path", str(tmp_path / "db")) as (url, process, log):
            yield url, process, log, Path(file)


def token(keys: KeySet, subject: str, tenant) -> str:
    return keys.token(subject, tenant=tenant)


@pytest.mark.parametrize("tenants, message", [
    ({"acme": {"limit": {}}}, "tenant 'acme': unknown field 'limit'; allowed: fetch_headers, limits"),
    ({"acme": {"limits": {"heap_memory_max_mb": 65}}},
     "tenant 'acme': limits.heap_memory_max_mb must be an integer from 4 to 64"),
    ({"acme": {"limits": {"max_concurrent_executions": 3}}},
     "tenant 'acme': limits.max_concurrent_executions must be an integer from 1 to 2 (at most the server's "
     "--max-concurrent-executions)"),
    ({"acme": {"policies": {"nosuch": {"policies": [{"url": "file:///etc/x.rego"}]}}}},
     "tenant 'acme': a nosuch policy is configured, but no plugin provides the nosuch category"),
    ({"Acme/..": {}}, "'Acme/..' is not a tenant name"),
    ("BROKEN_POLICY", "tenant 'acme': "),
], ids=["unknown-field", "heap-range", "over-the-servers-workers", "unknown-category", "bad-name", "policy-does-not-compile"])
def test_a_bad_tenants_file_stops_the_server_naming_the_file_and_tenant(tmp_path, binary, tenants, message):
    if tenants == "BROKEN_POLICY":
        rego = tmp_path / "broken.rego"
        rego.write_text("package mcp.fetch\n\nallow if {{{\n")
        tenants = {"acme": {"policies": {"fetch": {"policies": [{"url": f"file://{rego}"}]}}}}
    file = tenants_file(tmp_path / "tenants.json", tenants)
    stderr = start_fails("--stateless", "--max-concurrent-executions", "2", "--tenants", file, "--tenant", "acme")
    assert f"--tenants {file}: " in stderr and message in stderr, stderr


def test_a_tenant_given_twice_and_flag_misuse_are_refused(tmp_path, binary):
    file = tmp_path / "tenants.json"
    file.write_text('{"tenants": {"acme": {}, "acme": {"limits": {"max_output_bytes": 4096}}}}')
    assert "the tenant 'acme' is given twice" in start_fails("--stateless", "--tenants", str(file), "--tenant", "acme")
    file.write_text('{"tenants": {"acme": {}}}')
    assert "needs --tenant NAME" in start_fails("--stateless", "--tenants", str(file))
    assert "--tenant 'labs' is not a tenant of --tenants" in start_fails("--stateless", "--tenants", str(file),
                                                                        "--tenant", "labs")
    assert "--tenant and --tenant-claim need --tenants" in start_fails("--stateless", "--tenant", "acme")
    assert "--tenant-claim needs --jwks-url" in start_fails("--stateless", "--tenants", str(file), "--tenant", "acme",
                                                            "--tenant-claim", "team")


@pytest.mark.parametrize("claim, reason", [
    (None, "the token has no 'tenant' claim (--tenant-claim) naming its tenant"),
    (7, "the token's 'tenant' claim (--tenant-claim) must be a string naming a tenant, got a number"),
    (["acme"], "must be a string naming a tenant, got an array"),
    ("", "the token's 'tenant' claim (--tenant-claim) is empty"),
    ("a" * 5000, "is 5000 characters long; tenant names have at most 64"),
    ("nosuch", "names no tenant of this server ('nosuch')"),
    ("acme'; DROP TABLE sessions; --", "names no tenant of this server."),
], ids=["missing", "number", "array", "empty", "long", "unknown", "sql"])
def test_a_token_without_a_valid_tenant_gets_403_naming_the_claim(tenanted, keys, claim, reason):
    url = tenanted[0]
    answer = exec_as(url, token(keys, "alice", claim))
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == f"Forbidden: {reason}." or reason in answer.json()["error"]
    assert "DROP" not in answer.text and "a" * 100 not in answer.text, "the value is not echoed"
    mcp = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize"}, timeout=30,
                     headers={"authorization": f"Bearer {token(keys, 'alice', claim)}"})
    assert mcp.status_code == 403
    assert exec_as(url, token(keys, "alice", "acme")).json()["result"] == 2, "the server goes on serving"


def test_another_tenants_identifiers_answer_exactly_as_missing_ones(tenanted, keys, tmp_path):
    """The same subject name in two tenants: nothing of acme's alice is visible to labs' alice,
    through any tool or REST route, and nothing changes for the owner."""
    url = tenanted[0]
    acme, labs = token(keys, "alice", "acme"), token(keys, "alice", "labs")

    def unnamed(text: str, *ids: str) -> str:
        for value in ids:
            text = text.replace(value, "<id>")
        return text

    async def scenario():
        async with mcp_as(url, acme) as owner, mcp_as(url, labs) as other:
            made, _ = await run_js(owner, "var secret = 'acme-data'; console.log('acme output'); 1",
                                   session="diary", tags={"team": "acme"})
            heap, execution = made["heap"], made["execution_id"]
            for tool, arguments in [("get_execution", {}), ("get_execution_output", {}), ("cancel_execution", {})]:
                theirs, is_error = await call(other, tool, execution_id=execution, **arguments)
                nobody, _ = await call(other, tool, execution_id=MISSING_ID, **arguments)
                assert is_error and unnamed(theirs["error"], execution) == unnamed(nobody["error"], MISSING_ID), tool
            assert (await call(other, "list_executions"))[0] == {"executions": []}
            assert (await call(other, "list_sessions"))[0] == {"sessions": []}
            assert (await call(other, "list_session_snapshots", session="diary"))[0] == {"session": "diary",
                                                                                          "snapshots": []}
            assert (await call(other, "query_heaps_by_tags", tags={"team": "acme"}))[0] == {"heaps": []}
            for tool, arguments in [("get_heap_tags", {}), ("set_heap_tags", {"tags": {"team": "labs"}}),
                                    ("delete_heap_tags", {"keys": ["team"]})]:
                theirs, is_error = await call(other, tool, heap=heap, **arguments)
                nobody, _ = await call(other, tool, heap=MISSING_HEAP, **arguments)
                assert is_error and unnamed(theirs["error"], heap) == unnamed(nobody["error"], MISSING_HEAP), tool
            read, is_error = await run_js(other, "secret", heap=heap)
            absent, _ = await run_js(other, "secret", heap=MISSING_HEAP)
            assert is_error and unnamed(read["error"], heap) == unnamed(absent["error"], MISSING_HEAP)

            # The same session name and tag keys in labs are labs' own.
            own, _ = await run_js(other, "var mine = 'labs'; 2", session="diary", tags={"team": "labs"})
            assert (await call(other, "list_session_snapshots", session="diary"))[0]["snapshots"][0]["code"] == \
                "var mine = 'labs'; 2"
            assert (await call(other, "query_heaps_by_tags", tags={"team": "labs"}))[0] == {"heaps": [own["heap"]]}

            # Nothing changed for the owner.
            assert (await call(owner, "list_sessions"))[0] == {"sessions": ["diary"]}
            diary = (await call(owner, "list_session_snapshots", session="diary"))[0]["snapshots"]
            assert [entry["output_heap"] for entry in diary] == [heap]
            assert (await call(owner, "get_heap_tags", heap=heap))[0]["tags"] == {"team": "acme"}
            assert (await call(owner, "query_heaps_by_tags", tags={"team": "labs"}))[0] == {"heaps": []}
            status, _ = await call(owner, "get_execution", execution_id=execution)
            assert status["status"] == "completed"
            assert (await run_js(owner, "secret", heap=heap))[0]["result"] == "acme-data"

            # Identical bytes made by two tenants are stored once and owned by both: the same code
            # makes the same heap in every capability set with the same plugins (guest's and team's
            # have none), on any worker; what only one of them made stays its own.
            async with mcp_as(url, token(keys, "alice", "guest")) as alice, \
                    mcp_as(url, token(keys, "bob", "team")) as bob:
                same = [(await run_js(caller, "var shared = 41; 1"))[0]["heap"] for caller in (alice, bob)]
                assert same[0] == same[1]
                for caller in (alice, bob):
                    assert (await run_js(caller, "shared + 1", heap=same[0]))[0]["result"] == 42
                alices = (await run_js(alice, "var only = 'guest'; 1"))[0]["heap"]
                read, is_error = await run_js(bob, "only", heap=alices)
                absent, _ = await run_js(bob, "only", heap=MISSING_HEAP)
                assert is_error and unnamed(read["error"], alices) == unnamed(absent["error"], MISSING_HEAP)
                assert (await run_js(alice, "only", heap=alices))[0]["result"] == "guest"
            assert [path.name for path in (tmp_path / "heaps").iterdir()].count(same[0]) == 1
            return execution, heap

    execution, heap = run(scenario())

    def rest(method, path, who):
        return httpx.request(method, f"{url}{path}", headers={"authorization": f"Bearer {who}"}, timeout=30)

    for method, suffix in [("GET", ""), ("GET", "/output"), ("POST", "/cancel")]:
        theirs, nobody = rest(method, f"/api/executions/{execution}{suffix}", labs), \
            rest(method, f"/api/executions/{MISSING_ID}{suffix}", labs)
        assert theirs.status_code == nobody.status_code == 404, suffix
        assert unnamed(theirs.json()["error"], execution) == unnamed(nobody.json()["error"], MISSING_ID)
    assert [entry["execution_id"] for entry in rest("GET", "/api/executions", labs).json()["executions"]
            if entry["execution_id"] == execution] == []
    theirs, nobody = exec_as(url, labs, "secret", heap=heap), exec_as(url, labs, "secret", heap=MISSING_HEAP)
    assert theirs.status_code == nobody.status_code == 404
    assert rest("GET", f"/api/executions/{execution}", acme).json()["result"] == 1, "the owner still sees it"


def test_an_mcp_session_stays_with_its_tenant_and_subject(tenanted, keys):
    url = tenanted[0]
    session = open_mcp_session(url, token(keys, "alice", "team"))
    assert list_tools_status(url, token(keys, "alice", "team"), session) == 200
    for subject, tenant in [("alice", "labs"), ("bob", "team")]:
        assert list_tools_status(url, token(keys, subject, tenant), session) == 404, (subject, tenant)


def test_a_shared_state_tenant_shares_sessions_tags_and_heaps_among_its_callers(tenanted, keys):
    url = tenanted[0]

    async def scenario():
        async with mcp_as(url, token(keys, "alice", "team")) as alice, \
                mcp_as(url, token(keys, "bob", "team")) as bob, \
                mcp_as(url, token(keys, "alice", "acme")) as outsider:
            made, _ = await run_js(alice, "var note = 'for the team'; 1", session="work", tags={"stage": "draft"})
            assert (await call(bob, "list_sessions"))[0] == {"sessions": ["work"]}
            assert (await call(bob, "query_heaps_by_tags", tags={"stage": "draft"}))[0] == {"heaps": [made["heap"]]}
            assert (await run_js(bob, "note", heap=made["heap"]))[0]["result"] == "for the team"
            status, is_error = await call(bob, "get_execution", execution_id=made["execution_id"])
            assert not is_error and status["result"] == 1
            assert (await call(outsider, "list_sessions"))[0] == {"sessions": []}
    run(scenario())


def test_a_tenants_heap_and_time_limits_are_its_defaults_and_maxima_and_output_its_cap(tenanted, keys):
    url = tenanted[0]
    labs, acme, guest = (token(keys, "alice", name) for name in ("labs", "acme", "guest"))
    too_big = exec_as(url, labs, heap_memory_max_mb=64)
    assert too_big.status_code == 400
    assert too_big.json()["error"] == ("run_js: parameter 'heap_memory_max_mb' must be an integer from 4 to 32 "
                                       "(the most tenant 'labs' may ask for), got 64.")
    too_long = exec_as(url, labs, execution_timeout_secs=61)
    assert too_long.status_code == 400 and "from 1 to 60 (the most tenant 'labs' may ask for)" in too_long.json()["error"]
    assert exec_as(url, labs, heap_memory_max_mb=32, execution_timeout_secs=60).json()["result"] == 2
    assert exec_as(url, acme, heap_memory_max_mb=64).json()["result"] == 2, "acme has the server's range"
    # labs' default heap is 32 MB: 12 arrays of 256K numbers fit, which the server's 8 MB default does not.
    grow = "(() => { const a = []; for (let i = 0; i < 12; i++) a.push(new Array(1 << 18).fill(i)); return a.length })()"
    assert exec_as(url, labs, grow, inline_wait_ms=60000).json().get("result") == 12
    assert "Out of memory" in exec_as(url, acme, grow, inline_wait_ms=60000).json()["error"]
    printed = exec_as(url, guest, "for (let i = 0; i < 100; i++) console.log('y'.repeat(99)); 1",
                      inline_wait_ms=60000).json()
    assert "[output truncated: the run printed 10000 bytes; only the first 1024 are kept" in printed["output"], printed


def wait_for(check, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_sighup_reloads_the_file_and_a_broken_one_leaves_the_old_in_force(tenanted, keys, tmp_path):
    url, process, log, file = tenanted
    newcomer = token(keys, "alice", "newcomer")
    acme = token(keys, "alice", "acme")
    assert exec_as(url, newcomer).status_code == 403
    kept = exec_as(url, acme, "'kept'").json()["execution_id"]

    tenants = three_tenants(tmp_path)
    tenants["newcomer"] = {"limits": {"heap_memory_max_mb": 16}}
    del tenants["acme"]
    file.write_text(json.dumps({"tenants": tenants}))
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: exec_as(url, newcomer).status_code == 200, "the added tenant is served")
    removed = exec_as(url, acme)
    assert removed.status_code == 403 and "names no tenant of this server ('acme')" in removed.json()["error"]

    file.write_text(json.dumps({"tenants": {**tenants, "broken": {"limits": {"heap_memory_max_mb": 1000}}}}))
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "the previous tenants configuration stays in force" in (log.seek(0) or log.read()),
             "the broken file is refused")
    log.seek(0)
    assert "tenant 'broken': limits.heap_memory_max_mb must be an integer from 4 to 64" in log.read()
    assert exec_as(url, newcomer).status_code == 200, "the old configuration still serves"
    assert exec_as(url, token(keys, "alice", "broken")).status_code == 403

    # acme comes back with its stored data.
    file.write_text(json.dumps({"tenants": three_tenants(tmp_path)}))
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: exec_as(url, acme).status_code == 200, "acme is back")
    again = httpx.get(f"{url}/api/executions/{kept}", headers={"authorization": f"Bearer {acme}"}, timeout=30)
    assert again.json()["result"] == "kept"


def test_stdio_callers_are_the_tenant_of_tenant(tmp_path, binary):
    file = tenants_file(tmp_path / "tenants.json", three_tenants(tmp_path))

    async def scenario():
        params = StdioServerParameters(command=BINARY, args=["--stateless", "--tenants", file, "--tenant", "labs"])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                refused, is_error = await run_js(session, "1", heap_memory_max_mb=64)
                assert is_error and "from 4 to 32 (the most tenant 'labs' may ask for), got 64" in refused["error"]
                assert (await run_js(session, "1", heap_memory_max_mb=32))[0]["result"] == 1
    run(scenario())


def test_http_without_tokens_serves_the_tenant_of_tenant_while_it_is_configured(tmp_path, binary):
    file = Path(tenants_file(tmp_path / "tenants.json", three_tenants(tmp_path)))
    with http_server_process("--http-port", "0", "--stateless", "--tenants", str(file), "--tenant", "labs") as (url, process, _):
        refused = httpx.post(f"{url}/api/exec", json={"code": "1", "heap_memory_max_mb": 64}, timeout=30)
        assert refused.status_code == 400 and "(the most tenant 'labs' may ask for)" in refused.json()["error"]
        tenants = three_tenants(tmp_path)
        del tenants["labs"]
        file.write_text(json.dumps({"tenants": tenants}))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: httpx.post(f"{url}/api/exec", json={"code": "1"}, timeout=30).status_code == 403,
                 "the removed tenant is refused")
        gone = httpx.post(f"{url}/api/exec", json={"code": "1"}, timeout=30).json()["error"]
        assert gone == "Forbidden: the tenant 'labs' (--tenant) is no longer configured (--tenants)."
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200


def test_a_flooding_tenant_is_told_busy_on_its_own_queue_while_another_tenants_runs_complete(keys, tmp_path, binary):
    """Issue 18's flood: guest (cap 1, queue 5) sends 50 slow runs; all 20 of acme's quick runs complete
    while guest hears "busy" (429) for what its own queue cannot hold; /metrics counts it by tenant."""
    file = tenants_file(tmp_path / "tenants.json", {
        "guest": {"limits": {"max_concurrent_executions": 1, "max_queued_executions": 5}},
        "acme": {}})
    guest, acme = token(keys, "g", "guest"), token(keys, "a", "acme")
    slow = "const t = Date.now(); while (Date.now() - t < 400) {} 1"

    async def flood(url):
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            def exec_as_async(bearer, code):
                return client.post("/api/exec", json={"code": code}, headers={"authorization": f"Bearer {bearer}"})

            guests = [asyncio.create_task(exec_as_async(guest, slow)) for _ in range(50)]
            await asyncio.sleep(0.5)  # guest's runs are in: one on a worker, its queue full
            acmes = await asyncio.gather(*(exec_as_async(acme, f"{i} * 2") for i in range(20)))
            guest_answers = await asyncio.gather(*guests)
            metrics = (await client.get("/metrics", headers={"authorization": f"Bearer {acme}"})).text
            return acmes, guest_answers, metrics

    with jwks_server(keys) as jwks_url:
        with http_server_process("--http-port", "0", "--stateless", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER,
                                 "--jwt-audience", AUDIENCE, "--tenants", file,
                                 "--max-concurrent-executions", "2") as (url, _, _):
            acmes, guests, metrics = run(flood(url))
    assert [answer.json().get("result") for answer in acmes] == [i * 2 for i in range(20)]
    statuses = [answer.status_code for answer in guests]
    assert statuses.count(200) >= 6 and statuses.count(429) >= 30, statuses
    busy = next(answer.json()["error"] for answer in guests if answer.status_code == 429)
    assert "Server busy for tenant 'guest'" in busy and "max_queued_executions 5" in busy, busy
    refused = [line for line in metrics.splitlines() if line.startswith("mcpv8_executions_refused_busy_total{")]
    assert any('tenant="guest"' in line and not line.endswith(" 0") for line in refused), refused
    assert any('tenant="acme"' in line and line.endswith(" 0") for line in refused), refused


@contextlib.contextmanager
def header_echo():
    """A loopback HTTP server answering every GET with the request's headers as JSON."""
    class Handler(JSONAnswers):
        def do_GET(self):
            self.answer(200, {name.lower(): value for name, value in self.headers.items()})

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as base:
        yield base


def fetch_policy(tmp_path: Path, name: str, path: str) -> dict:
    rego = tmp_path / f"{name}-fetch.rego"
    rego.write_text(f'package mcp.fetch\n\nallow if input.url_parsed.path == "{path}"\n')
    return {"fetch": {"policies": [{"url": f"file://{rego}"}]}}


def fs_policy(tmp_path: Path, root: Path) -> dict:
    rego = tmp_path / "labs-fs.rego"
    rego.write_text(f'package mcp.fs\n\nallow if startswith(input.path, {json.dumps(str(root) + "/")})\n')
    return {"fs": {"policies": [{"url": f"file://{rego}"}]}}


GLOBALS = "[typeof fetch, typeof fs].join(' ')"


def test_each_tenants_runs_have_its_own_globals_policies_and_headers_and_a_reload_changes_new_runs_only(
        keys, tmp_path, binary):
    """Issue 18 item 2: the caller's tenant picks the capability set of its runs: which globals exist,
    which policies judge its operations, and which injected headers its requests carry."""
    root = tmp_path / "labs"
    root.mkdir()
    (root / "note.txt").write_text("labs only")
    tenants = {
        "acme": {"policies": fetch_policy(tmp_path, "acme", "/acme"),
                 "fetch_headers": [{"host": "127.0.0.1", "headers": {"X-Api-Key": "acme-key"}}]},
        "beta": {"policies": fetch_policy(tmp_path, "beta", "/beta")},
        "labs": {"policies": fs_policy(tmp_path, root)},
        "guest": {},
    }
    file = tenants_file(tmp_path / "tenants.json", tenants)
    bearer = {name: token(keys, "alice", name) for name in tenants}
    with header_echo() as echo, jwks_server(keys) as jwks_url:
        with http_server_process("--http-port", "0", "--stateless", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER,
                                 "--jwt-audience", AUDIENCE, "--tenants", file,
                                 "--max-concurrent-executions", "2") as (url, process, log):
            def result(name, code):
                answer = exec_as(url, bearer[name], code).json()
                return answer.get("result", answer.get("error"))

            assert {name: result(name, GLOBALS) for name in tenants} == {
                "acme": "function undefined", "beta": "function undefined",
                "labs": "undefined object", "guest": "undefined undefined"}
            fetch = "(async () => (await fetch(URL)).json())()"
            assert result("acme", fetch.replace("URL", json.dumps(f"{echo}/acme")))["x-api-key"] == "acme-key"
            denied = result("beta", fetch.replace("URL", json.dumps(f"{echo}/acme")))
            assert "denied by the fetch policy" in denied, denied
            assert "x-api-key" not in result("beta", fetch.replace("URL", json.dumps(f"{echo}/beta"))), \
                "acme's header reaches only acme's requests"
            read = f"fs.readFile({json.dumps(str(root / 'note.txt'))}, 'utf8')"
            assert result("labs", read) == "labs only"

            # guest gets fs by a reload: a run started before keeps its set, the next run has fs.
            async def reload_during_a_run():
                async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                    before = asyncio.create_task(client.post(
                        "/api/exec", json={"code": f"new Promise((r) => setTimeout(r, 1500)).then(() => {GLOBALS})"},
                        headers={"authorization": f"Bearer {bearer['guest']}"}))
                    await asyncio.sleep(0.5)
                    tenants["guest"] = {"policies": fs_policy(tmp_path, root)}
                    Path(file).write_text(json.dumps({"tenants": tenants}))
                    process.send_signal(signal.SIGHUP)
                    return (await before).json()

            started_before = run(reload_during_a_run())
            wait_for(lambda: "reloaded" in (log.seek(0) or log.read()), "the reload")
            assert result("guest", GLOBALS) == "undefined object"
            assert result("guest", read) == "labs only"
            assert started_before.get("result") == "undefined undefined", started_before


def test_a_runs_log_lines_carry_its_tenant(keys, tmp_path, binary):
    """Issue 18 item 4: the host's lines about a run (started, ended, and why) and the worker's
    policy decisions name the run's tenant; a server without tenants names none."""
    tenants = three_tenants(tmp_path)
    file = tenants_file(tmp_path / "tenants.json", {"acme": tenants["acme"], "guest": tenants["guest"]})
    with jwks_server(keys) as jwks_url:
        with http_server_process("--http-port", "0", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER,
                                 "--jwt-audience", AUDIENCE, "--tenants", file, "--log-level", "debug") as (url, _, log):
            denied = exec_as(url, token(keys, "alice", "acme"), "await fetch('https://elsewhere.example/')")
            assert "denied by the fetch policy" in denied.json()["error"]
            assert exec_as(url, token(keys, "bob", "guest"), "1 + 1").json()["result"] == 2
            assert "Syntax" in exec_as(url, token(keys, "bob", "guest"), "let (").json()["error"]
            wait_for(lambda: log.seek(0) is not None and log.read().count(" ended: ") >= 3, "the runs' end lines")
            log.seek(0)
            lines = log.read().splitlines()
    def about(needle: str) -> list[str]:
        return [line for line in lines if needle in line]
    assert len(about("policy decision")) == 1 and "tenant=acme" in about("policy decision")[0]
    started = [line for line in about("execution ") if line.endswith(" started") or " started " in line]
    ended = about(" ended: ")
    assert len(started) == len(ended) == 3, lines
    for these in (started, ended):
        assert [sum(f"tenant={name}" in line for line in these) for name in ("acme", "guest")] == [1, 2]
    assert any("tenant=guest" in line and "syntaxError" in line for line in ended), ended

    with http_server_process("--http-port", "0", "--log-level", "debug") as (url, _, log):
        assert httpx.post(f"{url}/api/exec", json={"code": "1"}, timeout=30).json()["result"] == 1
        wait_for(lambda: log.seek(0) is not None and " ended: " in log.read(), "the run's end line")
        log.seek(0)
        assert "tenant=" not in log.read()
