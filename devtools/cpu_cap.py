"""A fixed CPU budget for one process: its own cgroup v1 ``cpu`` group with a CFS quota.

A group ``/sys/fs/cgroup/cpu/<name>`` with ``cpu.cfs_period_us=100000`` and
``cpu.cfs_quota_us=40000`` holds every thread of the processes in it to 0.4 CPU in total,
whatever else runs on the box: the budget a real node has, so that "two nodes" means two
budgets and not "whatever the scheduler gave two processes on two shared cores".

``cpu.shares`` is raised as well (:data:`SHARES`), so that when other processes on a shared
box want the cores too, a capped node still gets its whole quota: the quota is a ceiling, the
shares make it the floor as well. :func:`weighted` gives an *uncapped* group the same weight
(the bench's load generator and Redis: outside the caps, but not starved by neighbours).

Caveat: needs root (or a delegated hierarchy) and the v1 ``cpu`` controller mounted at
:data:`CPU_ROOT`; :func:`unavailable` says why not, in words fit for a log, and callers fall
back to uncapped processes. A process is moved in after it started (its start-up is not
capped); its children started afterwards inherit the group. Groups are removed on
:meth:`CpuCap.close` (their processes are moved back to the root group first);
:func:`remove_stale` clears the empty groups a killed run left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from pathlib import Path

# Where the v1 cpu controller is mounted; ALONGSIDE_BENCH_CGROUP_CPU points elsewhere (a test
# of the fallback points it at a directory with no controller).
CPU_ROOT = Path(os.environ.get("ALONGSIDE_BENCH_CGROUP_CPU", "/sys/fs/cgroup/cpu"))
PERIOD_US = 100_000
PREFIX = "alongside-bench-"
# Ten ordinary processes' worth (a task outside any group weighs 1024): enough to hold a
# quota against the neighbours of a shared 2-core box.
SHARES = 10240


def unavailable(root: Path = CPU_ROOT) -> str | None:
    """``None`` when CPU caps can be made here; else why not (one line)."""
    if not (root / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {root} (cpu.cfs_quota_us missing)"
    probe = root / f"{PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {root}: {os.strerror(exc.errno or errno.EACCES)}" \
               + ("" if os.geteuid() == 0 else " (not root)")
    try:
        (probe / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (probe / "cpu.cfs_quota_us").write_text(str(PERIOD_US // 2))
    except OSError as exc:
        return f"cannot set a CPU quota under {root}: {os.strerror(exc.errno or 0)}"
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
    return None


class CpuCap:
    """One cgroup holding its processes to ``quota`` CPUs (``None``: weighted, not capped)."""

    def __init__(self, name: str, quota: float | None, root: Path = CPU_ROOT,
                 shares: int = SHARES) -> None:
        if quota is not None and not 0.01 <= quota <= (os.cpu_count() or 1):
            raise ValueError(f"quota {quota} CPUs is out of range")
        self.quota = quota
        self.root = root
        self.path = root / f"{PREFIX}{name}"
        self.shares = shares
        self.pids: list[int] = []

    def open(self) -> CpuCap:
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        quota_us = -1 if self.quota is None else round(self.quota * PERIOD_US)
        (self.path / "cpu.cfs_quota_us").write_text(str(quota_us))
        (self.path / "cpu.shares").write_text(str(self.shares))
        return self

    def add(self, pid: int) -> None:
        """Move ``pid`` (the whole process, every thread) into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))
        self.pids.append(pid)

    def members(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def throttling(self) -> dict[str, int]:
        """``cpu.stat``: periods, periods throttled, nanoseconds throttled (cumulative)."""
        stat: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in (self.path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                stat[key] = int(value)
        return stat

    def close(self) -> None:
        """Move whatever is left back to the root group and remove the group."""
        if not self.path.exists():
            return
        for pid in self.members():
            with contextlib.suppress(OSError):  # gone meanwhile
                (self.root / "cgroup.procs").write_text(str(pid))
        with contextlib.suppress(OSError):
            self.path.rmdir()

    def __enter__(self) -> CpuCap:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def weighted(name: str, root: Path = CPU_ROOT) -> CpuCap:
    """A group with no quota, weighted like a capped one (see the module's docstring)."""
    return CpuCap(name, None, root)


def remove_stale(root: Path = CPU_ROOT, prefix: str = PREFIX) -> list[str]:
    """Remove empty groups named ``prefix*`` (a run killed before it cleaned up)."""
    removed: list[str] = []
    paths: Iterable[Path] = root.glob(f"{prefix}*") if root.exists() else ()
    for path in paths:
        try:
            if not (path / "cgroup.procs").read_text().split():
                path.rmdir()
                removed.append(path.name)
        except OSError:
            continue  # still in use (another run), or not ours to remove
    return removed
