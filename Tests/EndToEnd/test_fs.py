"""The fs capability: policy-gated file operations on real files, judged by their resolved paths."""
import json
import os
import time

import pytest

from conftest import run, run_js, server
from opa_server import asked_by, opa_server

# Allows every operation on the allowed folder and below it, for both paths of rename and copyFile.
ALLOWED_FOLDER_POLICY = """package mcp.fs

allowed_root := ALLOWED_ROOT

within(path) if path == allowed_root
within(path) if startswith(path, concat("", [allowed_root, "/"]))

default allow := false

allow if {
    within(input.path)
    within(object.get(input, "destination", input.path))
}
"""

# Settles a promise into a JSON-friendly record, so one run can report several outcomes.
OUTCOME_JS = """
const outcome = (promise) => promise.then(
  (value) => ({ ok: true, value: value === undefined ? null : value }),
  (error) => ({ ok: false, name: error.name, code: error.code ?? null, message: String(error.message) }));
"""


@pytest.fixture
def folders(tmp_path):
    """An allowed folder and an outside one holding a secret, by their resolved paths."""
    root = tmp_path.resolve()
    allowed, outside = root / "allowed", root / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret")
    return allowed, outside


def policies(tmp_path, rego: str) -> str:
    """--policies-json for one Rego file written into tmp_path."""
    rego_path = tmp_path / "fs.rego"
    rego_path.write_text(rego)
    return json.dumps({"fs": {"policies": [{"url": "file://" + str(rego_path)}]}})


def allowing_folder(tmp_path, allowed) -> str:
    return policies(tmp_path, ALLOWED_FOLDER_POLICY.replace("ALLOWED_ROOT", json.dumps(str(allowed))))


def js(value) -> str:
    """A JavaScript string literal."""
    return json.dumps(str(value))


async def result_of(session, code: str):
    content, is_error = await run_js(session, code)
    assert not is_error, content
    return content["result"]


def snapshot(root):
    """Every path under root with its contents (None for folders and links)."""
    return {str(path.relative_to(root)): path.read_bytes() if path.is_file() and not path.is_symlink() else None
            for path in sorted(root.rglob("*"))}


def test_fs_is_absent_without_a_policy():
    async def scenario():
        async with server() as session:
            assert await result_of(session, "typeof fs") == "undefined"
    run(scenario())


def test_every_operation_works_inside_the_allowed_folder(tmp_path, folders):
    allowed, _ = folders

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""
                const dir = {js(allowed)};
                const kind = typeof fs;
                await fs.writeFile(`${{dir}}/notes.txt`, "hello");
                await fs.appendFile(`${{dir}}/notes.txt`, ", world ✓");
                const text = await fs.readFile(`${{dir}}/notes.txt`);
                const same = await fs.readFile(`${{dir}}/notes.txt`, "utf8");
                await fs.mkdir(`${{dir}}/sub`);
                await fs.mkdir(`${{dir}}/deep/er/est`, {{ recursive: true }});
                await fs.copyFile(`${{dir}}/notes.txt`, `${{dir}}/sub/copy.txt`);
                await fs.rename(`${{dir}}/sub/copy.txt`, `${{dir}}/deep/moved.txt`);
                const entries = await fs.readdir(dir);
                const deep = await fs.readdir(`${{dir}}/deep`);
                const fileInfo = await fs.stat(`${{dir}}/notes.txt`);
                const dirInfo = await fs.stat(`${{dir}}/sub`);
                const existed = [await fs.exists(`${{dir}}/sub`), await fs.exists(`${{dir}}/missing`)];
                await fs.rm(`${{dir}}/notes.txt`);
                await fs.rm(`${{dir}}/sub`, {{ recursive: true }});
                ({{ kind, text, same, entries, deep, fileInfo, dirInfo, existed, after: await fs.readdir(dir) }})
            """)
            assert result["kind"] == "object"
            assert result["text"] == result["same"] == "hello, world ✓"
            assert result["entries"] == ["deep", "notes.txt", "sub"]
            assert result["deep"] == ["er", "moved.txt"]
            file_info, dir_info = result["fileInfo"], result["dirInfo"]
            assert file_info["size"] == len("hello, world ✓".encode())
            assert (file_info["isFile"], file_info["isDirectory"], file_info["isSymbolicLink"]) == (True, False, False)
            assert (dir_info["isFile"], dir_info["isDirectory"]) == (False, True)
            assert file_info["mode"] & 0o170000 == 0o100000 and dir_info["mode"] & 0o170000 == 0o040000
            for field in ("mtimeMs", "atimeMs", "ctimeMs"):
                assert abs(file_info[field] - time.time() * 1000) < 120_000, field
            assert result["existed"] == [True, False]
            assert result["after"] == ["deep"]
            assert (allowed / "deep" / "moved.txt").read_text() == "hello, world ✓"
            assert (allowed / "deep" / "er" / "est").is_dir()
    run(scenario())


def test_binary_data_round_trips(tmp_path, folders):
    allowed, _ = folders
    # A byte order mark and bytes that are not UTF-8: "buffer" must return them untouched.
    (allowed / "raw.bin").write_bytes(b"\xef\xbb\xbfA\xff\xfe\x00B")
    (allowed / "text.txt").write_bytes("\ufeffhé ✓".encode())

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""
                const dir = {js(allowed)};
                const bytes = new Uint8Array(256).map((_, i) => i);
                await fs.writeFile(`${{dir}}/all.bin`, bytes);
                await fs.appendFile(`${{dir}}/all.bin`, bytes.buffer);
                await fs.appendFile(`${{dir}}/all.bin`, new Uint8Array([7, 8, 9, 10]).subarray(1, 3));
                const back = await fs.readFile(`${{dir}}/all.bin`, "buffer");
                const raw = await fs.readFile(`${{dir}}/raw.bin`, "buffer");
                ({{
                  isUint8Array: back instanceof Uint8Array,
                  back: Array.from(back),
                  raw: Array.from(raw),
                  text: await fs.readFile(`${{dir}}/text.txt`),
                }})
            """)
            assert result["isUint8Array"] is True
            assert result["back"] == list(range(256)) * 2 + [8, 9]
            assert (allowed / "all.bin").read_bytes() == bytes(range(256)) * 2 + b"\x08\x09"
            assert result["raw"] == list(b"\xef\xbb\xbfA\xff\xfe\x00B")
            assert result["text"] == "\ufeffhé ✓"
    run(scenario())


SINGLE_PATH_OPERATIONS = ["readFile", "writeFile", "appendFile", "readdir", "stat", "mkdir", "rm", "exists"]
MATRIX = ([(operation, where) for operation in SINGLE_PATH_OPERATIONS for where in ("inside", "outside")]
          + [(operation, where) for operation in ("rename", "copyFile")
             for where in ("inside", "outside", "inside-to-outside", "outside-to-inside")])
MATRIX_CALLS = {
    "readFile": "fs.readFile(`${from}/file.txt`)",
    "writeFile": "fs.writeFile(`${from}/new.txt`, 'new')",
    "appendFile": "fs.appendFile(`${from}/file.txt`, ' and more')",
    "readdir": "fs.readdir(from)",
    "stat": "fs.stat(`${from}/file.txt`).then((info) => info.size)",
    "mkdir": "fs.mkdir(`${from}/made`)",
    "rm": "fs.rm(`${from}/file.txt`)",
    "rename": "fs.rename(`${from}/file.txt`, `${to}/renamed.txt`)",
    "copyFile": "fs.copyFile(`${from}/file.txt`, `${to}/copied.txt`)",
    "exists": "fs.exists(`${from}/file.txt`)",
}
MATRIX_VALUES = {"readFile": "original", "readdir": ["file.txt"], "stat": len("original"), "exists": True}
MUTATING = {"writeFile", "appendFile", "mkdir", "rm", "rename", "copyFile"}


@pytest.mark.parametrize("operation,where", MATRIX)
def test_policy_matrix(tmp_path, folders, operation, where):
    allowed, outside = folders
    for folder in folders:
        (folder / "file.txt").write_text("original")
    source = allowed if where.startswith("inside") else outside
    destination = allowed if where.endswith("inside") else outside
    expect_allowed = where == "inside"

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            before = snapshot(tmp_path)
            result = await result_of(session, f"""{OUTCOME_JS}
                const from = {js(source)}, to = {js(destination)};
                await outcome({MATRIX_CALLS[operation]})
            """)
            if expect_allowed:
                assert result == {"ok": True, "value": MATRIX_VALUES.get(operation)}
                assert (snapshot(tmp_path) != before) == (operation in MUTATING)
            else:
                assert result["ok"] is False and "denied" in result["message"].lower(), result
                assert snapshot(tmp_path) == before
    run(scenario())


def test_traversal_and_symlink_escapes_are_judged_by_their_target(tmp_path, folders):
    allowed, outside = folders
    (allowed / "link").symlink_to(outside / "secret.txt")
    (allowed / "linked-folder").symlink_to("../outside")
    (allowed / "dangling").symlink_to(outside / "created.txt")
    (allowed / "proc-root").symlink_to("/proc/self/root")

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const dir = {js(allowed)};
                ({{
                  traversal: await outcome(fs.readFile(`${{dir}}/../outside/secret.txt`)),
                  deepTraversal: await outcome(fs.readFile(`${{dir}}/missing/../../outside/secret.txt`)),
                  link: await outcome(fs.readFile(`${{dir}}/link`)),
                  linkStat: await outcome(fs.stat(`${{dir}}/link`)),
                  linkedFolder: await outcome(fs.readdir(`${{dir}}/linked-folder`)),
                  plant: await outcome(fs.writeFile(`${{dir}}/linked-folder/planted.txt`, "x")),
                  dangling: await outcome(fs.writeFile(`${{dir}}/dangling`, "x")),
                  proc: await outcome(fs.readFile(`${{dir}}/proc-root{outside}/secret.txt`)),
                  copyOut: await outcome(fs.copyFile(`${{dir}}/link`, `${{dir}}/copy.txt`)),
                  renameThrough: await outcome(fs.rename(`${{dir}}/linked-folder/secret.txt`, `${{dir}}/stolen.txt`)),
                  removeLink: await outcome(fs.rm(`${{dir}}/link`)),
                }})
            """)
            removed = result.pop("removeLink")
            for name, attempt in result.items():
                assert attempt["ok"] is False and "denied" in attempt["message"].lower(), (name, attempt)
            # rm acts on the link itself, which is inside: the link goes, its target stays.
            assert removed == {"ok": True, "value": None}
            assert not (allowed / "link").is_symlink()
            assert (outside / "secret.txt").read_text() == "outside secret"
            assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
            assert not (allowed / "copy.txt").exists() and not (allowed / "stolen.txt").exists()
    run(scenario())


def test_policy_sees_resolved_paths(tmp_path, folders):
    allowed, _ = folders
    target = allowed / "target.txt"
    target.write_text("the target")
    (allowed / "other.txt").write_text("another file")
    (allowed / "alias").symlink_to("target.txt")
    (allowed / "sub").mkdir()
    rego = f"""package mcp.fs

default allow := false

allow if {{
    input.operation == "readFile"
    input.path == {json.dumps(str(target))}
    input.encoding == "utf8"
}}
"""
    relative = os.path.relpath(target, os.getcwd())

    async def scenario():
        async with server("--policies-json", policies(tmp_path, rego)) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const dir = {js(allowed)};
                ({{
                  direct: await outcome(fs.readFile({js(target)})),
                  dotted: await outcome(fs.readFile(`${{dir}}/sub/../target.txt`)),
                  dots: await outcome(fs.readFile(`${{dir}}/./sub/.././/target.txt`)),
                  viaLink: await outcome(fs.readFile(`${{dir}}/alias`)),
                  relative: await outcome(fs.readFile({js(relative)})),
                  asBuffer: await outcome(fs.readFile({js(target)}, "buffer")),
                  other: await outcome(fs.readFile(`${{dir}}/sub/../other.txt`)),
                  stat: await outcome(fs.stat({js(target)})),
                }})
            """)
            for name in ("direct", "dotted", "dots", "viaLink", "relative"):
                assert result[name] == {"ok": True, "value": "the target"}, name
            for name in ("asBuffer", "other", "stat"):
                assert result[name]["ok"] is False and "denied" in result[name]["message"].lower(), name
    run(scenario())


def test_policy_input_documents(folders):
    """Exactly the documents the seeds define reach the policy, here a remote OPA that keeps them."""
    allowed, _ = folders
    (allowed / "alias").symlink_to("doc.txt")
    a = str(allowed)
    expected = [
        {"operation": "writeFile", "path": f"{a}/doc.txt"},
        {"operation": "readFile", "path": f"{a}/doc.txt", "encoding": "utf8"},
        {"operation": "readFile", "path": f"{a}/doc.txt", "encoding": "buffer"},
        {"operation": "appendFile", "path": f"{a}/doc.txt"},
        {"operation": "readdir", "path": a},
        {"operation": "stat", "path": f"{a}/doc.txt"},
        {"operation": "mkdir", "path": f"{a}/made/deeper", "recursive": True},
        {"operation": "mkdir", "path": f"{a}/made/other", "recursive": False},
        # copyFile's source is followed to its target; a destination's last name is kept.
        {"operation": "copyFile", "path": f"{a}/doc.txt", "destination": f"{a}/made/alias-copy"},
        # rename moves the link itself.
        {"operation": "rename", "path": f"{a}/alias", "destination": f"{a}/made/renamed-alias"},
        {"operation": "exists", "path": f"{a}/missing"},
        {"operation": "rm", "path": f"{a}/made", "recursive": True},
        {"operation": "rm", "path": f"{a}/doc.txt", "recursive": False},
    ]

    async def scenario():
        rego = ALLOWED_FOLDER_POLICY.replace("ALLOWED_ROOT", json.dumps(str(allowed)))
        with opa_server({"fs.rego": rego}) as opa:
            configuration = json.dumps({"fs": {"policies": [{"url": opa, "policy_path": "mcp/fs"}]}})
            async with server("--policies-json", configuration) as session:
                finished = await result_of(session, f"""
                    const dir = {js(allowed)};
                    await fs.writeFile(`${{dir}}/doc.txt`, "x");
                    await fs.readFile(`${{dir}}/nowhere/../doc.txt`);
                    await fs.readFile(`${{dir}}/doc.txt`, "buffer");
                    await fs.appendFile(`${{dir}}/./doc.txt`, "y");
                    await fs.readdir(`${{dir}}/`);
                    await fs.stat(`${{dir}}/alias`);
                    await fs.mkdir(`${{dir}}/made/deeper`, {{ recursive: true }});
                    await fs.mkdir(`${{dir}}/made/other`);
                    await fs.copyFile(`${{dir}}/alias`, `${{dir}}/made/alias-copy`);
                    await fs.rename(`${{dir}}/alias`, `${{dir}}/made/renamed-alias`);
                    await fs.exists(`${{dir}}/missing`);
                    await fs.rm(`${{dir}}/made`, {{ recursive: true }});
                    await fs.rm(`${{dir}}/doc.txt`);
                    "finished"
                """)
            assert finished == "finished"
            # One decision per operation: `start` compares with the allowed document instead of asking again.
            assert opa.inputs == asked_by(expected)
            assert list(allowed.iterdir()) == []
    run(scenario())


def test_errors_carry_node_codes(tmp_path, folders):
    allowed, outside = folders
    (allowed / "file.txt").write_text("text")
    (allowed / "dir" / "nested").mkdir(parents=True)
    (allowed / "dir" / "nested" / "leaf.txt").write_text("leaf")
    (allowed / "dir" / "to-outside").symlink_to(outside)
    (allowed / "full").mkdir()
    (allowed / "full" / "keep.txt").write_text("keep")
    missing = allowed / "missing.txt"

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const dir = {js(allowed)};
                ({{
                  code: (await fs.readFile({js(missing)}).catch((e) => e.code)),
                  isError: (await fs.readFile({js(missing)}).catch((e) => e instanceof Error)),
                  missing: await outcome(fs.readFile({js(missing)})),
                  statMissing: await outcome(fs.stat({js(missing)})),
                  readdirFile: await outcome(fs.readdir(`${{dir}}/file.txt`)),
                  readFolder: await outcome(fs.readFile(`${{dir}}/dir`)),
                  mkdirExisting: await outcome(fs.mkdir(`${{dir}}/dir`)),
                  mkdirNoParent: await outcome(fs.mkdir(`${{dir}}/no/such`)),
                  rmFolder: await outcome(fs.rm(`${{dir}}/dir`)),
                  rmMissing: await outcome(fs.rm({js(missing)})),
                  renameOntoFull: await outcome(fs.rename(`${{dir}}/dir`, `${{dir}}/full`)),
                  renameMissing: await outcome(fs.rename({js(missing)}, `${{dir}}/x.txt`)),
                  copyMissing: await outcome(fs.copyFile({js(missing)}, `${{dir}}/x.txt`)),
                  removeTree: await outcome(fs.rm(`${{dir}}/dir`, {{ recursive: true }})),
                }})
            """)
            assert result.pop("code") == "ENOENT"
            assert result.pop("isError") is True
            assert result.pop("missing") == {"ok": False, "name": "Error", "code": "ENOENT",
                                             "message": f"ENOENT: no such file or directory, open '{missing}'"}
            assert result.pop("removeTree") == {"ok": True, "value": None}
            assert not (allowed / "dir").exists()
            assert (outside / "secret.txt").read_text() == "outside secret"
            rename_onto_full = result.pop("renameOntoFull")
            assert rename_onto_full["code"] in ("ENOTEMPTY", "EEXIST"), rename_onto_full
            expected_codes = {"statMissing": "ENOENT", "readdirFile": "ENOTDIR", "readFolder": "EISDIR",
                              "mkdirExisting": "EEXIST", "mkdirNoParent": "ENOENT", "rmFolder": "EISDIR",
                              "rmMissing": "ENOENT", "renameMissing": "ENOENT", "copyMissing": "ENOENT"}
            for name, code in expected_codes.items():
                assert result[name]["ok"] is False and result[name]["code"] == code, (name, result[name])
                assert result[name]["message"].startswith(f"{code}: "), (name, result[name])
            assert "recursive" in result["rmFolder"]["message"]
            assert (allowed / "full" / "keep.txt").read_text() == "keep"
    run(scenario())


def test_bad_arguments_are_type_errors(tmp_path, folders):
    allowed, _ = folders
    nul_path = js(f"{allowed}/cut\0off.txt")

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const dir = {js(allowed)};
                ({{
                  nulPath: await outcome(fs.writeFile({nul_path}, "x")),
                  numberPath: await outcome(fs.readFile(42)),
                  emptyPath: await outcome(fs.readdir("")),
                  encoding: await outcome(fs.readFile(`${{dir}}/x`, "latin1")),
                  data: await outcome(fs.writeFile(`${{dir}}/x`, 42)),
                  recursive: await outcome(fs.mkdir(`${{dir}}/x`, {{ recursive: "yes" }})),
                  destination: await outcome(fs.rename(`${{dir}}/x`)),
                  nulDestination: await outcome(fs.copyFile(`${{dir}}/x`, "/tmp/a\\0b")),
                  rejectsRatherThanThrows: await (async () => {{
                    const promise = fs.readFile(1);
                    promise.catch(() => {{}});
                    return promise instanceof Promise;
                  }})(),
                }})
            """)
            assert result.pop("rejectsRatherThanThrows") is True
            expected_words = {"nulPath": ['"path"', "NUL"], "numberPath": ['"path"', "string"], "emptyPath": ['"path"'],
                     "encoding": ["encoding", "utf8", "buffer", "latin1"], "data": ['"data"', "ArrayBuffer"],
                     "recursive": ["recursive", "true or false"], "destination": ['"to"'],
                     "nulDestination": ['"to"', "NUL"]}
            for name, words in expected_words.items():
                assert result[name]["ok"] is False and result[name]["name"] == "TypeError", (name, result[name])
                for word in words:
                    assert word in result[name]["message"], (name, word, result[name])
            assert list(allowed.iterdir()) == []
    run(scenario())


def test_read_limit_is_a_setting(tmp_path, folders):
    allowed, _ = folders
    (allowed / "ten.txt").write_text("0123456789")
    (allowed / "eleven.txt").write_text("0123456789!")

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed),
                          "--plugin-config", "fs.max_read_bytes=10") as session:
            result = await result_of(session, f"""{OUTCOME_JS}
                const dir = {js(allowed)};
                [await outcome(fs.readFile(`${{dir}}/ten.txt`)), await outcome(fs.readFile(`${{dir}}/eleven.txt`))]
            """)
            assert result[0] == {"ok": True, "value": "0123456789"}
            assert result[1]["ok"] is False and result[1]["code"] == "EFBIG", result[1]
            assert "10 bytes" in result[1]["message"] and "max_read_bytes" in result[1]["message"]
    run(scenario())


def test_concurrent_operations(tmp_path, folders):
    allowed, _ = folders
    count = 40

    async def scenario():
        async with server("--policies-json", allowing_folder(tmp_path, allowed)) as session:
            result = await result_of(session, f"""
                const dir = {js(allowed)};
                const names = Array.from({{ length: {count} }}, (_, i) => `f${{i}}.txt`);
                await Promise.all(names.map((name, i) => fs.writeFile(`${{dir}}/${{name}}`, String(i))));
                const contents = await Promise.all(names.map((name) => fs.readFile(`${{dir}}/${{name}}`)));
                [contents, (await fs.readdir(dir)).length]
            """)
            assert result == [[str(i) for i in range(count)], count]
            assert (allowed / "f7.txt").read_text() == "7"
    run(scenario())
