"""Conflict time-out and side rooms through a real server: separate rooms, scoped signaling,
the clinician visiting, the timer bringing everyone back, and a private safety check-in."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.timeout import TimeOut
from server.tools.api import Participant, ToolContext, ToolError
from tests.conftest import Harness
from tests.peers import Peer, call_kept, tool_act

TOOL = "timeout"
SDP = "v=0\r\n"


async def call(peer: Peer, event: str, data: Any = None) -> dict[str, Any]:
    return await call_kept(peer, event, data)


async def act(peer: Peer, action: str, payload: Any = None) -> dict[str, Any]:
    return await tool_act(peer, TOOL, action, payload)


async def start(peer: Peer, **options: Any) -> dict[str, Any]:
    return await call(peer, "tool:start", {"tool": TOOL, "options": options})


async def after(peer: Peer, mark: int, name: str, predicate: Any,
                timeout: float = 5) -> dict[str, Any]:
    """The first ``name`` event received after position ``mark`` matching ``predicate``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for event, data in peer.received[mark:]:
            if event == name and predicate(data):
                return data
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {name} matching after {mark}")
        await asyncio.sleep(0.02)


async def snapshot(peer: Peer, predicate: Any, mark: int = 0) -> dict[str, Any]:
    return await after(peer, mark, "room", predicate)


async def view(peer: Peer, predicate: Any = lambda v: True, mark: int = 0,
               timeout: float = 5) -> dict[str, Any]:
    event = await after(peer, mark, "tool", lambda d: any(
        t["name"] == TOOL and "view" in t and predicate(t["view"]) for t in d["tools"]),
        timeout=timeout)
    return next(t["view"] for t in event["tools"] if t["name"] == TOOL)


def ids(snap: dict[str, Any]) -> set[str]:
    return {p["id"] for p in snap["participants"]}


async def trio(alongside: Harness) -> tuple[Peer, Peer, Peer]:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)
    return clinician, client, partner


async def offer(sender: Peer, to: str) -> dict[str, Any]:
    return await sender.call("offer", {"to": to, "sdp": SDP})


async def test_partner_calls_a_time_out_side_rooms_visit_and_the_timer(
        alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    listed = await partner.call("tools", {})
    assert "start" in next(t for t in listed["available"] if t["name"] == TOOL)["actions"]
    for bad in ({"minutes": 30}, {"minutes": 0}, {"minutes": "five"}, {"hours": 1}):
        assert (await start(partner, **bad))["error"]["code"] == "E_TOOL_INVALID", bad

    # The partner calls it: each partner goes to a side room of their own.
    called = await start(partner, minutes=5)
    assert called["ok"], called
    cs = await snapshot(client, lambda d: d.get("side") == "timeout-client-1")
    ps = await snapshot(partner, lambda d: d.get("side") == "timeout-partner-1")
    assert ids(cs) == set() and ids(ps) == set()
    assert {a["id"]: a["with"] for a in cs["away"]} == {"partner-1": [],
                                                         "clinician-1": []}
    cv = await view(client, lambda v: v["phase"] == "timeout")
    assert cv["deadline"] > 0 and cv["seconds"] == 300 and "breathe" in cv["prompt"].lower()
    assert cv["clinician"]["where"] == "main"
    # Signaling is scoped to the side room: the partners cannot reach each other.
    assert (await offer(client, "partner-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    assert (await offer(partner, "client-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    assert (await offer(clinician, "partner-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    assert (await act(partner, "end"))["error"]["code"] == "E_FORBIDDEN_ROLE"
    assert (await act(client, "visit", {"participant": "partner-1"}))["error"]["code"] \
        == "E_FORBIDDEN_ROLE"
    assert (await start(client))["error"]["code"] == "E_TOOL_RUNNING"
    assert (await act(client, "call"))["error"]["code"] == "E_TOOL_PHASE"

    # The clinician visits the partner's side room: they can talk; the client cannot join.
    assert (await act(clinician, "visit", {"participant": "nobody"}))["error"]["code"] \
        == "E_TOOL_INVALID"
    assert (await act(clinician, "visit", {"participant": "partner-1"}))["ok"]
    ds = await snapshot(clinician, lambda d: d.get("side") == "timeout-partner-1")
    assert ids(ds) == {"partner-1"}
    assert (await offer(clinician, "partner-1"))["ok"]
    assert (await offer(partner, "clinician-1"))["ok"]
    await partner.wait_for("offer", lambda d: d["from"] == "clinician-1")
    assert (await offer(client, "clinician-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    assert (await view(partner, lambda v: v.get("clinician", {}).get("where") == "with-you"))
    assert (await view(client, lambda v: v.get("clinician", {}).get("where") == "with-partner"))
    cs = await snapshot(client, lambda d: any(a["id"] == "partner-1" and a["with"]
                                              for a in d.get("away", [])))
    assert {a["id"]: a["with"] for a in cs["away"]}["partner-1"] == ["Clinician"]
    assert not [d for d in client.events("offer")]  # nothing said reached the client
    mark = len(clinician.received)
    assert (await act(clinician, "return"))["ok"]
    await snapshot(clinician, lambda d: d.get("side") == "", mark)

    # The clinician ends it: everyone is back together.
    mark = len(client.received)
    assert (await act(clinician, "end"))["ok"]
    cs = await snapshot(client, lambda d: d.get("side") == "" and "partner-1" in ids(d), mark)
    assert ids(cs) == {"partner-1", "clinician-1"} and cs["away"] == []
    assert (await offer(client, "partner-1"))["ok"]

    # Called again, short; the timer brings both back on its own.
    marks = len(client.received), len(partner.received)
    assert (await act(client, "call", {"seconds": 1}))["ok"]
    await snapshot(partner, lambda d: d.get("side") == "timeout-partner-1", marks[1])
    await snapshot(client, lambda d: d.get("side") == "timeout-client-1", marks[0])
    assert (await offer(client, "partner-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    marks = len(client.received), len(partner.received)
    pv = await view(partner, lambda v: v["phase"] == "ended", marks[1], timeout=6)
    assert "over" in pv["message"]
    ps = await snapshot(partner, lambda d: d.get("side") == "" and "client-1" in ids(d),
                        marks[1])
    assert ids(ps) == {"client-1", "clinician-1"}
    await snapshot(client, lambda d: d.get("side") == "" and "partner-1" in ids(d), marks[0])
    assert (await offer(client, "partner-1"))["ok"]
    assert (await offer(partner, "client-1"))["ok"]
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]


async def test_private_check_in_shows_the_other_only_where_the_clinician_is(
        alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    assert (await start(client, minutes=10))["ok"]
    await snapshot(partner, lambda d: d.get("side") == "timeout-partner-1")
    checked = await act(clinician, "check-in", {"participant": "client-1"})
    assert checked["ok"], checked
    cs = await snapshot(client, lambda d: d.get("side") == "private-client-1")
    assert ids(cs) == {"clinician-1"}
    ps = await snapshot(partner, lambda d: d.get("side") == "" and d["away"]
                        and all(a["with"] for a in d["away"]))
    assert ids(ps) == set()
    assert sorted((a["name"], a["with"]) for a in ps["away"]) == [
        ("Client", ["Clinician"]), ("Clinician", ["Client"])]
    assert set(ps["away"][0]) == {"id", "name", "role", "with"}
    pv = await view(partner, lambda v: v["phase"] == "away")
    # The name rides apart too, so the panel can say it in the page's language.
    assert pv == {"phase": "away", "with": "Client", "message": "The clinician is with Client."}
    cv = await view(client, lambda v: v["phase"] == "check-in")
    assert "just the two of you" in cv["message"]
    assert (await offer(clinician, "client-1"))["ok"]
    assert (await offer(partner, "client-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    assert (await offer(partner, "clinician-1"))["error"]["code"] == "E_OTHER_SIDE_ROOM"
    # Nothing the partner ever received names the private room or what it is for.
    everything = json.dumps(partner.received)
    for word in ("private-client-1", "check-in", "checkIn", "safety"):
        assert word not in everything, word

    mark = len(partner.received)
    assert (await act(clinician, "return"))["ok"]  # the check-in is over
    ps = await snapshot(partner, lambda d: d.get("side") == "" and "client-1" in ids(d), mark)
    assert ids(ps) == {"client-1", "clinician-1"}
    assert (await offer(partner, "client-1"))["ok"]
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]
    # The record: the clinician reads the check-in; partners do not.
    tool = TimeOut()
    room_records = [r for r in (await _records(alongside)) if r["tool"] == TOOL]
    state = room_records[-1]["state"]
    assert any(e["event"] == "check-in" for e in tool.record(state, "clinician")["log"])
    assert not any(e["event"] == "check-in" for e in tool.record(state, "partner")["log"])


async def _records(alongside: Harness) -> list[dict[str, Any]]:
    from server.store.rooms import Rooms
    room = await Rooms(alongside.store).get("room-couples")
    assert room is not None
    return room.records


async def test_stop_brings_everyone_back(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    assert (await start(partner))["ok"]  # default five minutes
    await snapshot(client, lambda d: d.get("side") == "timeout-client-1")
    assert (await view(client, lambda v: v["phase"] == "timeout"))["seconds"] == 300
    mark = len(client.received)
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]
    cs = await snapshot(client, lambda d: d.get("side") == "" and "partner-1" in ids(d), mark)
    assert ids(cs) == {"partner-1", "clinician-1"}
    assert (await offer(client, "partner-1"))["ok"]


async def test_individual_room_is_a_personal_pause(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician", room="room-individual")
    client = await alongside.admitted("client", clinician, room="room-individual")
    assert (await start(client, minutes=2))["ok"]
    cv = await view(client, lambda v: v["phase"] == "pause")
    assert cv["seconds"] == 120 and cv["clinician"]["where"] == "with-you"
    assert (await act(clinician, "check-in", {"participant": "client-1"}))["error"][
        "code"] == "E_TOOL_NO_SIDE_ROOMS"
    assert (await act(clinician, "visit", {"participant": "client-1"}))["error"][
        "code"] == "E_TOOL_NO_SIDE_ROOMS"
    assert (await offer(client, "clinician-1"))["ok"]  # nobody moved
    assert (await act(clinician, "end"))["ok"]
    assert (await act(clinician, "end"))["error"]["code"] == "E_TOOL_PHASE"


async def test_a_check_in_opened_directly_only_by_the_clinician(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    refused = await start(client, checkIn="client-1")
    assert refused["error"]["code"] == "E_TOOL_FORBIDDEN"
    assert (await start(clinician, checkIn="clinician-1"))["error"]["code"] == "E_TOOL_INVALID"
    mark = len(client.received)
    opened = await start(clinician, checkIn="partner-1")
    assert opened["ok"], opened
    ps = await snapshot(partner, lambda d: d.get("side") == "private-partner-1")
    assert ids(ps) == {"clinician-1"}
    cs = await snapshot(client, lambda d: d.get("side") == "" and not ids(d), mark)
    assert sorted((a["name"], a["with"]) for a in cs["away"]) == [
        ("Clinician", ["Partner"]), ("Partner", ["Clinician"])]
    assert await view(client, lambda v: v == {"phase": "away", "with": "Partner",
                                              "message": "The clinician is with Partner."})
    for word in ("private-partner-1", "check-in", "checkIn"):  # since the clinician opened it
        assert word not in json.dumps(client.received[mark:]), word
    mark = len(client.received)
    assert (await act(clinician, "return"))["ok"]
    cs = await snapshot(client, lambda d: "partner-1" in ids(d), mark)
    assert ids(cs) == {"partner-1", "clinician-1"}


ROSTER = (Participant("clinician-1", "Dr", "clinician"), Participant("client-1", "A", "client"),
          Participant("partner-1", "B", "partner"))
ANY = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4) \
    | st.sampled_from(["client-1", "partner-1", "clinician-1"]) | st.lists(st.integers())


@settings(max_examples=120, deadline=None)
@given(options=st.dictionaries(st.sampled_from(["minutes", "seconds", "checkIn", "x"]), ANY,
                               max_size=2),
       kind=st.sampled_from(["couples", "individual"]),
       steps=st.lists(st.tuples(
           st.sampled_from([a for a in TimeOut.actions if a not in ("start", "stop")]),
           st.sampled_from(ROSTER),
           st.dictionaries(st.sampled_from(["participant", "minutes", "seconds"]), ANY,
                           max_size=2), st.floats(0, 2000)), max_size=8))
def test_any_payload_is_refused_with_a_code_or_taken(
        options: dict[str, Any], kind: str,
        steps: list[tuple[str, Participant, dict[str, Any], float]]) -> None:
    tool = TimeOut()
    try:
        state = tool.start(ToolContext(roster=ROSTER, now=0.0, room_kind=kind,
                                       actor=ROSTER[0]), options)
    except ToolError as refused:
        assert refused.code.startswith("E_TOOL_")
        return
    for action, actor, payload, now in steps:
        ctx = ToolContext(roster=ROSTER, now=now, room_kind=kind, actor=actor)
        try:
            state = tool.act(ctx, copy.deepcopy(state), actor, action, payload)
        except ToolError as refused:
            assert refused.code.startswith("E_TOOL_")
            continue
        assert all(e.kind == "move" for e in ctx.effects)
        for viewer in ROSTER:
            json.dumps(tool.view(state, viewer))
        json.dumps(tool.record(state, actor.role))
