"""TypeScript: code V8 rejects as JavaScript runs with its types removed (esbuild), with no extra
parameter; errors point at the user's own lines."""
import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import raw_server, run, run_js, server

# (construct, code, result): each is TypeScript that plain JavaScript would reject.
CONSTRUCTS = [
    ("annotations", "const n: number = 2; const s: string = 'a'; s + n", "a2"),
    ("interface", "interface Point { x: number; y: number }\nconst p: Point = {x: 1, y: 2}; p.x + p.y", 3),
    ("type alias", "type Pair = [number, number]; const pair: Pair = [3, 4]; pair[0] * pair[1]", 12),
    ("generic function", "function first<T>(items: T[]): T { return items[0]; }\nfirst<string>(['g', 'h'])", "g"),
    ("generic class", "class Box<T> { constructor(public value: T) {} }\nnew Box<number>(7).value", 7),
    ("enum", "enum Color { Red, Green, Blue }\n[Color.Green, Color[2]]", [1, "Blue"]),
    ("string enum", "enum Level { Low = 'low', High = 'high' }\nLevel.High", "high"),
    ("const enum", "const enum Size { S = 1, M = 2 }\nSize.M * 10", 20),
    ("satisfies", "const config = { port: 80 } satisfies { port: number }; config.port", 80),
    ("as", "const raw: unknown = 'text'; (raw as string).toUpperCase()", "TEXT"),
    ("non-null assertion", "const values = new Map<string, number>([['a', 5]]); values.get('a')! + 1", 6),
    ("optional parameter", "function greet(name?: string): string { return 'hi ' + (name ?? 'you'); }\ngreet()", "hi you"),
    ("readonly and access modifiers",
     "class Account { private readonly id: number; protected owner = 'o'; constructor(id: number) { this.id = id; }\n"
     "public get label(): string { return this.owner + this.id; } }\nnew Account(9).label", "o9"),
    ("abstract class and implements",
     "interface Named { name(): string }\nabstract class Base implements Named { abstract name(): string; "
     "hello() { return 'hello ' + this.name(); } }\nclass Child extends Base { name() { return 'child'; } }\n"
     "new Child().hello()", "hello child"),
    ("union and intersection types",
     "type A = { a: number }; type B = { b: number };\nconst both: A & B = {a: 1, b: 2};\n"
     "const either: string | number = 3; both.a + both.b + (either as number)", 6),
    ("function overloads",
     "function double(x: number): number;\nfunction double(x: string): string;\n"
     "function double(x: any): any { return x + x; }\n[double(2), double('ab')]", [4, "abab"]),
    ("index signature and keyof",
     "const scores: { [name: string]: number } = {ann: 3};\ntype Keys = keyof typeof scores;\n"
     "const key: Keys = 'ann'; scores[key]", 3),
    ("generic constraint",
     "function longest<T extends { length: number }>(a: T, b: T): T { return a.length >= b.length ? a : b; }\n"
     "longest('abc', 'de')", "abc"),
    ("definite assignment", "let later!: number;\nlater = 4; later", 4),
    ("namespace", "namespace Geometry { export const unit = 2; }\nGeometry.unit", 2),
    ("declare", "declare const injected: number;\ntypeof injected", "undefined"),
    ("arrow function types", "const add = (a: number, b: number): number => a + b;\nadd(2, 3)", 5),
    ("type-only import of nothing at runtime", "type Id = string & { readonly brand: unique symbol };\n'ok' as Id", "ok"),
    ("top-level await", "const wait: Promise<number> = Promise.resolve(8);\nawait wait", 8),
]


def test_typescript_constructs_run_with_their_types_removed(transport):
    async def scenario():
        async with server() as session:
            for construct, code, expected in CONSTRUCTS:
                content, is_error = await run_js(session, code)
                assert (content.get("result"), is_error) == (expected, False), (construct, content)
    run(scenario())


def test_runtime_errors_point_at_the_typescript_source():
    async def scenario():
        async with server() as session:
            code = "const a: number = 1;\n\n\nfunction boom(x: string): never {\n  throw new Error('boom ' + x);\n}\n\nboom('here')"
            content, is_error = await run_js(session, code)
            assert is_error
            assert "at boom (main.ts:5:9)" in content["error"] and "main.ts:8:1" in content["error"]
    run(scenario())


@pytest.mark.parametrize("code, message", [
    ("const total: number = ;", 'Unexpected ";" (main.ts:1:23)'),
    ("interface Broken { x: }", "(main.ts:1:"),
    ("const element: number = <div/>;", "JSX is not supported"),
])
def test_syntax_errors_in_typescript_are_reported_with_their_position(code, message):
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, code)
            assert is_error and "Read as TypeScript, it does not parse either" in content["error"]
            assert message in content["error"], content["error"]
    run(scenario())


def test_type_errors_are_not_reported():
    async def scenario():
        async with server() as session:
            content, is_error = await run_js(session, "const n: number = 'not a number' as any as number; n")
            assert (content["result"], is_error) == ("not a number", False)
    run(scenario())


def test_typescript_runs_in_stateful_mode_and_its_state_persists(tmp_path):
    async def scenario():
        async with raw_server("--directory-path", str(tmp_path / "heaps"),
                              "--session-db-path", str(tmp_path / "db")) as session:
            first, is_error = await run_js(session, "var total: number = 40; total")
            assert (first["result"], is_error) == (40, False), first
            second, _ = await run_js(session, "total += 2 as number; total", heap=first["heap"])
            assert second["result"] == 42
    run(scenario())


def esbuild_services() -> set[int]:
    """Process ids of running `esbuild --service` processes."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arguments and arguments[0].endswith(b"esbuild") and any(a.startswith(b"--service") for a in arguments):
            found.add(int(entry.name))
    return found


def test_the_esbuild_service_is_restarted_when_it_dies_and_ends_with_its_worker():
    async def scenario():
        before = esbuild_services()
        async with server("--max-concurrent-executions", "1") as session:
            assert (await run_js(session, "const a: number = 1; a"))[0]["result"] == 1
            started = esbuild_services() - before
            assert len(started) == 1
            os.kill(started.pop(), signal.SIGKILL)
            assert (await run_js(session, "const b: number = 2; b"))[0]["result"] == 2
            mine = esbuild_services() - before
            assert len(mine) == 1
        deadline = time.monotonic() + 5
        while mine & esbuild_services() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not mine & esbuild_services(), "the esbuild service outlived its worker"
    run(scenario())
