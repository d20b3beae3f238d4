"""make bench: what importing ES modules costs, against the same program as plain JavaScript in
the same run. The package (an entry module importing MODULE_COUNT modules) comes from a module
server on loopback standing in for the CDN. Cold: every call imports a version never seen before
(each module fetched, policy-checked, cached, compiled). Warm: the same version again (each module
read from the disk cache, policy-checked, compiled).
Writes bench/results/modules.json and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import asyncio
import json
import re
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
MODULE_COUNT = 20
POLICY = 'package mcp.modules\n\nallow if input.url_parsed.host == "127.0.0.1"\n'


def part(index: int) -> str:
    return f"export function part{index}(x) {{ return x * {index + 1} + {index}; }}\n"


def entry(version: str) -> str:
    imports = "".join(f'import {{ part{i} }} from "/bench-kit@{version}/part{i}.js";\n' for i in range(MODULE_COUNT))
    return imports + total_function()


def total_function() -> str:
    calls = " + ".join(f"part{i}(x)" for i in range(MODULE_COUNT))
    return f"export function total(x) {{ return {calls}; }}\n"


PLAIN = ("".join(part(i) for i in range(MODULE_COUNT)) + total_function() + "total(10)").replace("export ", "")
EXPECTED = sum(10 * (i + 1) + i for i in range(MODULE_COUNT))


def serve_modules() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            found = re.fullmatch(r"/bench-kit@([0-9.]+)(?:/part(\d+)\.js)?", self.path)
            if not found:
                self.send_error(404)
                return
            body = (entry(found[1]) if found[2] is None else part(int(found[2]))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        # A module graph opens its imports at once; socketserver's backlog of 5 would drop SYNs
        # (retried after a second) the way no CDN does.
        request_queue_size = 128

    httpd = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


async def round_trips(binary: str, calls: int, cdn: str, scratch: Path) -> dict[str, list[float]]:
    (scratch / "modules.rego").write_text(POLICY)
    params = StdioServerParameters(command=binary, args=[
        "--stateless", "--max-concurrent-executions", "1", "--allow-external-modules", "--module-cdn-url", cdn,
        "--policies-json", json.dumps({"modules": {"policies": [{"url": (scratch / "modules.rego").as_uri()}]}}),
        "--plugin-config", f"modules.cache_dir={scratch / 'cache'}"])
    samples: dict[str, list[float]] = {"javascript": [], "cold": [], "warm": []}
    warm = 'import { total } from "npm:bench-kit@1.0.0"; total(10)'
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("run_js", {"code": warm})  # fills the cache for the warm calls
            for call in range(calls):
                # Interleaved, so drift on a busy machine hits all alike.
                cold = f'import {{ total }} from "npm:bench-kit@2.{call}.0"; total(10)'
                for kind, code in (("javascript", PLAIN), ("cold", cold), ("warm", warm)):
                    started = time.perf_counter()
                    result = await session.call_tool("run_js", {"code": code})
                    samples[kind].append((time.perf_counter() - started) * 1000)
                    assert result.structuredContent.get("result") == EXPECTED, result.structuredContent
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--calls", type=int, default=100)
    arguments = parser.parse_args()
    httpd = serve_modules()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            samples = asyncio.run(round_trips(arguments.binary, arguments.calls,
                                              f"http://127.0.0.1:{httpd.server_address[1]}", Path(scratch)))
    finally:
        httpd.shutdown()
    medians = {kind: statistics.median(values) for kind, values in samples.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "modules.json").write_text(json.dumps({"module_count": MODULE_COUNT + 1, "median_ms": medians,
                                                       "samples_ms": samples}, indent=2))
    print(f"| run_js round trip over stdio ({arguments.calls} calls each) | median | JavaScript / it |")
    print("| --- | --- | --- |")
    print(f"| the program as plain JavaScript | {medians['javascript']:.2f} ms | 1.00 |")
    print(f"| importing it as {MODULE_COUNT + 1} modules, cold (fetched from loopback) | {medians['cold']:.2f} ms | "
          f"{medians['javascript'] / medians['cold']:.2f} |")
    print(f"| importing it as {MODULE_COUNT + 1} modules, warm (disk cache) | {medians['warm']:.2f} ms | "
          f"{medians['javascript'] / medians['warm']:.2f} |")


if __name__ == "__main__":
    main()
