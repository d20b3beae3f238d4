"""Any node answers for any execution (issue 19, item 4): two mcp-v8 nodes (REST, distinct
--node-name) share one PostgreSQL database and one heap directory. A run on node A is listed and
paged from node B while it prints, cancelled from B, and reported failed by B when A is killed
or stopped past its lease; a stopped node that comes back cannot overwrite that verdict.
Leases are 5 s and heartbeats 1 s (docs/deploy/postgresql.md); waits are bounded polls."""
import contextlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx

from conftest import http_server_process

# How long a survivor may take to report a silent node: the lease, a heartbeat, and a margin for a
# busy machine.
VERDICT_WITHIN = 15

PRINTS_SLOWLY = """
for (let i = 0; i < %d; i++) {
    console.log("line " + i);
    await new Promise(resolve => setTimeout(resolve, 100));
}
"done"
"""


@contextlib.contextmanager
def nodes(tmp_path, url, *names):
    """Starts one node per name on the shared database and heap directory; yields {name: (url, process, log)}."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(http_server_process(
            "--http-port", "0", "--directory-path", str(tmp_path / "heaps"), "--database-url", url,
            "--node-name", name)) for name in names}


def wait_for(what, check, seconds):
    """Polls `check` until it returns something truthy, for at most `seconds`; returns that."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up after {seconds} s waiting for {what}"
        time.sleep(0.1)


def start(base, code):
    answer = httpx.post(f"{base}/api/exec", json={"code": code, "inline_wait_ms": 0}, timeout=30)
    assert answer.status_code == 202, answer.text
    return answer.json()["execution_id"]


def execution(base, id):
    return httpx.get(f"{base}/api/executions/{id}", timeout=30).json()


def output(base, id, **paging):
    return httpx.get(f"{base}/api/executions/{id}/output", params=paging, timeout=30).json()


def stored_lines(sessions: Path, id: str) -> int:
    """The output lines of execution `id` in the SQLite metadata file, read beside the running server."""
    with contextlib.closing(sqlite3.connect(sessions / "sessions.sqlite3", timeout=10)) as database:
        return database.execute("SELECT count(*) FROM execution_output WHERE execution_id = ?", (id,)).fetchone()[0]


def log_of(log):
    log.seek(0)
    return log.read()


def test_a_run_on_one_node_is_listed_and_paged_from_another_while_it_prints(binary, tmp_path, postgres_server):
    with nodes(tmp_path, postgres_server.new_database(), "node-a", "node-b") as cluster:
        a, b = cluster["node-a"][0], cluster["node-b"][0]
        id = start(a, PRINTS_SLOWLY % 30)

        # B sees A's run running, in its list and with its output so far, a fraction of a second late.
        listed = httpx.get(f"{b}/api/executions", timeout=30).json()["executions"]
        assert [(e["execution_id"], e["status"]) for e in listed] == [(id, "running")], listed
        seen = wait_for("B to see 5 lines", lambda: (page := output(b, id)) and page["total_lines"] >= 5 and page, 10)
        assert seen["status"] == "running", seen
        page = output(b, id, line_offset=2, line_limit=3)
        assert (page["data"], page["next_line_offset"]) == ("line 2\nline 3\nline 4\n", 5), page
        page = output(b, id, byte_offset=7, byte_limit=7)
        assert (page["data"], page["line_offset"], page["next_byte_offset"]) == ("line 1\n", 1, 14), page

        ended = wait_for("the run to end", lambda: (state := execution(b, id))["status"] != "running" and state, 20)
        assert (ended["status"], ended["result"]) == ("completed", "done"), ended
        on_b, on_a = output(b, id, line_limit=100), output(a, id, line_limit=100)
        assert on_b["total_lines"] == 30 and on_b["data"] == "".join(f"line {i}\n" for i in range(30)), on_b
        assert on_a["data"] == on_b["data"] and execution(a, id)["status"] == "completed"


def test_a_cancel_on_one_node_stops_the_run_on_another(binary, tmp_path, postgres_server):
    with nodes(tmp_path, postgres_server.new_database(), "node-a", "node-b") as cluster:
        a, b = cluster["node-a"][0], cluster["node-b"][0]
        id = start(a, PRINTS_SLOWLY % 600)
        wait_for("the run to print", lambda: output(b, id)["total_lines"] >= 3, 10)

        answer = httpx.post(f"{b}/api/executions/{id}/cancel", timeout=30).json()
        assert answer["status"] == "cancelled", answer
        assert answer["message"] == "Cancellation requested from node node-a; it ended cancelled.", answer
        assert execution(a, id)["status"] == "cancelled" and execution(b, id)["status"] == "cancelled"
        assert output(a, id, line_limit=1000)["data"] == output(b, id, line_limit=1000)["data"]
        printed = output(b, id, line_limit=1000)["total_lines"]
        assert 3 <= printed < 600, printed

        again = httpx.post(f"{b}/api/executions/{id}/cancel", timeout=30).json()
        assert again["message"] == "The execution had already ended (cancelled).", again
        unknown = httpx.post(f"{b}/api/executions/no-such-execution/cancel", timeout=30)
        assert unknown.status_code == 404, unknown.text


def test_a_killed_node_s_run_is_reported_failed_by_the_survivor(binary, tmp_path, postgres_server):
    with nodes(tmp_path, postgres_server.new_database(), "node-a", "node-b") as cluster:
        (a, process, _), b = cluster["node-a"], cluster["node-b"][0]
        id = start(a, PRINTS_SLOWLY % 600)
        wait_for("the run to print", lambda: output(b, id)["total_lines"] >= 3, 10)
        os.kill(process.pid, signal.SIGKILL)

        ended = wait_for("B's verdict", lambda: (state := execution(b, id))["status"] != "running" and state,
                         VERDICT_WITHIN)
        assert (ended["status"], ended["error"]) == ("failed", "node node-a stopped answering"), ended
        assert output(b, id)["total_lines"] >= 3


def test_a_node_stopped_past_its_lease_cannot_overwrite_the_survivor_s_verdict(binary, tmp_path, postgres_server):
    url = postgres_server.new_database()
    database = url.split("/")[-1].split("?")[0]
    with nodes(tmp_path, url, "node-a", "node-b") as cluster:
        (a, process, log), b = cluster["node-a"], cluster["node-b"][0]
        id = start(a, PRINTS_SLOWLY % 100)
        wait_for("the run to print", lambda: output(b, id)["total_lines"] >= 3, 10)
        os.kill(process.pid, signal.SIGSTOP)
        try:
            ended = wait_for("B's verdict", lambda: (state := execution(b, id))["status"] != "running" and state,
                             VERDICT_WITHIN)
            assert (ended["status"], ended["error"]) == ("failed", "node node-a stopped answering"), ended
        finally:
            os.kill(process.pid, signal.SIGCONT)

        # A finds its lease lost, stops the run, and its late final write is fenced off.
        wait_for("A to notice", lambda: "node node-a lost its lease" in log_of(log), 10)
        wait_for("A's fenced write", lambda: f"execution {id} ended" in log_of(log), 10)
        assert "but its lease (epoch" in log_of(log)
        for node in (a, b):
            state = execution(node, id)
            assert (state["status"], state["error"]) == ("failed", "node node-a stopped answering"), state
        stored = postgres_server.psql(f"SELECT status, epoch IS NULL FROM executions WHERE id = '{id}'", database)
        assert stored.strip() == "failed|t", stored

        # A registered again and runs as before.
        again = httpx.post(f"{a}/api/exec", json={"code": "1 + 1"}, timeout=30).json()
        assert (again["status"], again["result"]) == ("completed", 2), again
        assert execution(b, again["execution_id"])["status"] == "completed"


def test_a_cancel_reaches_the_other_node_after_a_postgres_restart(binary, tmp_path, postgres_server):
    with nodes(tmp_path, postgres_server.new_database(), "node-a", "node-b") as cluster:
        a, b = cluster["node-a"][0], cluster["node-b"][0]
        id = start(a, PRINTS_SLOWLY % 600)
        wait_for("the run to print", lambda: output(b, id)["total_lines"] >= 3, 10)
        postgres_server.stop()
        postgres_server.start()

        # A listens again by itself; until it does, B's answer says the cancel is not confirmed yet.
        def cancelled():
            answer = httpx.post(f"{b}/api/executions/{id}/cancel", timeout=30)
            return answer.status_code == 200 and answer.json()["status"] == "cancelled" and answer.json()
        answer = wait_for("the cancel to reach node-a", cancelled, 20)
        assert answer["message"] in ("Cancellation requested from node node-a; it ended cancelled.",
                                     "The execution had already ended (cancelled)."), answer
        # Nobody was declared dead for the database's absence.
        assert "stopped answering" not in (execution(a, id).get("error") or "")


def test_a_run_a_killed_server_left_is_reported_failed_at_its_next_start(binary, tmp_path):
    flags = ("--http-port", "0", "--directory-path", str(tmp_path / "heaps"),
             "--session-db-path", str(tmp_path / "sessions"))
    with http_server_process(*flags) as (base, process, _):
        id = start(base, PRINTS_SLOWLY % 600)
        # Killed once three lines are in the database (output reaches it in batches every 100 ms;
        # what was printed after the last batch dies with the process).
        wait_for("three lines to be stored", lambda: stored_lines(tmp_path / "sessions", id) >= 3, 10)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    with http_server_process(*flags) as (base, _, _):
        state = execution(base, id)
        assert (state["status"], state["error"]) == ("failed", "the server stopped while it ran"), state
        assert output(base, id)["total_lines"] >= 3
        listed = httpx.get(f"{base}/api/executions", timeout=30).json()["executions"]
        assert [(e["execution_id"], e["status"]) for e in listed] == [(id, "failed")], listed
