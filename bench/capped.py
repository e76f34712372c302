"""B5 capped: one, two and three nodes, each held to the same CPU budget by its own cgroup.

On a 2-core box three busy processes share the cores and "three nodes" measures the scheduler;
a real node has a fixed budget. Here each ``alongside serve`` node is moved into its own cgroup
v1 cpu group (``devtools.cpu_cap``: ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` =
``Plan.b5c_quota`` CPUs, 0.4 by default), so N nodes have N budgets, and the box has room
left for what is outside the caps: each setup's private Redis and the load generator, which
share one uncapped group weighted like a node (so neighbours on a shared box do not starve
them either). Rooms are placed as deploy/nginx.conf routes them (room r wholly on node
r mod N), all nodes of a setup on one Redis.

At each room count of ``Plan.b5c_rooms`` (100 and 300): round trips (closed loop, the
cluster keys) and the relay peak (open loop, p99 <= 50 ms), the three setups interleaved step
by step by one generator. The generator's own CPU share is recorded for every round trip, and
each setup's nodes' CPU use as a share of their budgets (``cap_util``): near 1 the nodes, not
the generator, set the pace.

Caveat: needs root and the v1 cpu controller (``devtools.cpu_cap.unavailable``); without
them the section says why (``reason``), its figures are ``None`` and the run goes on with the
unpinned B5 only. A CFS quota is spent in bursts: a node that uses its 40 ms of a 100 ms
period early waits out the other 60 ms, so a capped node's p99 under load includes that
wait (as a container's does); the relay peak (p99 <= 50 ms) is therefore well below the
round trips and noisier, and only the round trips are judged.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from typing import Any

from bench.cluster import dropped_in_log
from bench.harness import Generator, Server, log, server
from bench.plan import Plan
from bench.report import fmt
from bench.stats import median, ratio
from devtools import cpu_cap
from devtools.redis import MEMORY_ONLY, RedisServer

# Setup name -> how many nodes; the JSON keys follow the names.
SETUPS = {"one_node": 1, "two_nodes": 2, "three_nodes": 3}
RATIOS = {"two_vs_one": ("two_nodes", "one_node"), "three_vs_one": ("three_nodes", "one_node")}


def empty(plan: Plan, reason: str | None) -> dict[str, Any]:
    """The section's keys, every figure ``None`` (caps unavailable: ``reason``)."""
    out: dict[str, Any] = {"available": reason is None, "reason": reason, "quota": None,
                           "rooms": list(plan.b5c_rooms), "lost_messages": None}
    for name in SETUPS:
        out[f"{name}_msgs_per_s"] = None
    out["ratios"] = dict.fromkeys(RATIOS)
    out["slo_peak"] = {f"{name}_msgs_per_s": None for name in SETUPS}
    out["slo_peak_ratios"] = dict.fromkeys(RATIOS)
    out["by_rooms"] = {}
    return out


def b5_capped(plan: Plan) -> dict[str, Any]:
    """See the module's docstring; the ``cluster.capped`` section of the JSON."""
    reason = cpu_cap.unavailable()
    if reason is not None:
        log(f"B5 capped: CPU caps are not available here ({reason}); skipped, only the "
            "unpinned B5 above was measured")
        return empty(plan, reason)
    stale = cpu_cap.remove_stale()
    if stale:
        log(f"B5 capped: removed {len(stale)} empty cgroup(s) an earlier run left")
    quota = plan.b5c_quota
    counts = list(plan.b5c_rooms)
    log(f"B5 capped: 1, 2 and 3 nodes of {quota} CPU each (cgroup v1 cpu quota), rooms "
        f"{counts}")
    tag = f"{os.getpid()}"
    began = time.monotonic()
    with ExitStack() as stack:
        outside = stack.enter_context(cpu_cap.weighted(f"{tag}-outside"))
        nodes: dict[str, list[Server]] = {}
        caps: dict[str, list[cpu_cap.CpuCap]] = {}
        for name, k in SETUPS.items():
            redis = stack.enter_context(RedisServer(flags=MEMORY_ONLY))
            assert redis.process is not None
            outside.add(redis.process.pid)
            nodes[name], caps[name] = [], []
            for i in range(k):
                srv = stack.enter_context(server(
                    "ours", seed=("r", max(counts)) if i == 0 else None, store=redis.url,
                    node_id=f"b5c-{name}-{i}", cpu=None))
                cap = stack.enter_context(cpu_cap.CpuCap(f"{tag}-{name}-{i}", quota))
                cap.add(srv.proc.pid)
                nodes[name].append(srv)
                caps[name].append(cap)
        throttle0 = {name: [c.throttling() for c in cs] for name, cs in caps.items()}
        targets = [{"name": name, "kind": "alongside", "url": srvs[0].url,
                    "urls": [s.url for s in srvs], "server_pid": [s.proc.pid for s in srvs],
                    "placement": "room", "cpu_budget": quota * len(srvs)}
                   for name, srvs in nodes.items()]
        log(f"  B5 capped: {sum(map(len, nodes.values()))} capped nodes and {len(SETUPS)} "
            f"Redis up after {time.monotonic() - began:.0f} s")
        config = {
            "mode": "relay", "per_count": True, "targets": targets,
            "signal_bytes": plan.signal_bytes, "room_counts": counts, "concurrency": 20,
            "latency_rate": plan.b1_latency_rate, "latency_s": plan.b5c_latency_s,
            "latency_windows": 1, "warmup_s": plan.b1_warmup_s, "pause_ms": 150,
            "drain_ms": 2000, "ramp_start": plan.ramp_start, "ramp_start_frac": 1.0,
            "ramp_factor": 2.0 if plan.quick else plan.ramp_factor, "ramp_max": plan.ramp_max,
            "ramp_s": plan.b1_ramp_s, "ramp_reps": 1, "bisect": 3, "retries": plan.b1_retries,
            "slo_ms": plan.slo_ms, "max_wait_frac": plan.max_wait_frac,
            "max_lag_ms": plan.max_lag_ms, "contended_retries": 0,
            "budget_s": plan.b5c_budget_s,
            "ring_s": plan.b5c_ring_s, "ring_reps": plan.b5c_ring_reps, "ring_tokens": 3,
        }
        gen = Generator(config, time_limit=600, cpu=None)
        try:
            outside.add(gen.proc.pid)
            res = gen.result()
        finally:
            gen.close()
        throttle1 = {name: [c.throttling() for c in cs] for name, cs in caps.items()}
        drops = {name: sum(dropped_in_log(s, "cluster.publish_dropped") for s in srvs)
                 for name, srvs in nodes.items()}
    out = empty(plan, None)
    out["quota"] = quota
    out["period_us"] = cpu_cap.PERIOD_US
    lost = 0
    for n in counts:
        per = res["by_rooms"][str(n)]
        row: dict[str, Any] = {}
        for name, k in SETUPS.items():
            rings = per["ring"][name]
            ramp = per["ramps"][name]
            steps = res["latency"][str(n)][name] + [st for r in ramp for st in r["steps"]]
            dropped = sum(r["dropped"] for r in rings) + sum(
                st["sent"] - st.get("delivered", st["received"]) for st in steps)
            lost += dropped
            budget = quota * k
            row[name] = {
                "nodes": k,
                "msgs_per_s": median([r["msgs_per_s"] for r in rings]),
                "reps": [round(r["msgs_per_s"]) for r in rings],
                # The nodes' CPU as a share of their budgets, and the generator's own share of
                # a CPU, during the round trips: who set the pace.
                "cap_util": median([r["server_cpu_util"] / budget if r["server_cpu_util"]
                                    is not None else None for r in rings]),
                "generator_cpu_util": max(r.get("generator_cpu_util") or 0 for r in rings),
                "msgs_per_cpu_s": median([r["server_msgs_per_cpu_s"] for r in rings]),
                "peak_msgs_per_s": median([r["peak_msgs_per_s"] for r in ramp]),
                "p50_ms": median([w["p50_ms"] for w in res["latency"][str(n)][name]]),
                "sent": sum(r["sent"] for r in rings) + sum(st["sent"] for st in steps),
                "dropped": dropped,
                "refused": sum(r["refused"] for r in rings) + sum(st["errors"] for st in steps),
                "ramp_steps": [{k2: st.get(k2) for k2 in ("rate", "msgs_per_s", "p99_ms",
                                                          "pass", "server_cpu_util",
                                                          "generator_cpu_util")}
                               for r in ramp for st in r["steps"]],
            }
        row["seconds"] = dict(zip(("enter", "latency", "ramps", "round_trips"),
                                  per.get("seconds", []), strict=False))
        row["ratios"] = {key: ratio(row[a]["msgs_per_s"], row[b]["msgs_per_s"])
                         for key, (a, b) in RATIOS.items()}
        row["slo_peak_ratios"] = {key: ratio(row[a]["peak_msgs_per_s"], row[b]["peak_msgs_per_s"])
                                  for key, (a, b) in RATIOS.items()}
        out["by_rooms"][str(n)] = row
        log(f"  capped, {n} rooms: " + "; ".join(
            f"{name} {fmt(row[name]['msgs_per_s'])} msgs/s (cap {fmt(row[name]['cap_util'])}, "
            f"generator {fmt(row[name]['generator_cpu_util'])}), peak "
            f"{fmt(row[name]['peak_msgs_per_s'])}" for name in SETUPS)
            + f"; 2/1 {fmt(row['ratios']['two_vs_one'])}, 3/1 "
            f"{fmt(row['ratios']['three_vs_one'])}; seconds {row['seconds']}")
        gen_max = max(row[name]["generator_cpu_util"] for name in SETUPS)
        if gen_max > 0.8:
            log(f"  WARNING: the generator used {gen_max:.0%} of a CPU in a round trip: it, "
                "not the capped nodes, may have set the pace")
    # The headline keys: round trips at the first (smallest) room count, as the cluster keys.
    head = out["by_rooms"][str(counts[0])]
    for name in SETUPS:
        out[f"{name}_msgs_per_s"] = head[name]["msgs_per_s"]
        out["slo_peak"][f"{name}_msgs_per_s"] = head[name]["peak_msgs_per_s"]
    out["ratios"] = head["ratios"]
    out["slo_peak_ratios"] = head["slo_peak_ratios"]
    out["lost_messages"] = lost
    out["server_publish_dropped"] = sum(drops.values())
    # Share of CFS periods in which each node was throttled (it had spent its quota): near 1
    # under load means the cap, not the generator, bounded it.
    out["throttled_share"] = {
        name: [round((b.get("nr_throttled", 0) - a.get("nr_throttled", 0))
                     / max(1, b.get("nr_periods", 0) - a.get("nr_periods", 0)), 2)
               for a, b in zip(throttle0[name], throttle1[name], strict=True)]
        for name in SETUPS}
    out["placement"] = ("each room wholly on one node (room r on node r mod N), as "
                        "deploy/nginx.conf routes; Redis and the generator outside the caps")
    out["wall_s"] = round(time.monotonic() - began, 1)
    return out
