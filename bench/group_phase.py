"""B6 group: a real Janus and our server, the driver of bench/group.py, the ``group`` section.

``b6(plan)`` starts a private Janus (``devtools.janus.JanusServer``, Debian's ``janus``, on a
generated config) and our server on CPU 0 pointed at it, runs ``python -m bench.group`` on
CPU 1 and turns what it prints into the JSON section ``group``:

* ``first_frame_ratio``: the eighth member's join → first decoded remote frame through the SFU
  (median) over a two-person peer-to-peer call's (B4's measure, same run, same server, while
  the group of seven sends); target ≤ 1.5×;
* ``uplink_ratio``: a member's uplink through the SFU (median of the eight members'
  ``bytesSent`` per second) over a member's in a six-person mesh (five connections); ≤ 1/4;
* ``janus_cpu_per_stream_s`` and ``server_cpu_per_stream_s``: CPU seconds each process spent
  per forwarded stream per second of the window (Janus forwards the 14 streams the clinician
  and the eighth member receive; our server only signals and checks who receives whom),
  reported.

Caveat: Janus is not pinned (it starts its own threads; ``taskset`` of its first thread would
not hold them); the keys are read by bench.targets, bench.report and tests/test_bench_smoke.py.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bench.harness import PROCS, PY, ROOT, SECRET, log, server
from bench.plan import Plan
from bench.report import fmt
from bench.stats import median, ratio
from devtools import janus as janus_tools
from devtools.janus import JanusServer


def b6(plan: Plan) -> dict[str, Any]:
    trials, window_s = plan.b6_trials, plan.b6_window_s
    log(f"B6 group: eight members through Janus, {trials} trial(s) against a two-person call, "
        f"a {window_s} s window, a mesh of six")
    if not janus_tools.installed():
        raise RuntimeError("janus is missing (scripts/setup.sh --test installs it)")
    with JanusServer() as janus:
        assert janus.process is not None
        env = {"ALONGSIDE_JANUS_URLS": janus.url,
               "ALONGSIDE_JANUS_API_SECRET": janus.config.api_secret,
               "ALONGSIDE_JANUS_ADMIN_KEY": janus.config.admin_key}
        with server("ours", extra_env=env) as srv:
            proc = PROCS.start([PY, "-m", "bench.group", srv.url, SECRET,
                                str(janus.process.pid), str(srv.proc.pid), str(trials),
                                str(window_s)], 1, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            try:
                stdout, stderr = proc.communicate(timeout=90 + 20 * trials)
            finally:
                PROCS.stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.group failed: {stderr.decode(errors='replace')[-2000:]}")
    res = json.loads(stdout.decode().strip().splitlines()[-1])
    w, mesh = res["window"], res["mesh"]
    eighth, p2p = median(res["eighth_ms"]), median(res["p2p_ms"])
    up = median(w["uplink_bytes_per_s"]) or 0.0
    streams, secs = w["forwarded_streams"], w["window_s"]

    def per_stream(cpu: float) -> float | None:
        return cpu / streams / secs if streams and secs else None

    out = {
        "members": w["members"], "trials": len(res["eighth_ms"]),
        "eighth_first_frame_p50_ms": eighth, "eighth_all_frames_p50_ms":
            median(res["eighth_all_ms"]),
        "p2p_first_frame_p50_ms": p2p, "first_frame_ratio": ratio(eighth, p2p),
        "sfu_uplink_bytes_per_s": up, "mesh_peers": mesh["peers"],
        "mesh_uplink_bytes_per_s": mesh["uplink_bytes_per_s"],
        "uplink_ratio": ratio(up, mesh["uplink_bytes_per_s"]),
        "forwarded_streams": streams, "window_s": secs,
        "janus_cpu_s": w["janus_cpu_s"], "server_cpu_s": w["server_cpu_s"],
        "janus_cpu_per_stream_s": per_stream(w["janus_cpu_s"]),
        "server_cpu_per_stream_s": per_stream(w["server_cpu_s"]),
        "open_s": res["open_s"], "failures": res["failures"],
        "eighth_ms": res["eighth_ms"], "p2p_ms": res["p2p_ms"],
    }
    log(f"  eighth member's first frame p50 {fmt(eighth)} ms vs a two-person call "
        f"{fmt(p2p)} ms ({fmt(out['first_frame_ratio'])}x); uplink {fmt(up / 1000)} kB/s vs "
        f"mesh {fmt(mesh['uplink_bytes_per_s'] / 1000)} kB/s ({fmt(out['uplink_ratio'])}x); "
        f"Janus {fmt(out['janus_cpu_per_stream_s'], 4)} CPU-s per stream-second over "
        f"{streams} streams")
    return out
