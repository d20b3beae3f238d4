"""Issue 16's attacks on the HTTP server, replayed: an SSE client that stops reading, half-sent
requests (slowloris), one subject taking every MCP session, and /metrics without a token."""
import json
import os
import re
import socket
import time

import httpx

from conftest import http_server, http_server_process
from test_auth import KeySet, jwks_server

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"accept": "application/json, text/event-stream"}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) * 1024


def open_sockets(pid: int) -> int:
    return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))


def connect(url: str, timeout: float = 30) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def open_sse_stream(url: str) -> tuple[socket.socket, str]:
    """GET /sse on a raw socket; returns it and the session id of its endpoint event."""
    stream = connect(url)
    stream.sendall(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    received = b""
    # The id is <node-name>.<uuid> (--node-name, default the host name).
    while not (found := re.search(rb"sessionId=([0-9A-Za-z-]+\.[0-9a-f-]{36})", received)):
        received += stream.recv(4096)
    return stream, found.group(1).decode()


def read_until_closed(stream: socket.socket, limit_bytes: int = 1 << 30) -> bool:
    """Reads until the server closes the connection (True) or the socket times out (False)."""
    total = 0
    try:
        while total < limit_bytes:
            chunk = stream.recv(1 << 20)
            if not chunk:
                return True
            total += len(chunk)
    except (socket.timeout, ConnectionResetError) as error:
        return isinstance(error, ConnectionResetError)
    return False


def post_message(url: str, session: str, message: dict) -> int:
    return httpx.post(f"{url}/message", params={"sessionId": session}, json=message, timeout=60).status_code


def test_an_sse_client_that_stops_reading_is_dropped_and_memory_stays_bounded(binary):
    # Item 2: read the endpoint event, stop reading, post pings with ~4 MB ids.
    with http_server_process("--sse-port", "0", "--stateless") as (url, process, _):
        stream, session = open_sse_stream(url)
        baseline = rss_bytes(process.pid)
        big_id = "x" * 4_000_000
        statuses = []
        for i in range(40):
            statuses.append(post_message(url, session, {"jsonrpc": "2.0", "id": f"{big_id}{i}", "method": "ping"}))
            if statuses[-1] == 404:
                break
        grown = rss_bytes(process.pid) - baseline
        assert statuses[-1] == 404, f"the session stayed open through {len(statuses)} unread 4 MB answers"
        assert len(statuses) < 20, statuses
        assert grown < 200 << 20, f"host RSS grew by {grown >> 20} MB"
        assert read_until_closed(stream), "the server kept the unread SSE connection open"
        assert post_message(url, session, {"jsonrpc": "2.0", "id": 1, "method": "ping"}) == 404
        other, other_session = open_sse_stream(url)
        assert post_message(url, other_session, INITIALIZE) == 202, "the server goes on serving"
        assert b"event: message" in other.recv(65536)
        process.terminate()
        assert process.wait(timeout=60) == 0, "SIGTERM ends the server after the attack"


def test_sse_sessions_are_capped_per_subject_dropping_the_least_recently_used(binary):
    # Item 8 over SSE (and item 2's "cap SSE sessions"): callers without a token share one allowance.
    with http_server("--sse-port", "0", "--stateless", "--max-sessions-per-subject", "2") as url:
        first, first_id = open_sse_stream(url)
        second, second_id = open_sse_stream(url)
        assert post_message(url, first_id, INITIALIZE) == 202  # first is now the more recently used
        third, third_id = open_sse_stream(url)
        assert read_until_closed(second), "the least recently used stream is closed"
        assert post_message(url, second_id, INITIALIZE) == 404
        for live, live_id in [(first, first_id), (third, third_id)]:
            assert post_message(url, live_id, {"jsonrpc": "2.0", "id": 7, "method": "ping"}) == 202
            assert b"event: message" in live.recv(65536)


def test_one_subject_cannot_take_every_streamable_http_session(binary, tmp_path):
    # Item 8: mallory opens session after session; she keeps her newest 3, alice still gets in.
    keys = KeySet()
    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--stateless", "--jwks-url", jwks_url,
                         "--max-sessions-per-subject", "3") as url:
            def initialize(subject):
                answer = httpx.post(f"{url}/mcp", json=INITIALIZE, timeout=30,
                                    headers={"authorization": f"Bearer {keys.token(subject)}", **ACCEPT})
                assert answer.status_code == 200, answer.text
                return answer.headers["mcp-session-id"]

            def ping(subject, session):
                return httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "ping"}, timeout=30,
                                  headers={"authorization": f"Bearer {keys.token(subject)}",
                                           "mcp-session-id": session, "mcp-protocol-version": "2025-03-26",
                                           **ACCEPT}).status_code

            mallory = [initialize("mallory") for _ in range(3)]
            assert ping("mallory", mallory[0]) == 200  # mallory[1] is now her least recently used
            mallory += [initialize("mallory") for _ in range(20)]
            open_ones = [session for session in mallory if ping("mallory", session) == 200]
            assert open_ones == mallory[-3:], "only her three most recent sessions stay open"
            alice = initialize("alice")
            assert ping("alice", alice) == 200


def test_half_sent_requests_are_closed_and_the_connection_cap_holds(binary):
    # Item 7: slowloris. With a 2 s head deadline and 20 connections at most, 20 trickling clients
    # are closed; a client arriving meanwhile waits in the backlog and is then served.
    with http_server_process("--http-port", "0", "--stateless", "--http-header-timeout", "2",
                             "--http-idle-timeout", "3", "--max-connections", "20") as (url, process, _):
        baseline = open_sockets(process.pid)
        slow = [connect(url) for _ in range(20)]
        for connection in slow:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        waiting = connect(url)
        waiting.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for connection in slow:
            connection.sendall(b"X-Trickle: 1\r\n")
            assert open_sockets(process.pid) <= baseline + 20, "connections beyond the cap are not accepted"
        assert all(read_until_closed(connection) for connection in slow), "half-sent requests stay open"
        answer = waiting.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        kept_alive = connect(url)
        kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert kept_alive.recv(65536).startswith(b"HTTP/1.1 200")
        assert read_until_closed(kept_alive), "an idle kept-alive connection is closed after --http-idle-timeout"


def test_long_responses_outlive_the_connection_timeouts(binary):
    # An SSE stream is a response in progress: neither the head deadline nor the idle timeout ends it.
    with http_server("--sse-port", "0", "--stateless", "--http-header-timeout", "1",
                     "--http-idle-timeout", "1") as url:
        stream, session = open_sse_stream(url)
        time.sleep(3)
        assert post_message(url, session, {"jsonrpc": "2.0", "id": 3, "method": "ping"}) == 202
        assert b"event: message" in stream.recv(65536)


def test_metrics_needs_a_token_under_jwks_url(binary):
    # Item 9: /metrics shows every caller's activity, so it is protected like /api/*.
    keys = KeySet()
    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--stateless", "--jwks-url", jwks_url) as url:
            refused = httpx.get(f"{url}/metrics", timeout=30)
            assert refused.status_code == 401 and "bearer token is required" in refused.json()["error"]
            allowed = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {keys.token()}"}, timeout=30)
            assert allowed.status_code == 200 and "mcpv8_queue_depth" in allowed.text
            for open_route in ["/healthz", "/api-doc/openapi.json"]:
                assert httpx.get(f"{url}{open_route}", timeout=30).status_code == 200, open_route


def test_a_non_loopback_bind_without_tokens_is_warned_about(binary):
    # Binds all interfaces for a moment; the test only connects over loopback.
    warning = "which is not a loopback address, without --jwks-url"
    with http_server_process("--http-port", "0", "--stateless", "--bind-host", "0.0.0.0") as (url, _, log):
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
        log.seek(0)
        assert re.search(r"warning.*listens on 0\.0\.0\.0, " + re.escape(warning), log.read())
    with http_server_process("--http-port", "0", "--stateless") as (_, _, log):
        log.seek(0)
        assert warning not in log.read()
