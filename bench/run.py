"""make bench: mcp-v8's numbers next to a baseline measured in the same run.

Measures
  1. a fresh isolate from the runtime snapshot plus running 1+1 (C API, bench/engine.cpp),
     against Node's vm.runInNewContext('1+1') (a fresh context per call) as the baseline;
  2. stateless executions per second through the worker pool, driven over stdio by the
     official Python MCP client with many calls in flight;
  3. the stdio round trip of run_js 1+1, client to result (median of sequential calls);
  4. idle RSS of the host plus its workers.
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
                    *sources, "-o", str(output), "-L", str(lib), "-lnode", "-lpthread",
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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_tree(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return [pid, *[p for child in children for p in process_tree(child)]]


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
                idle_rss = sum(rss_mb(p) for p in pids)

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
                    "executions_per_second": throughput_calls / elapsed,
                    "idle_rss_mb": idle_rss,
                    "processes": len(pids),
                }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--round-trips", type=int, default=500)
    parser.add_argument("--throughput-calls", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()

    engine = engine_numbers(args.iterations)
    node = node_numbers(args.iterations)
    server = asyncio.run(server_numbers(args.binary, args.round_trips, args.throughput_calls, args.in_flight))
    results = {"engine": engine, "node": node, "server": server, "cores": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))

    baseline = node["run_in_new_context_ms"]
    ratio = f"{baseline / engine['fresh_isolate_run_ms']:.1f}x faster" if baseline else "n/a"
    warm_ratio = f"{baseline / engine['prepared_context_run_ms']:.1f}x faster" if baseline else "n/a"
    print(f"""
| measure | mcp-v8 | baseline: Node {node['node']} `vm.runInNewContext('1+1')` | ratio |
| --- | --- | --- | --- |
| fresh isolate from the runtime snapshot + `1+1` (median) | {engine['fresh_isolate_run_ms']:.3f} ms | {baseline or 'n/a'} ms | {ratio} |
| prepared context in a warm isolate + `1+1` (median) | {engine['prepared_context_run_ms']:.3f} ms | {baseline or 'n/a'} ms | {warm_ratio} |
| stdio round trip `run_js` `1+1`, Python MCP client (median / p95) | {server['stdio_round_trip_median_ms']:.2f} / {server['stdio_round_trip_p95_ms']:.2f} ms | | |
| stateless executions through the worker pool, {args.in_flight} in flight over stdio | {server['executions_per_second']:.0f} /s | | |
| idle RSS, host + {server['processes'] - 1} workers | {server['idle_rss_mb']:.0f} MB | | |
| runtime snapshot: build time / size | {engine['runtime_snapshot_ms']:.1f} ms / {engine['snapshot_bytes'] / 1024:.0f} KiB | | |
""")


if __name__ == "__main__":
    sys.exit(main())
