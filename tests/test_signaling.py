"""Signaling relay: only between admitted members of one room, validated, in order."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest

from tests.conftest import Harness
from tests.peers import Peer

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


async def couple(h: Harness) -> tuple[Peer, Peer, Peer]:
    clinician = await h.peer("clinician")
    client = await h.admitted("client", clinician)
    partner = await h.admitted("partner", clinician)
    return clinician, client, partner


async def test_offer_answer_and_candidates_reach_only_their_addressee(alongside: Harness) -> None:
    clinician, client, partner = await couple(alongside)
    client_epoch = client.join_ack["you"]["epoch"]
    partner_epoch = partner.join_ack["you"]["epoch"]
    assert client_epoch != partner_epoch
    assert (await client.call("offer", {"to": "partner-1", "sdp": SDP}))["ok"]
    assert await partner.wait_for("offer") == {"from": "client-1", "epoch": client_epoch,
                                               "sdp": SDP}
    assert (await partner.call("answer", {"to": "client-1", "sdp": SDP}))["ok"]
    assert await client.wait_for("answer") == {"from": "partner-1", "epoch": partner_epoch,
                                               "sdp": SDP}
    assert (await client.call("candidate", {"to": "partner-1", "candidate": CANDIDATE}))["ok"]
    got = await partner.wait_for("candidate")
    assert got["from"] == "client-1" and got["candidate"]["candidate"] == CANDIDATE["candidate"]
    assert (await client.call("candidate", {"to": "partner-1", "candidate": None}))["ok"]
    await partner.wait_for("candidate", lambda d: d["candidate"] is None)
    await asyncio.sleep(0.1)
    assert clinician.events("offer") == clinician.events("candidate") == []


async def test_one_senders_signals_arrive_in_order(alongside: Harness) -> None:
    _, client, partner = await couple(alongside)
    sends = [client.sio.emit("candidate", {"to": "partner-1", "candidate": {
        **CANDIDATE, "candidate": f"candidate:{i} 1 udp 1 127.0.0.1 {50000 + i} typ host"}})
        for i in range(40)]
    await asyncio.gather(*sends)
    await partner.wait_for("candidate", lambda d: d["candidate"]["candidate"]
                           .startswith("candidate:39 "))
    order = [int(d["candidate"]["candidate"].split()[0].split(":")[1])
             for d in partner.events("candidate")]
    assert order == list(range(40))


async def test_signals_to_the_lobby_or_another_room_are_refused(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.peer("partner")  # still waiting
    other_clin = await alongside.peer("clinician", sub="clin-2", room="room-individual")
    other_client = await alongside.admitted("client", other_clin, sub="client-2",
                                            room="room-individual")
    for to in ("partner-1", "client-2", "clin-2", "client-1", "nobody"):
        ack = await client.call("offer", {"to": to, "sdp": SDP})
        assert ack["error"]["code"] == "E_TARGET_NOT_ADMITTED", to
    # Someone waiting in the lobby cannot signal anyone.
    ack = await partner.call("offer", {"to": "clinician-1", "sdp": SDP})
    assert ack["error"]["code"] == "E_NOT_ADMITTED"
    await asyncio.sleep(0.1)
    for p in (partner, other_clin, other_client, clinician):
        assert p.events("offer") == []
    assert client.sio.connected


@pytest.mark.parametrize("event, payload, code", [
    ("offer", {"to": "partner-1", "sdp": 42}, "E_BAD_SDP"),
    ("offer", {"to": "partner-1", "sdp": "hello"}, "E_BAD_SDP"),
    ("offer", {"to": "partner-1", "sdp": "v=0\r\n" + "a" * 40_000}, "E_BAD_SDP"),
    ("answer", {"to": "partner-1", "sdp": None}, "E_BAD_SDP"),
    ("candidate", {"to": "partner-1", "candidate": "candidate:1"}, "E_BAD_CANDIDATE"),
    ("candidate", {"to": "partner-1", "candidate": {"candidate": "evil"}}, "E_BAD_CANDIDATE"),
    ("candidate", {"to": "partner-1", "candidate": {**CANDIDATE, "sdpMLineIndex": 999}},
     "E_BAD_CANDIDATE"),
    ("candidate", {"to": "partner-1", "candidate": {**CANDIDATE, "extra": 1}},
     "E_BAD_CANDIDATE"),
    ("candidate", {"to": "partner-1", "candidate": {
        **CANDIDATE, "candidate": CANDIDATE["candidate"] + "\r\na=evil"}}, "E_BAD_CANDIDATE"),
    ("offer", {"sdp": SDP}, "E_SCHEMA"),
    ("offer", {"to": "partner-1", "sdp": SDP, "extra": True}, "E_SCHEMA"),
    ("offer", "v=0", "E_SCHEMA"),
    ("admit", {"participant": 7}, "E_SCHEMA"),
    ("lock", {"locked": "yes"}, "E_SCHEMA"),
    ("deny", {"participant": "x", "reason": "r" * 201}, "E_SCHEMA"),
    ("no-such-event", {}, "E_UNKNOWN_EVENT"),
])
async def test_bad_payloads_get_their_code_and_change_nothing(
        alongside: Harness, event: str, payload: Any, code: str) -> None:
    clinician, client, partner = await couple(alongside)
    before = (await clinician.call("snapshot", {}))["room"]
    sender = clinician if event in ("admit", "lock", "deny") else client
    ack = await sender.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]
    await asyncio.sleep(0.05)
    assert partner.events("offer") == partner.events("answer") == partner.events("candidate") == []
    after = (await clinician.call("snapshot", {}))["room"]
    assert after == before
    assert client.sio.connected and (await client.call("offer", {"to": "partner-1",
                                                                  "sdp": SDP}))["ok"]


async def test_two_payloads_are_a_schema_error(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    ack = await clinician.sio.call("snapshot", ({}, {}), timeout=5)
    assert ack["error"]["code"] == "E_SCHEMA"


async def test_a_flood_is_rate_limited_and_other_rooms_go_on(start_server: Any) -> None:
    h: Harness = await start_server(rate_per_second=5, rate_burst=10)
    _, client, partner = await couple(h)
    other_clin = await h.peer("clinician", sub="clin-2", room="room-individual")
    other_client = await h.admitted("client", other_clin, sub="client-2", room="room-individual")
    acks = await asyncio.gather(*(client.call("candidate", {"to": "partner-1",
                                                            "candidate": CANDIDATE})
                                  for _ in range(60)))
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    assert len(codes) >= 40 and set(codes) == {"E_RATE_LIMITED"}
    relayed = sum(a["ok"] for a in acks)
    await asyncio.sleep(0.1)
    assert len(partner.events("candidate")) == relayed  # refused ones were not relayed
    # The other room is untouched by the flood.
    assert (await other_client.call("offer", {"to": "clin-2", "sdp": SDP}))["ok"]
    await other_clin.wait_for("offer")


async def test_an_oversized_frame_closes_only_that_connection(alongside: Harness) -> None:
    clinician, client, partner = await couple(alongside)
    await client.sio.emit("offer", {"to": "partner-1", "sdp": "v=0" + "x" * 70_000})
    for _ in range(100):
        if not client.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not client.sio.connected
    assert partner.events("offer") == []
    assert (await partner.call("offer", {"to": "clinician-1", "sdp": SDP}))["ok"]


async def test_ice_servers_are_empty_by_default_never_a_public_stun(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    assert clinician.join_ack["iceServers"] == []


async def test_turn_credentials_follow_coturns_rest_scheme(start_server: Any) -> None:
    h: Harness = await start_server(turn_urls=("turn:127.0.0.1:3478?transport=udp",),
                                    turn_secret="turn-secret", turn_ttl=600)
    clinician = await h.peer("clinician")
    [server] = clinician.join_ack["iceServers"]
    assert server["urls"] == ["turn:127.0.0.1:3478?transport=udp"]
    expiry, who = server["username"].split(":")
    assert who == "clinician-1" and 590 <= int(expiry) - time.time() <= 610
    expected = base64.b64encode(hmac.new(b"turn-secret", server["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert server["credential"] == expected
    fresh = await clinician.call("ice-servers", {})
    assert fresh["ok"] and fresh["iceServers"][0]["urls"] == server["urls"]
