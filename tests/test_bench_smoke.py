"""The benchmark still runs end to end: tiny sizes, every key written; nothing about speed.

Speed is measured by `make bench` against baselines in the same run, never by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_bench_smoke(tmp_path: Path) -> None:
    # make test installs the bench's dependencies (bench/setup.sh); a missing one fails here.
    assert (ROOT / "bench" / "node_modules" / "socket.io-client").exists(), \
        "run `bash bench/setup.sh` (make test does)"
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads((tmp_path / "latest.json").read_text())
    assert isinstance(res["quick"], bool)
    for name in ("ours", "bare_socketio"):
        assert set(res["relay"][name]) >= {"p50_ms_10", "p99_ms_10", "p50_ms_100", "p99_ms_100",
                                           "peak_msgs_per_s"}
        assert set(res["join_storm"][name]) >= {"joins_per_s", "p99_ms"}
    assert "node_socketio" in res["relay"]
    assert res["join_storm"]["participants"] > 0
    assert set(res["memory"]) >= {"participants", "ours_kib", "bare_socketio_kib"}
    assert set(res["first_frame"]) >= {"ours_p50_ms", "ours_p95_ms", "direct_p50_ms"}
    assert res["relay"]["ours"]["p50_ms_10"] is not None  # signals really went through ours
    cluster = res["cluster"]
    assert set(cluster) >= {"one_node_msgs_per_s", "two_nodes_msgs_per_s",
                            "stock_manager_msgs_per_s", "lost_messages"}
    assert set(cluster["slo_peak"]) >= {"one_node_msgs_per_s", "two_nodes_msgs_per_s",
                                        "stock_manager_msgs_per_s"}
    # Every setup really relayed, ramp and round trips: ours on Redis and the stock manager.
    for name in ("single", "single_redis", "two_nodes", "two_nodes_local", "stock_manager"):
        assert cluster[name]["delivered"] > 0, name
        assert cluster[name]["round_trips"]["delivered"] > 0, name
        assert cluster[name]["round_trips"]["msgs_per_s"] > 0, name
    assert cluster["two_nodes"]["redis_publishes"] > 0  # members spread: signals crossed
