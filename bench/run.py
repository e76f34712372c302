"""``make bench``: Alongside against its peers, side by side, in one run.

    python -m bench.run [--quick] [--smoke] [--out DIR] [--only B1,B2,B3,B4,B5,B6]

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

This module is the command line only; the pieces are bench.plan (sizes and time shares),
bench.harness (processes, contestants, the load generator), bench.scenarios (B1-B4),
bench.cluster (B5), bench.capped (B5 with CPU-capped nodes), bench.group_phase (B6, a group
through a real Janus; its driver is bench.group), bench.targets (what a run is
judged against), bench.report (the table and latest.md) and bench.chart (latest.png and
latest-capped.png).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.capped import b5_capped
from bench.chart import capped_chart, chart
from bench.cluster import b5
from bench.group_phase import b6
from bench.harness import BENCH, NODE, PROCS, TASKSET, log
from bench.plan import FULL, PHASE_END, PHASES, QUICK, SMOKE, Plan
from bench.report import markdown
from bench.scenarios import b1, b2, b3, b4
from bench.targets import targets


# ---- main ----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--out", type=Path, default=BENCH / "results",
                        help="where latest.json and latest.png go")
    parser.add_argument("--only", default="B1,B2,B3,B4,B5,B6",
                        help="subset, e.g. B1,B4 or B5 (B5C: the capped nodes alone), B6")
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
        if only & {"B5", "B5C"}:  # B5C alone: the capped nodes only (debugging)
            res.setdefault("cluster", {})["capped"] = b5_capped(plan)
        if "B6" in only:
            res["group"] = b6(plan)
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
            capped = res.get("cluster", {}).get("capped") or {}
            if capped.get("quota"):
                capped_chart(capped, args.out / f"{stem}-capped.png")
        except ImportError:
            log("matplotlib is missing (bash bench/setup.sh installs it): no chart written")
        md = markdown(res)
        (args.out / f"{stem}.md").write_text(md)
        print(md)
    print(f"\nwall time {res['wall_s']} s; wrote {args.out / (stem + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
