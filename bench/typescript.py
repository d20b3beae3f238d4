"""make bench: what running TypeScript costs, against the same program as plain JavaScript in the
same run. TypeScript is stripped only after V8 rejects the code as JavaScript: one failed
compile, one esbuild process, and the run of the stripped code.
Writes bench/results/typescript.json and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
JAVASCRIPT = "function area(width, height) { return width * height; }\nconst sides = [3, 4];\narea(sides[0], sides[1])"
TYPESCRIPT = ("function area(width: number, height: number): number { return width * height; }\n"
              "const sides: [number, number] = [3, 4];\narea(sides[0], sides[1])")


async def round_trips(binary: str, calls: int) -> dict[str, list[float]]:
    params = StdioServerParameters(command=binary, args=["--stateless", "--max-concurrent-executions", "1"])
    samples: dict[str, list[float]] = {"javascript": [], "typescript": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(calls):
                # Alternating, so drift on a busy machine hits both alike.
                for kind, code in (("javascript", JAVASCRIPT), ("typescript", TYPESCRIPT)):
                    started = time.perf_counter()
                    result = await session.call_tool("run_js", {"code": code})
                    samples[kind].append((time.perf_counter() - started) * 1000)
                    assert result.structuredContent.get("result") == 12, result.structuredContent
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--calls", type=int, default=200)
    arguments = parser.parse_args()
    samples = asyncio.run(round_trips(arguments.binary, arguments.calls))
    medians = {kind: statistics.median(values) for kind, values in samples.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "typescript.json").write_text(json.dumps({"median_ms": medians, "samples_ms": samples}, indent=2))
    print("| run_js round trip over stdio | median | JavaScript / TypeScript |")
    print("| --- | --- | --- |")
    print(f"| JavaScript ({arguments.calls} calls) | {medians['javascript']:.2f} ms | 1.00 |")
    print(f"| the same in TypeScript | {medians['typescript']:.2f} ms | "
          f"{medians['javascript'] / medians['typescript']:.2f} |")


if __name__ == "__main__":
    main()
