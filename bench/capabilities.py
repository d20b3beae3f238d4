"""make bench: what capabilities cost, next to baselines measured in the same run.

Measures
  1. policy decisions by a local Rego policy inside the server: the worker logs each decision's
     latency at --log-level debug; a guest makes many fs.exists calls and the log is read back;
  2. fetch of a small loopback URL end to end, timed in the guest (performance.now() around
     `await (await fetch(url)).text()`), against the same request made by curl in the same run
     (curl's own time_total, which leaves out its process start).
Writes bench/results/capabilities.json and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import asyncio
import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from loopback import serving_json

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
BODY = b'{"ok": true}'

FS_POLICY = """package mcp.fs

allow if {
    input.operation in ["exists", "stat", "readFile"]
    startswith(input.path, "/tmp/")
}
"""
FETCH_POLICY = """package mcp.fetch

allow if {
    input.method == "GET"
    input.url_parsed.host == "127.0.0.1"
    startswith(input.url_parsed.path, "/public/")
}
"""


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "n": len(ordered)}


async def run_js(session: ClientSession, code: str):
    result = await session.call_tool("run_js", {"code": code, "execution_timeout_secs": 300})
    content = result.structuredContent
    assert not result.isError, content
    return content["result"]


async def measure(binary: str, calls: int, url: str, folder: Path) -> tuple[list[float], list[float]]:
    (folder / "fs.rego").write_text(FS_POLICY)
    (folder / "fetch.rego").write_text(FETCH_POLICY)
    policies = json.dumps({"fs": {"policies": [{"url": f"file://{folder / 'fs.rego'}"}]},
                           "fetch": {"policies": [{"url": f"file://{folder / 'fetch.rego'}"}]}})
    log_path = folder / "server.log"
    params = StdioServerParameters(command=binary, args=["--stateless", "--policies-json", policies,
                                                         "--log-level", "debug", "--max-concurrent-executions", "1"])
    with open(log_path, "w") as log:
        async with stdio_client(params, errlog=log) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await run_js(session, f"for (let i = 0; i < {calls}; i++) await fs.exists('/tmp/x' + i); 0")
                fetch_ms = await run_js(session, f"""
                    const times = [];
                    for (let i = 0; i < {calls}; i++) {{
                      const started = performance.now();
                      await (await fetch({json.dumps(url)})).text();
                      times.push(performance.now() - started);
                    }}
                    times""")
    decisions = [int(found) / 1000 for found in re.findall(r"category=fs .*?latency_us=(\d+)", log_path.read_text())]
    assert len(decisions) >= calls, f"expected {calls} fs decisions in the debug log, found {len(decisions)}"
    return decisions, fetch_ms


def curl_times(url: str, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "--noproxy", "*", "-w", "%{time_total}", url],
                             check=True, capture_output=True, text=True).stdout
        times.append(float(out) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--calls", type=int, default=300)
    arguments = parser.parse_args()

    with serving_json(BODY) as base:
        url = f"{base}/public/data"
        with tempfile.TemporaryDirectory() as folder:
            decisions, fetch_ms = asyncio.run(measure(arguments.binary, arguments.calls, url, Path(folder)))
        baseline = curl_times(url, arguments.calls)

    results = {"policy_decision_ms": percentiles(decisions), "fetch_ms": percentiles(fetch_ms),
               "curl_ms": percentiles(baseline)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "capabilities.json").write_text(json.dumps(results, indent=2))
    fetch, curl = results["fetch_ms"], results["curl_ms"]
    # As in BENCHMARKS.md: baseline time / mcp-v8 time, so above 1 means mcp-v8 is faster.
    print("| measure | median | p99 | curl / mcp-v8 (median) |")
    print("| --- | --- | --- | --- |")
    print(f"| policy decision, local Rego (in the worker; {len(decisions)} decisions) | "
          f"{results['policy_decision_ms']['median']:.3f} ms | {results['policy_decision_ms']['p99']:.3f} ms | |")
    print(f"| fetch of a loopback URL from the guest, incl. policy ({fetch['n']} requests) | "
          f"{fetch['median']:.2f} ms | {fetch['p99']:.2f} ms | {curl['median'] / fetch['median']:.2f} |")
    print(f"| curl, same URL (time_total) | {curl['median']:.2f} ms | {curl['p99']:.2f} ms | 1.00 |")


if __name__ == "__main__":
    main()
