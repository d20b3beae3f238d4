"""A real PostgreSQL for the tests and the benchmarks: Debian's `postgresql` (installed by
scripts/setup), `initdb` into a temporary folder, a free loopback port."""
import contextlib
import os
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote


class PostgresServer:
    """A real PostgreSQL (Debian's `postgresql`, installed by scripts/setup) on a free loopback port,
    its data in a temporary folder. `initdb` refuses root, so as root its programs run as the
    `postgres` user. Password authentication over TCP, so a wrong password is refused as in production."""

    PASSWORD = "mcpv8 e2e password"

    def __init__(self):
        versions = sorted(int(v) for v in os.listdir("/usr/lib/postgresql") if v.isdigit()) \
            if os.path.isdir("/usr/lib/postgresql") else []
        assert versions, "PostgreSQL is not installed (/usr/lib/postgresql/*/bin); scripts/setup installs it"
        self.bin = Path(f"/usr/lib/postgresql/{versions[-1]}/bin")
        self.folder = Path(tempfile.mkdtemp(prefix="mcp-v8-postgres-"))
        self.data = self.folder / "data"
        (self.folder / "password").write_text(self.PASSWORD)
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.folder)], check=True)
        self.program("initdb", "-D", str(self.data), "-U", "postgres", f"--pwfile={self.folder / 'password'}",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
        with contextlib.closing(socket.socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.databases = 0
        self.start()

    def program(self, name: str, *args: str):
        command = [str(self.bin / name), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # Into a file, not a pipe: the server pg_ctl starts keeps its descriptors, so a pipe would never end.
        with tempfile.TemporaryFile("w+") as output:
            finished = subprocess.run(command, stdout=output, stderr=output, timeout=120)
            output.seek(0)
            assert finished.returncode == 0, f"{' '.join(command)} failed: {output.read()}"

    def start(self):
        # fsync off: test data need not survive a power cut (a crashed server, as `stop` makes, loses nothing).
        self.program("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                     f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                     "-c full_page_writes=off", "start")

    def stop(self):
        """Stops the server at once, as a crash would."""
        self.program("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        finished = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-At", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.PASSWORD}, check=True, capture_output=True, text=True, timeout=60)
        return finished.stdout

    def new_database(self) -> str:
        """Creates an empty database and returns its --database-url."""
        self.databases += 1
        name = f"e2e_{os.getpid()}_{self.databases}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgres://postgres:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def close(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        subprocess.run(["rm", "-rf", str(self.folder)], check=False)
