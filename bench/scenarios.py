"""B1 relay, B2 join storm, B3 memory and B4 first frame: what each measures and how.

Each scenario starts its contestants through bench.harness and returns the JSON section that
bench.run writes (``relay``, ``join_storm``, ``memory``, ``first_frame``). B5 (the cluster)
is in bench/cluster.py. Caveat: the keys returned are read by bench.targets, bench.report,
bench.chart and tests/test_bench_smoke.py; rename none without them.
"""

from __future__ import annotations

import json
import subprocess
import time
from contextlib import ExitStack
from typing import Any

from bench.harness import PROCS, PY, ROOT, SECRET, Generator, generate, log, rss_kib, server
from bench.plan import PHASE_END, Plan, time_for
from bench.report import fmt
from bench.stats import median, percentile, ratio, rotated

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
