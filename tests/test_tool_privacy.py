"""Private answers leak no timing (issue 13, point 11).

A private tool action changes nothing the partner may see, so the partner must receive
nothing at all: no ``tool`` event, no ``room`` snapshot whose only change is its
version, and no new version in a snapshot they ask for. Each test then makes a visible change and checks the partner gets it, so
"nothing arrived" cannot pass because the partner's socket was deaf.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Harness
from tests.peers import Peer, tool_act

QUIET = 0.75  # how long the partner is watched for events that must not come


async def trio(alongside: Harness) -> tuple[Peer, Peer, Peer]:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)
    return clinician, client, partner


def view(event: dict[str, Any], tool: str) -> dict[str, Any]:
    return next(t["view"] for t in event["tools"] if t["name"] == tool)


async def settled(*peers: Peer) -> None:
    """Wait until nothing has arrived for any of ``peers`` for a moment."""
    for _ in range(30):
        counts = [len(p.received) for p in peers]
        await asyncio.sleep(0.3)
        if counts == [len(p.received) for p in peers]:
            return
    raise AssertionError("events kept coming")


async def nothing_for(peer: Peer, mark: int) -> None:
    """Watch ``peer`` for :data:`QUIET` seconds: nothing may arrive after ``mark``."""
    await asyncio.sleep(QUIET)
    assert peer.received[mark:] == []


async def test_a_private_exercise_answer_sends_the_partner_nothing(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    started = await clinician.call("tool:start", {"tool": "exercises",
                                                  "options": {"exercise": "i-statements"}})
    assert started["ok"], started
    fields = {"when": "plans change", "need": "a text"}
    # The first answer shows the partner who is done (docs/plugins.md), nothing more.
    assert (await tool_act(client, "exercises", "answer",
                           {"fields": {"feel": "tired", **fields}}))["ok"]
    await partner.wait_for("tool", lambda d: view(d, "exercises")["done"] == ["client-1"])
    await settled(clinician, client, partner)
    last_room = partner.events("room")[-1]

    for action, payload, mine in (
            ("answer", {"fields": {"feel": "worn out", **fields}}, "worn out"),
            ("withhold", {}, "withheld"),
            ("answer", {"fields": {"feel": "hopeful", **fields}}, "hopeful")):
        mark, seen_by_clinician = len(partner.received), len(clinician.received)
        ack = await tool_act(client, "exercises", action, payload)
        assert ack["ok"], ack
        # The client's own view follows, in the ack and as an event; the clinician sees it.
        assert mine in repr(view(ack, "exercises")["answers"]["client-1"])
        await client.wait_for("tool", lambda d, m=mine: m in repr(
            view(d, "exercises")["answers"].get("client-1")))
        await clinician.wait_for("tool", lambda d, m=mine: m in repr(
            view(d, "exercises")["answers"].get("client-1")))
        assert len(clinician.received) > seen_by_clinician
        # The partner receives nothing at all: not a view, not a bare new version.
        await nothing_for(partner, mark)
        # Asking for a snapshot shows nothing either: the partner's version did not move.
        asked = await partner.call("snapshot", {})
        assert asked["room"]["version"] == last_room["version"]

    # Something visible does reach the partner: the next version of what they are shown.
    assert (await clinician.call("lock", {"locked": True}))["ok"]
    snap = await partner.wait_for("room", lambda d: d["locked"])
    assert snap["version"] == last_room["version"] + 1
    assert {p["id"] for p in snap["participants"]} == {"clinician-1", "client-1"}
    assert snap["you"]["id"] == "partner-1" and snap["status"] == "open"
    # And so does a visible tool change: the release shows the client's final answer.
    assert (await tool_act(partner, "exercises", "withhold"))["ok"]
    assert (await tool_act(clinician, "exercises", "release"))["ok"]
    released = await partner.wait_for("tool", lambda d: view(d, "exercises")["released"])
    assert "hopeful" in repr(view(released, "exercises")["answers"]["client-1"])


async def test_a_private_check_in_answer_sends_the_partner_nothing(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    assert (await clinician.call("tool:start", {"tool": "checkin",
                                                "options": {"phase": "start"}}))["ok"]
    await partner.wait_for("tool", lambda d: d["tools"])
    await settled(clinician, client, partner)
    for mood in (2, 4):
        mark = len(partner.received)
        ack = await tool_act(client, "checkin", "answer", {"mood": mood, "readiness": 3})
        assert view(ack, "checkin")["mine"]["mood"] == mood
        await clinician.wait_for("tool", lambda d, m=mood: view(d, "checkin")["answers"].get(
            "client-1", {}).get("mood") == m)
        await nothing_for(partner, mark)
    # The partner's own answer and the clinician closing are visible to the partner.
    mark = len(partner.received)
    assert (await tool_act(clinician, "checkin", "close"))["ok"]
    closed = await partner.wait_for("tool", lambda d: view(d, "checkin")["open"] is False)
    assert view(closed, "checkin")["answered"] is False  # still nothing of the client's
    assert len(partner.received) > mark


async def test_a_partner_back_on_a_new_connection_learns_nothing_either(
        start_server: Any) -> None:
    """What was last sent on the old socket cannot be the yardstick: a partner who comes
    back (or whose node is another one) must still get nothing for a private change."""
    alongside: Harness = await start_server(grace_seconds=5)
    clinician, client, partner = await trio(alongside)
    assert (await clinician.call("tool:start", {"tool": "checkin",
                                                "options": {"phase": "start"}}))["ok"]
    await partner.wait_for("tool", lambda d: d["tools"])
    await partner.sio.eio.ws.close()  # the network drops, without a goodbye
    await clinician.wait_for("presence", lambda d: d == {"participant": "partner-1",
                                                         "status": "reconnecting"})
    back = await alongside.peer("partner")  # the same seat, within the grace period
    assert back.join_ack["you"]["state"] == "admitted"  # type: ignore[attr-defined]
    await settled(clinician, client, back)
    mark = len(back.received)
    ack = await tool_act(client, "checkin", "answer", {"mood": 2, "readiness": 3})
    assert view(ack, "checkin")["mine"]["mood"] == 2
    await clinician.wait_for("tool", lambda d: "client-1" in view(d, "checkin")["answers"])
    await nothing_for(back, mark)
    # The new connection does hear what it may see.
    assert (await tool_act(clinician, "checkin", "close"))["ok"]
    await back.wait_for("tool", lambda d: view(d, "checkin")["open"] is False)
