"""``make bench``: Alongside against its peers, side by side, in one run.

    python -m bench.run [--quick] [--smoke] [--out DIR] [--only B1,B2,B3,B4]

Contestants run as separate processes on CPU 0 (``taskset -c 0``); the load
generator (``bench/loadgen/gen.js``, Node socket.io-client, one for all) and the
aiortc peers run on CPU 1. Contestants are interleaved (ABCD ABCD ..., the order
rotated every repetition), and each ratio is the median of the per-repetition
ratios. All traffic stays on 127.0.0.1; every process is killed on the way out.

    ours           `alongside serve` (auth, lobby, validation, store, audit: all on)
    bare_socketio  S0, bench/contestants/s0.py (python-socketio on aiohttp, no auth)
    node_socketio  N0, bench/contestants/n0.js (socket.io 4), when node is present
    raw_ws         R0, bench/contestants/r0.py (raw aiohttp WebSocket relay), B1 only

Writes ``bench/results/latest.json`` and ``latest.png`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
NODE = shutil.which("node")
TASKSET = shutil.which("taskset") if (os.cpu_count() or 1) >= 2 else None
SECRET = "bench-secret-" + "k" * 40

LABELS = {"ours": "Alongside", "bare_socketio": "S0 python-socketio",
          "node_socketio": "N0 Node socket.io", "raw_ws": "R0 raw aiohttp WS"}


@dataclass(frozen=True)
class Plan:
    quick: bool
    b1_windows: int  # latency windows per contestant and room count
    b1_ramp_reps: int  # full ramps per contestant
    b1_latency_s: float
    b1_warmup_s: float
    b1_ramp_s: float
    b1_bisect: int
    b1_retries: int
    b2_rooms: int
    b2_reps: int
    b3_levels: tuple[int, ...]
    b3_reps: int
    b4_trials: int
    total_s: float  # the time the run aims for: each phase gets a share (PHASES)
    b2_retries: int  # extra runs of a contended storm (the least contended is kept)
    b1_rooms: tuple[int, ...] = (10, 100)
    b1_latency_rate: int = 200
    signal_bytes: int = 300
    slo_ms: float = 50.0
    b2_concurrency: int = 25
    b2_candidates: int = 5
    b2_sdp_bytes: int = 3000
    ramp_factor: float = 1.5
    ramp_max: int = 40000
    ramp_start: int = 0  # 0: half the capacity estimated from the latency rows
    # A B1 step is "contended" when the server or the generator spent more than max_wait_frac of
    # it waiting for a CPU that other processes held (/proc/PID/schedstat), or the generator fell
    # max_lag_ms behind its schedule. Contended latency windows are measured again (the least
    # contended attempt is kept); a contended failing ramp step does not count as a failure.
    max_wait_frac: float = 0.05
    max_lag_ms: float = 10.0
    contended_retries: int = 2
    b5_rooms: int = 100  # B5 cluster relay: rooms of three per setup
    b5_budget_s: float = 100.0  # B5's own time (it is not in PHASES' shares)
    b5_spread: bool = True  # B5 also measures two nodes with every room's members spread
    b5_ring_s: float = 3.0  # B5 round trips: seconds per setup and repetition
    b5_ring_reps: int = 3


FULL = Plan(quick=False, b1_windows=7, b1_ramp_reps=3, b1_latency_s=2.0, b1_warmup_s=0.5,
            b1_ramp_s=1.5,
            b1_bisect=2, b1_retries=1, b2_rooms=500, b2_reps=3, b3_levels=(1000, 3000),
            b3_reps=1, b4_trials=25, total_s=840, b2_retries=1)
QUICK = Plan(quick=True, b1_windows=2, b1_ramp_reps=1, b1_latency_s=1.0, b1_warmup_s=0.3,
             b1_ramp_s=0.8, b1_bisect=1, b1_retries=1, b2_rooms=100, b2_reps=3,
             b3_levels=(120, 360), b3_reps=1, b4_trials=6, total_s=120, b2_retries=0,
             b5_rooms=100, b5_budget_s=40, contended_retries=1, b5_spread=False,
             b5_ring_s=1.5, b5_ring_reps=2)
# For the test suite: proves every piece still runs, measures nothing worth keeping.
SMOKE = Plan(quick=True, b1_windows=1, b1_ramp_reps=1, b1_latency_s=0.3, b1_warmup_s=0.1, b1_ramp_s=0.3,
             b1_bisect=0, b1_retries=0, b2_rooms=4, b2_reps=1, b3_levels=(6, 12), b3_reps=1,
             b4_trials=1, total_s=60, b2_retries=0, b1_rooms=(2, 4), b1_latency_rate=50, ramp_start=100, ramp_max=400,
             b5_rooms=4, b5_budget_s=5, b5_ring_s=0.3, b5_ring_reps=1)


# Where each phase should be done, as a share of Plan.total_s from the start of the run. A phase
# always does one full repetition; further repetitions, repeats of contended steps and
# bisection happen only while its share lasts, so a busy box makes the run less precise (the
# JSON says how contended it was), not longer without bound.
PHASES = {"B1": 0.55, "B2": 0.8, "B3": 0.9, "B4": 1.0}
PHASE_END: dict[str, float] = {}


def time_for(phase: str, seconds: float) -> bool:
    """Is there time left in ``phase`` for ``seconds`` more?"""
    return time.monotonic() + seconds <= PHASE_END.get(phase, float("inf"))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- processes ---------------------------------------------------------------------------------
class Processes:
    """Every child we start, so that all of them die with us (even on error)."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[Any]] = []

    def start(self, cmd: list[str], cpu: int | None, **kw: Any) -> subprocess.Popen[Any]:
        if TASKSET and cpu is not None:
            cmd = [TASKSET, "-c", str(cpu), *cmd]
        proc = subprocess.Popen(cmd, start_new_session=True, **kw)
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any], grace: float = 3.0) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(grace)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        if proc in self.children:
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.children):
            self.stop(proc, grace=1.0)


PROCS = Processes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


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
           node_id: str | None = None, cpu: int | None = 0) -> Iterator[Server]:
    """Start one contestant on a free port, pinned to CPU ``cpu`` (0); ``seed`` = (room
    prefix, count) of couples rooms whose programs our server needs (bench/seed.py).
    Ours only: ``store`` (default a fresh SQLite file; a ``redis://`` URL = cluster mode)
    and ``node_id`` (``ALONGSIDE_NODE_ID``); its stderr then goes to ``tmp/stderr.log``,
    where B5 counts ``cluster.publish_dropped``."""
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


# ---- helpers ------------------------------------------------------------------------------------
def median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def rotated(names: list[str], rep: int) -> list[str]:
    k = rep % len(names)
    return names[k:] + names[:k]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(-(-q * len(s) // 1)) - 1))]


# ---- B1 relay --------------------------------------------------------------------------------
R_KEYS = ("p50_ms_10", "p99_ms_10", "p50_ms_100", "p99_ms_100", "peak_msgs_per_s",
          "msgs_per_cpu_s", "cpu_us_per_msg")


def b1(plan: Plan, names: list[str]) -> dict[str, Any]:
    """All contestants up at once (idle ones cost nothing), one generator, interleaved step by
    step: latency windows A B C D, B C D A, ...; then the ramps, one step each in turn."""
    log(f"B1 relay: {', '.join(names)}; rooms {list(plan.b1_rooms)}, "
        f"{plan.b1_windows} latency windows each, {plan.b1_ramp_reps} ramp(s)")
    with ExitStack() as stack:
        servers = [stack.enter_context(server(n, seed=("r", max(plan.b1_rooms))))
                   for n in names]
        config = {
            "mode": "relay",
            "targets": [{"name": s.name, "kind": s.kind, "url": s.url,
                         "server_pid": s.proc.pid} for s in servers],
            "signal_bytes": plan.signal_bytes, "room_counts": list(plan.b1_rooms),
            "concurrency": 20, "latency_rate": plan.b1_latency_rate,
            "latency_s": plan.b1_latency_s, "latency_windows": plan.b1_windows,
            "warmup_s": plan.b1_warmup_s, "pause_ms": 150, "drain_ms": 3000,
            "ramp_start": plan.ramp_start, "ramp_factor": plan.ramp_factor,
            "ramp_max": plan.ramp_max, "ramp_s": plan.b1_ramp_s, "ramp_reps": plan.b1_ramp_reps,
            "bisect": plan.b1_bisect, "retries": plan.b1_retries, "slo_ms": plan.slo_ms,
            "max_wait_frac": plan.max_wait_frac, "max_lag_ms": plan.max_lag_ms,
            "contended_retries": plan.contended_retries,
            "budget_s": max(5.0, PHASE_END.get("B1", float("inf")) - time.monotonic())
            if PHASE_END else 0,
        }
        res = generate(config, time_limit=600)
    lo, hi = str(plan.b1_rooms[0]), str(plan.b1_rooms[-1])
    # Per contestant, the series each value is the median of (windows, or ramp repetitions).
    series: dict[str, dict[str, list[Any]]] = {}
    for name in names:
        w_lo, w_hi = res["latency"][lo][name], res["latency"][hi][name]
        ramps = res["ramps"][name]
        series[name] = {
            "p50_ms_10": [w["p50_ms"] for w in w_lo], "p99_ms_10": [w["p99_ms"] for w in w_lo],
            "p50_ms_100": [w["p50_ms"] for w in w_hi], "p99_ms_100": [w["p99_ms"] for w in w_hi],
            "peak_msgs_per_s": [r["peak_msgs_per_s"] for r in ramps],
            "msgs_per_cpu_s": [(r["peak_step"] or {}).get("server_msgs_per_cpu_s")
                               for r in ramps],
            # Server CPU per relayed message at the same offered rate for everyone (the
            # latency windows at the largest room count), from /proc/PID/task/*/schedstat.
            "cpu_us_per_msg": [1e6 / w["server_msgs_per_cpu_s"] if w.get("server_msgs_per_cpu_s")
                               else None for w in w_hi],
        }
    out: dict[str, Any] = {}
    for name in ("ours", "bare_socketio", "node_socketio", "raw_ws"):
        out[name] = {k: median(series[name][k]) for k in R_KEYS} if name in names else None
    ratios: dict[str, Any] = {}
    for other in names[1:]:
        ratios[f"ours_vs_{other}"] = {
            k: median([ratio(a, b) for a, b in zip(series["ours"][k], series[other][k],
                                                    strict=True)])
            for k in R_KEYS}
    out["ratios"] = ratios
    windows = [w for per in res["latency"].values() for ws in per.values() for w in ws]
    steps = [st for rs in res["ramps"].values() for r in rs for st in r["steps"]]
    busy = sum(bool(x.get("contended")) for x in windows + steps)
    out["contended"] = {"windows": f"{sum(bool(w.get('contended')) for w in windows)}"
                                   f"/{len(windows)}",
                        "ramp_steps": f"{sum(bool(st.get('contended')) for st in steps)}"
                                      f"/{len(steps)}",
                        "share": round(busy / max(1, len(windows) + len(steps)), 2)}
    if out["contended"]["share"] > 0.25:
        log(f"  WARNING: other processes held the CPUs during {out['contended']['share']:.0%} "
            "of the B1 steps; wall-clock figures of this run say more about the box than "
            "about the contestants (see msgs per CPU-second)")
    out["series"] = series
    out["windows"] = {n: {name: [{k: w.get(k) for k in (
        "p50_ms", "p99_ms", "max_ms", "lost", "errors", "server_cpu_util",
        "server_msgs_per_cpu_s", "generator_cpu_util", "send_lag_p99_ms", "server_wait_frac",
        "generator_wait_frac", "contended", "attempts")} for w in ws]
        for name, ws in per.items()} for n, per in res["latency"].items()}
    out["ramps"] = {name: [{"peak_msgs_per_s": r["peak_msgs_per_s"], "capped": r["capped"],
                            "steps": [{k: st.get(k) for k in (
                                "rate", "msgs_per_s", "p50_ms", "p99_ms", "lost", "errors",
                                "pass", "server_cpu_util", "server_msgs_per_cpu_s",
                                "generator_cpu_util", "send_lag_p99_ms", "server_wait_frac",
                                "generator_wait_frac", "contended")}
                                for st in r["steps"]]} for r in ramps]
                    for name, ramps in res["ramps"].items()}
    for name in names:
        r = out[name]
        log(f"  {name}: p50 {fmt(r['p50_ms_10'])}/{fmt(r['p50_ms_100'])} ms, p99 "
            f"{fmt(r['p99_ms_10'])}/{fmt(r['p99_ms_100'])} ms, peak "
            f"{fmt(r['peak_msgs_per_s'])} msgs/s, {fmt(r['msgs_per_cpu_s'])} msgs/CPU-s")
    return out


# ---- B2 join storm -----------------------------------------------------------------------------
def b2(plan: Plan, names: list[str]) -> dict[str, Any]:
    reps: list[dict[str, dict[str, Any]]] = []
    last = 0.0
    for rep in range(plan.b2_reps):
        if rep and not time_for("B2", last):
            log(f"B2: out of its time share after {rep} repetition(s)")
            break
        began = time.monotonic()
        row = {}
        for name in rotated(names, rep):
            log(f"B2 join storm rep {rep + 1}/{plan.b2_reps}: {name}, {plan.b2_rooms} rooms")
            best: dict[str, Any] | None = None
            # A storm during which other processes kept the server or the generator waiting for
            # a CPU (see Plan.max_wait_frac) is run again; the least contended run is kept.
            for attempt in range(1 + plan.b2_retries):
                if attempt and not time_for("B2", last / len(names) + 5):
                    break
                with server(name, seed=("s", plan.b2_rooms)) as srv:
                    res = generate({"mode": "storm", "kind": srv.kind, "url": srv.url,
                                    "server_pid": srv.proc.pid, "rooms": plan.b2_rooms,
                                    "concurrency": plan.b2_concurrency,
                                    "candidates": plan.b2_candidates,
                                    "sdp_bytes": plan.b2_sdp_bytes}, time_limit=300)
                if res["failures"]:
                    raise RuntimeError(f"B2 {name}: {res['failures']} rooms failed")
                cpu = res.get("server_cpu_s")
                res["joins_per_cpu_s"] = res["participants"] / cpu if cpu else None
                res["stolen"] = (res.get("server_wait_frac") or 0) + \
                    (res.get("generator_wait_frac") or 0)
                res["contended"] = res["stolen"] > 2 * plan.max_wait_frac
                res["attempts"] = attempt + 1
                log(f"  {res['joins_per_s']:.0f} joins/s, p99 {fmt(res['p99_ms'])} ms"
                    + (f" (contended: {res['stolen']:.0%} of the time waiting for a CPU)"
                       if res["contended"] else ""))
                if best is None or res["stolen"] < best["stolen"]:
                    best = res
                if not res["contended"]:
                    break
            assert best is not None
            row[name] = best
        last = time.monotonic() - began
        reps.append(row)
    out: dict[str, Any] = {"participants": plan.b2_rooms * 3}
    for name in ("ours", "bare_socketio", "node_socketio"):
        if name in names:
            out[name] = {k: median([rep[name][k] for rep in reps])
                         for k in ("joins_per_s", "p99_ms", "p50_ms", "joins_per_cpu_s")}
        else:
            out[name] = None
    out["ratios"] = {
        f"ours_vs_{other}": {k: median([ratio(rep["ours"][k], rep[other][k]) for rep in reps])
                             for k in ("joins_per_s", "p99_ms", "joins_per_cpu_s")}
        for other in ("bare_socketio", "node_socketio") if other in names}
    out["reps"] = reps
    return out


# ---- B3 memory ------------------------------------------------------------------------------------
def settle_rss(pid: int, seconds: float = 0.7) -> int:
    time.sleep(seconds)
    return rss_kib(pid)


def b3_once(name: str, plan: Plan) -> dict[str, Any]:
    levels = [3, *plan.b3_levels]  # one warm room first: one-time costs are not per person
    with server(name, seed=("h", -(-plan.b3_levels[-1] // 3) + 1)) as srv:
        gen = Generator({"mode": "hold", "kind": srv.kind, "url": srv.url,
                         "levels": levels, "concurrency": plan.b2_concurrency},
                        time_limit=300)
        try:
            idle = settle_rss(srv.proc.pid, 0.5)
            points: list[tuple[int, int]] = []
            stream = gen.lines()
            for msg in stream:
                if msg.get("event") != "level":
                    continue
                points.append((msg["participants"], settle_rss(srv.proc.pid)))
                gen.send("go")
                if len(points) == len(levels):
                    break
            gen.result()
        finally:
            gen.close()
    (n0, r0), rest = points[0], points[1:]
    # Keyed by the level asked for; the count is what connected (whole rooms of three).
    return {"idle_rss_kib": idle, "warm_rss_kib": r0,
            "levels": {str(level): {"participants": n, "rss_kib": r,
                                    "kib_per_participant": (r - r0) / (n - n0)}
                       for level, (n, r) in zip(plan.b3_levels, rest, strict=True)}}


def b3(plan: Plan, names: list[str]) -> dict[str, Any]:
    reps = []
    last = 0.0
    for rep in range(plan.b3_reps):
        if rep and not time_for("B3", last):
            log(f"B3: out of its time share after {rep} repetition(s)")
            break
        began = time.monotonic()
        row = {}
        for name in rotated(names, rep):
            log(f"B3 memory rep {rep + 1}/{plan.b3_reps}: {name}, {list(plan.b3_levels)}")
            row[name] = b3_once(name, plan)
            log("  " + ", ".join(f"{n}: {v['kib_per_participant']:.1f} KiB/participant"
                                 for n, v in row[name]["levels"].items()))
        reps.append(row)
        last = time.monotonic() - began
    top = str(plan.b3_levels[-1])

    def per(name: str, level: str) -> float | None:
        return median([rep[name]["levels"][level]["kib_per_participant"] for rep in reps])

    out: dict[str, Any] = {"participants": plan.b3_levels[-1]}
    for name, key in (("ours", "ours_kib"), ("bare_socketio", "bare_socketio_kib"),
                      ("node_socketio", "node_socketio_kib")):
        out[key] = per(name, top) if name in names else None
    out["levels"] = {str(n): {name: per(name, str(n)) for name in names}
                     for n in plan.b3_levels}
    out["ratios"] = {
        f"ours_vs_{other}": median([ratio(rep["ours"]["levels"][top]["kib_per_participant"],
                                          rep[other]["levels"][top]["kib_per_participant"])
                                    for rep in reps])
        for other in ("bare_socketio", "node_socketio") if other in names}
    out["reps"] = reps
    return out


# ---- B5 cluster ----------------------------------------------------------------------------------
@contextmanager
def redis_server() -> Iterator[int]:
    """A private, memory-only redis-server on a free port (never 6379), on any CPU."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = PROCS.start([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--protected-mode", "yes"], None,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        yield port
    finally:
        PROCS.stop(proc)


def redis_publishes(port: int) -> int | None:
    """PUBLISH commands Redis has served: the signals that crossed nodes (and any others)."""
    try:
        import redis

        stats = redis.Redis(port=port, socket_timeout=3).info("commandstats")
        return int(stats.get("cmdstat_publish", {}).get("calls", 0))
    except Exception:  # the count is a nicety; the figures stand without it
        return None


B5_SETUPS = {
    "single": "1 node, no Redis",
    "single_redis": "1 node, Redis",
    "two_nodes_local": "2 nodes, Redis, each room on one node (as deploy/nginx.conf routes)",
    "two_nodes": "2 nodes, Redis, each room's members spread over both",
    "stock_manager": "S0 on the stock AsyncRedisManager, 1 node",
}
OURS_B5 = ("single", "single_redis", "two_nodes", "two_nodes_local")
# What each B5 ratio compares (numerator, denominator), for round trips and relay peaks alike.
B5_RATIOS = {
    "redis_vs_single": ("single_redis", "single"),
    "two_nodes_local_vs_single_redis": ("two_nodes_local", "single_redis"),
    "two_nodes_vs_single_redis": ("two_nodes", "single_redis"),
    "two_nodes_vs_single": ("two_nodes", "single"),
    "single_redis_vs_stock_manager": ("single_redis", "stock_manager"),
    "two_nodes_local_vs_stock_manager": ("two_nodes_local", "stock_manager"),
    "two_nodes_vs_stock_manager": ("two_nodes", "stock_manager"),
}
# The cluster keys and the setup each comes from (round trips at the top, peaks in slo_peak).
B5_KEYS = {
    "one_node_msgs_per_s": "single_redis",
    "two_nodes_msgs_per_s": "two_nodes_local",
    "two_nodes_spread_msgs_per_s": "two_nodes",
    "no_redis_msgs_per_s": "single",
    "stock_manager_msgs_per_s": "stock_manager",
}


def dropped_in_log(srv: Server, needle: str) -> int:
    assert srv.tmp is not None
    log_file = Path(srv.tmp.name) / "stderr.log"
    return log_file.read_text(errors="replace").count(needle) if log_file.exists() else 0


def b5(plan: Plan) -> dict[str, Any]:
    """The setups of ``B5_SETUPS``, all up at once and interleaved step by step by one
    generator, each with 100 rooms of three: first B1's relay (a 300-byte offer to one peer;
    latency at 200/s, then the open-loop peak with p99 <= 50 ms), then round trips on the same
    rooms (closed loop: three signals per room passed on as soon as they arrive, the shape of
    the measurement the cluster issue's targets were set against). Each setup that uses Redis
    has a private one, so pub/sub channels stay apart.

    ``two_nodes`` is what nginx without sticky sessions gives: a room's members land on
    either node (here they alternate, so two signals in three cross through Redis).
    ``two_nodes_local`` puts each room wholly on one node (alternating rooms), the case a
    deployment gets by routing a room's links to one node; nothing then crosses Redis.
    Placement: nothing is pinned in B5; the OS spreads the nodes, their Redis and the
    generator over the box's cores, the same freedom for one node as for two. On two cores
    the generator needs about half of one at these rates, so two nodes can at best reach
    about 1.5x one node here: the two-node figures are what this box allows, not a scaling
    law. ``msgs_per_cpu_s`` shows the per-message cost, which is what more cores multiply."""
    n = plan.b5_rooms
    PHASE_END["B5"] = time.monotonic() + plan.b5_budget_s
    # Quick runs leave out the spread placement (what nginx without room affinity would give)
    # to stay within their 3 minutes; full runs measure it.
    setups = {k: v for k, v in B5_SETUPS.items() if plan.b5_spread or k != "two_nodes"}
    log(f"B5 cluster relay: {', '.join(setups)}; {n} rooms")
    with ExitStack() as stack:
        seed = ("r", n)
        urls = {}
        ports = {}
        for name in [k for k in setups if k != "single"]:
            ports[name] = stack.enter_context(redis_server())
            urls[name] = f"redis://127.0.0.1:{ports[name]}/0"
        nodes: dict[str, list[Server]] = {
            "single": [stack.enter_context(server("ours", seed=seed, cpu=None))],
            "single_redis": [stack.enter_context(server(
                "ours", seed=seed, store=urls["single_redis"], node_id="b5-solo", cpu=None))],
            "stock_manager": [stack.enter_context(server(
                "stock_manager", store=urls["stock_manager"], cpu=None))],
        }
        for name in [k for k in ("two_nodes", "two_nodes_local") if k in setups]:
            nodes[name] = [
                stack.enter_context(server("ours", seed=seed, store=urls[name],
                                           node_id=f"b5-{name}-a", cpu=None)),
                stack.enter_context(server("ours", store=urls[name],
                                           node_id=f"b5-{name}-b", cpu=None))]
        targets: list[dict[str, Any]] = []
        for name, srvs in nodes.items():
            t: dict[str, Any] = {"name": name, "kind": srvs[0].kind, "url": srvs[0].url,
                                 "server_pid": srvs[0].proc.pid}
            if len(srvs) > 1:
                t.update(urls=[x.url for x in srvs], server_pid=[x.proc.pid for x in srvs])
                if name == "two_nodes_local":
                    t["placement"] = "room"
            targets.append(t)
        pub0 = {name: redis_publishes(port) for name, port in ports.items()}
        log(f"  B5: {sum(len(v) for v in nodes.values())} servers and {len(ports)} Redis up; "
            "relay")
        config = {
            "mode": "relay", "targets": targets,
            "signal_bytes": plan.signal_bytes, "room_counts": [n],
            "concurrency": 20, "latency_rate": plan.b1_latency_rate,
            # B5 is about the peak; one latency window each is enough for a quick run.
            "latency_s": plan.b1_latency_s,
            "latency_windows": 1 if plan.quick else plan.b1_windows,
            "warmup_s": plan.b1_warmup_s, "pause_ms": 150, "drain_ms": 3000,
            # Quick: doubling from the estimated capacity (not half of it), then bisection
            # below what a saturated step delivered, so the setups fit in the budget and
            # still end within about 10% of their peak.
            "ramp_start": plan.ramp_start, "ramp_start_frac": 1.0 if plan.quick else 0.5,
            "ramp_factor": 2.0 if plan.quick else plan.ramp_factor,
            "ramp_max": plan.ramp_max, "ramp_s": plan.b1_ramp_s, "ramp_reps": plan.b1_ramp_reps,
            "bisect": max(3, plan.b1_bisect), "retries": plan.b1_retries,
            "slo_ms": plan.slo_ms,
            "max_wait_frac": plan.max_wait_frac, "max_lag_ms": plan.max_lag_ms,
            # Every B5 step is "contended": a setup's own processes (two nodes, their Redis,
            # the generator) share two cores by design. Retrying for that would only spend
            # the budget that bisection needs; a failing step still gets plan.b1_retries.
            "contended_retries": 0,
            "budget_s": max(3.0, PHASE_END["B5"] - time.monotonic()),
            # Then round trips on the same rooms (closed loop, see ring() in gen.js).
            "ring_s": plan.b5_ring_s, "ring_reps": plan.b5_ring_reps, "ring_tokens": 3,
        }
        res = generate(config, time_limit=600, cpu=None)
        pubs = {name: redis_publishes(port) for name, port in ports.items()}
        # What each server logged as given up: ours "cluster.publish_dropped", the stock
        # manager python-socketio's "giving up" (a publish that failed twice is dropped).
        drops = {name: sum(dropped_in_log(x, "giving up" if name == "stock_manager"
                                          else "cluster.publish_dropped") for x in srvs)
                 for name, srvs in nodes.items() if name != "single"}
        # Every failed publish of the stock manager (redis-py's pool allows 100 connections;
        # past that MaxConnectionsError, "retrying", then "giving up" on the second failure).
        stock_errors = dropped_in_log(nodes["stock_manager"][0], "Cannot publish to redis")
    out: dict[str, Any] = {"rooms": n, "setups": setups}
    for t in targets:
        name = t["name"]
        windows = res["latency"][str(n)][name]
        ramps = res["ramps"][name]
        steps = windows + [st for r in ramps for st in r["steps"]]
        sent = sum(st["sent"] for st in steps)
        delivered = sum(st.get("delivered", st["received"]) for st in steps)
        row = {
            "peak_msgs_per_s": median([r["peak_msgs_per_s"] for r in ramps]),
            "p50_ms": median([w["p50_ms"] for w in windows]),
            "p99_ms": median([w["p99_ms"] for w in windows]),
            "msgs_per_cpu_s": median([(r["peak_step"] or {}).get("server_msgs_per_cpu_s")
                                      for r in ramps]),
            # Over every step of the run, ramp steps past the peak included: sent, in within
            # the drain (3 s after the step), never in; refused acks; signals Redis carried.
            "sent": sent, "delivered": delivered, "dropped": sent - delivered,
            "errors": sum(st["errors"] for st in steps),
            "late_or_lost_within_slo": sum(st["lost"] for st in steps),
            "ramp_steps": [{k: st.get(k) for k in ("rate", "msgs_per_s", "p50_ms", "p99_ms",
                                                    "lost", "delivered", "errors", "pass",
                                                    "server_cpu_util", "generator_cpu_util",
                                                    "contended")}
                           for r in ramps for st in r["steps"]],
        }
        rings = res["ring"][name]
        row["round_trips"] = {
            "msgs_per_s": median([r["msgs_per_s"] for r in rings]),
            "msgs_per_cpu_s": median([r["server_msgs_per_cpu_s"] for r in rings]),
            "sent": sum(r["sent"] for r in rings),
            "delivered": sum(r["delivered"] for r in rings),
            "dropped": sum(r["dropped"] for r in rings),
            "refused": sum(r["refused"] for r in rings),
            "reps": [round(r["msgs_per_s"]) for r in rings],
        }
        before, after = pub0.get(name), pubs.get(name)
        if before is not None and after is not None:
            row["redis_publishes"] = after - before
        if name in drops:
            row["server_publish_dropped"] = drops[name]
        out[name] = row
    trips = {name: out[name]["round_trips"]["msgs_per_s"] if name in out else None
             for name in B5_SETUPS}
    out["round_trip_ratios"] = {k: ratio(trips[a], trips[b]) for k, (a, b) in B5_RATIOS.items()}
    peak = {name: out[name]["peak_msgs_per_s"] if name in out else None for name in B5_SETUPS}
    out["ratios"] = {
        **{k: ratio(peak[a], peak[b]) for k, (a, b) in B5_RATIOS.items()},
        "redis_p50_over_single_ms": (
            None if out["single"]["p50_ms"] is None or out["single_redis"]["p50_ms"] is None
            else out["single_redis"]["p50_ms"] - out["single"]["p50_ms"]),
    }
    # The keys the cluster issue asks for are round trips at 100 rooms, the shape of the
    # measurement its targets were set against ("180 round trips/s ... against 1,440 with no
    # Redis"): "one node" is one node in cluster mode (with Redis), the baseline a second
    # node must beat. "Two nodes" is the placement deploy/nginx.conf gives (each room on one
    # replica); the spread placement (a balancer without room affinity) is reported beside
    # it. The stricter relay peak (open loop, p99 <= 50 ms) of the same setups is kept under
    # "slo_peak" with its own ratios ("ratios"). Lost = sent and never delivered, over every
    # ramp step and round trip, ours only.
    out.update({k: trips[name] for k, name in B5_KEYS.items()})
    out["slo_peak"] = {k: peak[name] for k, name in B5_KEYS.items()}

    def lost(name: str) -> int:
        return int(out[name]["dropped"] + out[name]["round_trips"]["dropped"])

    out["lost_messages"] = sum(lost(name) for name in OURS_B5 if name in out)
    out["stock_manager_lost_messages"] = lost("stock_manager")
    out["stock_manager_publish_errors"] = stock_errors
    out["placement"] = "nothing pinned: the OS places nodes, Redis and the generator"
    out["ratios"]["two_nodes_local_vs_single_redis_per_cpu_s"] = ratio(
        out["two_nodes_local"]["msgs_per_cpu_s"], out["single_redis"]["msgs_per_cpu_s"])
    for name in setups:
        r = out[name]
        log(f"  {name}: round trips {fmt(r['round_trips']['msgs_per_s'])} msgs/s; relay peak "
            f"{fmt(r['peak_msgs_per_s'])} msgs/s, p50 {fmt(r['p50_ms'])} ms; "
            f"{r['delivered'] + r['round_trips']['delivered']}/"
            f"{r['sent'] + r['round_trips']['sent']} delivered, "
            f"{r['errors'] + r['round_trips']['refused']} refused"
            + (f", {r.get('redis_publishes')} via Redis" if "redis_publishes" in r else ""))
    return out


# ---- B4 first frame ---------------------------------------------------------------------------------
def b4(plan: Plan) -> dict[str, Any]:
    log(f"B4 first frame: {plan.b4_trials} trials through our server and direct")
    with server("ours") as srv:
        proc = PROCS.start([PY, "-m", "bench.first_frame", srv.url, SECRET,
                            str(plan.b4_trials)], 1, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        try:
            stdout, stderr = proc.communicate(timeout=60 + 30 * plan.b4_trials)
        finally:
            PROCS.stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"first_frame failed: {stderr.decode(errors='replace')[-2000:]}")
    res = json.loads(stdout.decode().strip().splitlines()[-1])
    ours, direct = res["ours_ms"], res["direct_ms"]
    if not ours or not direct:
        raise RuntimeError(f"first_frame: no successful trials: {res['failures']}")
    out = {"ours_p50_ms": median(ours), "ours_p95_ms": percentile(ours, 0.95),
           "direct_p50_ms": median(direct), "direct_p95_ms": percentile(direct, 0.95),
           "trials": len(ours), "failures": res["failures"], "driver": res.get("driver"),
           "ours_ms": ours,
           "direct_ms": direct}
    log(f"  ours p50 {fmt(out['ours_p50_ms'])} ms p95 {fmt(out['ours_p95_ms'])} ms, "
        f"direct p50 {fmt(out['direct_p50_ms'])} ms")
    return out


# ---- report ------------------------------------------------------------------------------------------
def fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    rs = res["relay"]["ratios"].get("ours_vs_bare_socketio", {})
    js = res["join_storm"]["ratios"].get("ours_vs_bare_socketio", {})
    ms = res["memory"]["ratios"].get("ours_vs_bare_socketio")
    ff = res["first_frame"]
    over = None if ff["ours_p50_ms"] is None else ff["ours_p50_ms"] - ff["direct_p50_ms"]
    rows = [
        ("relay peak msgs/s vs S0", rs.get("peak_msgs_per_s"), ">= 0.9x",
         lambda v: v >= 0.9),
        ("relay p50 @10 rooms vs S0", rs.get("p50_ms_10"), "<= 1.15x", lambda v: v <= 1.15),
        ("server CPU per relayed msg vs S0 (the peak goal in CPU time)",
         rs.get("cpu_us_per_msg"), "<= 1.11x", lambda v: v <= 1 / 0.9),
        ("joins/s vs S0", js.get("joins_per_s"), ">= 0.8x", lambda v: v >= 0.8),
        ("joins per server CPU-s vs S0 (same goal, CPU time)", js.get("joins_per_cpu_s"),
         ">= 0.8x", lambda v: v >= 0.8),
        ("memory/participant vs S0", ms, "<= 1.5x", lambda v: v <= 1.5),
        ("first frame p50 (ms)", ff["ours_p50_ms"], "< 400", lambda v: v < 400),
        ("first frame p50 over D0 (ms)", over, "<= 40", lambda v: v <= 40),
    ]
    cl = res.get("cluster")
    if cl:
        cr, rt = cl["ratios"], cl["round_trip_ratios"]
        rows += [
            ("B5 round trips, 2 nodes (each room on one, as nginx routes) vs 1 node with Redis",
             rt.get("two_nodes_local_vs_single_redis"), ">= 1.4x", lambda v: v >= 1.4),
            ("B5 round trips, 2 nodes (every room's members spread) vs 1 node with Redis",
             rt.get("two_nodes_vs_single_redis"), "(reported)", lambda v: True),
            ("B5 round trips, 1 node with Redis vs the stock AsyncRedisManager",
             rt.get("single_redis_vs_stock_manager"), ">= 5x", lambda v: v >= 5),
            ("B5 round trips, 1 node with Redis vs without", rt.get("redis_vs_single"),
             ">= 0.6x", lambda v: v >= 0.6),
            ("B5 signals never delivered (lost_messages), all our setups",
             cl.get("lost_messages"), "0", lambda v: v == 0),
            # The same targets against the stricter open-loop peak (p99 <= 50 ms), where the
            # generator, two nodes and their headroom share two cores; reported, not hidden.
            ("B5 relay peak (p99 ≤ 50 ms), 2 nodes (each room on one) vs 1 node with Redis",
             cr.get("two_nodes_local_vs_single_redis"), ">= 1.4x", lambda v: v >= 1.4),
            ("B5 relay peak (p99 ≤ 50 ms), 1 node with Redis vs the stock AsyncRedisManager",
             cr.get("single_redis_vs_stock_manager"), ">= 5x", lambda v: v >= 5),
            ("B5 relay peak, 1 node with Redis vs without", cr.get("redis_vs_single"),
             ">= 0.6x", lambda v: v >= 0.6),
            ("B5 relay p50, 1 node with Redis over without (ms)",
             cr.get("redis_p50_over_single_ms"), "<= +1", lambda v: v <= 1),
            ("B5 msgs per server CPU-s at relay peak, 2 nodes (each room on one) vs 1 node",
             cr.get("two_nodes_local_vs_single_redis_per_cpu_s"), "(reported)",
             lambda v: True),
        ]
    return [{"metric": m, "value": v, "target": t,
             "pass": None if v is None or t == "(reported)" else bool(ok(v))}
            for m, v, t, ok in rows]


def table(res: dict[str, Any]) -> str:
    relay, js, mem, ff = res["relay"], res["join_storm"], res["memory"], res["first_frame"]
    cols = ["ours", "bare_socketio", "node_socketio", "raw_ws"]
    rs0 = relay["ratios"].get("ours_vs_bare_socketio", {})
    rn0 = relay["ratios"].get("ours_vs_node_socketio", {})
    jr0 = js["ratios"].get("ours_vs_bare_socketio", {})
    jn0 = js["ratios"].get("ours_vs_node_socketio", {})

    def val(section: dict[str, Any], name: str, key: str) -> Any:
        return (section.get(name) or {}).get(key)

    lines = [
        "| metric | Alongside | S0 python-socketio | N0 Node socket.io | R0 raw WS | ours/S0 | ours/N0 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    b1_rows = [("relay p50 @10 rooms (ms)", "p50_ms_10"), ("relay p99 @10 rooms (ms)", "p99_ms_10"),
               ("relay p50 @100 rooms (ms)", "p50_ms_100"),
               ("relay p99 @100 rooms (ms)", "p99_ms_100"),
               ("relay peak, p99 ≤ 50 ms (msgs/s)", "peak_msgs_per_s"),
               ("relay msgs per server CPU-second, at peak", "msgs_per_cpu_s"),
               ("server CPU per relayed msg @100 rooms (µs)", "cpu_us_per_msg")]
    for label, key in b1_rows:
        cells = [fmt(val(relay, c, key)) for c in cols]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {fmt(rs0.get(key))} | {fmt(rn0.get(key))} |")
    n = js["participants"]
    for label, key in ((f"join storm, {n} participants (joins/s)", "joins_per_s"),
                       ("join storm p99 join→negotiated (ms)", "p99_ms"),
                       ("joins per server CPU-second", "joins_per_cpu_s")):
        cells = [fmt(val(js, c, key)) for c in cols[:3]] + ["—"]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {fmt(jr0.get(key))} | {fmt(jn0.get(key))} |")
    mn = mem["participants"]
    cells = [fmt(mem.get(k)) for k in ("ours_kib", "bare_socketio_kib", "node_socketio_kib")]
    lines.append(f"| memory at {mn} participants (KiB/participant) | " + " | ".join(cells)
                 + f" | — | {fmt(mem['ratios'].get('ours_vs_bare_socketio'))}"
                 f" | {fmt(mem['ratios'].get('ours_vs_node_socketio'))} |")
    lines.append(f"| first frame p50 / p95 (ms); D0 direct p50 | "
                 f"{fmt(ff['ours_p50_ms'], 0)} / {fmt(ff['ours_p95_ms'], 0)} | — | — | — | "
                 f"D0 {fmt(ff['direct_p50_ms'], 0)} | — |")
    cl = res.get("cluster")
    if cl:
        lines += ["", f"B5 cluster, {cl['rooms']} rooms of three:", "",
                  "| setup | round trips (msgs/s) | relay peak, p99 ≤ 50 ms (msgs/s) | "
                  "p50 @200/s (ms) | delivered / sent | via Redis |",
                  "|---|---:|---:|---:|---:|---:|"]
        for key, label in cl["setups"].items():
            r = cl[key]
            t = r["round_trips"]
            lines.append(f"| {label} | {fmt(t['msgs_per_s'])} | {fmt(r['peak_msgs_per_s'])} | "
                         f"{fmt(r['p50_ms'])} | {r['delivered'] + t['delivered']} / "
                         f"{r['sent'] + t['sent']} | {fmt(r.get('redis_publishes'))} |")
    return "\n".join(lines)


def markdown(res: dict[str, Any]) -> str:
    """The table and the targets, as pasted into README.md (also written as latest.md)."""
    relay = res["relay"]
    lines = [table(res), "",
             "| target (ratios from the same run) | value | wanted | met |",
             "|---|---:|---|---|"]
    for t in res["targets"]:
        lines.append(f"| {t['metric']} | {fmt(t['value'])} | {t['target']} | {fmt(t['pass'])} |")
    c = relay.get("contended", {})
    lines += ["", f"{'QUICK' if res['quick'] else 'Full'} run of {res['generated_at']}, "
              f"{res['wall_s']} s; {res['machine']['cpus']} CPUs, Python "
              f"{res['machine']['python']}, Node {res['machine']['node']}. Contended B1 steps "
              f"(other processes held the CPUs): {c.get('windows')} latency windows, "
              f"{c.get('ramp_steps')} ramp steps."]
    return "\n".join(lines) + "\n"


def bars(ax: Any, items: list[tuple[str, float | None]], title: str, ylabel: str,
         short: dict[str, str], colors: dict[str, str],
         label: Any = lambda v: f"{v:,.0f}") -> None:
    """One panel of the chart: a labelled bar per (name, value); ``None`` values left out."""
    items = [(n, v) for n, v in items if v is not None]
    ax.bar([short[n] for n, _ in items], [v for _, v in items],
           color=[colors[n] for n, _ in items])
    for x, (_, v) in enumerate(items):
        ax.text(x, v, label(v), ha="center", va="bottom", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    if items:
        ax.set_ylim(0, max(v for _, v in items) * 1.18)


def chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    relay, js, mem, ff = res["relay"], res["join_storm"], res["memory"], res["first_frame"]
    names = [n for n in ("ours", "bare_socketio", "node_socketio", "raw_ws") if relay.get(n)]
    short = {"ours": "Alongside", "bare_socketio": "S0", "node_socketio": "N0", "raw_ws": "R0"}
    colors = {"ours": "#2b7a78", "bare_socketio": "#8e8e8e", "node_socketio": "#d98c3f",
              "raw_ws": "#4a6fa5"}

    cl = res.get("cluster")
    fig, axes = plt.subplots(3 if cl else 2, 3, figsize=(15, 12 if cl else 8))
    ax = axes[0][0]
    keys = [("p50_ms_10", "p50 @10"), ("p99_ms_10", "p99 @10"), ("p50_ms_100", "p50 @100"),
            ("p99_ms_100", "p99 @100")]
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ys = [relay[name][k] or 0 for k, _ in keys]
        ax.bar([j + i * width for j in range(len(keys))], ys, width, label=LABELS[name],
               color=colors[name])
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(keys))],
                  [label for _, label in keys])
    ax.set_ylabel("ms (lower is better)", fontsize=8)
    ax.set_title(f"B1 relay latency at {res['config']['b1_latency_rate']} signals/s, rooms of 3",
                 fontsize=10)
    ax.legend(fontsize=7)
    bars(axes[0][1], [(n, relay[n]["peak_msgs_per_s"]) for n in names],
         "B1 peak relayed msgs/s with p99 ≤ 50 ms", "msgs/s (higher is better)", short, colors)
    bars(axes[0][2], [(n, relay[n]["cpu_us_per_msg"]) for n in names],
         "B1 server CPU per relayed msg @100 rooms", "µs (lower is better)", short, colors)
    sn = [n for n in ("ours", "bare_socketio", "node_socketio") if js.get(n)]
    bars(axes[1][0], [(n, js[n]["joins_per_s"]) for n in sn],
         f"B2 join storm, {js['participants']} participants", "joins/s (higher is better)",
         short, colors)
    for x, n in enumerate(sn):
        axes[1][0].text(x, js[n]["joins_per_s"] * 0.5, f"p99\n{js[n]['p99_ms']:,.0f} ms",
                        ha="center", fontsize=8, color="white")
    bars(axes[1][1], [(n, mem.get(f"{n}_kib")) for n in sn],
         f"B3 RSS growth per participant at {mem['participants']}", "KiB (lower is better)",
         short, colors, lambda v: f"{v:.1f}")
    ax = axes[1][2]
    vals = [("ours p50", ff["ours_p50_ms"]), ("ours p95", ff["ours_p95_ms"]),
            ("D0 p50", ff["direct_p50_ms"]), ("D0 p95", ff.get("direct_p95_ms"))]
    vals = [(k, v) for k, v in vals if v is not None]
    ax.bar([k for k, _ in vals], [v for _, v in vals],
           color=["#2b7a78", "#2b7a78", "#b5b5b5", "#b5b5b5"][:len(vals)])
    for x, (_, v) in enumerate(vals):
        ax.text(x, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_title("B4 join → first decoded frame (aiortc)", fontsize=10)
    ax.set_ylabel("ms (lower is better)", fontsize=8)
    if cl:
        b5_chart(cl, axes[2])
    contended = relay.get("contended", {}).get("share")
    fig.suptitle(f"Alongside vs peers, same run, same 2-core box "
                 f"({'QUICK' if res['quick'] else 'full'}, {res['generated_at']}"
                 + (f", {contended:.0%} of B1 steps contended" if contended else "") + ")")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


B5_SHORT = {"single": "1 node\nno Redis", "single_redis": "1 node\nRedis",
            "two_nodes_local": "2 nodes\nrooms kept", "two_nodes": "2 nodes\nspread",
            "stock_manager": "stock\nmanager"}


def b5_chart(cl: dict[str, Any], axes: Any) -> None:
    """B5's row of the chart: round trips, relay peak and per-CPU cost for each setup."""
    names = [n for n in cl["setups"] if cl.get(n)]
    panels = [
        (lambda n: cl[n]["round_trips"]["msgs_per_s"],
         f"B5 round trips, {cl['rooms']} rooms (closed loop)", "msgs/s (higher is better)"),
        (lambda n: cl[n]["peak_msgs_per_s"], "B5 relay peak with p99 ≤ 50 ms",
         "msgs/s (higher is better)"),
        (lambda n: cl[n]["round_trips"]["msgs_per_cpu_s"],
         "B5 round trips per server CPU-second (all its nodes)", "msgs (higher is better)"),
    ]
    colors = {n: "#8e8e8e" if n == "stock_manager" else "#2b7a78" for n in names}
    for ax, (get, title, ylabel) in zip(axes, panels, strict=True):
        bars(ax, [(n, get(n)) for n in names], title, ylabel, B5_SHORT, colors)
        ax.tick_params(axis="x", labelsize=8)


# ---- main ----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--out", type=Path, default=BENCH / "results",
                        help="where latest.json and latest.png go")
    parser.add_argument("--only", default="B1,B2,B3,B4,B5",
                        help="subset, e.g. B1,B4 or B5 (debugging)")
    parser.add_argument("--no-node", action="store_true", help="leave N0 out even if node exists")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else QUICK if args.quick else FULL
    only = {s.strip().upper() for s in args.only.split(",")}
    if not NODE:
        log("node is required for the load generator (bench/loadgen/gen.js)")
        return 2
    if not (BENCH / "node_modules" / "socket.io-client").exists():
        log("run `npm ci` in bench/ first (make bench does)")
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    have_n0 = not args.no_node and (BENCH / "node_modules" / "socket.io").exists()
    sio_names = ["ours", "bare_socketio"] + (["node_socketio"] if have_n0 else [])
    started = time.monotonic()
    for phase, share in PHASES.items():
        PHASE_END[phase] = started + share * plan.total_s

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    res: dict[str, Any] = {
        "quick": plan.quick,
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": {**asdict(plan), "smoke": args.smoke},
        "machine": {"cpus": os.cpu_count(), "taskset": bool(TASKSET),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "node": subprocess.run([NODE, "--version"], capture_output=True,
                                           text=True).stdout.strip()},
    }
    shrunk: list[str] = []

    def on_time(phase: str, before: str, smaller: dict[str, Any]) -> Plan:
        """The plan for ``phase``: halved sizes when the run is behind its schedule (other
        load on the box), so that a QUICK run still ends in time; the JSON records it."""
        late = time.monotonic() - PHASE_END[before]
        if late > 0.1 * plan.total_s:
            log(f"{phase}: {late:.0f} s behind schedule, running it smaller: {smaller}")
            shrunk.append(phase)
            return replace(plan, **smaller)
        return plan

    try:
        if "B1" in only:
            res["relay"] = b1(plan, [*sio_names, "raw_ws"])
        if "B2" in only:
            res["join_storm"] = b2(on_time("B2", "B1", {"b2_rooms": max(2, plan.b2_rooms // 2)}),
                                   sio_names)
        if "B3" in only:
            levels = tuple(max(6, n // 2 // 3 * 3) for n in plan.b3_levels)
            res["memory"] = b3(on_time("B3", "B2", {"b3_levels": levels}), sio_names)
        if "B4" in only:
            res["first_frame"] = b4(on_time("B4", "B3",
                                            {"b4_trials": max(2, plan.b4_trials // 2)}))
        if "B5" in only:
            res["cluster"] = b5(plan)
    finally:
        PROCS.stop_all()
    res["wall_s"] = round(time.monotonic() - started, 1)
    res["config"]["shrunk_for_time"] = shrunk
    args.out.mkdir(parents=True, exist_ok=True)
    complete = {"B1", "B2", "B3", "B4"} <= only
    if complete:
        res["targets"] = targets(res)
    stem = "latest" if complete else "partial"
    (args.out / f"{stem}.json").write_text(json.dumps(res, indent=1) + "\n")
    if complete:
        try:
            chart(res, args.out / f"{stem}.png")
        except ImportError:
            log("matplotlib is missing (bash bench/setup.sh installs it): no chart written")
        md = markdown(res)
        (args.out / f"{stem}.md").write_text(md)
        print(md)
    print(f"\nwall time {res['wall_s']} s; wrote {args.out / (stem + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
