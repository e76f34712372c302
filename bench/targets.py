"""The targets a run is judged against: ratios to S0 from the same run, B4's and B5's goals.

Caveat: a target of ``(reported)`` is shown, never judged (``pass`` is ``None``), as is any
whose value is missing.
"""

from __future__ import annotations

from typing import Any


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
    rows += capped_rows((cl or {}).get("capped"))
    rows += group_rows(res.get("group"))
    return [{"metric": m, "value": v, "target": t,
             "pass": None if v is None or t == "(reported)" else bool(ok(v))}
            for m, v, t, ok in rows]


def capped_rows(cap: dict[str, Any] | None) -> list[tuple[str, Any, str, Any]]:
    """B5 with CPU-capped nodes (bench/capped.py): judged on round trips at every room count;
    the relay peak is reported (a CFS quota's bursts make it noisy). Without caps (not root,
    no controller) the rows are there with no value, and the reason in their label."""
    if cap is None:
        return []
    quota = cap.get("quota")
    what = f"{quota} CPU per node" if quota else f"caps unavailable: {cap.get('reason')}"
    rows: list[tuple[str, Any, str, Any]] = []
    for n in cap.get("by_rooms") or {str(r): {} for r in cap.get("rooms", [])}:
        row = cap.get("by_rooms", {}).get(n, {})
        rt, pk = row.get("ratios", {}), row.get("slo_peak_ratios", {})
        rows += [
            (f"B5 capped ({what}), {n} rooms: round trips, 2 nodes vs 1",
             rt.get("two_vs_one"), ">= 1.6x", lambda v: v >= 1.6),
            (f"B5 capped ({what}), {n} rooms: round trips, 3 nodes vs 1",
             rt.get("three_vs_one"), ">= 2.2x", lambda v: v >= 2.2),
            (f"B5 capped, {n} rooms: relay peak (p99 ≤ 50 ms), 2 nodes vs 1",
             pk.get("two_vs_one"), "(reported)", lambda v: True),
            (f"B5 capped, {n} rooms: relay peak (p99 ≤ 50 ms), 3 nodes vs 1",
             pk.get("three_vs_one"), "(reported)", lambda v: True),
        ]
    rows.append(("B5 capped: signals never delivered (lost_messages), all setups and rooms",
                 cap.get("lost_messages"), "0", lambda v: v == 0))
    return rows


def group_rows(g: dict[str, Any] | None) -> list[tuple[str, Any, str, Any]]:
    """B6 (bench/group_phase.py): the eighth member's first frame through Janus against a
    two-person call, a member's uplink against a six-person mesh; CPU per stream reported."""
    if g is None:
        return []
    return [
        ("B6 eighth member's join → first remote frame through the SFU vs a two-person call",
         g.get("first_frame_ratio"), "<= 1.5x", lambda v: v <= 1.5),
        ("B6 a member's uplink through the SFU vs in a six-person mesh", g.get("uplink_ratio"),
         "<= 0.25x", lambda v: v <= 0.25),
        # In CPU-milliseconds here (the keys are in seconds): the table shows two decimals.
        ("B6 Janus CPU-ms per forwarded stream per second", ms(g.get("janus_cpu_per_stream_s")),
         "(reported)", lambda v: True),
        ("B6 our server's CPU-ms per forwarded stream per second",
         ms(g.get("server_cpu_per_stream_s")), "(reported)", lambda v: True),
    ]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
