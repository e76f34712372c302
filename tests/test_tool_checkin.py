"""Check-in end to end: private answers over a real server, the record, the trend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from plugins.checkin import CheckIn, trend
from server.store.rooms import Rooms
from tests.conftest import Harness
from tests.peers import Peer


async def answer(peer: Peer, payload: Any) -> dict[str, Any]:
    return await peer.call("tool:act", {"tool": "checkin", "action": "answer",
                                        "payload": payload})


async def clinician_act(peer: Peer, action: str) -> dict[str, Any]:
    return await peer.call("tool:act", {"tool": "checkin", "action": action, "payload": {}})


def view_of(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply.get("ok"), reply
    [item] = [t for t in reply["tools"] if t["name"] == "checkin"]
    return item["view"]  # type: ignore[no-any-return]


def code(reply: dict[str, Any]) -> str:
    assert not reply.get("ok"), reply
    return reply["error"]["code"]  # type: ignore[no-any-return]


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object nested anywhere in a payload."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk(v)


def assert_only_own(peer: Peer, own: list[dict[str, int]]) -> None:
    """Over every payload this person received: no one else's answer, ever."""
    pairs = [(a["mood"], a["readiness"]) for a in own]
    for _, payload in peer.received:
        for obj in walk(payload):
            assert "answers" not in obj and "waiting" not in obj, obj
            if "mood" in obj and isinstance(obj["mood"], int):
                assert (obj["mood"], obj["readiness"]) in pairs, obj
    views = [t["view"] for d in peer.events("tool") for t in d["tools"]
             if t["name"] == "checkin" and "view" in t]
    assert views
    for view in views:
        assert set(view) == {"phase", "open", "questions", "scale", "answered", "mine",
                             "privacy"}
        assert "partner-1" not in repr(view) and "client-1" not in repr(view)


async def run_checkin(clinician: Peer, phase: str,
                      answers: list[tuple[Peer, dict[str, int]]]) -> dict[str, Any]:
    started = view_of(await clinician.call("tool:start", {"tool": "checkin",
                                                          "options": {"phase": phase}}))
    assert started["phase"] == phase and started["answers"] == {}
    for peer, values in answers:
        mine = view_of(await answer(peer, values))
        assert mine["answered"] and mine["mine"]["mood"] == values["mood"]
    assert view_of(await clinician_act(clinician, "close"))["open"] is False
    [item] = (await clinician.call("tools", {}))["running"]
    final = item["view"]
    assert (await clinician.call("tool:stop", {"tool": "checkin"}))["ok"]
    return final


async def test_partners_answer_privately_and_the_clinician_sees_both(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)

    listed = await partner.call("tools", {})
    [entry] = [t for t in listed["available"] if t["name"] == "checkin"]
    assert entry["title"] == "Check-in" and entry["actions"] == ["answer"]

    bad_start = {"tool": "checkin", "options": {"phase": "middle"}}
    assert code(await clinician.call("tool:start", bad_start)) == "E_TOOL_INVALID"
    assert code(await client.call("tool:start", {"tool": "checkin"})) == "E_FORBIDDEN_ROLE"
    started = view_of(await clinician.call("tool:start", {"tool": "checkin",
                                                          "options": {"phase": "start"}}))
    assert {w["participant"] for w in started["waiting"]} == {"client-1", "partner-1"}
    fresh = await client.wait_for("tool", lambda d: d["tools"])
    first = fresh["tools"][0]["view"]
    assert first["answered"] is False and first["mine"] is None
    assert set(first["questions"]) == {"mood", "readiness"}

    # Invalid values are refused, and change nothing.
    for bad in ({"mood": 0, "readiness": 3}, {"mood": 6, "readiness": 3},
                {"mood": "3", "readiness": 3}, {"mood": 3.5, "readiness": 3},
                {"mood": True, "readiness": 3}, {"mood": 3}, {"mood": 3, "readiness": 3,
                                                               "note": "x"}):
        assert code(await answer(client, bad)) == "E_TOOL_INVALID", bad
    assert code(await answer(clinician, {"mood": 3, "readiness": 3})) == "E_FORBIDDEN_ROLE"

    client_first, client_changed = {"mood": 2, "readiness": 4}, {"mood": 3, "readiness": 4}
    partner_answer = {"mood": 5, "readiness": 1}
    assert view_of(await answer(client, client_first))["mine"]["mood"] == 2
    mine = view_of(await answer(partner, partner_answer))
    assert mine["answered"] and mine["mine"]["readiness"] == 1
    changed = view_of(await answer(client, client_changed))  # may change until closed
    assert changed["mine"]["mood"] == 3

    both = await clinician.wait_for("tool", lambda d: any(
        t["name"] == "checkin" and t["view"]["answers"].get("client-1", {}).get("mood") == 3
        and "partner-1" in t["view"]["answers"] for t in d["tools"]))
    seen = both["tools"][0]["view"]
    assert seen["answers"]["partner-1"]["mood"] == 5 and seen["answers"]["client-1"][
        "changes"] == 1
    assert seen["waiting"] == []

    closed = view_of(await clinician_act(clinician, "close"))
    assert closed["open"] is False
    assert code(await answer(partner, {"mood": 1, "readiness": 1})) == "E_TOOL_CLOSED"
    assert (await clinician.call("tool:stop", {"tool": "checkin"}))["ok"]
    for peer in (client, partner):
        await peer.wait_for("tool", lambda d: d["tools"] == [])

    assert_only_own(client, [client_first, client_changed])
    assert_only_own(partner, [partner_answer])
    assert "partner-1" in repr(clinician.events("tool"))

    stored = await Rooms(alongside.store).get("room-couples")
    assert stored is not None
    [record] = [r for r in stored.records if r["tool"] == "checkin"]
    kept = CheckIn().record(record["state"], "clinician")
    assert kept["phase"] == "start" and kept["closed_at"] is not None
    assert {(a["participant"], a["mood"], a["readiness"]) for a in kept["answers"]} == {
        ("client-1", 3, 4), ("partner-1", 5, 1)}
    for role in ("client", "partner"):
        assert CheckIn().record(record["state"], role) == {"phase": "start", "happened": True}


async def test_trend_over_two_sessions(alongside: Harness) -> None:
    # Session one (the couples room): a check-in at the start and at the end.
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)
    await run_checkin(clinician, "start", [(client, {"mood": 2, "readiness": 3}),
                                           (partner, {"mood": 3, "readiness": 2})])
    end = await run_checkin(clinician, "end", [(client, {"mood": 4, "readiness": 4})])
    assert [w["participant"] for w in end["waiting"]] == ["partner-1"]  # skipped this one
    for p in (clinician, client, partner):
        await p.close()

    # Session two (the individual room), later: the client alone.
    clinician = await alongside.peer("clinician", room="room-individual")
    client = await alongside.admitted("client", clinician, room="room-individual")
    reopened = await clinician.call("tool:start", {"tool": "checkin", "options": {}})
    assert view_of(reopened)["phase"] == "start"  # the default phase
    assert view_of(await clinician_act(clinician, "close"))["open"] is False
    assert code(await answer(client, {"mood": 5, "readiness": 5})) == "E_TOOL_CLOSED"
    assert view_of(await clinician_act(clinician, "reopen"))["open"] is True
    assert view_of(await answer(client, {"mood": 5, "readiness": 5}))["answered"]
    assert (await clinician.call("tool:stop", {"tool": "checkin"}))["ok"]

    records = []
    for room in ("room-couples", "room-individual"):
        stored = await Rooms(alongside.store).get(room)
        assert stored is not None
        records += [{**r, "session": room} for r in stored.records]
    records.append({"tool": "roleplay", "at": 1.0, "state": {"answers": {"x": {}}}})
    records.append({"tool": "checkin", "at": 2.0, "state": {"answers": {"x": {"mood": 9}}}})

    series = {s["participant"]: s for s in trend(records)}
    assert set(series) == {"client-1", "partner-1"}
    client_points = series["client-1"]["points"]
    assert [(p["phase"], p["mood"], p["readiness"], p["session"]) for p in client_points] == [
        ("start", 2, 3, "room-couples"), ("end", 4, 4, "room-couples"),
        ("start", 5, 5, "room-individual")]
    assert [p["at"] for p in client_points] == sorted(p["at"] for p in client_points)
    assert series["client-1"]["role"] == "client"
    assert [(p["mood"], p["readiness"]) for p in series["partner-1"]["points"]] == [(3, 2)]
    # The clinician's filtered record reads the same.
    filtered = [{"tool": "checkin", "at": r["at"], "session": r["session"],
                 "record": CheckIn().record(r["state"], "clinician")}
                for r in records if r["tool"] == "checkin" and "session" in r]
    assert trend(filtered) == trend(records)


async def test_the_trend_is_served_to_clinicians_only(alongside: Harness) -> None:
    from aiohttp import ClientSession

    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    await clinician.call("tool:start", {"tool": "checkin", "options": {"phase": "start"}})
    await client.call("tool:act", {"tool": "checkin", "action": "answer",
                                   "payload": {"mood": 2, "readiness": 4}})
    await clinician.call("tool:stop", {"tool": "checkin"})
    url = alongside.url + "/api/programs/prog-1/checkin-trend"
    async with ClientSession() as http:
        headers = {"Authorization": f"Bearer {alongside.token('clinician')}"}
        async with http.get(url, headers=headers) as r:
            assert r.status == 200
            [series] = (await r.json())["participants"]
        headers = {"Authorization": f"Bearer {alongside.token('client')}"}
        async with http.get(url, headers=headers) as r:
            assert r.status == 403
    assert series["participant"] == "client-1"
    assert [(p["mood"], p["readiness"]) for p in series["points"]] == [(2, 4)]
