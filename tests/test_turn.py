"""TURN through a real coturn: server-issued credentials work, expired ones are refused,
and a TURN server that is down leaves rooms working on host candidates, with the client told."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from aioice import stun, turn

from server.media.participant import Participant
from tests.conftest import Harness
from tests.coturn import TURN_SECRET, Coturn


def credentials(username: str) -> str:
    return base64.b64encode(hmac.new(TURN_SECRET.encode(), username.encode(),
                                     hashlib.sha1).digest()).decode()


async def allocate(coturn: Coturn, username: str, password: str) -> Any:
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol, ("127.0.0.1", coturn.port), username, password)
    return transport


async def test_server_issued_credentials_allocate_and_expired_ones_are_refused(
        start_server: Any, coturn: Coturn) -> None:
    h: Harness = await start_server(turn_urls=(coturn.url,), turn_secret=TURN_SECRET,
                                    turn_ttl=300)
    clinician = await h.peer("clinician")
    [server] = clinician.join_ack["iceServers"]
    assert clinician.join_ack["turn"] == "ok"
    relay = await allocate(coturn, server["username"], server["credential"])
    assert relay.get_extra_info("sockname") is not None  # a relayed address was allocated
    relay.close()
    expired = f"{int(time.time()) - 60}:clinician-1"
    # coturn answers 401 to an expired REST credential and to a wrong one.
    with pytest.raises(stun.TransactionFailed):
        await allocate(coturn, expired, credentials(expired))
    with pytest.raises(stun.TransactionFailed):
        await allocate(coturn, server["username"], "not-the-credential")


async def test_rooms_work_on_host_candidates_when_turn_is_down(
        start_server: Any, coturn: Coturn) -> None:
    h: Harness = await start_server(turn_urls=(coturn.url,), turn_secret=TURN_SECRET)
    coturn.stop()
    clinician = Participant()
    client = Participant()
    try:
        await clinician.connect(h.url, h.token("clinician"))
        ack = await clinician.join()
        assert ack["turn"] == "down"  # the client is told
        await client.connect(h.url, h.token("client"))
        await client.join()
        await clinician.call("admit", {"participant": "client-1"})
        frame = await client.first_frame("clinician-1", timeout=15)
        assert frame.width > 0
    finally:
        await client.close()
        await clinician.close()
