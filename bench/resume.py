"""make bench, resume: how long resuming a 1 MB heap takes from each heap store, in the same run.

One run on each server makes a heap of about 1 MB sealed (a megabyte of pseudo-random bytes, which
the envelope's LZ4 cannot shrink, beside the runtime's own ~150 KB); then that heap is resumed many
times, one REST request at a time on a keep-alive connection (`POST /api/exec` with `heap`,
trivial code), and each request is timed from writing it to reading its whole answer. Three
servers, one per store, metadata in SQLite for all three so that only the heap store differs:
  - local: `--directory-path`;
  - s3-cache: `--s3-bucket` with `--cache-dir`, the cache warm (the run that made the heap wrote it
    through the cache);
  - s3-miss: `--s3-bucket` without `--cache-dir`: a node without a cache, so every resume GETs the
    object from S3, as a cache miss does.
S3 is SeaweedFS on loopback (stores.py), so "S3" here is a local process, not a network away.
Two codes, each timed on every store:
  - `1`: resume and store the heap the run leaves (S3 stores PUT it again, the directory store
    finds it already there and skips it);
  - `throw 0`: resume only (a run that fails stores no heap), so the difference between the stores
    is the read of the input heap alone.
The three servers run side by side and are measured in turn, round after round, in an order that
rotates, so a drift of the machine falls on all of them alike. Reports median and p95 over all the
requests, the spread of the rounds' medians, each ratio to local, and the SeaweedFS CPU per
resume (the sign that s3-miss reads from S3 and s3-cache does not). Writes bench/results/resume.md
and resume.json, and prints the table.
"""
import argparse
import http.client
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import load  # the server wrapper
from stores import SharedStores

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
RANDOM_BYTES = 896 * 1024
# xorshift32 fills the bytes: the same heap on every server, and nothing LZ4 can compress.
MAKE_HEAP = ("const bytes = new Uint8Array(%d); let x = 2463534242;"
             " for (let i = 0; i < bytes.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[i] = x; }"
             " globalThis.blob = bytes; bytes.length") % RANDOM_BYTES
# What each resume runs, and the status its answer must have.
CODES = {"resume + store": ("1", "completed"), "resume only": ("throw 0", "failed")}
STORES = ["local", "s3-cache", "s3-miss"]


class Node:
    """One server and one keep-alive connection to it."""

    def __init__(self, name: str, command: list[str], state: Path, environment: dict[str, str]):
        self.name = name
        state.mkdir(parents=True)
        self.server = load.Server(command, state / "server.log", environment)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)

    def run(self, body: dict) -> tuple[float, dict]:
        """Seconds from sending the request to reading all of its answer, and the answer."""
        data = json.dumps({**body, "inline_wait_ms": 30000}).encode()
        started = time.perf_counter()
        self.connection.request("POST", "/api/exec", data, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        text = response.read()
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{self.name}: HTTP {response.status} {text[:500]!r}\n{self.server.log_tail()}")
        return seconds, json.loads(text)

    def stop(self) -> None:
        self.connection.close()
        self.server.stop()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(nodes: dict[str, Node], heaps: dict[str, str], stores: SharedStores, rounds: int, per_round: int) -> dict:
    samples = {code: {name: [] for name in nodes} for code in CODES}
    round_medians = {code: {name: [] for name in nodes} for code in CODES}
    seaweed = {code: {name: 0.0 for name in nodes} for code in CODES}
    names = list(nodes)
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            for code_name, (code, status) in CODES.items():
                before = stores.cpu_seconds()["SeaweedFS"]
                times = []
                for _ in range(per_round):
                    seconds, answer = nodes[name].run({"code": code, "heap": heaps[name]})
                    if answer.get("status") != status:
                        raise RuntimeError(f"{name}: `{code}` on the heap answered {answer}, expected status {status}")
                    times.append(seconds * 1000)
                seaweed[code_name][name] += stores.cpu_seconds()["SeaweedFS"] - before
                samples[code_name][name] += times
                round_medians[code_name][name].append(statistics.median(times))
        print(f"round {round_ + 1}/{rounds}: " + ", ".join(
            f"{name} {round_medians['resume only'][name][-1]:.1f} ms" for name in names)
            + f" (resume only), load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    resumes = rounds * per_round
    return {"samples": samples, "round_medians": round_medians,
            "seaweedfs_cpu_ms_per_resume": {code: {name: 1000 * seconds / resumes for name, seconds in by_name.items()}
                                            for code, by_name in seaweed.items()}}


def markdown(results: dict, heap_bytes: int, args: argparse.Namespace, loads: list[float]) -> str:
    lines = [f"A heap of {heap_bytes:,} bytes sealed, resumed {args.rounds * args.per_round} times per store and code "
             f"({args.rounds} rounds of {args.per_round}, stores in rotating order), one request at a time over REST, "
             f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}; load average (1 min) {loads[0]:.2f} at "
             f"the start, {loads[1]:.2f} at the end. Milliseconds per request; the rounds' medians as min–max; "
             "ratios to local.", "",
             "| code | store | median | p95 | rounds' medians | median / local | p95 / local | SeaweedFS CPU |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for code_name, (code, _) in CODES.items():
        samples, medians = results["samples"][code_name], results["round_medians"][code_name]
        local_median, local_p95 = statistics.median(samples["local"]), percentile(samples["local"], 95)
        for name in STORES:
            median, p95 = statistics.median(samples[name]), percentile(samples[name], 95)
            lines.append(f"| {code_name} (`{code}`) | {name} | {median:.2f} | {p95:.2f} | "
                         f"{min(medians[name]):.2f}–{max(medians[name]):.2f} | {median / local_median:.2f} | "
                         f"{p95 / local_p95:.2f} | {results['seaweedfs_cpu_ms_per_resume'][code_name][name]:.2f} |")
    lines += ["", "SeaweedFS CPU: milliseconds per resume while that store was measured (with local, SeaweedFS's "
              "own background work).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the mcp-v8 executable")
    parser.add_argument("--rounds", type=int, default=10, help="rounds over the three stores (default 10)")
    parser.add_argument("--per-round", type=int, default=10, help="resumes of each code per store and round (default 10)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"resume.py: --binary must name the mcp-v8 executable (got {args.binary!r})")

    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="mcp-v8-resume-") as directory, SharedStores() as stores:
        workdir = Path(directory)
        common = [args.binary, "--http-port", "0"]
        flags = {"local": ["--directory-path", str(workdir / "local" / "heaps")],
                 "s3-cache": ["--s3-bucket", stores.new_bucket(), "--cache-dir", str(workdir / "s3-cache" / "cache")],
                 "s3-miss": ["--s3-bucket", stores.new_bucket()]}
        nodes: dict[str, Node] = {}
        try:
            for name in STORES:
                nodes[name] = Node(name, common + flags[name] + ["--session-db-path", str(workdir / name / "db")],
                                   workdir / name, stores.environment())
            heaps = {}
            for name, node in nodes.items():
                _, answer = node.run({"code": MAKE_HEAP})
                if answer.get("result") != RANDOM_BYTES:
                    raise RuntimeError(f"{name}: making the heap answered {answer}")
                heaps[name] = answer["heap"]
            heap_bytes = (workdir / "local" / "heaps" / heaps["local"]).stat().st_size
            results = measure(nodes, heaps, stores, args.rounds, args.per_round)
        finally:
            for node in nodes.values():
                node.stop()
    loads.append(os.getloadavg()[0])

    table = markdown(results, heap_bytes, args, loads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "resume.md").write_text(table)
    (args.out_dir / "resume.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count(), "load_average": loads,
         "heap_bytes": heap_bytes, "arguments": {k: str(v) for k, v in vars(args).items()}, **results}, indent=2))
    print(table)


if __name__ == "__main__":
    main()
