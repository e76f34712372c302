"""The lobby and the clinician's controls, through a real server and real socket.io clients."""

from __future__ import annotations

import pytest
import socketio

from tests.conftest import Harness
from tests.peers import Peer


async def test_clinician_opens_client_knocks_and_is_admitted(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    assert clinician.join_ack["you"]["state"] == "admitted"
    client = await alongside.peer("client", name="Sam")
    assert client.join_ack["you"]["state"] == "lobby"
    # Someone waiting sees no one else's details, only whether the clinician is there.
    assert client.join_ack["room"]["participants"] == []
    assert client.join_ack["room"]["clinicianPresent"] is True
    assert "lobby" not in client.join_ack["room"]

    lobby = await clinician.wait_for("room", lambda r: r["lobby"])
    assert [(p["id"], p["name"], p["role"]) for p in lobby["lobby"]] == [
        ("client-1", "Sam", "client")]
    assert lobby["lobby"][0]["since"] > 0

    ack = await clinician.call("admit", {"participant": "client-1"})
    assert ack["ok"] and ack["room"]["lobby"] == []
    await client.wait_for("admitted")
    view = await client.wait_for("room", lambda r: r["you"]["state"] == "admitted")
    [peer] = view["participants"]
    # Each side learns its own part in perfect negotiation: the client yields.
    assert peer["role"] == "clinician" and peer["polite"] is True
    mine = ack["room"]["participants"][0]
    assert mine["id"] == "client-1" and mine["polite"] is False
    await clinician.wait_for("presence", lambda p: p == {"participant": "client-1",
                                                         "status": "joined"})


async def test_deny_tells_the_person_why_and_they_may_knock_again(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.peer("client")
    ack = await clinician.call("deny", {"participant": "client-1",
                                        "reason": "Your session is at 3 pm today."})
    assert ack["ok"] and ack["room"]["lobby"] == []
    denied = await client.wait_for("denied")
    assert denied == {"code": "E_DENIED", "reason": "Your session is at 3 pm today."}
    again = await client.call("join", {})
    assert again["ok"] and again["you"]["state"] == "lobby"
    # No reason typed: only the code, which the page words in its language (no English here).
    assert (await clinician.call("deny", {"participant": "client-1"}))["ok"]
    assert client.events("denied")[1] == {"code": "E_DENIED"}


async def test_removed_person_cannot_rejoin(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    ack = await clinician.call("remove", {"participant": "client-1"})
    assert ack["ok"] and ack["room"]["participants"] == []
    assert await client.wait_for("removed") == {"code": "E_REMOVED"}  # no English sentence
    await _until_disconnected(client)
    again = Peer(alongside.url, alongside.token("client"))
    alongside.peers.append(again)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.connect_error["code"] == "E_REMOVED"


async def test_send_back_returns_someone_to_the_lobby(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    ack = await clinician.call("send-back", {"participant": "client-1"})
    assert ack["ok"] and [p["id"] for p in ack["room"]["lobby"]] == ["client-1"]
    await client.wait_for("sent-back")
    view = await client.wait_for("room", lambda r: r["you"]["state"] == "lobby")
    assert view["participants"] == []
    # Out of the room, they can no longer signal anyone.
    refused = await client.call("offer", {"to": "clinician-1", "sdp": "v=0\r\n"})
    assert refused["error"]["code"] == "E_NOT_ADMITTED"


async def test_locked_room_takes_no_new_knocks(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    assert (await clinician.call("lock", {"locked": True}))["room"]["locked"] is True
    client = await alongside.peer("client", join=False)
    refused = await client.call("join", {})
    assert refused["error"]["code"] == "E_ROOM_LOCKED"
    assert (await clinician.call("lock", {"locked": False}))["room"]["locked"] is False
    assert (await client.call("join", {}))["ok"]


async def test_end_sends_everyone_out_and_closes_the_room(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.peer("partner")
    assert (await clinician.call("end", {}))["ok"]
    for person in (client, partner):
        await person.wait_for("ended")
        await _until_disconnected(person)
    late = Peer(alongside.url, alongside.token("client"))
    alongside.peers.append(late)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect()
    assert late.connect_error["code"] == "E_ROOM_ENDED"


async def test_capacity_one_person_per_seat(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician", room="room-individual")
    await alongside.peer("client", room="room-individual")
    other = await alongside.peer("client", sub="client-2", room="room-individual", join=False)
    assert (await other.call("join", {}))["error"]["code"] == "E_ROOM_FULL"
    second_clinician = await alongside.peer("clinician", sub="clin-2", room="room-individual",
                                            join=False)
    assert (await second_clinician.call("join", {}))["error"]["code"] == "E_ROOM_FULL"
    # A partner without approval has no seat in an individual room: refused at the handshake.
    await alongside.create_program(partner_state="consented")
    partner = Peer(alongside.url, alongside.token("partner", room="room-individual"))
    alongside.peers.append(partner)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await partner.connect()
    assert partner.connect_error["code"] == "E_APPROVAL_REQUIRED"
    assert clinician.sio.connected


async def test_clinician_only_actions_are_refused_for_others(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    partner = await alongside.peer("partner")
    client = await alongside.admitted("client", clinician)
    for event, payload in (("admit", {"participant": "partner-1"}),
                           ("deny", {"participant": "partner-1"}),
                           ("remove", {"participant": "clinician-1"}),
                           ("send-back", {"participant": "client-1"}),
                           ("lock", {"locked": True}),
                           ("end", {})):
        ack = await client.call(event, payload)
        assert ack["error"]["code"] == "E_FORBIDDEN_ROLE", (event, ack)
    snap = (await clinician.call("snapshot", {}))["room"]
    assert snap["status"] == "open" and snap["locked"] is False
    assert [p["id"] for p in snap["lobby"]] == ["partner-1"]
    rows = await alongside.store.audit_rows(room="room-couples")
    refused = [r for r in rows if r.outcome == "refused:E_FORBIDDEN_ROLE"]
    assert {r.action for r in refused} == {"admit", "deny", "remove", "send-back", "lock", "end"}
    assert all(r.actor == "client-1" for r in refused)
    assert partner.sio.connected


async def _until_disconnected(peer: Peer) -> None:
    import asyncio

    for _ in range(100):
        if not peer.sio.connected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("still connected")
