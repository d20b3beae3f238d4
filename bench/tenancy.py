"""make bench, tenancy: what --tenants costs, against the same server without it, in the same run.

Two configurations of one binary, started alike: HTTP with tokens (`--jwks-url` of a JWKS served
here on loopback, RS256 tokens signed here), the same worker count and limits. The only difference
is `--tenants FILE` with three tenants (`{}` each: no capability and the server's limits, as the
server without tenants has). Every client's token carries a `tenant` claim naming one of the three
in turn; a server without --tenants ignores the claim, so both get the very same requests.

Closed loop: N clients, each on its own keep-alive connection with its own subject, send their
share of a fixed number of requests one after another, and the run reports requests per second
and the server's CPU per request from /proc (host process and workers apart; the machine is
shared, and CPU per request moves less with other load than the rate does).
  - stateless: `--stateless`, each request a small loop (`for ... s += i; s`);
  - stateful: each client's first run makes a heap and every next one resumes the heap its previous
    run left (`globalThis.n = (globalThis.n ?? 0) + 1`, checked to count up), so every run loads and
    stores a heap its caller owns. The heap also holds the client's name: heaps are content-addressed,
    and identical chains would store one file for all clients of a capability set, fewer without
    tenants (one set) than with (one per tenant), which is not what tenancy costs.
Both servers of a mode run side by side (the idle one costs nothing) and are warmed up, then measured
in turn, round after round, with tenants first in every other round, so a drift of the machine
falls on both alike. Writes
bench/results/tenancy.json and tenancy.md, and prints the Markdown table for BENCHMARKS.md.
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

import load  # the server wrapper
from loopback import serving_json

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
ISSUER, AUDIENCE, KID = "https://issuer.bench", "mcp-v8-bench", "bench"
TENANTS = ["acme", "labs", "guest"]
STATELESS_CODE = "let s = 0; for (let i = 0; i < 1000; i++) s += i; s"
STATELESS_RESULT = 499500
STATEFUL_CODE = "globalThis.caller = {name}; globalThis.n = (globalThis.n ?? 0) + 1"
WARM_UP_REQUESTS = 5  # per client, before each measurement


class Keys:
    """One RSA key: it signs the clients' tokens, and its JWKS is what the server is given."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> bytes:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()

    def token(self, subject: str, tenant: str) -> str:
        now = int(time.time())
        claims = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 3600, "nbf": now - 5, "tenant": tenant}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})


class Client:
    """One caller on one keep-alive connection, sending one request at a time. Stateful, it resumes
    the heap its previous run left and checks that the counter in it went up by one."""

    def __init__(self, port: int, keys: Keys, name: str, tenant: str, stateful: bool):
        self.port, self.token, self.stateful = port, keys.token(name, tenant), stateful
        self.code = STATEFUL_CODE.format(name=json.dumps(name)) if stateful else STATELESS_CODE
        self.heap: str | None = None
        self.runs = 0
        self.connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def body(self) -> bytes:
        if not self.stateful:
            return json.dumps({"code": self.code}).encode()
        return json.dumps({"code": self.code, "inline_wait_ms": 30000,
                           **({"heap": self.heap} if self.heap else {})}).encode()

    async def send(self) -> None:
        if self.connection is None:
            self.connection = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.connection
        body = self.body()
        writer.write((f"POST /api/exec HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                      f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip().lower()
                   for name, _, value in (line.partition(":") for line in head[1:] if line)}
        answer = json.loads(await reader.readexactly(int(headers["content-length"])))
        if headers.get("connection") == "close":
            writer.close()
            self.connection = None
        status = int(head[0].split(" ", 2)[1])
        self.check(status, answer)

    def check(self, status: int, answer: dict) -> None:
        if not self.stateful:
            if status != 200 or answer.get("result") != STATELESS_RESULT:
                raise RuntimeError(f"unexpected stateless answer: HTTP {status} {answer}")
            return
        if status != 200 or answer.get("status") != "completed" or answer.get("result") != self.runs + 1:
            raise RuntimeError(f"unexpected stateful answer to run {self.runs + 1} of a chain: HTTP {status} {answer}")
        self.heap, self.runs = answer["heap"], self.runs + 1

    async def send_many(self, count: int) -> None:
        for _ in range(count):
            await self.send()

    def close(self) -> None:
        if self.connection:
            self.connection[1].close()


async def closed_loop(clients: list[Client], requests_each: int) -> float:
    """Seconds until every client has sent `requests_each` requests, one at a time."""
    started = time.perf_counter()
    await asyncio.gather(*(client.send_many(requests_each) for client in clients))
    return time.perf_counter() - started


class Configuration:
    """One server with its clients, each on its keep-alive connection, kept for all the rounds."""

    def __init__(self, name: str, command: list[str], state: Path, keys: Keys, clients: int, stateful: bool):
        self.name = name
        self.server = load.Server(command, state / "server.log")
        self.clients = [Client(self.server.port, keys, f"client-{i}", TENANTS[i % len(TENANTS)], stateful)
                        for i in range(clients)]

    async def measure(self, requests_each: int) -> dict:
        (host_before, workers_before), generator_before = self.server.cpu_seconds(), time.process_time()
        try:
            seconds = await closed_loop(self.clients, requests_each)
        except Exception as error:
            raise RuntimeError(f"{self.name}: {error}\n{self.server.log_tail()}") from error
        (host_after, workers_after), generator_after = self.server.cpu_seconds(), time.process_time()
        answered = len(self.clients) * requests_each
        return {"requests": answered, "seconds": seconds, "per_second": answered / seconds,
                "host_cpu_ms": 1000 * (host_after - host_before) / answered,
                "workers_cpu_ms": 1000 * (workers_after - workers_before) / answered,
                "generator_cpu_percent": 100 * (generator_after - generator_before) / seconds}

    def stop(self) -> None:
        self.server.stop()


async def compare(configurations: list[Configuration], rounds: int, requests_each: int) -> dict[str, list[dict]]:
    """Warms every server up, then measures them in turn, the first one first in every other round."""
    results: dict[str, list[dict]] = {configuration.name: [] for configuration in configurations}
    try:
        for configuration in configurations:
            await closed_loop(configuration.clients, WARM_UP_REQUESTS)
        for round_ in range(rounds):
            for configuration in configurations if round_ % 2 == 0 else configurations[::-1]:
                point = await configuration.measure(requests_each)
                results[configuration.name].append(point)
                print(f"{configuration.name} round {round_ + 1}: {point['per_second']:.1f}/s, host "
                      f"{point['host_cpu_ms']:.3f} ms, workers {point['workers_cpu_ms']:.3f} ms per request, "
                      f"load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        for configuration in configurations:
            for client in configuration.clients:
                client.close()
    return results


def spread(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def markdown(results: dict, args: argparse.Namespace, loads: tuple) -> str:
    lines = [f"{args.clients} clients, {args.requests} requests per measurement (stateful: {args.stateful_requests}), "
             f"{args.rounds} rounds, {args.workers} workers, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}; "
             f"load average (1 min) {loads[0]:.2f} at the start, {loads[1]:.2f} at the end. "
             "Medians, (min–max) over the rounds; ratio = with tenants / without.", "",
             "| mode | measure | without tenants | 3 tenants | ratio |", "| --- | --- | --- | --- | --- |"]
    for mode in ("stateless", "stateful"):
        if mode not in results:
            continue
        plain, tenanted = results[mode]["none"], results[mode]["tenants"]
        for key, label, digits in (("per_second", "requests/s", 1), ("host_cpu_ms", "host CPU ms/request", 3),
                                   ("workers_cpu_ms", "workers CPU ms/request", 3)):
            a, b = [r[key] for r in plain], [r[key] for r in tenanted]
            lines.append(f"| {mode} | {label} | {spread(a, digits)} | {spread(b, digits)} | "
                         f"{statistics.median(b) / statistics.median(a):.3f} |")
    generator = max(r["generator_cpu_percent"] for mode in results.values() for runs in mode.values() for r in runs)
    lines += ["", f"The generator (one Python process) used at most {generator:.0f}% of a core.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the mcp-v8 executable")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--requests", type=int, default=2000, help="stateless requests per measurement")
    parser.add_argument("--stateful-requests", type=int, default=600, help="stateful requests per measurement")
    parser.add_argument("--rounds", type=int, default=10, help="measurements of each configuration (default 10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="--max-concurrent-executions of both")
    parser.add_argument("--modes", default="stateless,stateful")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"tenancy.py: --binary must name the mcp-v8 executable (got {args.binary!r})")
    modes = args.modes.split(",")
    if unknown := set(modes) - {"stateless", "stateful"}:
        sys.exit(f"tenancy.py: unknown modes {sorted(unknown)}; known: stateless, stateful")

    keys = Keys()
    loads = [os.getloadavg()[0]]
    results: dict[str, dict[str, list[dict]]] = {}
    with serving_json(keys.jwks()) as jwks_base, tempfile.TemporaryDirectory(prefix="mcp-v8-tenancy-") as directory:
        workdir = Path(directory)
        tenants_file = workdir / "tenants.json"
        tenants_file.write_text(json.dumps({"tenants": {name: {} for name in TENANTS}}))
        common = [args.binary, "--http-port", "0", "--jwks-url", f"{jwks_base}/jwks.json", "--jwt-issuer", ISSUER,
                  "--jwt-audience", AUDIENCE, "--max-concurrent-executions", str(args.workers)]
        for mode in modes:
            print(f"{mode}:", file=sys.stderr)
            requests = args.requests if mode == "stateless" else args.stateful_requests
            configurations: list[Configuration] = []
            try:
                for name, tenancy in (("none", []), ("tenants", ["--tenants", str(tenants_file)])):
                    state = workdir / f"{mode}-{name}"
                    state.mkdir()
                    storage = ["--stateless"] if mode == "stateless" else [
                        "--directory-path", str(state / "heaps"), "--session-db-path", str(state / "db")]
                    configurations.append(Configuration(name, common + storage + tenancy, state, keys, args.clients,
                                                        mode == "stateful"))
                results[mode] = asyncio.run(compare(configurations, args.rounds, requests // args.clients))
            finally:
                for configuration in configurations:
                    configuration.stop()
    loads.append(os.getloadavg()[0])

    table = markdown(results, args, tuple(loads))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "tenancy.md").write_text(table)
    (args.out_dir / "tenancy.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count(), "load_average": loads,
         "arguments": {k: str(v) for k, v in vars(args).items()}, "results": results}, indent=2))
    print(table)


if __name__ == "__main__":
    main()
