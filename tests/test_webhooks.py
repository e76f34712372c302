"""Signed webhooks reach a real receiver, are retried on failure, and each delivery is recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from aiohttp import ClientSession, web

from tests.conftest import free_port
from tests.lifecycle import PROGRAM, Api, secret_of

WEBHOOK_SECRET = "hook-secret-" + "w" * 20


async def test_events_are_signed_retried_and_recorded(start_server: Any,
                                                      aiohttp_server: Any) -> None:
    received: list[dict[str, Any]] = []
    failures = {"left": 2}  # the receiver fails twice before it accepts

    async def receive(request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers["Alongside-Timestamp"]
        expected = "v1=" + hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + raw,
                                    hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["Alongside-Signature"], expected)
        event = json.loads(raw)
        if event["type"] == "partner.consented" and failures["left"] > 0:
            failures["left"] -= 1
            return web.Response(status=500)
        received.append(event)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    port = free_port()
    receiver = await aiohttp_server(app, port=port)
    h = await start_server(webhook_url=str(receiver.make_url("/hook")),
                           webhook_secret=WEBHOOK_SECRET, webhook_backoff=0.05)
    async with ClientSession() as http:
        api = Api(h, http)
        t = await api.setup_program()
        await api.step(t["client"], "agree")
        secret = secret_of((await api.invite(t["clinician"]))["url"])
        await api.respond(secret, "consent", expect=200, name="Alex")
        token = (await api.respond(secret, "consent"))  # exhausted: no second event
        assert "error" in token
        for _ in range(100):
            if any(e["type"] == "partner.consented" for e in received):
                break
            await asyncio.sleep(0.05)
        [consented] = [e for e in received if e["type"] == "partner.consented"]
        assert consented["program"] == PROGRAM and consented["participant"] == "pa-1"
        assert consented["data"] == {"state": "consented"}
        assert "Alex" not in json.dumps(received) and secret not in json.dumps(received)
        deliveries = await api.call("GET", f"/api/programs/{PROGRAM}/webhooks",
                                    t["integrator"], expect=200)
        [record] = [d for d in deliveries if d["type"] == "partner.consented"]
        assert record["status"] == "delivered" and record["attempts"] == 3

        # Session and presence events come from the rooms.
        from tests.peers import Peer

        clinician = Peer(h.url, h.token("clinician", sub="dr-1", program=PROGRAM, room="p-ind"))
        h.peers.append(clinician)
        await clinician.connect()
        await clinician.call("join", {})
        await clinician.call("end", {})
        for _ in range(100):
            types = [e["type"] for e in received]
            if "session.ended" in types:
                break
            await asyncio.sleep(0.05)
        assert {"session.started", "participant.joined", "participant.left",
                "session.ended"} <= set(types)
