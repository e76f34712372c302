"""Presence: network drops keep a place for the grace period; a second tab supersedes the first."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Harness
from tests.peers import Peer


async def network_drop(peer: Peer) -> None:
    """Cut the websocket without a goodbye, as a lost network would."""
    await peer.sio.eio.ws.close()
    for _ in range(100):
        if not peer.sio.connected:
            return
        await asyncio.sleep(0.02)


async def rejoin(h: Harness, role: str, **token_args: Any) -> tuple[Peer, dict[str, Any]]:
    peer = Peer(h.url, h.token(role, **token_args))
    h.peers.append(peer)
    await peer.connect()
    return peer, await peer.call("join", {})


async def test_drop_within_grace_comes_back_without_a_new_knock(start_server: Any) -> None:
    h: Harness = await start_server(grace_seconds=5)
    clinician = await h.peer("clinician")
    client = await h.admitted("client", clinician)
    await network_drop(client)
    await clinician.wait_for("presence", lambda p: p == {"participant": "client-1",
                                                         "status": "reconnecting"})
    view = await clinician.wait_for("room", lambda r: r["participants"]
                                    and r["participants"][0]["presence"] == "reconnecting")
    epoch = view["participants"][0]["epoch"]

    back, ack = await rejoin(h, "client")
    assert ack["ok"] and ack["you"]["state"] == "admitted"
    # The full room comes back in the answer: nothing depended on the old socket.
    assert [p["id"] for p in ack["room"]["participants"]] == ["clinician-1"]
    view = await clinician.wait_for("room", lambda r: r["participants"]
                                    and r["participants"][0]["presence"] == "online")
    assert view["participants"][0]["epoch"] > epoch  # peers know to renegotiate
    assert view["lobby"] == []


async def test_after_the_grace_period_they_knock_again(start_server: Any) -> None:
    h: Harness = await start_server(grace_seconds=0.5)
    clinician = await h.peer("clinician")
    client = await h.admitted("client", clinician)
    await network_drop(client)
    await clinician.wait_for("presence", lambda p: p == {"participant": "client-1",
                                                         "status": "left"}, timeout=5)
    view = (await clinician.call("snapshot", {}))["room"]
    assert view["participants"] == [] and view["lobby"] == []
    _, ack = await rejoin(h, "client")
    assert ack["you"]["state"] == "lobby"


async def test_leaving_on_purpose_frees_the_seat_at_once(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    assert (await client.call("leave", {}))["ok"]
    await clinician.wait_for("presence", lambda p: p["status"] == "left")
    snap = (await clinician.call("snapshot", {}))["room"]
    assert snap["participants"] == []
    # The seat is free: they knock again rather than walking back in.
    _, ack = await rejoin(alongside, "client")
    assert ack["you"]["state"] == "lobby"


async def test_second_tab_supersedes_the_first(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    first = await alongside.admitted("client", clinician)
    second, ack = await rejoin(alongside, "client")
    assert ack["you"]["state"] == "admitted"
    await first.wait_for("superseded")
    for _ in range(100):
        if not first.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not first.sio.connected
    # The old tab closing did not take the new one out.
    await asyncio.sleep(0.2)
    snap = (await clinician.call("snapshot", {}))["room"]
    assert [(p["id"], p["presence"]) for p in snap["participants"]] == [("client-1", "online")]
    assert (await second.call("offer", {"to": "clinician-1", "sdp": "v=0\r\n"}))["ok"]
    # The superseded socket is gone from the room: signals go to the new tab only.
    await clinician.call("offer", {"to": "client-1", "sdp": "v=0\r\nfrom-clinician"})
    await second.wait_for("offer")
    assert first.events("offer") == []


async def test_token_expiry_closes_the_socket(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician", ttl=2)
    await clinician.wait_for("expired", timeout=8)
    for _ in range(100):
        if not clinician.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not clinician.sio.connected
