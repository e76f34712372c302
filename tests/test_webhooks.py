"""Signed webhooks reach a real receiver, are retried on failure, each delivery is recorded,
a delivery that keeps failing is parked and can be replayed, and a program's events arrive
in the order they were committed (tests/test_webhook_outbox.py: after a crash)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientSession, web

from tests.conftest import free_port
from tests.lifecycle import PROGRAM, Api, secret_of
from tests.peers import Peer
from tests.webhook_receiver import SECRET as HOOK_SECRET
from tests.webhook_receiver import Receiver, verified

WEBHOOK_SECRET = "hook-secret-" + "w" * 20


async def test_events_are_signed_retried_and_recorded(start_server: Any,
                                                      aiohttp_server: Any) -> None:
    received: list[dict[str, Any]] = []
    failures = {"left": 2}  # the receiver fails twice before it accepts

    async def receive(request: web.Request) -> web.Response:
        event = verified(await request.read(), request.headers, WEBHOOK_SECRET)
        assert request.headers["Alongside-Event-Id"] == event["id"]  # the idempotency key
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


async def test_a_parked_event_is_listed_the_queue_moves_on_and_a_replay_delivers_it(
        start_server: Any) -> None:
    receiver = Receiver(mode="up", refuse=lambda e: e["type"] == "partner.consented")
    await receiver.start()
    h = await start_server(webhook_url=receiver.url, webhook_secret=HOOK_SECRET,
                           webhook_attempts=2, webhook_backoff=0.01)
    try:
        async with ClientSession() as http:
            api = Api(h, http)
            t, secret, partner = await api.consented_partner()
            await api.step(partner, "request")
            # The consent is refused twice and parked; the request behind it goes on.
            [requested] = await receiver.wait_accepted(1)
            assert requested["type"] == "approval.requested"
            path = f"/api/programs/{PROGRAM}/webhooks"
            rows = await api.call("GET", path, t["integrator"], expect=200)
            assert [(r["type"], r["status"], r["attempts"]) for r in rows] == [
                ("partner.consented", "parked", 2), ("approval.requested", "delivered", 1)]
            parked = rows[0]
            assert parked["lastStatus"] == 500 and parked["event"]["participant"] == "pa-1"
            assert [p.status for p in receiver.posts] == [500, 500, 204]

            for who, status in (("clinician", 403), ("client", 403)):
                err = await api.call("POST", f"{path}/{parked['id']}/replay", t[who],
                                     expect=status)
                assert err["error"]["code"] == "E_FORBIDDEN_ROLE"
            err = await api.call("POST", f"{path}/no-such-event/replay", t["integrator"],
                                 expect=404)
            assert err["error"]["code"] == "E_NOT_FOUND"

            receiver.refuse = lambda e: False  # the receiver is fixed
            answer = await api.call("POST", f"{path}/{parked['id']}/replay", t["integrator"],
                                    expect=202)
            assert answer == {"id": parked["id"], "status": "pending"}
            accepted = await receiver.wait_accepted(2)
            assert accepted[1]["id"] == parked["id"] and accepted[1]["seq"] == 1
            assert receiver.posts[-1].headers["Alongside-Event-Id"] == parked["id"]
            rows = await api.call("GET", path, t["integrator"], expect=200)
            assert [(r["type"], r["status"], r["replays"]) for r in rows] == [
                ("partner.consented", "delivered", 1), ("approval.requested", "delivered", 0)]
            audit = await api.call("GET", f"/api/audit?program={PROGRAM}", t["integrator"],
                                   expect=200)
            actions = [json.loads(line) for line in audit.splitlines()]
            replays = [(a["target"], a["outcome"]) for a in actions
                       if a["action"] == "replay-webhook"]
            assert replays == [("", "refused:E_FORBIDDEN_ROLE")] * 2 + [
                ("no-such-event", "refused:E_NOT_FOUND"), (parked["id"], "ok")]
            assert [a["target"] for a in actions if a["action"] == "webhook-parked"] == \
                [parked["id"]]
            assert "Partner" not in audit and "Rivera" not in audit
    finally:
        await receiver.stop()


async def test_events_of_quick_steps_arrive_in_commit_order_though_the_first_is_retried(
        start_server: Any) -> None:
    first_failures = {"left": 3}

    def refuse(event: dict[str, Any]) -> bool:
        if event["seq"] == 1 and first_failures["left"] > 0:
            first_failures["left"] -= 1
            return True
        return False

    receiver = Receiver(mode="up", refuse=refuse)
    await receiver.start()
    h = await start_server(webhook_url=receiver.url, webhook_secret=HOOK_SECRET,
                           webhook_backoff=0.05)
    try:
        async with ClientSession() as http:
            api = Api(h, http)
            t, secret, partner = await api.consented_partner()
            clinician = Peer(h.url, h.token("clinician", sub="dr-1", program=PROGRAM,
                                            room="p-ind"))
            h.peers.append(clinician)
            await clinician.connect()
            # Steps and a session, back to back, while the first event is still refused.
            await asyncio.gather(
                api.step(partner, "request"), clinician.call("join", {}))
            await api.step(t["clinician"], "decline-request", note="Not yet")
            await api.step(partner, "request")
            await api.step(t["clinician"], "approve", note="Ready")
            await clinician.call("end", {})
            rows = await api.call("GET", f"/api/programs/{PROGRAM}/webhooks", t["integrator"],
                                  expect=200)
            accepted = await receiver.wait_accepted(len(rows))
            assert [e["seq"] for e in accepted] == list(range(1, len(rows) + 1))
            assert [e["id"] for e in accepted] == [r["id"] for r in rows]
            types = [e["type"] for e in accepted]
            assert types[0] == "partner.consented" and types[-1] == "session.ended"
            steps = [x for x in types if x.startswith("approval.")]
            assert steps == ["approval.requested", "approval.decided", "approval.requested",
                             "approval.decided"]
            assert [e["data"].get("decision") for e in accepted
                    if e["type"] == "approval.decided"] == ["declined", "approved"]
            assert types.index("session.started") < types.index("participant.joined") < \
                types.index("participant.left") < types.index("session.ended")
    finally:
        await receiver.stop()


async def test_an_admission_queues_its_event_in_the_same_commit_as_the_program(
        start_server: Any) -> None:
    receiver = Receiver(mode="up")
    await receiver.start()
    h = await start_server(webhook_url=receiver.url, webhook_secret=HOOK_SECRET)
    try:
        clinician = await h.peer("clinician", sub="clinician-1", room="room-couples")
        await h.admitted("partner", clinician, sub="partner-1", room="room-couples")
        accepted = await receiver.wait_accepted(3)
        assert [(e["type"], e["participant"], e["seq"]) for e in accepted] == [
            ("session.started", None, 1), ("participant.joined", "clinician-1", 2),
            ("participant.joined", "partner-1", 3)]
        assert {e["room"] for e in accepted} == {"room-couples"}
    finally:
        await receiver.stop()


async def test_without_a_webhook_url_no_write_touches_an_outbox(alongside: Any) -> None:
    h = alongside
    clinician = await h.peer("clinician", sub="clinician-1", room="room-couples")
    await h.admitted("partner", clinician, sub="partner-1", room="room-couples")
    assert (await clinician.call("end", {}))["ok"]
    assert await h.store.list("outbox", "*") == []
    assert await h.store.read(("outbox", "prog-1")) is None


async def test_a_clients_request_is_the_clients_own_event_and_carries_no_partner_state(
        start_server: Any) -> None:
    receiver = Receiver(mode="up")
    await receiver.start()
    h = await start_server(webhook_url=receiver.url, webhook_secret=HOOK_SECRET,
                           webhook_backoff=0.01)
    try:
        async with ClientSession() as http:
            api = Api(h, http)
            t, secret, partner = await api.consented_partner()
            await api.step(t["client"], "request")
            await api.step(partner, "request")
            events = await receiver.wait_accepted(3)
            requests = [(e["participant"], e["data"]) for e in events
                        if e["type"] == "approval.requested"]
            assert requests == [("cl-1", {"by": "client"}),
                                ("pa-1", {"state": "requested", "by": "partner"})]
    finally:
        await receiver.stop()
