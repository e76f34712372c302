"""Attendance: per session and participant, stays (reconnects merged); minutes per ISO week.

The same for every room kind. A stay opens when a person is in the session room (a
clinician on joining, anyone else when admitted) and closes when they leave, are sent
back to the lobby, removed, or the session ends; time in the lobby is never counted. A
drop closes the stay at the drop *tentatively* (``reconnecting``): coming back inside the
grace period continues it (the gap counts), otherwise it ended at the drop. In a group,
breakouts are part of the session (moving to a breakout is no stay of its own), and each
facilitator has stays of their own with the role ``clinician``.

Note: weeks are ISO weeks in UTC, and a stay crossing Monday 00:00 UTC is split between
the two weeks. A stay still open counts up to ``now``. Minutes are rounded to two decimals
only when reported, so weekly sums are not sums of rounded stays. ``name`` is the name
the person had in the room when the stay opened (a group member's alias); stays stored
before names were kept have none (``null``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.room import Room

WEEK = 7 * 24 * 3600


def week_of(ts: float) -> str:
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _next_monday(ts: float) -> float:
    """The first Monday 00:00 UTC after ``ts`` (where the next ISO week starts)."""
    day = datetime.fromtimestamp(ts, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day - timedelta(days=day.weekday())
    return monday.timestamp() + WEEK


def by_week(start: float, end: float) -> list[tuple[str, float]]:
    """``[(week, minutes)]`` of the interval, split at each week boundary it crosses."""
    out: list[tuple[str, float]] = []
    while start < end:
        cut = min(end, _next_monday(start))
        out.append((week_of(start), (cut - start) / 60))
        start = cut
    return out


WEEK_NAME = re.compile(r"^(\d{4})-W(\d{2})$")


def valid_week(name: str) -> bool:
    """``YYYY-Www``, an ISO week that exists (``2026-W53`` does, ``2025-W53`` does not)."""
    m = WEEK_NAME.match(name)
    if not m:
        return False
    try:
        datetime.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return False
    return True


def attendance(rooms: list[Room], now: float, week: str | None = None) -> dict[str, Any]:
    """Every session's stays and the weekly minutes; with ``week`` (checked by
    :func:`valid_week`), only the sessions with time in that week, shown whole, and that
    week's rows (a biller's "hours this week" without summing the program's history)."""
    sessions: list[dict[str, Any]] = []
    weekly: dict[tuple[str, str, str], float] = {}
    seen_in: dict[tuple[str, str, str], set[str]] = {}
    for room in rooms:
        people = []
        weeks: set[str] = set()  # the weeks this session has time in
        for pid, stays in room.attendance.items():
            minutes = 0.0
            role = stays[0]["role"] if stays else ""
            for s in stays:
                end = s["out"] if s["out"] is not None else now
                minutes += (end - s["in"]) / 60
                for w, part in by_week(s["in"], end):
                    weeks.add(w)
                    key = (w, pid, s["role"])
                    weekly[key] = weekly.get(key, 0.0) + part
                    seen_in.setdefault(key, set()).add(room.id)
            member = room.members.get(pid)
            # A drop not yet settled: still inside the grace period (after it, the stay
            # ended at the drop even if the room has not been written to since).
            waiting = bool(member and member.grace_until is not None
                           and member.grace_until > now)
            name = next((s["name"] for s in reversed(stays) if s.get("name")), None)
            people.append({"id": pid, "name": name, "role": role,
                           "stays": [{"in": s["in"], "out": s["out"],
                                      "reconnecting": bool(s.get("dropped")) and waiting}
                                     for s in stays],
                           "minutes": round(minutes, 2)})
        if week is not None and week not in weeks:
            continue
        sessions.append({"session": room.id, "kind": room.kind.value,
                         "started_at": room.session.get("started_at"),
                         "ended_at": room.session.get("ended_at"), "participants": people})
    return {
        "sessions": sessions,
        "weekly": [{"week": w, "participant": pid, "role": role, "minutes": round(m, 2),
                    "sessions": len(seen_in[(w, pid, role)])}
                   for (w, pid, role), m in sorted(weekly.items())
                   if week is None or w == week]}
