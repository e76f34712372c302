"""B5: our server alone, in cluster mode on a private Redis, as two nodes, and S0 on the stock
``AsyncRedisManager``, all interleaved by one generator (see ``b5``'s docstring).

Caveat: each Redis setup gets its own memory-only ``redis-server`` (devtools.redis), so
pub/sub channels stay apart; ``redis-server`` must be installed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.harness import Server, generate, log, server
from bench.plan import PHASE_END, Plan
from bench.report import fmt
from bench.stats import median, ratio
from devtools.redis import MEMORY_ONLY, RedisServer


@contextmanager
def redis_server() -> Iterator[int]:
    """A private, memory-only redis-server on a free port (never 6379), on any CPU."""
    with RedisServer(flags=MEMORY_ONLY) as redis:
        yield redis.port


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
