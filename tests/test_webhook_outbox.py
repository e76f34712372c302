"""Webhooks survive a crash: the real server is killed with SIGKILL between the commit of
its events and their delivery, and every event still reaches a real receiver once.

The server runs as a child process (``alongside serve``), on the embedded SQLite store
(restarted on the same file) or as two cluster nodes on one private ``redis-server``
(the node holding a program's queue is killed; the other one delivers). The receiver is
down at first (503), so nothing can be delivered before the kill.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from server.settings import Settings
from server.store.redis import RedisStore
from tests import live_server
from tests.conftest import SECRET, Harness
from tests.lifecycle import Api, secret_of
from tests.peers import Peer
from tests.redis_server import RedisServer
from tests.webhook_receiver import SECRET as HOOK_SECRET
from tests.webhook_receiver import Receiver, in_order

pytestmark = pytest.mark.timeout(120)

STORY = ["partner.consented", "approval.requested", "approval.decided"]
ROOM_EVENTS = ["session.started", "participant.joined", "participant.left"]


def hook_env(receiver: Receiver, **extra: str) -> dict[str, str]:
    # Retry at once and for ever while the receiver is down: what must not happen before
    # the kill is a delivery, not an attempt.
    return {"ALONGSIDE_WEBHOOK_URL": receiver.url, "ALONGSIDE_WEBHOOK_SECRET": HOOK_SECRET,
            "ALONGSIDE_WEBHOOK_ATTEMPTS": "100000", "ALONGSIDE_WEBHOOK_BACKOFF": "0", **extra}


async def start(directory: Path, env: dict[str, str]) -> live_server.LiveServer:
    # Off the loop: the receiver on this loop must keep answering while a server starts.
    return await asyncio.to_thread(live_server.start, directory, **env)


async def kill(server: live_server.LiveServer) -> None:
    server.process.kill()
    await asyncio.to_thread(server.process.wait, 10)


def api_for(url: str, http: ClientSession) -> Api:
    return Api(Harness(url=url, settings=Settings(jwt_secret=SECRET), store=None),  # type: ignore[arg-type]
               http)


async def partner_story(api: Api, program: str) -> None:
    """A program whose partner consents, asks for couples sessions, and is approved."""
    h = api.h
    integrator = h.token("integrator", sub="host", program="*", room="-")
    clinician = h.token("clinician", sub="dr-1", program=program, room=f"{program}-ind")
    client = h.token("client", sub="cl-1", program=program, room=f"{program}-ind")
    await api.call("POST", "/api/programs", integrator, {
        "id": program, "client": {"id": "cl-1", "name": "Sam"},
        "clinicians": [{"id": "dr-1", "name": "Dr. Rivera"}],
        "partner": {"id": f"pa-{program}", "name": "Partner"}}, expect=201)
    for sid, kind in ((f"{program}-ind", "individual"), (f"{program}-c1", "couples")):
        await api.call("POST", f"/api/programs/{program}/sessions", clinician,
                       {"id": sid, "kind": kind}, expect=201)
    steps = f"/api/programs/{program}/partner/steps"
    await api.call("POST", steps, client, {"step": "agree"}, expect=200)
    invite = await api.call("POST", f"/api/programs/{program}/invites", clinician,
                            {"room": f"{program}-c1", "quota": 1}, expect=201)
    partner = (await api.respond(secret_of(invite["url"]), "consent", expect=200))["token"]
    await api.call("POST", steps, partner, {"step": "request"}, expect=200)
    await api.call("POST", steps, clinician, {"step": "approve", "note": "Ready"}, expect=200)


async def clinician_comes_and_goes(api: Api, url: str, program: str) -> None:
    """Opens the individual session (started), joins it and leaves it."""
    peer = Peer(url, api.h.token("clinician", sub="dr-1", program=program,
                                 room=f"{program}-ind"))
    try:
        await peer.connect()
        assert (await peer.call("join", {}))["ok"]
        assert (await peer.call("leave", {}))["ok"]
    finally:
        await peer.close()


async def listing(api: Api, program: str) -> list[dict[str, Any]]:
    integrator = api.h.token("integrator", sub="host", program="*", room="-")
    rows: list[dict[str, Any]] = await api.call("GET", f"/api/programs/{program}/webhooks",
                                                integrator, expect=200)
    return rows


def assert_each_once_in_order(accepted: list[dict[str, Any]],
                              expected: dict[str, list[str]]) -> None:
    ids = Counter(e["id"] for e in accepted)
    assert [i for i, n in ids.items() if n > 1] == [], "an event was accepted twice"
    for program, types in expected.items():
        mine = [e for e in accepted if e["program"] == program]
        assert [e["type"] for e in mine] == types, program
        assert in_order(mine)[program] == list(range(1, len(types) + 1)), program


async def test_sigkill_between_commit_and_delivery_loses_nothing(tmp_path: Path) -> None:
    receiver = Receiver(mode="down", delay=0.05)
    await receiver.start()
    env = hook_env(receiver)
    server = await start(tmp_path, env)
    try:
        async with ClientSession() as http:
            api = api_for(server.url, http)
            for program in ("p-a", "p-b"):
                await partner_story(api, program)
            await clinician_comes_and_goes(api, server.url, "p-a")
            expected = {"p-a": STORY + ROOM_EVENTS, "p-b": STORY}
            queued = {p: await listing(api, p) for p in expected}
            assert {p: [r["status"] for r in rows] for p, rows in queued.items()} == \
                {p: ["pending"] * len(types) for p, types in expected.items()}
            await receiver.wait_posts(2)  # the worker is trying, and failing
            await kill(server)
            assert receiver.accepted() == []

            receiver.mode = "up"
            server = await start(tmp_path, env)  # the same store file
            accepted = await receiver.wait_accepted(sum(map(len, expected.values())))
            assert_each_once_in_order(accepted, expected)
            assert {e["id"] for e in accepted} == \
                {r["id"] for rows in queued.values() for r in rows}
            for program in expected:
                rows = await listing(api_for(server.url, http), program)
                assert {r["status"] for r in rows} == {"delivered"}, rows
            # The queue is empty, so nothing more can come: each event came once.
            assert len(receiver.accepted()) == len(accepted)
            assert all(p.headers["Alongside-Event-Id"] == p.event["id"] for p in receiver.posts)
    finally:
        server.stop()
        await receiver.stop()


async def test_in_a_cluster_the_survivor_delivers_what_the_killed_node_held(
        tmp_path: Path, redis_server: RedisServer) -> None:
    receiver = Receiver(mode="down", delay=0.2)
    await receiver.start()
    env = hook_env(receiver, ALONGSIDE_STORE=redis_server.url, ALONGSIDE_WEBHOOK_LEASE="3")
    nodes = {name: await start(tmp_path / name, {**env, "ALONGSIDE_NODE_ID": name})
             for name in ("app1", "app2")}
    store = RedisStore(redis_server.url)
    await store.open()
    try:
        async with ClientSession() as http:
            api = api_for(nodes["app1"].url, http)
            for program in ("p-a", "p-b"):
                await partner_story(api, program)
            # Attempts for longer than a lease: renewals keep the other node out meanwhile.
            await receiver.wait_posts(40)
            assert max(p.overlapping for p in receiver.posts) == 1, \
                "two nodes posted the same event at once"
            box = await store.read(("outbox", "p-a"))
            assert box is not None and box["lease"] is not None
            holder = box["lease"]["by"].split("-")[0]
            await kill(nodes[holder])

            receiver.mode = "up"
            accepted = await receiver.wait_accepted(2 * len(STORY))
            assert_each_once_in_order(accepted, {"p-a": STORY, "p-b": STORY})
            survivor = next(n for name, n in nodes.items() if name != holder)
            for program in ("p-a", "p-b"):
                rows = await listing(api_for(survivor.url, http), program)
                assert [r["status"] for r in rows] == ["delivered"] * len(STORY)
            assert len(receiver.accepted()) == len(accepted)
            assert max(p.overlapping for p in receiver.posts) == 1
    finally:
        await store.close()
        for node in nodes.values():
            node.stop()
        await receiver.stop()
