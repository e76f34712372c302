"""Attendance: per session and participant, stays (reconnects merged); minutes per ISO week.

Note: a stay still open counts up to ``now``; minutes are rounded to two decimals
only when reported, so weekly sums are not sums of rounded stays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server.domain.room import Room


def week_of(ts: float) -> str:
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def attendance(rooms: list[Room], now: float) -> dict[str, Any]:
    sessions: list[dict[str, Any]] = []
    weekly: dict[tuple[str, str, str], float] = {}
    for room in rooms:
        people = []
        for pid, stays in room.attendance.items():
            minutes = 0.0
            for s in stays:
                end = s["out"] if s["out"] is not None else now
                minutes += (end - s["in"]) / 60
                wk = (week_of(s["in"]), pid, s["role"])
                weekly[wk] = weekly.get(wk, 0.0) + (end - s["in"]) / 60
            people.append({"id": pid, "role": stays[0]["role"] if stays else "",
                           "stays": [{"in": s["in"], "out": s["out"]} for s in stays],
                           "minutes": round(minutes, 2)})
        sessions.append({"session": room.id, "kind": room.kind.value, "participants": people})
    return {
        "sessions": sessions,
        "weekly": [{"week": w, "participant": pid, "role": role, "minutes": round(m, 2)}
                   for (w, pid, role), m in sorted(weekly.items())]}
