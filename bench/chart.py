"""``latest.png``: the run's figures as bar charts (matplotlib, imported only when drawing).

Caveat: ``chart`` raises ImportError without matplotlib (bench/setup.sh installs it);
bench.run then writes no chart and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"ours": "Alongside", "bare_socketio": "S0 python-socketio",
          "node_socketio": "N0 Node socket.io", "raw_ws": "R0 raw aiohttp WS"}


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

    cl, group = res.get("cluster"), res.get("group")
    rows = 2 + bool(cl) + bool(group)
    fig, axes = plt.subplots(rows, 3, figsize=(15, 4 * rows))
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
    if group:
        b6_chart(group, axes[rows - 1])
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


B6_SHORT = {"sfu": "through\nthe SFU", "sfu_all": "SFU, a frame\nof all seven",
            "p2p": "two-person\ncall", "mesh": "six-person\nmesh", "janus": "Janus",
            "ours": "Alongside"}
B6_COLORS = {"sfu": "#2b7a78", "sfu_all": "#5fa8a5", "p2p": "#b5b5b5", "mesh": "#b5b5b5",
             "janus": "#4a6fa5", "ours": "#2b7a78"}


def scaled(v: float | None, by: float) -> float | None:
    return None if v is None else v * by


def b6_chart(g: dict[str, Any], axes: Any) -> None:
    """B6's row of the chart: the eighth member's first frame through the SFU beside a
    two-person call's, a member's uplink beside a mesh member's, and CPU per forwarded
    stream of Janus beside our server's (bench/group_phase.py's ``group`` section)."""
    panels = [
        ([("sfu", g.get("eighth_first_frame_p50_ms")),
          ("sfu_all", g.get("eighth_all_frames_p50_ms")), ("p2p", g.get("p2p_first_frame_p50_ms"))],
         f"B6 eighth member's join → first remote frame p50 ({g.get('trials')} trials)",
         "ms (lower is better)", lambda v: f"{v:,.0f}"),
        ([("sfu", scaled(g.get("sfu_uplink_bytes_per_s"), 1e-3)),
          ("mesh", scaled(g.get("mesh_uplink_bytes_per_s"), 1e-3))],
         f"B6 a member's uplink, {g.get('members')} in the group", "kB/s (lower is better)",
         lambda v: f"{v:.1f}"),
        ([("janus", scaled(g.get("janus_cpu_per_stream_s"), 1e3)),
          ("ours", scaled(g.get("server_cpu_per_stream_s"), 1e3))],
         f"B6 CPU per forwarded stream ({g.get('forwarded_streams')} streams)",
         "CPU-ms per stream-second (lower is better)", lambda v: f"{v:.2f}"),
    ]
    for ax, (items, title, ylabel, label) in zip(axes, panels, strict=True):
        bars(ax, items, title, ylabel, B6_SHORT, B6_COLORS, label)
        ax.tick_params(axis="x", labelsize=8)


def capped_chart(cap: dict[str, Any], path: Path) -> None:
    """``latest-capped.png``: the capped scaling curve (B5, each node held to the same CPU
    quota): round trips and relay peak against the number of nodes, one line per room count,
    with the linear ideal and the targets (2 nodes >= 1.6x, 3 nodes >= 2.2x) for reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ("one_node", "two_nodes", "three_nodes")
    xs = [1, 2, 3]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in ((axes[0], "msgs_per_s", "round trips (closed loop), judged"),
                           (axes[1], "peak_msgs_per_s", "relay peak with p99 ≤ 50 ms, reported")):
        for (n, row), color in zip(cap["by_rooms"].items(), ("#2b7a78", "#d98c3f", "#4a6fa5"),
                                   strict=False):
            ys = [row[name][key] for name in names]
            if any(y is None for y in ys):
                continue
            ax.plot(xs, ys, "o-", color=color, label=f"{n} rooms")
            ax.plot(xs, [ys[0] * x for x in xs], ":", color=color, alpha=0.6)
            for x, y in zip(xs, ys, strict=True):
                ax.annotate(f"{y:,.0f}" + (f"\n{y / ys[0]:.2f}×" if x > 1 and ys[0] else ""),
                            (x, y), textcoords="offset points", xytext=(6, -4), fontsize=7)
            if key == "msgs_per_s":
                ax.plot([2, 3], [ys[0] * 1.6, ys[0] * 2.2], "x", color=color, alpha=0.8)
        ax.set_xticks(xs, ["1 node", "2 nodes", "3 nodes"])
        ax.set_ylabel("msgs/s (higher is better)", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.suptitle(f"B5 with CPU-capped nodes: {cap['quota']} CPU each (cgroup cpu quota); "
                 "dotted: linear, ×: targets", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
