"""make bench: mcp-v8's numbers next to a baseline measured in the same run.

Measures
  1. a fresh isolate from the runtime snapshot plus running 1+1 (C API, bench/engine.cpp),
     against Node's vm.runInNewContext('1+1') (a fresh context per call) as the baseline;
  2. stateless executions per second through the worker pool: JSON-RPC tools/call requests
     pipelined over stdio by a minimal client (the official Python client tops out below the
     server), and the same with the official client and many calls in flight;
  3. the stdio round trip of run_js 1+1, client to result (median of sequential calls);
  4. stateful mode: executions per second through the server, and checkpointed runs and heap
     envelopes through the C API;
  5. idle memory of the host plus its workers: RSS summed (counts the shared libnode and Swift
     library pages once per process) and PSS summed (shares them out: the memory really used).
Writes bench/results/latest.json and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from procfs import process_tree

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def build_engine_bench() -> Path:
    prefix = Path(os.environ.get("MCPV8_LIBNODE", ROOT / "vendor/libnode/usr"))
    lib = prefix / "lib/x86_64-linux-gnu"
    output = ROOT / ".build/bench-engine"
    sources = [str(ROOT / "bench/engine.cpp"), *map(str, sorted((ROOT / "Sources/CV8").glob("*.cpp")))]
    compiler = shutil.which("clang++") or "/opt/swift/usr/bin/clang++"
    subprocess.run([compiler, "-std=c++17", "-O2", "-fno-rtti", "-Wno-c23-extensions",
                    "-I", str(prefix / "include/node"), "-I", str(ROOT / "Sources/CV8/include"),
                    f"--embed-dir={ROOT / 'vendor/acorn/usr/share/nodejs/acorn/dist'}",
                    *sources, "-o", str(output), "-L", str(lib), "-lnode", "-llz4", "-lcrypto", "-lpthread",
                    f"-Wl,-rpath,{lib}"], check=True)
    return output


def engine_numbers(iterations: int) -> dict:
    output = subprocess.run([str(build_engine_bench()), str(iterations)], check=True, capture_output=True, text=True)
    return json.loads(output.stdout)


NODE_BASELINE = r"""
const vm = require('vm');
const n = +process.argv[1];
const samples = [];
for (let i = 0; i < n; i++) {
  const t = process.hrtime.bigint();
  if (vm.runInNewContext('1+1') !== 2) process.exit(2);
  samples.push(Number(process.hrtime.bigint() - t) / 1e6);
}
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ run_in_new_context_ms: samples[samples.length >> 1], node: process.version }));
"""


def node_numbers(iterations: int) -> dict:
    node = shutil.which("node")
    if not node:
        return {"run_in_new_context_ms": None, "node": "not installed"}
    output = subprocess.run([node, "-e", NODE_BASELINE, str(iterations)], check=True, capture_output=True, text=True)
    return json.loads(output.stdout)


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class MinimalClient:
    """JSON-RPC over the server's stdio with no MCP library, so the client costs next to nothing."""

    def __init__(self, *args: str):
        self.server = subprocess.Popen(list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL)
        self.send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
        self.server.stdin.flush()
        self.server.stdout.readline()
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.server.stdin.write((json.dumps(message) + "\n").encode())

    def send_run_js(self, request_id, arguments):
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                   "params": {"name": "run_js", "arguments": arguments}})

    def receive(self):
        return json.loads(self.server.stdout.readline())

    def pipelined(self, calls: int, arguments: dict, expected) -> float:
        """Calls per second when one thread writes `calls` run_js requests back to back while this
        one reads the answers, each checked to carry `expected` as its result."""
        import threading

        def writer():
            for i in range(calls):
                self.send_run_js(i + 1, arguments)
            self.server.stdin.flush()

        started = time.perf_counter()
        thread = threading.Thread(target=writer)
        thread.start()
        for _ in range(calls):
            answer = self.receive()
            if answer["result"].get("structuredContent", {}).get("result") != expected:
                raise RuntimeError(f"unexpected answer: {answer}")
        elapsed = time.perf_counter() - started
        thread.join()
        return calls / elapsed

    def close(self):
        self.server.stdin.close()
        self.server.wait(timeout=30)


def stateful_throughput(binary: str, calls: int) -> float:
    """Stateful run_js calls of trivial code on new heaps, written back to back; each answers
    when its run has ended and its heap is stored (inline_wait_ms at its maximum)."""
    import tempfile
    with tempfile.TemporaryDirectory() as directory:
        client = MinimalClient(binary, "--directory-path", f"{directory}/heaps", "--session-db-path",
                               f"{directory}/sessions", "--max-queued-executions", str(calls + 100))
        rate = client.pipelined(calls, {"code": "var x = 1; x", "inline_wait_ms": 60000}, expected=1)
        client.close()
        return rate


def minimal_client_numbers(binary: str, calls: int, round_trips: int) -> dict:
    """Sequential round trips, then pipelined calls, of stateless run_js 1+1."""
    # Every request is in flight at once, so the queue must hold them all.
    client = MinimalClient(binary, "--stateless", "--max-queued-executions", str(calls + 100))
    one_plus_one = {"code": "1+1"}
    for i in range(100):  # warm-up
        client.send_run_js(-1 - i, one_plus_one)
    client.server.stdin.flush()
    for _ in range(100):
        client.receive()

    samples = []
    for i in range(round_trips):
        started = time.perf_counter()
        client.send_run_js(-1000 - i, one_plus_one)
        client.server.stdin.flush()
        client.receive()
        samples.append((time.perf_counter() - started) * 1000)

    rate = client.pipelined(calls, one_plus_one, expected=2)
    client.close()
    return {"pipelined_executions_per_second": rate,
            "minimal_client_round_trip_median_ms": statistics.median(samples)}


async def server_numbers(binary: str, round_trips: int, throughput_calls: int, in_flight: int) -> dict:
    params = StdioServerParameters(command=binary, args=["--stateless"])
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()

                async def call(code="1+1"):
                    result = await session.call_tool("run_js", {"code": code})
                    if result.isError or result.structuredContent.get("result") != 2:
                        raise RuntimeError(f"unexpected result: {result}")

                for _ in range(50):  # warm-up: workers ready, code paths hot
                    await call()
                await asyncio.sleep(1)
                server_pid = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                                  and (p / "cmdline").exists()
                                  and (p / "cmdline").read_bytes().split(b"\0")[0] == binary.encode()
                                  and b"--worker" not in (p / "cmdline").read_bytes())
                pids = process_tree(server_pid)
                idle_rss = sum(memory_mb(p, "Rss") for p in pids)
                idle_pss = sum(memory_mb(p, "Pss") for p in pids)

                samples = []
                for _ in range(round_trips):
                    started = time.perf_counter()
                    await call()
                    samples.append((time.perf_counter() - started) * 1000)

                semaphore = asyncio.Semaphore(in_flight)

                async def limited():
                    async with semaphore:
                        await call()

                started = time.perf_counter()
                await asyncio.gather(*(limited() for _ in range(throughput_calls)))
                elapsed = time.perf_counter() - started
                return {
                    "stdio_round_trip_median_ms": statistics.median(samples),
                    "stdio_round_trip_p95_ms": sorted(samples)[int(len(samples) * 0.95)],
                    "official_client_executions_per_second": throughput_calls / elapsed,
                    "idle_rss_mb": idle_rss,
                    "idle_pss_mb": idle_pss,
                    "processes": len(pids),
                }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--round-trips", type=int, default=500)
    parser.add_argument("--throughput-calls", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--pipelined-calls", type=int, default=10000)
    parser.add_argument("--stateful-calls", type=int, default=500)
    args = parser.parse_args()

    engine = engine_numbers(args.iterations)
    node = node_numbers(args.iterations)
    server = asyncio.run(server_numbers(args.binary, args.round_trips, args.throughput_calls, args.in_flight))
    server.update(minimal_client_numbers(args.binary, args.pipelined_calls, args.round_trips))
    server["stateful_executions_per_second"] = stateful_throughput(args.binary, args.stateful_calls)
    results = {"engine": engine, "node": node, "server": server, "cores": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))

    baseline = node["run_in_new_context_ms"]

    def versus(ours):
        return f"{baseline / ours:.2f}" if baseline else "n/a (node not installed)"

    baseline_text = f"{baseline:.3f} ms" if baseline else "n/a"

    print(f"""
Ratios are baseline time / mcp-v8 time: above 1, mcp-v8 is faster.

| measure | mcp-v8 | baseline: Node {node['node']} `vm.runInNewContext('1+1')`, median | ratio |
| --- | --- | --- | --- |
| fresh isolate from the runtime snapshot + context + `1+1` (median) | {engine['fresh_isolate_run_ms']:.3f} ms | {baseline_text} | {versus(engine['fresh_isolate_run_ms'])} |
| of which `cv8_engine_create` / context from the snapshot | {engine['isolate_create_ms']:.3f} / {engine['context_create_ms']:.3f} ms | | |
| floor: bare `v8::Isolate::New`, no context, same machine and run | {engine['bare_isolate_floor_ms']:.3f} ms | | |
| a run's path in the server: prepared context + `1+1` (median) | {engine['prepared_context_run_ms']:.3f} ms | {baseline_text} | {versus(engine['prepared_context_run_ms'])} |
| stdio round trip `run_js` `1+1`, official Python client (median / p95) | {server['stdio_round_trip_median_ms']:.2f} / {server['stdio_round_trip_p95_ms']:.2f} ms | | |
| stdio round trip `run_js` `1+1`, minimal JSON-RPC client (median) | {server['minimal_client_round_trip_median_ms']:.2f} ms | | |
| stateless executions/s, JSON-RPC pipelined over stdio, {os.cpu_count()} workers | {server['pipelined_executions_per_second']:.0f} /s | | |
| stateless executions/s, official Python client, {args.in_flight} calls in flight | {server['official_client_executions_per_second']:.0f} /s | | |
| idle memory, host + {server['processes'] - 1} workers: PSS / RSS summed | {server['idle_pss_mb']:.0f} / {server['idle_rss_mb']:.0f} MB | | |
| stateful executions/s over stdio, trivial code on new heaps, pipelined, {os.cpu_count()} workers | {server['stateful_executions_per_second']:.0f} /s | | |
| stateful run (restore + run + snapshot), from the runtime / from a {engine['small_heap_bytes'] / 1024:.0f} KiB heap | {engine['checkpoint_from_runtime_ms']:.1f} / {engine['checkpoint_from_small_heap_ms']:.1f} ms | | |
| floor: bare `v8::SnapshotCreator`, V8's own snapshot, empty context + `var x = 1` + `CreateBlob` | {engine['bare_checkpoint_floor_ms']:.1f} ms (at most {os.cpu_count() * 1000 / engine['bare_checkpoint_floor_ms']:.0f} /s on {os.cpu_count()} cores with nothing else running) | | |
| stateful run from a {engine['big_heap_bytes'] / 1024:.0f} KiB heap (10,000 objects) | {engine['checkpoint_from_big_heap_ms']:.1f} ms | | |
| seal / open that heap's envelope (LZ4 + SHA-256) | {engine['seal_big_heap_ms']:.2f} / {engine['open_big_heap_ms']:.2f} ms | | |
| runtime snapshot: build time at worker start / size | {engine['runtime_snapshot_ms']:.1f} ms / {engine['snapshot_bytes'] / 1024:.0f} KiB | | |
""")


if __name__ == "__main__":
    sys.exit(main())
