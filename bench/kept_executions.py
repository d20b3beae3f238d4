"""make bench, stateful host cost against the number of finished executions the server keeps.

A long-running stateful server keeps the newest 10,000 finished executions in its metadata database
and prunes the rest on every save. This starts the HTTP server on an empty database (the baseline)
and on one already holding --kept executions (written straight into its `executions` table), sends
the same constant rate of trivial stateful `POST /api/exec` requests to each, alternating, and
reports the host process's CPU per request (from /proc) for both and their ratio.
"""
import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import load  # the generator and the server wrapper

WARM_UP_RATE, WARM_UP_SECONDS = 100, 2


def fill(database: Path, count: int) -> None:
    """Adds `count` finished executions, completed before anything the run will add."""
    now = time.time()
    rows = [(str(uuid.uuid4()), "completed", "2", None, None, now - 1e6 + i, now - 1e6 + i) for i in range(count)]
    with sqlite3.connect(database) as db:
        db.executemany("INSERT INTO executions (id, status, result_json, heap, error, started_at, completed_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def stateful_server(binary: str, workdir: Path, sessions: Path) -> load.Server:
    return load.Server([binary, "--http-port", "0", "--directory-path", str(workdir / "heaps"),
                        "--session-db-path", str(sessions)], workdir / "server.log")


def host_cpu_per_request(binary: str, workdir: Path, sessions: Path, requests: int, rate: int) -> float:
    server = stateful_server(binary, workdir, sessions)
    try:
        generator = load.ConstantRate(server.port, load.stateful_ok)
        asyncio.run(generator.run(WARM_UP_RATE, WARM_UP_SECONDS))
        before, _ = server.cpu_seconds()
        point = asyncio.run(generator.run(rate, requests / rate))
        after, _ = server.cpu_seconds()
        if point["success_percent"] < 99:
            raise RuntimeError(f"only {point['success_percent']:.1f}% of the requests succeeded: {point['outcomes']}")
        return 1000 * (after - before) / point["answered"]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the mcp-v8 executable")
    parser.add_argument("--kept", type=int, default=10_000, help="executions in the database before the run")
    parser.add_argument("--requests", type=int, default=1500, help="requests per measurement (default 1500)")
    parser.add_argument("--rate", type=int, default=150, help="requests per second, below stateful capacity")
    parser.add_argument("--rounds", type=int, default=3, help="alternating pairs of measurements")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mcp-v8-kept-") as directory:
        workdir = Path(directory)
        empty, full = workdir / "empty", workdir / "full"
        # The server creates the schema; stopping it at once leaves an empty database to copy.
        stateful_server(args.binary, workdir, empty).stop()
        shutil.copytree(empty, full)
        fill(full / "sessions.sqlite3", args.kept)
        results: dict[str, list[float]] = {"empty": [], "full": []}
        for _ in range(args.rounds):
            for name, template in (("empty", empty), ("full", full)):
                sessions = workdir / f"run-{name}"
                shutil.rmtree(sessions, ignore_errors=True)
                shutil.copytree(template, sessions)
                results[name].append(host_cpu_per_request(args.binary, workdir, sessions, args.requests, args.rate))
                print(f"{name}: host {results[name][-1]:.3f} ms per request", file=sys.stderr)

    empty_ms, full_ms = statistics.median(results["empty"]), statistics.median(results["full"])
    print(f"Host CPU per stateful request at {args.rate}/s ({args.requests} requests, medians of {args.rounds}): "
          f"empty database {empty_ms:.3f} ms, {args.kept} executions kept {full_ms:.3f} ms, "
          f"ratio empty / kept {empty_ms / full_ms:.2f}")


if __name__ == "__main__":
    main()
