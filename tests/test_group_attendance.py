"""Attendance in group rooms, through a real server and real socket.io members (no media).

What a program's staff read at ``GET /api/programs/{id}/attendance`` for a group: each
member's stays (admitted → left, dropped for good, sent back, or the end), lobby time never
counted, a drop inside the grace period one stay, a drop past it two stays with the gap
left out, a breakout counted, both facilitators with stays of their own, and the week's
minutes and sessions per person over more than one group session.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import ClientSession

from server.services.attendance import by_week, week_of
from tests.conftest import Harness
from tests.peers import Peer
from tests.test_presence import network_drop

VERSION = "group-agreement-v1-en"


async def knock(h: Harness, room: str, sub: str, alias: str) -> Peer:
    p = await h.peer("client", sub=sub, name=alias + " Surname", room=room, join=False)
    assert (await p.call("agreement.accept", {"version": VERSION, "alias": alias}))["ok"]
    assert (await p.call("join", {}))["ok"]
    return p


async def report(h: Harness) -> dict[str, Any]:
    token = h.token("clinician", sub="clinician-1")
    async with ClientSession() as s, s.get(f"{h.url}/api/programs/prog-1/attendance",
                                           headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        return await r.json()  # type: ignore[no-any-return]


def people(rep: dict[str, Any], session: str) -> dict[str, dict[str, Any]]:
    [s] = [s for s in rep["sessions"] if s["session"] == session]
    assert s["kind"] == "group"
    return {p["id"]: p for p in s["participants"]}


def span(stays: list[dict[str, Any]]) -> float:
    return sum(s["out"] - s["in"] for s in stays) / 60


async def test_stays_and_weekly_minutes_of_a_group_with_a_drop_and_return(
        start_server: Any) -> None:
    h: Harness = await start_server(grace_seconds=0.6)
    await h.create_room("grp-1", "group")
    lead = await h.peer("clinician", sub="clinician-1", name="Dr. Rivera", room="grp-1")
    await h.peer("clinician", sub="dr-2", name="Dr. Chen", room="grp-1")
    knocked = time.time()
    ana, ben, cy, dee = [await knock(h, "grp-1", s, a) for s, a in
                         (("ana", "Ana"), ("ben", "Ben"), ("cy", "Cy"), ("dee", "Dee"))]
    await asyncio.sleep(0.5)  # waiting in the lobby: not attendance
    admitted = time.time()
    assert (await lead.call("admit-all", {}))["ok"]
    for p in (ana, ben, cy, dee):
        await p.wait_for("admitted")

    # Ben drops and is back inside the grace period: one stay.
    await network_drop(ben)
    await lead.wait_for("presence", lambda p: p == {"participant": "ben",
                                                    "status": "reconnecting"})
    mid = await report(h)
    [ben_stay] = people(mid, "grp-1")["ben"]["stays"]
    assert ben_stay["out"] is not None and ben_stay["reconnecting"] is True
    ben = Peer(h.url, h.token("client", sub="ben", name="Ben Surname", room="grp-1"))
    h.peers.append(ben)
    await ben.connect()
    assert (await ben.call("join", {}))["you"]["state"] == "admitted"

    # Cy drops for longer than the grace period: the stay ends at the drop, Cy knocks
    # again, waits, and a second stay opens when admitted.
    await network_drop(cy)
    dropped = time.time()
    await lead.wait_for("presence", lambda p: p == {"participant": "cy", "status": "left"},
                        timeout=5)
    cy = await knock(h, "grp-1", "cy", "Cy")
    await asyncio.sleep(0.4)
    back = time.time()
    assert (await lead.call("admit", {"participant": "cy"}))["ok"]

    # A breakout for Ana and Ben is part of the session: no new stay, no gap.
    assert (await lead.call("group.breakout", {"pairs": [["ana", "ben"]]}))["ok"]
    await asyncio.sleep(0.3)
    assert (await lead.call("group.breakout-end", {}))["ok"]
    # Dee is sent back to the lobby: the stay ends there.
    assert (await lead.call("send-back", {"participant": "dee"}))["ok"]
    sent_back = time.time()
    await asyncio.sleep(0.4)
    assert (await lead.call("end", {}))["ok"]
    ended = time.time()

    rep = await report(h)
    who = people(rep, "grp-1")
    assert set(who) == {"clinician-1", "dr-2", "ana", "ben", "cy", "dee"}
    assert {pid: p["name"] for pid, p in who.items()} == {
        "clinician-1": "Dr. Rivera", "dr-2": "Dr. Chen", "ana": "Ana", "ben": "Ben",
        "cy": "Cy", "dee": "Dee"}
    assert who["clinician-1"]["role"] == who["dr-2"]["role"] == "clinician"
    assert all(p["role"] == "client" for pid, p in who.items() if not pid.startswith(
        ("clinician", "dr-")))
    for pid in ("ana", "ben"):
        [stay] = who[pid]["stays"]
        assert stay["in"] >= admitted - 0.05 and stay["in"] > knocked + 0.45  # no lobby time
        assert stay["out"] <= ended and stay["out"] >= ended - 0.3
        assert stay["reconnecting"] is False
    first, second = who["cy"]["stays"]
    assert first["out"] <= dropped + 0.3 and second["in"] >= back - 0.05
    assert second["in"] - first["out"] >= 0.6 + 0.4 - 0.1  # the gap and the lobby: not counted
    [dee_stay] = who["dee"]["stays"]
    assert abs(dee_stay["out"] - sent_back) < 0.3
    for pid, p in who.items():
        assert abs(p["minutes"] - span(p["stays"])) < 0.011, pid
    assert who["cy"]["minutes"] < who["ana"]["minutes"]
    weekly = {w["participant"]: w for w in rep["weekly"]}
    for pid, p in who.items():
        assert weekly[pid]["minutes"] == p["minutes"] and weekly[pid]["sessions"] == 1
    [grp] = [s for s in rep["sessions"] if s["session"] == "grp-1"]
    assert grp["started_at"] < knocked and abs(grp["ended_at"] - ended) < 0.3

    # A second group session the same week: Ana's week adds up both.
    await h.create_room("grp-2", "group")
    lead2 = await h.peer("clinician", sub="clinician-1", name="Dr. Rivera", room="grp-2")
    ana2 = await knock(h, "grp-2", "ana", "Ana")
    assert (await lead2.call("admit", {"participant": "ana"}))["ok"]
    await ana2.wait_for("admitted")
    await asyncio.sleep(0.6)
    assert (await ana2.call("leave", {}))["ok"]
    rep = await report(h)
    one, two = people(rep, "grp-1")["ana"], people(rep, "grp-2")["ana"]
    [ana_week] = [w for w in rep["weekly"] if w["participant"] == "ana"]
    assert ana_week["sessions"] == 2
    assert abs(ana_week["minutes"] - (one["minutes"] + two["minutes"])) < 0.011
    assert two["minutes"] >= 0.6 / 60 - 0.005


async def test_a_full_group_of_seventeen_is_all_counted(start_server: Any) -> None:
    h: Harness = await start_server()
    await h.create_room("grp-full", "group")
    lead = await h.peer("clinician", sub="clinician-1", room="grp-full")
    await h.peer("clinician", sub="dr-2", room="grp-full")
    members = [await knock(h, "grp-full", f"m{i}", f"M{i}") for i in range(15)]
    assert (await lead.call("admit-all", {}))["ok"]
    for m in members:
        await m.wait_for("admitted")
    assert (await lead.call("end", {}))["ok"]
    who = people(await report(h), "grp-full")
    assert len(who) == 17
    assert all(len(p["stays"]) == 1 and p["stays"][0]["out"] is not None for p in who.values())


def test_a_stay_across_monday_midnight_utc_is_split_between_the_weeks() -> None:
    sunday_2330 = 1796599800.0  # 2026-12-06 (a Sunday) 23:30 UTC
    parts = by_week(sunday_2330, sunday_2330 + 90 * 60)
    assert parts == [("2026-W49", 30.0), ("2026-W50", 60.0)]


async def test_one_week_of_attendance_and_a_malformed_week_refused(start_server: Any) -> None:
    h: Harness = await start_server()
    await h.create_room("grp-week", "group")
    lead = await h.peer("clinician", sub="clinician-1", room="grp-week")
    ana = await knock(h, "grp-week", "ana", "Ana")
    assert (await lead.call("admit-all", {}))["ok"]
    await ana.wait_for("admitted")
    this_week = week_of(time.time())
    token = h.token("clinician", sub="clinician-1")
    base = f"{h.url}/api/programs/prog-1/attendance"
    async with ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
        async with s.get(base, params={"week": this_week}) as r:
            assert r.status == 200, await r.text()
            now = await r.json()
        assert [x["session"] for x in now["sessions"]] == ["grp-week"]
        assert {row["participant"] for row in now["weekly"]} == {"clinician-1", "ana"}
        assert {row["week"] for row in now["weekly"]} == {this_week}
        async with s.get(base, params={"week": "2020-W01"}) as r:
            assert await r.json() == {"sessions": [], "weekly": []}
        for bad in ("2026-W60", "2025-W53", "2026-49", "w49", ""):
            async with s.get(base, params={"week": bad}) as r:
                assert r.status == 422, bad
                assert (await r.json())["error"]["code"] == "E_SCHEMA", bad
