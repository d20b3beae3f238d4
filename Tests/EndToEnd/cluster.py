"""Several mcp-v8 nodes behind nginx, for the cluster tests and the benchmarks.

    from cluster import cluster
    with cluster(nodes=3, postgres=server, s3=seaweed) as running:
        httpx.post(f"{running.url}/api/exec", json={"code": "1 + 1"})   # through nginx
        running.nodes[0].url, running.nodes[0].process                  # one node, directly
        running.kill(0)                                                  # kill -9

`cluster(...)` starts what it is not given and stops what it started:
- stateful nodes (the default) share a PostgreSQL database and an S3 bucket: a `PostgresServer`
  (postgres_server.py) and a new database in it, or `database_url=` for an existing one; a SeaweedFS
  (s3_server.py) and a new bucket in it, or `bucket=` for an existing one of the given `s3`;
  `stateless=True` nodes need neither and get none;
- `nodes` mcp-v8 processes started at once, each `--http-port 0 --node-name node-N` (N from 1), with
  its own `--cache-dir`, plus `node_args`; each logs to `<folder>/node-N.log`;
- nginx with docs/deploy/nginx.conf, the shipped file, its example nodes replaced by these on a free
  loopback port; its logs (access.log names the node of each request) are in `<folder>/nginx/logs`.
`folder` is where all of it goes (a new temporary folder by default, removed at the end only then).
"""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conftest import BINARY, listening_port, terminate

NGINX_CONF = Path(__file__).resolve().parents[2] / "docs/deploy/nginx.conf"
# A line of nginx.conf that names an example node: `node-K`, `mcpv8_node_K` or its address.
NODE_LINE = re.compile(r"node[-_](\d)|10\.0\.0\.(\d):8080")


def node_name(index: int) -> str:
    """The --node-name of node `index` (from 0)."""
    return f"node-{index + 1}"


def render_nginx_conf(ports: list[int], listen_port: int) -> str:
    """docs/deploy/nginx.conf for nodes on these loopback ports, listening on `listen_port`: each line
    of its first example node once per node, the other examples' lines dropped."""
    lines = []
    for line in NGINX_CONF.read_text().splitlines():
        found = NODE_LINE.search(line)
        if not found:
            lines.append(line.replace("listen 80;", f"listen 127.0.0.1:{listen_port};"))
            continue
        if (found.group(1) or found.group(2)) != "1":
            continue
        for index, port in enumerate(ports):
            lines.append(line.replace("10.0.0.1:8080", f"127.0.0.1:{port}").replace("node-1", node_name(index))
                         .replace("node_1", f"node_{index + 1}"))
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Node:
    name: str
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    url: str
    """nginx's base URL: what clients use."""
    nodes: list[Node]
    folder: Path
    database_url: str | None = None
    bucket: str | None = None
    nginx: subprocess.Popen | None = None
    environment: dict[str, str] = field(default_factory=dict)
    """What a further node needs to reach the bucket (the AWS variables)."""

    def kill(self, index: int):
        """kill -9 of node `index`, as a crash would."""
        process = self.nodes[index].process
        process.kill()
        process.wait()

    def access_log(self) -> str:
        return (self.folder / "nginx/logs/access.log").read_text(errors="replace")


def start_nginx(folder: Path, ports: list[int]) -> tuple[subprocess.Popen, str]:
    """nginx (Debian's, installed by scripts/setup) in front of `ports`, prefix `folder`; waits until
    it answers and returns it and its URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).is_file(), "nginx is missing: run scripts/setup (it installs Debian's nginx)"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    (folder / "temp").mkdir(exist_ok=True)
    # As root, nginx's workers run as an unprivileged user: they write request bodies into temp/.
    os.chmod(folder, 0o755)
    os.chmod(folder / "temp", 0o777)
    port = free_port()
    (folder / "nginx.conf").write_text(render_nginx_conf(ports, port))
    with open(folder / "logs/stderr.log", "ab") as log:
        process = subprocess.Popen([nginx, "-p", str(folder), "-e", "logs/error.log", "-c", str(folder / "nginx.conf"),
                                    "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, f"nginx exited: {(folder / 'logs/stderr.log').read_text()}" \
                                       f"{(folder / 'logs/error.log').read_text(errors='replace')}"
        try:
            httpx.get(f"{url}/healthz", timeout=5)
            return process, url
        except httpx.TransportError:
            assert time.monotonic() < deadline, "nginx did not answer within 20 s"
            time.sleep(0.05)


@contextlib.contextmanager
def cluster(nodes: int = 3, *, stateless: bool = False, postgres=None, database_url: str | None = None, s3=None,
            bucket: str | None = None, node_args: tuple[str, ...] = (), folder: Path | None = None,
            binary: str = BINARY):
    """Yields a running `Cluster` of `nodes` mcp-v8 nodes behind nginx; stops everything it started."""
    with contextlib.ExitStack() as cleanup:
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="mcp-v8-cluster-"))
            cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ)
        store_args: list[str] = []
        if stateless:
            store_args = ["--stateless"]
        else:
            if database_url is None:
                if postgres is None:
                    from postgres_server import PostgresServer
                    postgres = PostgresServer()
                    cleanup.callback(postgres.close)
                database_url = postgres.new_database()
            if s3 is None:
                from s3_server import seaweedfs
                s3 = cleanup.enter_context(seaweedfs())
            if bucket is None:
                bucket = s3.new_bucket()
            environment.update(s3.environment())
            store_args = ["--database-url", database_url, "--s3-bucket", bucket]
        # Started at once, as a deployment would: they migrate one database together.
        started = []
        for index in range(nodes):
            name = node_name(index)
            cache = ["--cache-dir", str(folder / f"cache-{name}")] if not stateless else []
            log_path = folder / f"{name}.log"
            with open(log_path, "ab") as log:
                process = subprocess.Popen([binary, "--http-port", "0", "--node-name", name, *store_args, *cache,
                                            *node_args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=log, env=environment)
            cleanup.callback(terminate, process)
            started.append((name, process, log_path))
        members = []
        for name, process, log_path in started:
            with open(log_path) as log:
                members.append(Node(name, f"http://127.0.0.1:{listening_port(process, log)}", process, log_path))
        nginx, url = start_nginx(folder / "nginx", [int(node.url.rsplit(":", 1)[1]) for node in members])
        cleanup.callback(terminate, nginx)
        yield Cluster(url=url, nodes=members, folder=folder, database_url=database_url, bucket=bucket, nginx=nginx,
                      environment=s3.environment() if s3 else {})
