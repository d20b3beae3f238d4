"""make bench, HTTP part: constant request rates against POST /api/exec, shaped like the seeds' table.

For each topology (a Node `http` + `vm.runInNewContext` server as the baseline; one mcp-v8 node
stateless, stateful with the local directory + SQLite, stateful with S3 + PostgreSQL; three nodes
behind nginx, stateless, and stateful with S3 + PostgreSQL, started by the cluster tests' harness)
and each target rate, requests of trivial code are started on a fixed schedule for a fixed
duration, and the run reports the achieved rate (answers of any status per second),
average/p95/p99 latency, success rate, dropped requests (those that could not start on schedule)
and the servers' CPU time per answer, host processes and workers apart (all nodes together), and
apart again that of nginx and of the shared stores a topology uses (SeaweedFS as S3 and
PostgreSQL, started once for the run by stores.py, a new bucket and database for each topology);
and what the shared stores cost, as a ratio of capacities (runs completed per second) against the
local stores. All the topologies' servers run side by side (an idle one costs nothing), and
each rate is measured on every topology in turn, in an order that alternates from rate to rate, so
that a drift of the machine's other load falls on all of them alike. Writes bench/results/load.md
(the tables), load-p95.png (p95 against rate) and load.json (raw numbers).

The generator is open-loop, here rather than Debian's `hey`: hey's workers each tick at the same
instant (c requests in one burst every 1/q s, not a steady rate), a worker whose request is slow
skips ticks unseen, and its CSV leaves out failed requests. This one starts request i at
start + i/rate on an idle keep-alive connection, opening one when none is idle, up to
MAX_CONNECTIONS in flight; a request due when all of them are busy is dropped, as k6's
constant-arrival-rate drops an iteration when no VU is free. Latency runs from writing the
request to reading its whole response, over every response (failed ones too, as k6 counts them).
Success is checked on each body: HTTP 200 with result 2 (stateless, Node) or status
"completed" (stateful; a 202 "running" is not a success).
"""
import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from procfs import cpu_seconds, process_tree
from stores import SharedStores

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")
BODY = json.dumps({"code": "1+1"}).encode()
# 1000/s at 256 ms each still finds a connection: past that the server has fallen behind.
MAX_CONNECTIONS = 256
# How long the in-flight requests may take to finish once the schedule is over.
GRACE_SECONDS = 10
# How long a server may take to finish what the previous point left running, before the next point.
SETTLE_SECONDS = 30
WARM_UP_RATE, WARM_UP_SECONDS = 100, 3
# A rate is held when every request went out on schedule and this share of them succeeded.
HELD_SUCCESS_PERCENT = 99.0
# The goals on 2 cores: (topology, rate, p95 ms).
GOALS = [("mcp-v8-stateless", 1000, 10.0), ("mcp-v8-stateful", 200, 50.0)]
# What the shared stores cost: (the topology with them, the same mode on one node's local stores).
# The issue aims for S3 + PostgreSQL within 15% of the local stores' stateful capacity.
AGAINST_LOCAL = [("mcp-v8-s3-postgres-stateful", "mcp-v8-stateful"),
                 ("3-nodes-nginx-s3-postgres-stateful", "mcp-v8-stateful"),
                 ("3-nodes-nginx-stateless", "mcp-v8-stateless")]
CAPACITY_AIM = 0.85


@dataclass
class Topology:
    name: str
    succeeded: Callable[[dict], bool]
    # Starts the server(s), logging into the topology's folder: a Server or a Cluster.
    launch: Callable[[], "Server | Cluster"]
    # CPU seconds used so far by each shared store the topology uses.
    services_cpu: Callable[[], dict[str, float]] = dict


def node_vm(binary: str, node: str, state: Path, stores: SharedStores | None) -> Topology:
    return Topology("node-vm", stateless_ok, lambda: Server([node, str(ROOT / "bench/node_exec_server.js"), "0"],
                                                            state / "server.log"))


def stateless(binary: str, node: str, state: Path, stores: SharedStores | None) -> Topology:
    return Topology("mcp-v8-stateless", stateless_ok,
                    lambda: Server([binary, "--stateless", "--http-port", "0"], state / "server.log"))


def stateful_local(binary: str, node: str, state: Path, stores: SharedStores | None) -> Topology:
    """Heaps in a directory, metadata in SQLite: one node's own disk."""
    return Topology("mcp-v8-stateful", stateful_ok, lambda: Server(
        [binary, "--http-port", "0", "--directory-path", str(state / "heaps"),
         "--session-db-path", str(state / "sessions")], state / "server.log"))


def stateful_shared(binary: str, node: str, state: Path, stores: SharedStores) -> Topology:
    """Heaps in S3 behind a local write-through cache, metadata in PostgreSQL: what nodes share."""
    return Topology("mcp-v8-s3-postgres-stateful", stateful_ok, lambda: Server(
        [binary, "--http-port", "0", "--s3-bucket", stores.new_bucket(), "--cache-dir", str(state / "cache"),
         "--database-url", stores.new_database()], state / "server.log", stores.environment()),
                    services_cpu=stores.cpu_seconds)


def cluster_stateless(binary: str, node: str, state: Path, stores: SharedStores | None) -> Topology:
    """Three stateless nodes behind nginx, round-robin: they need no store."""
    return Topology("3-nodes-nginx-stateless", stateless_ok, lambda: Cluster(3, binary, state, None))


def cluster_shared(binary: str, node: str, state: Path, stores: SharedStores) -> Topology:
    """Three stateful nodes behind nginx, round-robin, sharing one bucket and one database, each
    with its own cache."""
    return Topology("3-nodes-nginx-s3-postgres-stateful", stateful_ok, lambda: Cluster(3, binary, state, stores),
                    services_cpu=stores.cpu_seconds)


# Each topology's name and how to make it (the mcp-v8 binary, node, a folder of its own, the shared stores).
TOPOLOGIES = {"node-vm": node_vm, "mcp-v8-stateless": stateless, "mcp-v8-stateful": stateful_local,
              "mcp-v8-s3-postgres-stateful": stateful_shared, "3-nodes-nginx-stateless": cluster_stateless,
              "3-nodes-nginx-s3-postgres-stateful": cluster_shared}
NEED_STORES = {"mcp-v8-s3-postgres-stateful", "3-nodes-nginx-s3-postgres-stateful"}


def stateless_ok(body: dict) -> bool:
    return body.get("result") == 2


def stateful_ok(body: dict) -> bool:
    return body.get("status") == "completed"


class Server:
    """A server process on a free port; its stderr goes to a file (a pipe nobody reads would fill
    and stall it) where the port is read from the `listening on` line."""

    def __init__(self, command: list[str], log_path: Path, environment: dict[str, str] | None = None):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                            env={**os.environ, **(environment or {})})
        deadline = time.monotonic() + 30
        while not (match := LISTENING.search(log_path.read_text(errors="replace"))):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{command[0]} did not start listening:\n{self.log_tail()}")
            time.sleep(0.05)
        self.port = int(match.group(1))
        self.node_ports = [self.port]

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the server process and by its descendants (mcp-v8's workers)."""
        pid, *descendants = process_tree(self.process.pid)
        return cpu_seconds(pid), sum(cpu_seconds(child) for child in descendants)

    def services_cpu(self) -> dict[str, float]:
        return {}

    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Cluster:
    """mcp-v8 nodes behind nginx, started by the cluster tests' harness (Tests/EndToEnd/cluster.py,
    with nginx's shipped configuration, docs/deploy/nginx.conf); `port` is nginx's."""

    def __init__(self, nodes: int, binary: str, folder: Path, stores: SharedStores | None):
        from cluster import cluster
        self.running = contextlib.ExitStack()
        self.cluster = self.running.enter_context(
            cluster(nodes, stateless=stores is None, folder=folder, binary=binary,
                    postgres=stores and stores.postgres, s3=stores and stores.s3))
        self.port = int(self.cluster.url.rsplit(":", 1)[1])
        self.node_ports = [int(node.url.rsplit(":", 1)[1]) for node in self.cluster.nodes]

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the nodes' processes and by their workers, all nodes together."""
        trees = [process_tree(node.process.pid) for node in self.cluster.nodes]
        return (sum(cpu_seconds(pid) for pid, *_ in trees),
                sum(cpu_seconds(child) for _, *workers in trees for child in workers))

    def services_cpu(self) -> dict[str, float]:
        """nginx's master and worker processes."""
        return {"nginx": sum(cpu_seconds(pid) for pid in process_tree(self.cluster.nginx.pid))}

    def exited(self) -> bool:
        return any(node.process.poll() is not None for node in self.cluster.nodes) or self.cluster.nginx.poll() is not None

    def log_tail(self) -> str:
        return "\n".join(f"{node.name}: " + "\n".join(node.log().splitlines()[-10:]) for node in self.cluster.nodes)

    def stop(self) -> None:
        self.running.close()


def check_answer(port: int, topology: Topology) -> None:
    """One request outside the load, so a wrong answer stops the run with the body in view."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/exec", data=BODY,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status != 200 or not topology.succeeded(json.loads(text)):
        raise RuntimeError(f"{topology.name}: unexpected answer to 1+1: HTTP {status} {text}")


class Connection(asyncio.Protocol):
    """A keep-alive connection carrying one request at a time. The answer is timed and judged in the
    callback that completes it, so no task wakes per request: the generator shares the cores."""

    def __init__(self, load: "ConstantRate"):
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.started: float | None = None  # when the request in flight was written

    def connection_made(self, transport):
        self.transport = transport

    def send(self) -> None:
        self.buffer = b""
        self.started = self.load.loop.time()
        self.transport.write(self.load.next_request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip().lower()
                   for name, _, value in (line.partition(":") for line in head[1:])}
        if "content-length" not in headers:  # /api/exec answers are whole JSON documents, never chunked
            self.load.finish(self, "response without Content-Length", reusable=False)
            return
        body = self.buffer[head_end + 4:]
        if len(body) < int(headers["content-length"]):
            return
        status = int(head[0].split(" ", 2)[1])
        if status != 200:
            outcome = f"HTTP {status}"
        else:
            outcome = "success" if self.load.succeeded(json.loads(body)) else "wrong answer"
        self.load.finish(self, outcome, reusable=headers.get("connection") != "close")

    def connection_lost(self, exc) -> None:
        self.load.lost(self)


class ConstantRate:
    """Starts request i at start + i/rate on an idle connection, or a new one while fewer than
    MAX_CONNECTIONS are open; with all of them busy, the request is dropped."""

    def __init__(self, port: int, succeeded: Callable[[dict], bool], unique_heaps: bool = False):
        self.port = port
        self.succeeded = succeeded
        self.unique_heaps = unique_heaps
        self.sent = 0
        self.request = self.http_request(BODY)

    def http_request(self, body: bytes) -> bytes:
        return (f"POST /api/exec HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    def next_request(self) -> bytes:
        """`1+1`; with unique_heaps, after a statement that leaves the request's number in the heap,
        so that no two runs leave the same heap and every store has to write each one (heaps are
        content-addressed, and a store finds a heap it already holds)."""
        self.sent += 1
        if not self.unique_heaps:
            return self.request
        return self.http_request(json.dumps({"code": f"globalThis.request = {self.sent}; 1+1"}).encode())

    async def run(self, rate: int, duration: float) -> dict:
        self.loop = asyncio.get_running_loop()
        self.idle: deque[Connection] = deque()
        self.connections: set[Connection] = set()
        self.opening = 0
        self.in_flight = 0
        self.latencies: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.last_answer = 0.0
        self.all_answered: asyncio.Event | None = None  # made once the schedule is over
        cpu_before = time.process_time()
        scheduled = round(rate * duration)
        dropped = 0
        start = self.loop.time() + 0.01
        for i in range(scheduled):
            delay = start + i / rate - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.idle:
                self.in_flight += 1
                # The longest idle: every connection stays in use, so none reaches a keep-alive timeout.
                self.idle.popleft().send()
            elif len(self.connections) + self.opening < MAX_CONNECTIONS:
                self.in_flight += 1
                self.opening += 1
                self.loop.create_task(self.open_and_send())
            else:
                dropped += 1
        self.all_answered = asyncio.Event()
        if self.in_flight:
            try:
                await asyncio.wait_for(self.all_answered.wait(), GRACE_SECONDS)
            except TimeoutError:
                self.outcomes["no answer in time"] = self.in_flight
        for connection in self.connections:
            connection.started = None  # closed by us: not a connection error
            connection.transport.close()
        self.connections.clear()
        # Like k6's iterations/s: answers over the whole run, the wait for the last answers included.
        elapsed = max(duration, self.last_answer - start)
        cpu = time.process_time() - cpu_before
        return self.summary(rate, duration, scheduled, dropped, elapsed, cpu)

    async def open_and_send(self) -> None:
        try:
            _, connection = await self.loop.create_connection(lambda: Connection(self), "127.0.0.1", self.port)
        except OSError:
            self.opening -= 1
            self.finish(None, "connection error", reusable=False)
            return
        self.opening -= 1
        self.connections.add(connection)
        connection.send()

    def finish(self, connection: Connection | None, outcome: str, reusable: bool) -> None:
        self.outcomes[outcome] += 1
        if connection:
            if outcome != "connection error":
                self.last_answer = self.loop.time()
                self.latencies.append(self.last_answer - connection.started)
            connection.started = None
            if reusable:
                self.idle.append(connection)
            else:
                self.connections.discard(connection)
                connection.transport.close()
        self.in_flight -= 1
        if self.in_flight == 0 and self.all_answered:
            self.all_answered.set()

    def lost(self, connection: Connection) -> None:
        if connection.started is not None:
            self.finish(connection, "connection error", reusable=False)
        elif connection in self.connections:  # closed by the server while idle
            self.connections.discard(connection)
            self.idle.remove(connection)

    def summary(self, rate: int, duration: float, scheduled: int, dropped: int, elapsed: float, cpu: float) -> dict:
        latencies, outcomes = sorted(self.latencies), self.outcomes
        sent = scheduled - dropped

        def percentile(p: float) -> float | None:
            return latencies[max(0, math.ceil(p / 100 * len(latencies)) - 1)] * 1000 if latencies else None

        success_percent = 100 * outcomes["success"] / sent if sent else 0.0
        return {
            "target_rate": rate,
            "duration_s": duration,
            "scheduled": scheduled,
            "sent": sent,
            "dropped": dropped,
            "answered": len(latencies),
            "achieved_rate": len(latencies) / elapsed,
            "succeeded_rate": outcomes["success"] / elapsed,
            "avg_ms": sum(latencies) / len(latencies) * 1000 if latencies else None,
            "p95_ms": percentile(95),
            "p99_ms": percentile(99),
            "success_percent": success_percent,
            "outcomes": dict(outcomes),
            "held": dropped == 0 and success_percent >= HELD_SUCCESS_PERCENT,
            "generator_cpu_percent": 100 * cpu / elapsed,
        }


def measure(topologies: list[Topology], rates: list[int], duration: float, unique_heaps: bool = False) -> list[dict]:
    """Starts every topology's server, warms each up, then measures each rate on all of them in turn
    (forwards at one rate, backwards at the next). With unique_heaps, every stateful run leaves a heap
    of its own (ConstantRate.next_request)."""
    with contextlib.ExitStack() as running:
        servers = {}
        for topology in topologies:
            print(f"{topology.name}: starting", file=sys.stderr)
            servers[topology.name] = topology.launch()
            running.callback(servers[topology.name].stop)
            check_answer(servers[topology.name].port, topology)
        loads = {}
        for topology in topologies:
            print(f"{topology.name}: warming up ({WARM_UP_RATE}/s for {WARM_UP_SECONDS} s)", file=sys.stderr)
            loads[topology.name] = ConstantRate(servers[topology.name].port, topology.succeeded,
                                                unique_heaps and topology.succeeded is stateful_ok)
            asyncio.run(loads[topology.name].run(WARM_UP_RATE, WARM_UP_SECONDS))
            settle(servers[topology.name].node_ports)
        points = []
        for index, rate in enumerate(rates):
            for topology in topologies if index % 2 == 0 else topologies[::-1]:
                points.append(measure_point(topology, servers[topology.name], loads[topology.name], rate, duration))
        for topology in topologies:
            if servers[topology.name].exited():
                raise RuntimeError(f"{topology.name} exited during the run:\n{servers[topology.name].log_tail()}")
    order = [t.name for t in topologies]
    return sorted(points, key=lambda p: (order.index(p["topology"]), p["target_rate"]))


def measure_point(topology: Topology, server: "Server | Cluster", load: "ConstantRate", rate: int,
                  duration: float) -> dict:
    host_before, workers_before = server.cpu_seconds()
    services_before = {**topology.services_cpu(), **server.services_cpu()}
    completed_before = completed_runs(server.node_ports)
    started = time.monotonic()
    point = asyncio.run(load.run(rate, duration))
    # Runs still going (answered 202) or queued when the schedule ended are this point's too: their
    # CPU, and the time the server takes to finish them.
    settle(server.node_ports)
    busy = time.monotonic() - started
    host_after, workers_after = server.cpu_seconds()
    services_after = {**topology.services_cpu(), **server.services_cpu()}
    point["topology"] = topology.name
    if completed_before is not None:
        point["completed_per_second"] = (completed_runs(server.node_ports) - completed_before) / busy
    # Where the CPU went, per answer: what bounds the rate 2 cores can sustain.
    answered = max(point["answered"], 1)
    point["host_cpu_ms_per_answer"] = 1000 * (host_after - host_before) / answered
    point["workers_cpu_ms_per_answer"] = 1000 * max(0.0, workers_after - workers_before) / answered
    point["services_cpu_ms_per_answer"] = {name: 1000 * max(0.0, services_after[name] - before) / answered
                                           for name, before in services_before.items()}
    print(f"{topology.name} {rate}/s: {point['achieved_rate']:.0f}/s, p95 {fmt(point['p95_ms'])} ms, "
          f"success {point['success_percent']:.1f}%, dropped {point['dropped']}, "
          f"completed {fmt(point.get('completed_per_second'), 0)}/s, "
          f"generator CPU {point['generator_cpu_percent']:.0f}%", file=sys.stderr)
    return point


def metrics(port: int) -> str | None:
    """mcp-v8's Prometheus text, or None from a server without /metrics (Node's). A server at its
    limit on a busy machine can take seconds to answer: it is asked again for up to a minute."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as response:
                return response.read().decode()
        except urllib.error.HTTPError:
            return None
        except (urllib.error.URLError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def metric_sum(text: str, pattern: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{pattern} (\S+)$", text, re.MULTILINE))


def completed_runs(ports: list[int]) -> float | None:
    """Runs completed so far by the nodes on these ports, together; None for Node's server."""
    texts = [metrics(port) for port in ports]
    if None in texts:
        return None
    return sum(metric_sum(text, r'mcpv8_executions_total\{status="completed"\}') for text in texts)


def settle(ports: list[int]) -> None:
    """Waits until a point's leftovers (stateful runs answered 202 go on running, and queued ones
    wait) are done, so the next point starts on an idle server: mcp-v8's /metrics shows no queued
    run and no busy worker, for at most SETTLE_SECONDS. Node's server has no /metrics and keeps
    nothing running: a second is enough."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        texts = [metrics(port) for port in ports]
        if None in texts:
            time.sleep(1)
            return
        if sum(metric_sum(text, r"(?:mcpv8_queue_depth|mcpv8_busy_workers)\S*") for text in texts) == 0:
            return
        time.sleep(0.1)


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def failures(point: dict) -> str:
    return ", ".join(f"{kind} ×{count}" for kind, count in sorted(point["outcomes"].items()) if kind != "success")


def p95_cell(point: dict) -> str:
    return fmt(point["p95_ms"]) + ("" if point["held"] else " (rate not held)")


def markdown(points: list[dict], duration: float, node_version: str, unique_heaps: bool, loads: list[float]) -> str:
    code = "`1+1` (stateful: `globalThis.request = N; 1+1`, a heap of its own each)" if unique_heaps else "`1+1`"
    lines = [
        f"Constant request rates for {duration:g} s each against `POST /api/exec` with {code}, "
        f"{os.cpu_count()} cores, server and generator on the same machine, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"load average (1 min) {loads[0]:.2f} at the start and {loads[-1]:.2f} at the end."
        + (f" Baseline `node-vm`: Node {node_version} `http` + `vm.runInNewContext` (bench/node_exec_server.js)."
           if any(p["topology"] == "node-vm" for p in points) else ""),
        "",
        "| Topology | Target Rate | Actual Iter/s | Exec Avg (ms) | Exec p95 (ms) | Exec p99 (ms) | Success % | Dropped | Failures |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in points:
        lines.append(f"| {p['topology']} | {p['target_rate']}/s | {p['achieved_rate']:.1f} | {fmt(p['avg_ms'])} | "
                     f"{fmt(p['p95_ms'])} | {fmt(p['p99_ms'])} | {p['success_percent']:.1f} | {p['dropped']} | "
                     f"{failures(p)} |")
    by_key = {(p["topology"], p["target_rate"]): p for p in points}
    rates = sorted({p["target_rate"] for p in points})
    if any(("node-vm", r) in by_key and ("mcp-v8-stateless", r) in by_key for r in rates):
        lines += ["", "p95 ratio, baseline / mcp-v8 stateless (above 1, mcp-v8 is faster):", "",
                  "| Target Rate | node-vm p95 (ms) | mcp-v8-stateless p95 (ms) | ratio |", "| --- | --- | --- | --- |"]
        for r in rates:
            node, ours = by_key.get(("node-vm", r)), by_key.get(("mcp-v8-stateless", r))
            if node and ours and node["p95_ms"] and ours["p95_ms"]:
                lines.append(f"| {r}/s | {p95_cell(node)} | {p95_cell(ours)} | {node['p95_ms'] / ours['p95_ms']:.2f} |")
    goals = [(name, rate, limit, by_key[(name, rate)]) for name, rate, limit in GOALS if (name, rate) in by_key]
    if goals:
        lines += ["", f"Goals (held: no request dropped, at least {HELD_SUCCESS_PERCENT:g}% succeeded):", ""]
        for name, rate, limit, p in goals:
            met = p["held"] and p["p95_ms"] is not None and p["p95_ms"] <= limit
            lines.append(f"- {name} holds {rate}/s with p95 ≤ {limit:g} ms: {'met' if met else 'NOT met'} "
                         f"(p95 {fmt(p['p95_ms'])} ms, success {p['success_percent']:.1f}%, dropped {p['dropped']})")
    services = list(dict.fromkeys(name for p in points for name in p["services_cpu_ms_per_answer"]))
    lines += ["", "Server CPU per answered request (from /proc: the server process, and its worker processes for "
              "mcp-v8, all nodes together" + (f"; apart, the processes the nodes share: {', '.join(services)}" if services else "")
              + "), and the rate that CPU allows on this machine's cores if nothing else ran:", "",
              "| Topology | Target Rate | Host CPU (ms) | Workers CPU (ms) | "
              + "".join(f"{name} CPU (ms) | " for name in services) + "Rate the CPU allows |",
              "| --- | --- | --- | --- | " + "--- | " * len(services) + "--- |"]
    for p in points:
        own = p["services_cpu_ms_per_answer"]
        total = p["host_cpu_ms_per_answer"] + p["workers_cpu_ms_per_answer"] + sum(own.values())
        allowed = f"{os.cpu_count() * 1000 / total:.0f}/s" if total > 0 else "n/a"
        lines.append(f"| {p['topology']} | {p['target_rate']}/s | {p['host_cpu_ms_per_answer']:.2f} | "
                     f"{p['workers_cpu_ms_per_answer']:.2f} | "
                     + "".join(f"{own[name]:.2f} | " if name in own else "— | " for name in services) + f"{allowed} |")
    lines += against_local(points)
    lines += ["", f"The generator (one Python process) used at most "
              f"{max(p['generator_cpu_percent'] for p in points):.0f}% of a core.",
              "", "![p95 latency against target rate](load-p95.png)", ""]
    return "\n".join(lines)


def completed(point: dict) -> float:
    """Runs completed per second from the point's start until its server(s) had finished every run
    (Node's server, without /metrics: successful answers per second)."""
    return point.get("completed_per_second", point["succeeded_rate"])


def cpu_ms(point: dict, shared_processes: bool) -> float:
    """CPU per answer of the servers, and with `shared_processes` of nginx and the stores too."""
    servers = point["host_cpu_ms_per_answer"] + point["workers_cpu_ms_per_answer"]
    return servers + (sum(point["services_cpu_ms_per_answer"].values()) if shared_processes else 0.0)


def against_local(points: list[dict]) -> list[str]:
    """Each topology with shared stores against the same mode on one node's local stores, compared
    rate by rate (the two were measured minutes apart at most, one right after the other)."""
    by_key = {(p["topology"], p["target_rate"]): p for p in points}
    rows = []
    for shared, local in AGAINST_LOCAL:
        rates = sorted(r for (name, r) in by_key if name == shared and (local, r) in by_key)
        if not rates:
            continue
        pairs = [(r, by_key[(shared, r)], by_key[(local, r)]) for r in rates]
        # Where either missed its target, the runs it completed per second are its capacity.
        capacities = [(r, completed(mine) / completed(theirs)) for r, mine, theirs in pairs
                      if not (mine["held"] and theirs["held"]) and completed(theirs) > 0]
        servers = [cpu_ms(theirs, False) / cpu_ms(mine, False) for _, mine, theirs in pairs if cpu_ms(mine, False) > 0]
        everything = [cpu_ms(theirs, True) / cpu_ms(mine, True) for _, mine, theirs in pairs if cpu_ms(mine, True) > 0]
        rows.append(f"| {shared} | {local} | "
                    + (", ".join(f"{r}/s: {ratio:.2f}" for r, ratio in capacities) or "both held every rate")
                    + f" | {fmt(statistics.median(c for _, c in capacities) if capacities else None)} | "
                    f"{fmt(statistics.median(servers) if servers else None)} | "
                    f"{fmt(statistics.median(everything) if everything else None)} |")
    if not rows:
        return []
    return ["", "What the shared stores cost, against the same mode on one node's local directory + SQLite "
            f"(the aim: a capacity ratio of at least {CAPACITY_AIM:g}). Capacity ratio: runs completed per second "
            "(mcpv8_executions_total from /metrics, from the start of the schedule until every run had finished), "
            "shared / local, at each rate one of the two did not hold. CPU ratio: local / shared CPU per answer (the "
            "rate the CPU allows, shared / local), the median over the rates: of the servers alone (as with the "
            "stores on other machines), and with nginx and the stores added (as here, on the same cores):", "",
            "| Topology | against | capacity ratio at each rate | median | servers' CPU ratio | with nginx and "
            "the stores |", "| --- | --- | --- | --- | --- | --- |", *rows]


def plot(points: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9.5, 4.5))
    plotted = list(dict.fromkeys(p["topology"] for p in points))
    rates = sorted({p["target_rate"] for p in points})
    for name in plotted:
        mine = [p for p in points if p["topology"] == name and p["p95_ms"] is not None]
        line, = axes.plot([p["target_rate"] for p in mine], [p["p95_ms"] for p in mine], marker="o", label=name)
        # Hollow markers: rates not held, whose p95 may count quick refusals.
        missed = [p for p in mine if not p["held"]]
        axes.plot([p["target_rate"] for p in missed], [p["p95_ms"] for p in missed], "o", markersize=10,
                  color=line.get_color(), markerfacecolor="white")
    for name, rate, limit in [goal for goal in GOALS if goal[0] in plotted and goal[1] in rates]:
        axes.plot([rate], [limit], "x", color="gray")
        axes.annotate(f"goal {name.removeprefix('mcp-v8-')}", (rate, limit), textcoords="offset points",
                      xytext=(-4, 6), ha="right", fontsize=8, color="gray")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(rates, [str(r) for r in rates])
    axes.minorticks_off()
    axes.set_xlabel("target rate (requests/s)")
    axes.set_ylabel("p95 latency (ms)")
    axes.set_title(f"POST /api/exec 1+1, {os.cpu_count()} cores (hollow: rate not held)")
    axes.grid(True, which="both", alpha=0.3)
    # Beside the plot: six topologies inside it would hide points and the goals.
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="the mcp-v8 binary (needed unless only node-vm runs)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per rate (default 10)")
    parser.add_argument("--rates", default="100,200,500,1000", help="requests per second, comma-separated")
    parser.add_argument("--topologies", default=",".join(TOPOLOGIES))
    parser.add_argument("--unique-heaps", action="store_true",
                        help="stateful runs each leave a heap of their own (`globalThis.request = N; 1+1`) instead of "
                             "all the same one, so every store writes every heap")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    names = args.topologies.split(",")

    node = shutil.which("node")
    if "node-vm" in names and not node:
        sys.exit("load.py: the baseline needs Node.js's `node` on PATH (scripts/setup bench installs Debian's nodejs)")
    if any(n.startswith("mcp-v8") for n in names) and not (args.binary and os.access(args.binary, os.X_OK)):
        sys.exit(f"load.py: --binary must name the mcp-v8 executable (got {args.binary!r})")
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip() if node else "n/a"

    unknown = set(names) - set(TOPOLOGIES)
    if unknown:
        sys.exit(f"load.py: unknown topologies {sorted(unknown)}; known: {', '.join(TOPOLOGIES)}")
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="mcp-v8-load-") as directory, contextlib.ExitStack() as services:
        workdir = Path(directory)
        stores = services.enter_context(SharedStores()) if any(n in NEED_STORES for n in names) else None
        for name in names:
            (workdir / name).mkdir()
        topologies = [TOPOLOGIES[name](args.binary, node, workdir / name, stores) for name in names]
        points = measure(topologies, rates, args.duration, args.unique_heaps)

    loads.append(os.getloadavg()[0])
    table = markdown(points, args.duration, node_version, args.unique_heaps, loads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "load.md").write_text(table)
    (args.out_dir / "load.json").write_text(json.dumps({"cores": os.cpu_count(), "node": node_version,
                                                        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                                                        "unique_heaps": args.unique_heaps, "load_average": loads,
                                                        "points": points}, indent=2))
    plot(points, args.out_dir / "load-p95.png")
    print(table)


if __name__ == "__main__":
    main()
