"""What the benchmarks read about the server's processes from /proc."""
import os
from pathlib import Path


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None once it has exited."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (the server and its workers)."""
    children = [int(entry.name) for entry in Path("/proc").iterdir()
                if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) and int(fields[1]) == pid]
    return [pid, *[p for child in children for p in process_tree(child)]]


def cpu_seconds(pid: int) -> float:
    """User + system time of a live process (0 once it has exited)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else 0.0


def reaped_children_cpu_seconds(pid: int) -> float:
    """User + system time of the children a live process has waited for (0 once it has exited):
    what its exited children used, which their own entries no longer show."""
    fields = stat_fields(pid)
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK") if fields else 0.0
