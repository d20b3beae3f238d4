"""The shared stores of the benchmarks' cluster rows: one SeaweedFS (S3) and one PostgreSQL for a
whole benchmark run, started by the tests' own helpers (Tests/EndToEnd/s3_server.py and
postgres_server.py, which scripts/setup provides for), on loopback; a new bucket and database for
each server configuration; and each store's CPU time from /proc, so a run can say what the stores
cost apart from the nodes."""
import sys
from pathlib import Path

from procfs import cpu_seconds, process_tree, reaped_children_cpu_seconds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "EndToEnd"))
from postgres_server import PostgresServer  # noqa: E402
from s3_server import SeaweedFS  # noqa: E402


class SharedStores:
    """SeaweedFS and PostgreSQL, started on entering and removed (data included) on leaving."""

    def __enter__(self) -> "SharedStores":
        self.s3 = SeaweedFS()
        self.postgres = None
        try:
            self.s3.start()
            self.postgres = PostgresServer()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.postgres:
            self.postgres.close()
        self.s3.remove()

    def environment(self) -> dict[str, str]:
        """What a node needs to reach the S3 server (credentials, region, endpoint), as AWS SDKs read it."""
        return self.s3.environment()

    def new_bucket(self) -> str:
        return self.s3.new_bucket()

    def new_database(self) -> str:
        return self.postgres.new_database()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by SeaweedFS (`weed mini` and anything it started) and by PostgreSQL
        (the postmaster, its backends and those that have exited)."""
        postmaster = int((self.postgres.data / "postmaster.pid").read_text().split("\n", 1)[0])
        return {"SeaweedFS": sum(cpu_seconds(pid) for pid in process_tree(self.s3.process.pid)),
                "PostgreSQL": sum(cpu_seconds(pid) for pid in process_tree(postmaster))
                + reaped_children_cpu_seconds(postmaster)}
