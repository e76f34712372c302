"""The bench's machinery: child processes, the contestants' servers and the load generator.

Contestants run as separate processes on CPU 0 (``taskset -c 0``), the load generator
(``bench/loadgen/gen.js``) on CPU 1; every child is started in its own process group and
killed on the way out (``PROCS.stop_all``). Caveat: ``server()`` knows each contestant's
command line; a new contestant is added there.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.ports import free_port, wait_listening
from devtools.processes import Children

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
NODE = shutil.which("node")
TASKSET = shutil.which("taskset") if (os.cpu_count() or 1) >= 2 else None
SECRET = "bench-secret-" + "k" * 40


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------------------------------
class Processes:
    """Every child we start, so that all of them die with us (even on error). Each starts in
    its own process group (devtools.processes), pinned to ``cpu`` with ``taskset`` when the
    box has two CPUs."""

    def __init__(self) -> None:
        self._children = Children()

    @property
    def children(self) -> list[subprocess.Popen[Any]]:
        return self._children.children

    def start(self, cmd: list[str], cpu: int | None, **kw: Any) -> subprocess.Popen[Any]:
        if TASKSET and cpu is not None:
            cmd = [TASKSET, "-c", str(cpu), *cmd]
        return self._children.start(cmd, **kw)

    def stop(self, proc: subprocess.Popen[Any], grace: float = 3.0) -> None:
        self._children.stop(proc, grace)

    def stop_all(self) -> None:
        self._children.stop_all(grace=1.0)


PROCS = Processes()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[Any]
    tmp: tempfile.TemporaryDirectory[str] | None = None
    kind: str = "socketio"  # what the load generator speaks to it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def server(name: str, seed: tuple[str, int] | None = None, store: str | None = None,
           node_id: str | None = None, cpu: int | None = 0,
           extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start one contestant on a free port, pinned to CPU ``cpu`` (0); ``seed`` = (room
    prefix, count) of couples rooms whose programs our server needs (bench/seed.py).
    Ours only: ``store`` (default a fresh SQLite file; a ``redis://`` URL = cluster mode)
    and ``node_id`` (``ALONGSIDE_NODE_ID``); its stderr then goes to ``tmp/stderr.log``,
    where B5 counts ``cluster.publish_dropped``; ``extra_env``: more of its settings (B6's Janus)."""
    port = free_port()
    tmp: tempfile.TemporaryDirectory[str] | None = None
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    if name == "ours":
        tmp = tempfile.TemporaryDirectory(prefix="alongside-bench-")
        env = {**os.environ,
               "ALONGSIDE_HOST": "127.0.0.1", "ALONGSIDE_PORT": str(port),
               "ALONGSIDE_VAR_DIR": tmp.name,
               "ALONGSIDE_STORE": store or f"sqlite:///{tmp.name}/alongside.db",
               "ALONGSIDE_JWT_SECRET": SECRET,
               "ALONGSIDE_RATE_PER_SECOND": "1000000", "ALONGSIDE_RATE_BURST": "1000000",
               "ALONGSIDE_LOG_LEVEL": "WARNING"}
        for var in ("ALONGSIDE_JWT_PUBLIC_KEY", "ALONGSIDE_TURN_URLS", "ALONGSIDE_TURN_SECRET",
                    "ALONGSIDE_PUBLIC_URL", "ALONGSIDE_ALLOWED_ORIGINS", "ALONGSIDE_NODE_ID"):
            env.pop(var, None)
        if node_id:
            env["ALONGSIDE_NODE_ID"] = node_id
        env.update(extra_env or {})
        if store:  # a file, not a pipe nobody reads: a busy cluster node logs errors
            quiet["stderr"] = open(Path(tmp.name) / "stderr.log", "wb")  # noqa: SIM115
        if seed is not None:
            subprocess.run([PY, "-m", "bench.seed", env["ALONGSIDE_STORE"], seed[0],
                            str(seed[1])], env={**env, "PYTHONPATH": os.pathsep.join(
                                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
                           cwd=tmp.name, check=True, timeout=120)
        alongside = Path(PY).parent / "alongside"
        cmd = [str(alongside), "serve"] if alongside.exists() else [PY, "-m", "server.cli",
                                                                     "serve"]
        proc = PROCS.start(cmd, cpu, env=env, cwd=tmp.name, **quiet)
        if store:
            quiet["stderr"].close()  # the child has its own descriptor
        kind = "alongside"
    elif name == "bare_socketio":
        proc = PROCS.start([PY, "-m", "bench.contestants.s0", str(port)], 0, cwd=ROOT, **quiet)
        kind = "socketio"
    elif name == "stock_manager":  # S0 on python-socketio's AsyncRedisManager (B5)
        assert store, "the stock manager needs a redis:// URL"
        tmp = tempfile.TemporaryDirectory(prefix="alongside-bench-")
        log_file = open(Path(tmp.name) / "stderr.log", "wb")  # noqa: SIM115
        proc = PROCS.start([PY, "-m", "bench.contestants.s0", str(port), store], cpu, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=log_file)
        log_file.close()
        kind = "socketio"
    elif name == "node_socketio":
        assert NODE
        proc = PROCS.start([NODE, str(BENCH / "contestants" / "n0.js"), str(port)], 0,
                           cwd=BENCH, **quiet)
        kind = "socketio"
    elif name == "raw_ws":
        proc = PROCS.start([PY, "-m", "bench.contestants.r0", str(port)], 0, cwd=ROOT, **quiet)
        kind = "raw"
    else:
        raise ValueError(name)
    srv = Server(name, port, proc, tmp, kind)
    try:
        try:
            wait_listening(port, proc)
        except RuntimeError:
            err = ""
            if proc.poll() is not None:
                err = (proc.stderr.read().decode(errors="replace") if proc.stderr else
                       (Path(tmp.name) / "stderr.log").read_text(errors="replace") if tmp
                       else "")[-2000:]
            raise RuntimeError(f"{name} did not start: {err}") from None
        yield srv
    finally:
        PROCS.stop(proc)
        if tmp is not None:
            tmp.cleanup()


# ---- the load generator ---------------------------------------------------------------------
class Generator:
    """One ``gen.js`` run; JSON lines out, optional commands in."""

    def __init__(self, config: dict[str, Any], time_limit: float, cpu: int | None = 1) -> None:
        config = {**config, "secret": SECRET, "time_limit_s": time_limit}
        self.deadline = time.monotonic() + time_limit + 15
        self.proc = PROCS.start([NODE or "node", str(BENCH / "loadgen" / "gen.js"),
                                 json.dumps(config)], cpu, cwd=BENCH, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buf = b""

    def lines(self) -> Iterator[dict[str, Any]]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                if line.strip():
                    msg = json.loads(line)
                    if msg.get("event") == "error":
                        raise RuntimeError(f"load generator: {msg.get('message')}")
                    yield msg
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("load generator overran its time limit")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    err = self.proc.stderr.read().decode(errors="replace")[-2000:] \
                        if self.proc.stderr else ""
                    raise RuntimeError(f"load generator exited ({self.proc.wait()}): {err}")
                self._buf += chunk

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        for msg in self.lines():
            if msg.get("event") == "result":
                return msg
            if msg.get("event") == "warning":
                log(f"  generator: {msg.get('message')}")
        raise RuntimeError("no result")

    def close(self) -> None:
        PROCS.stop(self.proc, grace=2.0)


def generate(config: dict[str, Any], time_limit: float, cpu: int | None = 1) -> dict[str, Any]:
    """Run the generator on CPU ``cpu`` (``None``: wherever the OS puts it)."""
    gen = Generator(config, time_limit, cpu)
    try:
        return gen.result()
    finally:
        gen.close()
