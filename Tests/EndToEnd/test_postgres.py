"""Metadata in PostgreSQL (--database-url) against a real server: refused at start-up with the
reason, and a server restart mid-use: clear errors while it is down, nothing finished lost, and the
node reconnects by itself. The sessions, tags and executions tests run against PostgreSQL too
(the `metadata_store` fixture in test_stateful.py and test_rest.py)."""
import time

import httpx

from conftest import call, http_server, raw_server, run, run_js, start_fails


def test_a_database_it_cannot_use_is_refused_at_start_with_the_reason(binary, tmp_path, postgres_server):
    heaps = ["--directory-path", str(tmp_path)]
    database = postgres_server.new_database().split("/")[-1].split("?")[0]
    secret = "not-the-password-7316"
    said = start_fails(*heaps, "--database-url", postgres_server.url(database, password=secret))
    assert "password authentication failed for user \"postgres\"" in said and secret not in said, said
    assert f"postgres://postgres@127.0.0.1:{postgres_server.port}/{database}" in said, said

    said = start_fails(*heaps, "--database-url", postgres_server.url("no_such_database"))
    assert "database \"no_such_database\" does not exist" in said, said

    said = start_fails(*heaps, "--database-url", "postgres://postgres:x@127.0.0.1:9/db?sslmode=disable")
    assert "cannot connect to the metadata database postgres://postgres@127.0.0.1:9/db" in said, said

    said = start_fails(*heaps, "--database-url", "postgres://u@h/d?sslmode=sometimes")
    assert "sslmode 'sometimes' is not one of disable, prefer, require, verify-full" in said, said
    said = start_fails(*heaps, "--database-url", "mysql://u@h/d")
    assert "--database-url must have the form postgres://" in said, said
    said = start_fails("--stateless", "--database-url", postgres_server.url(database))
    assert "--stateless and --database-url conflict" in said, said


def wait_until(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def test_a_postgres_restart_fails_requests_clearly_then_the_node_recovers(binary, tmp_path, postgres_server):
    url = postgres_server.new_database()
    database = url.split("/")[-1].split("?")[0]
    with http_server("--http-port", "0", "--directory-path", str(tmp_path), "--database-url", url) as base:
        before = httpx.post(f"{base}/api/exec", json={"code": "var n = 1; n", "session": "s"}, timeout=30).json()
        assert before["status"] == "completed"
        # A run that ends while PostgreSQL is down.
        during = httpx.post(f"{base}/api/exec", json={"code": "await new Promise(r => setTimeout(r, 1500)); 2",
                                                      "inline_wait_ms": 0}, timeout=30).json()
        postgres_server.stop()
        try:
            listed = httpx.get(f"{base}/api/executions", timeout=30)
            assert listed.status_code == 503, listed.text
            assert listed.json()["error"].startswith(f"the metadata database postgres://postgres@127.0.0.1:"
                                                     f"{postgres_server.port}/{database}"), listed.text
            assert "could not list executions" in listed.json()["error"], listed.text
            resumed = httpx.post(f"{base}/api/exec", json={"code": "n", "heap": before["heap"]}, timeout=30)
            assert resumed.status_code == 503 and "could not check a heap's owner" in resumed.json()["error"], resumed.text
            ended = {}

            def during_ended():
                ended.update(httpx.get(f"{base}/api/executions/{during['execution_id']}", timeout=30).json())
                return ended["status"] != "running"
            wait_until(during_ended)
            # Its new heap's owner could not be recorded: the run says so, and stores nothing half.
            assert ended["status"] == "failed" and "could not record a heap's owner" in ended["error"], ended
        finally:
            postgres_server.start()

        def recovered():
            return httpx.get(f"{base}/api/executions", timeout=30).status_code == 200
        wait_until(recovered)
        # Nothing finished is lost: what was saved before, and the run that ended while it was down.
        def all_saved():
            rows = postgres_server.psql("SELECT id FROM executions ORDER BY started_at", database).split()
            return rows == [before["execution_id"], during["execution_id"]]
        wait_until(all_saved)
        again = httpx.post(f"{base}/api/exec", json={"code": "n + 1", "heap": before["heap"], "session": "s"},
                           timeout=30).json()
        assert again["status"] == "completed" and again["result"] == 2, again
        logged = postgres_server.psql("SELECT convert_from(code, 'UTF8') FROM session_runs ORDER BY run_index", database)
        assert logged.splitlines() == ["var n = 1; n", "n + 1"]


def test_two_nodes_on_one_database_share_sessions_tags_and_executions(binary, tmp_path, postgres_server):
    url = postgres_server.new_database()

    async def scenario():
        async with raw_server("--directory-path", str(tmp_path), "--database-url", url) as first:
            made, _ = await run_js(first, "var shared = 5", session="team", tags={"kind": "shared"})
            async with raw_server("--directory-path", str(tmp_path), "--database-url", url) as second:
                # A generous inline wait: a loaded machine may take more than the default 2 s to start a worker.
                continued, is_error = await run_js(second, "shared + 1", heap=made["heap"], session="team",
                                                   inline_wait_ms=30000)
                assert (continued["result"], is_error) == (6, False), continued
                log, _ = await call(second, "list_session_snapshots", session="team")
                assert [entry["code"] for entry in log["snapshots"]] == ["var shared = 5", "shared + 1"]
                found, _ = await call(second, "query_heaps_by_tags", tags={"kind": "shared"})
                assert found["heaps"] == [made["heap"]]
                state, _ = await call(second, "get_execution", execution_id=made["execution_id"])
                assert state["status"] == "completed"
    run(scenario())
