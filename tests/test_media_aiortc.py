"""Real aiortc peers negotiating through the real server's signaling, and receiving video."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, VideoStreamTrack

from server.media.participant import Participant, candidate_from_json, ice_servers_from_json
from tests.conftest import Harness

ROOM = "room-individual"

Make = Callable[..., Awaitable[Participant]]


@pytest.fixture
async def participant(alongside: Harness) -> AsyncIterator[Make]:
    """Connected ``Participant``s, closed after the test.

    ``join`` also knocks (or opens the room, for a clinician); ``server`` defaults to
    ``alongside``.
    """
    made: list[Participant] = []

    async def make(role: str, sub: str, join: bool = True,
                   server: Harness | None = None) -> Participant:
        h = server or alongside
        p = Participant()
        made.append(p)
        await p.connect(h.url, h.token(role, room=ROOM, sub=sub))
        if join:
            ack = await p.join()
            assert ack["ok"], ack
        return p

    yield make
    await asyncio.gather(*(p.close() for p in made))


async def admit(clinician: Participant, person: Participant, pid: str) -> None:
    ack = await clinician.call("admit", {"participant": pid})
    assert ack["ok"], ack
    await person.wait_admitted(timeout=5)


async def assert_video_both_ways(a: Participant, a_id: str, b: Participant, b_id: str) -> None:
    frames = await asyncio.gather(a.first_frame(b_id, timeout=10),
                                  b.first_frame(a_id, timeout=10))
    for frame in frames:
        assert frame.width > 0 and frame.height > 0


@pytest.mark.timeout(15)
async def test_clinician_and_client_each_receive_video(participant: Make) -> None:
    clinician = await participant("clinician", "clin-1")
    assert clinician.state == "admitted"
    client = await participant("client", "client-1")
    assert client.state == "lobby" and client.participants == []

    started = time.monotonic()
    await admit(clinician, client, "client-1")
    video = await asyncio.gather(clinician.first_frame("client-1", timeout=10),
                                 client.first_frame("clin-1", timeout=10))
    elapsed = time.monotonic() - started
    audio = await asyncio.gather(clinician.first_frame("client-1", "audio", timeout=10),
                                 client.first_frame("clin-1", "audio", timeout=10))

    for frame in video:
        assert (frame.width, frame.height) == (640, 480)
    for sound in audio:
        assert sound.sample_rate > 0
    print(f"admission to first video frame both ways: {elapsed * 1000:.0f} ms")

    # The server chose the offerer (clinician: impolite, both cannot renegotiate) ...
    assert [p["initiator"] for p in clinician.participants] == [True]
    assert [p["initiator"] for p in client.participants] == [False]
    # ... and nobody asked a STUN server: host candidates only, from an empty iceServers.
    for p in (clinician, client):
        (pc,) = p.connections.values()
        assert p.ice_servers == []
        # aiortc keeps the configuration private; with None it would add Google's STUN server.
        assert pc._RTCPeerConnection__configuration.iceServers == []  # type: ignore[attr-defined]
        sdp = pc.localDescription.sdp
        assert "typ host" in sdp and "typ srflx" not in sdp


async def newcomer_gets_video(clinician: Participant, participant: Make,
                              server: Harness | None = None) -> None:
    newcomer = await participant("client", "client-2", server=server)
    await admit(clinician, newcomer, "client-2")
    await assert_video_both_ways(clinician, "clin-1", newcomer, "client-2")
    assert list(clinician.connections) == ["client-2"]


@pytest.mark.timeout(15)
async def test_network_drop_after_the_offer_leaves_the_clinician_working(
        start_server: Any, participant: Make) -> None:
    h: Harness = await start_server(grace_seconds=1)
    clinician = await participant("clinician", "clin-1", server=h)
    # A bare socket.io client that cannot renegotiate: the clinician must offer to it.
    quitter = await h.peer("client", join=False, room=ROOM, sub="client-1")
    assert (await quitter.call("join", {"renegotiate": False}))["ok"]
    await clinician.call("admit", {"participant": "client-1"})
    offer = await quitter.wait_for("offer")
    assert offer["from"] == "clin-1" and offer["sdp"].startswith("v=0")
    await quitter.sio.eio.ws.close()  # gone without a goodbye, and without answering

    await clinician.wait_for("presence", lambda e: e == {"participant": "client-1",
                                                        "status": "reconnecting"})
    assert "client-1" in clinician.connections  # kept while the seat is kept
    await clinician.wait_until(lambda: "client-1" not in clinician.connections, timeout=5)
    await newcomer_gets_video(clinician, participant, server=h)


@pytest.mark.timeout(15)
async def test_client_closing_on_admission_leaves_the_clinician_working(
        participant: Make) -> None:
    clinician = await participant("clinician", "clin-1")
    quitter = await participant("client", "client-1")

    async def close_at_once(_: Any) -> None:  # while the clinician makes its offer
        await quitter.close()

    quitter.on("admitted", close_at_once)
    await clinician.call("admit", {"participant": "client-1"})
    await clinician.wait_for("presence", lambda e: e == {"participant": "client-1",
                                                        "status": "left"})
    await clinician.wait_until(lambda: not clinician.connections)
    await newcomer_gets_video(clinician, participant)


@pytest.mark.timeout(15)
async def test_clinician_leaving_after_its_offer_leaves_the_client_working(
        alongside: Harness, participant: Make) -> None:
    # A browser-like clinician (it can renegotiate, so it offers) that sends one offer and goes.
    first = await alongside.peer("clinician", join=False, room=ROOM, sub="clin-1")
    assert (await first.call("join", {}))["ok"]
    client = await participant("client", "client-1")
    ack = await first.call("admit", {"participant": "client-1"})
    assert ack["ok"], ack
    await client.wait_admitted(timeout=5)
    assert [p["initiator"] for p in client.participants] == [False]

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        sent = await first.call("offer", {"to": "client-1", "sdp": pc.localDescription.sdp})
        assert sent["ok"], sent
        assert (await first.call("leave", {}))["ok"]
        await first.close()
    finally:
        await pc.close()
    await client.wait_for("presence", lambda e: e == {"participant": "clin-1",
                                                     "status": "left"})
    await client.wait_until(lambda: not client.connections)

    clinician = await participant("clinician", "clin-1")
    await assert_video_both_ways(clinician, "clin-1", client, "client-1")


@pytest.mark.timeout(15)
async def test_a_second_join_replaces_the_connections(participant: Make) -> None:
    clinician = await participant("clinician", "clin-1")
    client = await participant("client", "client-1")
    await admit(clinician, client, "client-1")
    await assert_video_both_ways(clinician, "clin-1", client, "client-1")
    before = clinician.connections["client-1"]

    ack = await client.join()  # a new epoch: both sides start over
    assert ack["ok"] and ack["you"]["state"] == "admitted", ack
    await clinician.wait_until(lambda: clinician.connections.get("client-1") not in (None, before))
    closed = asyncio.Event()  # the old connection is closed, not left running
    before.on("connectionstatechange",
              lambda: closed.set() if before.connectionState == "closed" else None)
    if before.connectionState != "closed":
        await asyncio.wait_for(closed.wait(), 2)
    await assert_video_both_ways(clinician, "clin-1", client, "client-1")


@pytest.mark.timeout(15)
async def test_a_dropped_participant_reconnects_joins_again_and_gets_video(
        participant: Make) -> None:
    clinician = await participant("clinician", "clin-1")
    client = await participant("client", "client-1")
    await admit(clinician, client, "client-1")
    await assert_video_both_ways(clinician, "clin-1", client, "client-1")
    theirs, ours = clinician.connections["client-1"], client.connections["clin-1"]

    await client._sio.eio.ws.close()  # the network goes; socket.io reconnects by itself
    await clinician.wait_for("presence", lambda e: e == {"participant": "client-1",
                                                        "status": "reconnecting"})
    await client.wait_until(lambda: client.connections.get("clin-1") not in (None, ours))
    await clinician.wait_until(lambda: clinician.connections.get("client-1") not in (None, theirs))
    assert client.state == "admitted"  # back within the grace period: no new knock
    await assert_video_both_ways(clinician, "clin-1", client, "client-1")


def test_browser_candidates_become_aiortc_candidates() -> None:
    line = ("candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx "
            "raddr 10.0.0.2 rport 46154 generation 0 ufrag sXo3 network-cost 999")
    c = candidate_from_json({"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0})
    assert c is not None
    assert (c.foundation, c.component, c.protocol, c.priority) == ("842163049", 1, "udp",
                                                                   1677729535)
    assert (c.ip, c.port, c.type, c.relatedAddress, c.relatedPort) == (
        "203.0.113.7", 46154, "srflx", "10.0.0.2", 46154)
    assert (c.sdpMid, c.sdpMLineIndex) == ("0", 0)
    assert candidate_from_json(None) is None
    assert candidate_from_json({"candidate": "", "sdpMid": "0"}) is None
    with pytest.raises(ValueError):
        candidate_from_json({"candidate": "candidate:1 1 udp", "sdpMid": "0"})


def test_ice_servers_are_exactly_what_the_server_gave() -> None:
    assert ice_servers_from_json([]) == []
    assert ice_servers_from_json(None) == []
    raw: list[dict[str, Any]] = [{"urls": ["turn:turn.example:3478?transport=udp"],
                                  "username": "1795779123:client-1", "credential": "c2VjcmV0"}]
    (server,) = ice_servers_from_json(raw)
    assert server.urls == raw[0]["urls"]
    assert (server.username, server.credential) == ("1795779123:client-1", "c2VjcmV0")
