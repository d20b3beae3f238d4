"""The REST API and the HTTP server around it, driven with a plain HTTP client."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import BINARY, http_server, listening_port

DOCUMENT = Path(__file__).resolve().parents[2] / "docs/openapi.json"
ROUTER_NOT_FOUND = "Not Found ("


@pytest.fixture(scope="module")
def stateless_url():
    with http_server("--stateless", "--http-port", "0", "--max-request-bytes", "2048") as url:
        yield url


@pytest.fixture
def stateful_url(tmp_path, metadata_store):
    with http_server("--http-port", "0", "--directory-path", str(tmp_path / "heaps"), *metadata_store) as url:
        yield url


def post(url: str, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(url, content=data, headers={"content-type": "application/json", **headers}, timeout=30)


def test_stateless_exec_returns_the_result(stateless_url):
    answer = post(f"{stateless_url}/api/exec", {"code": "console.log('hi'); [1, 2].map(x => x * 2)"})
    assert answer.status_code == 200
    assert answer.json() == {"output": "hi\n", "result": [2, 4]}

    failed = post(f"{stateless_url}/api/exec", {"code": "throw new TypeError('nope')"})
    assert failed.status_code == 200, "a run that throws is still an answered request"
    assert "TypeError: nope" in failed.json()["error"]


@pytest.mark.parametrize("body, status, fragment", [
    ({"code": 1}, 400, "parameter 'code' must be a string"),
    ({}, 400, "missing required parameter 'code'"),
    ({"code": "1", "heap_memory_max_mb": 1000}, 400, "'heap_memory_max_mb' must be an integer from 4 to 64"),
    ({"code": "1", "colour": "red"}, 400, "unknown parameter 'colour'"),
    ("{not json", 400, "not valid JSON"),
    ("[1, 2]", 400, "must be a JSON object"),
    ({"code": "x".ljust(4000)}, 413, "larger than 2048 bytes (--max-request-bytes)"),
])
def test_bad_bodies_get_a_status_and_a_named_reason(stateless_url, body, status, fragment):
    answer = post(f"{stateless_url}/api/exec", body)
    assert answer.status_code == status
    assert fragment in answer.json()["error"]


def test_bodies_must_be_declared_json(stateless_url):
    answer = httpx.post(f"{stateless_url}/api/exec", content="code=1", timeout=30,
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 415
    assert "Content-Type: application/json" in answer.json()["error"]


def test_stateless_keeps_no_executions_and_unknown_routes_are_json(stateless_url):
    answer = httpx.get(f"{stateless_url}/api/executions/abc", timeout=30)
    assert answer.status_code == 404 and "stateless mode" in answer.json()["error"]
    missing = httpx.get(f"{stateless_url}/api/nothing-here", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"].startswith(ROUTER_NOT_FOUND)


def test_host_and_origin_outside_the_allow_list_are_refused(stateless_url):
    assert httpx.get(f"{stateless_url}/healthz", timeout=30).json() == {"status": "ok"}
    rebound = httpx.get(f"{stateless_url}/healthz", headers={"host": "attacker.example:80"}, timeout=30)
    assert rebound.status_code == 421 and "attacker.example" in rebound.json()["error"]
    cross_site = post(f"{stateless_url}/api/exec", {"code": "1"}, origin="https://attacker.example")
    assert cross_site.status_code == 403 and "--allowed-origins" in cross_site.json()["error"]
    local_page = post(f"{stateless_url}/api/exec", {"code": "1"}, origin="http://localhost:5173")
    assert local_page.status_code == 200


def test_a_client_that_leaves_mid_run_affects_nothing(stateless_url):
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{stateless_url}/api/exec", json={"code": "const end = Date.now() + 1500; while (Date.now() < end) {} 1"},
                   timeout=0.3)
    assert post(f"{stateless_url}/api/exec", {"code": "6 * 7"}).json()["result"] == 42


def test_stateful_exec_poll_output_and_cancel(stateful_url):
    first = post(f"{stateful_url}/api/exec", {"code": "var n = 1; console.log('a'); console.log('b'); n"})
    assert first.status_code == 200
    completed = first.json()
    assert completed["status"] == "completed" and completed["result"] == 1 and len(completed["heap"]) == 64
    second = post(f"{stateful_url}/api/exec", {"code": "n + 1", "heap": completed["heap"]}).json()
    assert second["result"] == 2

    execution = httpx.get(f"{stateful_url}/api/executions/{completed['execution_id']}", timeout=30).json()
    assert execution["heap"] == completed["heap"] and execution["status"] == "completed"
    page = httpx.get(f"{stateful_url}/api/executions/{completed['execution_id']}/output",
                     params={"line_offset": 1, "line_limit": 1}, timeout=30).json()
    assert page["data"] == "b\n" and "output" not in page and page["next_line_offset"] == 2 and page["has_more"] is False
    bad_query = httpx.get(f"{stateful_url}/api/executions/{completed['execution_id']}/output",
                          params={"line_limit": "many"}, timeout=30)
    assert bad_query.status_code == 400 and "'line_limit' must be an integer" in bad_query.json()["error"]

    running = post(f"{stateful_url}/api/exec", {"code": "while (true) {}", "inline_wait_ms": 0})
    assert running.status_code == 202 and running.json()["status"] == "running"
    running_id = running.json()["execution_id"]
    cancel = httpx.post(f"{stateful_url}/api/executions/{running_id}/cancel", timeout=30)
    assert cancel.status_code == 200 and cancel.json()["message"] == "Cancellation requested."
    deadline = time.monotonic() + 10
    while httpx.get(f"{stateful_url}/api/executions/{running_id}", timeout=30).json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert httpx.get(f"{stateful_url}/api/executions/{running_id}", timeout=30).json()["status"] == "cancelled"

    listed = [entry["execution_id"] for entry in httpx.get(f"{stateful_url}/api/executions", timeout=30).json()["executions"]]
    assert listed == [completed["execution_id"], second["execution_id"], running_id]
    unknown = httpx.get(f"{stateful_url}/api/executions/no-such-id", timeout=30)
    assert unknown.status_code == 404 and "no execution has the id 'no-such-id'" in unknown.json()["error"]
    missing_heap = post(f"{stateful_url}/api/exec", {"code": "1", "heap": "ab" * 32})
    assert missing_heap.status_code == 404 and "was not found" in missing_heap.json()["error"]


def test_a_full_queue_answers_429(tmp_path):
    with http_server("--http-port", "0", "--directory-path", str(tmp_path / "heaps"), "--session-db-path",
                     str(tmp_path / "sessions"), "--max-concurrent-executions", "1",
                     "--max-queued-executions", "0") as url:
        busy = post(f"{url}/api/exec", {"code": "while (true) {}", "inline_wait_ms": 0}).json()["execution_id"]
        refused = post(f"{url}/api/exec", {"code": "1"})
        assert refused.status_code == 429 and "Server busy" in refused.json()["error"]
        httpx.post(f"{url}/api/executions/{busy}/cancel", timeout=30)


def test_sigterm_lets_running_executions_finish_then_cancels_the_rest(tmp_path):
    storage = ["--directory-path", str(tmp_path / "heaps"), "--session-db-path", str(tmp_path / "sessions")]
    with open(tmp_path / "log", "w+") as log:
        server = subprocess.Popen([BINARY, "--http-port", "0", "--shutdown-timeout", "5", *storage],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{listening_port(server, log)}"
        short = post(f"{url}/api/exec", {"code": "const end = Date.now() + 700; while (Date.now() < end) {} 'done'",
                                         "inline_wait_ms": 0}).json()["execution_id"]
        endless = post(f"{url}/api/exec", {"code": "while (true) {}", "inline_wait_ms": 0}).json()["execution_id"]
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert 0.5 < time.monotonic() - started < 20
    with http_server("--http-port", "0", *storage) as url:
        assert httpx.get(f"{url}/api/executions/{short}", timeout=30).json()["result"] == "done"
        ended = httpx.get(f"{url}/api/executions/{endless}", timeout=30).json()
        assert ended["status"] == "cancelled" and "shutting down" in ended["error"]


def test_the_openapi_document_is_committed_served_and_printed(stateless_url):
    committed = json.loads(DOCUMENT.read_text())
    printed = subprocess.run([BINARY, "--print-openapi"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    assert printed.returncode == 0 and json.loads(printed.stdout) == committed, \
        "docs/openapi.json is stale: regenerate it with `mcp-v8 --print-openapi > docs/openapi.json`"
    assert httpx.get(f"{stateless_url}/api-doc/openapi.json", timeout=30).json() == committed


def test_every_documented_route_is_served_and_nothing_else(tmp_path):
    document = json.loads(DOCUMENT.read_text())
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    with http_server("--http-port", "0", "--directory-path", str(tmp_path / "heaps"),
                     "--session-db-path", str(tmp_path / "sessions")) as url:
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"]:
            for path in {path for _, path in documented}:
                answer = httpx.request(method, url + path.replace("{id}", "unknown-id"), json={"code": "1"}, timeout=30)
                if (method, path) in documented:
                    unrouted = answer.status_code == 404 and answer.json()["error"].startswith(ROUTER_NOT_FOUND)
                    assert answer.status_code != 405 and not unrouted, f"{method} {path}: {answer.text}"
                else:
                    assert answer.status_code == 405, f"{method} {path}: {answer.status_code} {answer.text}"
                    assert method not in answer.headers["allow"]


def test_schemathesis_finds_no_server_error_and_no_departure_from_the_document(tmp_path):
    """Property-based requests from the served document, every check but one: the output route
    refuses line and byte parameters together, which OpenAPI cannot express (positive_data_acceptance)."""
    with http_server("--http-port", "0", "--directory-path", str(tmp_path / "heaps"),
                     "--session-db-path", str(tmp_path / "sessions"), "--execution-timeout", "2") as url:
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}{'/api-doc/openapi.json'}",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", "25", "--workers", "1", "--seed", "1"],
            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert completed.returncode == 0, completed.stdout[-6000:]
        assert "generated" in completed.stdout


def test_metrics_count_executions_by_status(stateless_url):
    post(f"{stateless_url}/api/exec", {"code": "1"})
    post(f"{stateless_url}/api/exec", {"code": "throw 1"})
    text = httpx.get(f"{stateless_url}/metrics", timeout=30).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['mcpv8_executions_total{status="completed"}'] >= 1
    assert samples['mcpv8_executions_total{status="error"}'] >= 1
    assert samples["mcpv8_execution_duration_seconds_count"] >= 2
    assert samples["mcpv8_queue_depth"] == 0 and "mcpv8_busy_workers" in samples


def test_mcp_endpoints_name_a_missing_or_unknown_session(tmp_path):
    accept = {"accept": "application/json, text/event-stream"}
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    with http_server("--stateless", "--http-port", "0") as url:
        missing = httpx.post(f"{url}/mcp", json=listing, headers=accept, timeout=30)
        assert missing.status_code == 400 and "Missing Mcp-Session-Id" in missing.text
        unknown = httpx.post(f"{url}/mcp", json=listing, headers={**accept, "mcp-session-id": "nope"}, timeout=30)
        assert unknown.status_code == 404 and "unknown or expired" in unknown.text
    with http_server("--stateless", "--sse-port", "0") as url:
        no_id = httpx.post(f"{url}/message", json=listing, timeout=30)
        assert no_id.status_code == 400 and "sessionId" in no_id.json()["error"]
        unknown = httpx.post(f"{url}/message", params={"sessionId": "nope"}, json=listing, timeout=30)
        assert unknown.status_code == 404 and "GET /sse" in unknown.json()["error"]
