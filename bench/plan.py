"""How big a bench run is (``Plan``: FULL, QUICK, SMOKE) and each phase's share of its time.

Caveat: ``PHASE_END`` is module state, filled by ``bench.run.main`` at the start of a run and
read by the scenarios; a scenario run outside ``main`` has no deadline (``time_for`` is true).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


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
    # B5 capped (bench/capped.py): one, two and three nodes, each held to b5c_quota CPUs by its
    # own cgroup; at each room count, round trips and the relay peak. Its own time budget.
    b5c_quota: float = 0.4
    b5c_rooms: tuple[int, ...] = (100, 300)
    b5c_budget_s: float = 60.0
    b5c_ring_s: float = 3.0
    b5c_ring_reps: int = 3
    b5c_latency_s: float = 1.0  # one latency window per setup (it also seeds the ramp's start)
    # B6 group (bench/group_phase.py): eighth-member trials against a two-person call, and the
    # window over which uplink bytes and CPU per forwarded stream are measured.
    b6_trials: int = 5
    b6_window_s: float = 5.0


FULL = Plan(quick=False, b1_windows=7, b1_ramp_reps=3, b1_latency_s=2.0, b1_warmup_s=0.5,
            b1_ramp_s=1.5,
            b1_bisect=2, b1_retries=1, b2_rooms=500, b2_reps=3, b3_levels=(1000, 3000),
            b3_reps=1, b4_trials=25, total_s=840, b2_retries=1)
QUICK = Plan(quick=True, b1_windows=2, b1_ramp_reps=1, b1_latency_s=1.0, b1_warmup_s=0.3,
             b1_ramp_s=0.8, b1_bisect=1, b1_retries=1, b2_rooms=100, b2_reps=3,
             b3_levels=(120, 360), b3_reps=1, b4_trials=6, total_s=120, b2_retries=0,
             b5_rooms=100, b5_budget_s=40, contended_retries=1, b5_spread=False,
             b5_ring_s=1.5, b5_ring_reps=2, b5c_budget_s=12, b5c_ring_s=1.0, b5c_ring_reps=2,
             b5c_latency_s=0.5, b6_trials=3, b6_window_s=2.0)
# For the test suite: proves every piece still runs, measures nothing worth keeping.
SMOKE = Plan(quick=True, b1_windows=1, b1_ramp_reps=1, b1_latency_s=0.3, b1_warmup_s=0.1, b1_ramp_s=0.3,
             b1_bisect=0, b1_retries=0, b2_rooms=4, b2_reps=1, b3_levels=(6, 12), b3_reps=1,
             b4_trials=1, total_s=60, b2_retries=0, b1_rooms=(2, 4), b1_latency_rate=50, ramp_start=100, ramp_max=400,
             b5_rooms=4, b5_budget_s=5, b5_ring_s=0.3, b5_ring_reps=1,
             b5c_rooms=(4, 6), b5c_budget_s=4, b5c_ring_s=0.3, b5c_ring_reps=1,
             b5c_latency_s=0.3, b6_trials=1, b6_window_s=1.0)


# Where each phase should be done, as a share of Plan.total_s from the start of the run. A phase
# always does one full repetition; further repetitions, repeats of contended steps and
# bisection happen only while its share lasts, so a busy box makes the run less precise (the
# JSON says how contended it was), not longer without bound.
PHASES = {"B1": 0.55, "B2": 0.8, "B3": 0.9, "B4": 1.0}
PHASE_END: dict[str, float] = {}


def time_for(phase: str, seconds: float) -> bool:
    """Is there time left in ``phase`` for ``seconds`` more?"""
    return time.monotonic() + seconds <= PHASE_END.get(phase, float("inf"))
