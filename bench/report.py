"""The printed table and ``latest.md``: the figures of a run, its targets and its conditions."""

from __future__ import annotations

from typing import Any


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
    cap = (cl or {}).get("capped")
    if cap:
        lines += ["", *capped_table(cap)]
    if res.get("group"):
        lines += ["", *group_table(res["group"])]
    return "\n".join(lines)


def group_table(g: dict[str, Any]) -> list[str]:
    """B6: a group of eight through Janus beside a two-person call and a six-person mesh."""
    return [f"B6 group, {g['members']} members through Janus ({g['trials']} trials; "
            f"{g['forwarded_streams']} streams forwarded over {fmt(g['window_s'])} s):", "",
            "| metric | through the SFU | baseline | ratio |", "|---|---:|---:|---:|",
            f"| join → first remote frame p50 (ms), eighth member; baseline a two-person call "
            f"| {fmt(g['eighth_first_frame_p50_ms'], 0)} | {fmt(g['p2p_first_frame_p50_ms'], 0)}"
            f" | {fmt(g['first_frame_ratio'])} |",
            f"| join → a frame of all seven others p50 (ms) | "
            f"{fmt(g['eighth_all_frames_p50_ms'], 0)} | — | — |",
            f"| a member's uplink (kB/s); baseline a member of a six-person mesh | "
            f"{fmt(g['sfu_uplink_bytes_per_s'] / 1000)} | "
            f"{fmt(g['mesh_uplink_bytes_per_s'] / 1000)} | {fmt(g['uplink_ratio'])} |",
            f"| CPU-ms per forwarded stream per second: Janus; beside it our server | "
            f"{fmt(cpu_ms(g['janus_cpu_per_stream_s']))} | "
            f"{fmt(cpu_ms(g['server_cpu_per_stream_s']))} | — |"]


def cpu_ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


CAPPED_LABELS = {"one_node": "1 node", "two_nodes": "2 nodes", "three_nodes": "3 nodes"}


def capped_table(cap: dict[str, Any]) -> list[str]:
    """B5 with CPU-capped nodes: per room count and setup, round trips (with how much of
    their budget the nodes used and the generator's own CPU share) and the relay peak."""
    if not cap.get("quota"):
        return [f"B5 capped: not measured ({cap.get('reason')}); the unpinned B5 above only."]
    lines = [f"B5 with CPU-capped nodes ({cap['quota']} CPU each, cgroup v1 cpu quota; Redis "
             "and the generator outside the caps), rooms kept on one node:", "",
             "| rooms | setup | round trips (msgs/s) | vs 1 node | nodes' CPU / budget | "
             "generator CPU | relay peak, p99 ≤ 50 ms (msgs/s) | dropped |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for n, row in cap["by_rooms"].items():
        one = row["one_node"]["msgs_per_s"]
        for name, label in CAPPED_LABELS.items():
            r = row[name]
            vs = None if not one or r["msgs_per_s"] is None else r["msgs_per_s"] / one
            lines.append(f"| {n} | {label} | {fmt(r['msgs_per_s'])} | {fmt(vs)} | "
                         f"{fmt(r['cap_util'])} | {fmt(r['generator_cpu_util'])} | "
                         f"{fmt(r['peak_msgs_per_s'])} | {r['dropped']} |")
    return lines


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
