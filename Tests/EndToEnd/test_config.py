"""--config files (TOML, JSON) and MCP_V8_<FLAG> variables: they configure the real server,
the command line wins over the variables, which win over the file, and a bad one refuses the start
naming the file or variable, the key and what is allowed."""
import json
import subprocess

import httpx

from conftest import BINARY, http_server_process, start_fails


def exec_code(url: str, code: str) -> dict:
    answer = httpx.post(f"{url}/api/exec", json={"code": code}, timeout=30)
    return answer.json()


def test_a_toml_file_named_by_mcp_v8_config_configures_a_stateful_http_server(tmp_path, monkeypatch):
    config = tmp_path / "mcp-v8.toml"
    config.write_text(f"""
http_port = 0
directory_path = "{tmp_path / 'heaps'}"
session_db_path = "{tmp_path / 'db'}"
execution_timeout = 1
inline_wait_ms = 5000
""")
    monkeypatch.setenv("MCP_V8_CONFIG", str(config))
    with http_server_process() as (url, _, _):
        stopped = exec_code(url, "while (true) {}")
        assert stopped["status"] == "timed_out", stopped
        assert "timed out after 1 s" in stopped["error"], stopped
        # Stateful, so the heap went to the file's directory.
        finished = exec_code(url, "globalThis.x = 41; x + 1")
        assert finished["status"] == "completed" and (tmp_path / "heaps" / finished["heap"]).is_file(), finished


def test_the_command_line_beats_variables_which_beat_the_file(tmp_path, monkeypatch):
    config = tmp_path / "mcp-v8.json"
    config.write_text(json.dumps({"stateless": True, "execution_timeout": 3, "heap_memory_max": 16}))
    monkeypatch.setenv("MCP_V8_EXECUTION_TIMEOUT", "2")
    monkeypatch.setenv("MCP_V8_HEAP_MEMORY_MAX", "12")
    printed = subprocess.run([BINARY, "--config", str(config), "--heap-memory-max", "24", "--print-config"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    assert "heap_memory_max = 24  # the command line" in printed, printed
    assert "execution_timeout = 2  # the environment variable MCP_V8_EXECUTION_TIMEOUT" in printed, printed
    assert f"stateless = true  # key stateless of {config}" in printed, printed
    assert "worker_memory_max = 1024  # default" in printed, printed
    # And the server runs with them: 2 s from the variable, not 3 from the file.
    monkeypatch.setenv("MCP_V8_HTTP_PORT", "0")
    with http_server_process("--config", str(config)) as (url, _, _):
        stopped = exec_code(url, "while (true) {}")
        assert "timed out after 2 s" in stopped["error"], stopped


def test_inline_tables_work_like_the_files_they_replace_and_are_never_printed(tmp_path):
    rego = tmp_path / "fetch.rego"
    rego.write_text('package mcp.fetch\n\nallow if input.url == "https://api.example.com/"\n')
    policies = tmp_path / "policies.toml"
    policies.write_text(f"""
stateless = true
http_port = 0

[[policies_json.fetch.policies]]
url = "file://{rego}"

[[fetch_header_config]]
host = "api.example.com"
headers = {{ X-Api-Key = "do-not-print-me" }}
""")
    printed = subprocess.run([BINARY, "--config", str(policies), "--print-config"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    assert "do-not-print-me" not in printed, printed
    assert f"# fetch_header_config: a table in key fetch_header_config of {policies} (not printed" in printed, printed
    with http_server_process("--config", str(policies)) as (url, _, _):
        # The fetch policy from the inline table installs fetch.
        assert exec_code(url, "typeof fetch")["result"] == "function"

    tenants = tmp_path / "tenants.toml"
    tenants.write_text("""
stateless = true
http_port = 0
tenant = "guest"

[tenants.tenants.guest.limits]
max_output_bytes = 1024
""")
    with http_server_process("--config", str(tenants)) as (url, _, _):
        # The guest tenant's 1024-byte output limit, from the inline tenants table.
        answer = exec_code(url, "console.log('x'.repeat(5000)); 1")
        assert "only the first 1024 are kept" in answer["output"], answer


def test_bad_files_and_variables_refuse_the_start_saying_where_and_why(tmp_path):
    unknown = tmp_path / "a.toml"
    unknown.write_text("stateles = true\n")
    said = start_fails("--config", str(unknown))
    assert f"{unknown}: unknown key stateles" in said, said

    wrong_type = tmp_path / "b.json"
    wrong_type.write_text(json.dumps({"http_port": [8080]}))
    said = start_fails("--config", str(wrong_type))
    assert f"{wrong_type}: key http_port must be a string or a number; it is an array" in said, said

    # A value of the right type that the flag itself refuses: the flag's message, and where it was set.
    out_of_range = tmp_path / "c.toml"
    out_of_range.write_text("execution_timeout = 100000\n")
    said = start_fails("--config", str(out_of_range))
    assert "--execution-timeout" in said and f"came from key execution_timeout of {out_of_range}" in said, said

    finished = subprocess.run([BINARY], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                              env={"MCP_V8_STATELESS": "sometimes", "PATH": "/usr/bin:/bin"})
    assert finished.returncode != 0 and "MCP_V8_STATELESS must be true or false" in finished.stderr, finished.stderr

    not_toml = tmp_path / "d.yaml"
    not_toml.write_text("stateless: true\n")
    assert "must end in .toml or .json" in start_fails("--config", str(not_toml))
