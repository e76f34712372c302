"""More than one Janus: placement on the least loaded instance, and failover when one dies.

Two real ``janus`` processes on generated configs (the same secrets, as one deployment's
instances share them), a real server knowing both, and aiortc members that answer every
``sfu.offer``, close a feed on ``sfu.gone`` and publish again on ``sfu.republish``
(``tests/test_group_controls.py``'s ``Person``). Janus is killed with SIGKILL, as in a crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from devtools.janus import JanusServer
from server.sfu.pool import SfuPool
from server.store.placements import Placements
from tests.conftest import Harness
from tests.janus_fixtures import GROUP, Member, members, two_janus  # noqa: F401  (fixtures)
from tests.test_group_controls import Person, frames_from, until

SECOND = "room-group-2"



async def serve(start_server: Any, a: JanusServer, b: JanusServer) -> Harness:
    h: Harness = await start_server(janus_urls=(a.url, b.url),
                                    janus_api_secret=a.config.api_secret,
                                    janus_admin_key=a.config.admin_key)
    await h.create_room(GROUP, "group")
    await h.create_room(SECOND, "group")
    return h


async def sit(h: Harness, made: list[Member], room: str, role: str, pid: str) -> Person:
    """A clinician joins, or a member accepts the agreement and knocks, in ``room``."""
    peer = await h.peer(role, sub=pid, room=room, name=pid.title(), join=False)
    if role == "client":
        accepted = await peer.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                        "alias": pid.title()})
        assert accepted["ok"], accepted
    joined = await peer.call("join", {})
    assert joined["ok"], joined
    person = Person(peer, pid)
    made.append(person)
    return person


async def seated(h: Harness, made: list[Member], room: str, clinician_id: str,
                 ids: list[str]) -> list[Person]:
    """A clinician and members, all admitted, publishing, subscribed, each receiving all."""
    clinician = await sit(h, made, room, "clinician", clinician_id)
    people = [await sit(h, made, room, "client", pid) for pid in ids]
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await asyncio.gather(*(p.peer.wait_for("admitted") for p in people))
    everyone = [clinician, *people]
    for p in everyone:
        assert (await p.publish())["ok"]
        assert (await p.peer.call("sfu.subscribe", {}))["ok"]
    await received_by_all(everyone)
    return everyone


async def received_by_all(everyone: list[Person], timeout: float = 30) -> None:
    await asyncio.gather(*(frames_from(p, [o.id for o in everyone if o is not p], timeout)
                           for p in everyone))


def pool_of(h: Harness) -> SfuPool:
    from server.realtime.server import REALTIME
    sfu = h.app[REALTIME].sfu_events.sfu
    assert isinstance(sfu, SfuPool)
    return sfu


async def admissions(h: Harness) -> list[tuple[str, str, str]]:
    """Every audit row of the program but the placements' (knocks, admissions, agreements)."""
    rows = await h.store.audit_rows(program="prog-1")
    return [(r.actor, r.action, r.target) for r in rows if not r.action.startswith("sfu-")]


@pytest.mark.timeout(150)
async def test_rooms_go_to_the_least_loaded_janus_and_move_when_it_is_killed(
        start_server: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    a, b = two_janus
    h = await serve(start_server, a, b)
    placements = Placements(h.store)

    first = await seated(h, members, GROUP, "dr-1", ["member-1", "member-2", "member-3"])
    placed = await placements.get(GROUP)
    assert placed is not None and placed.instance == a.url and placed.moves == 0
    second = await seated(h, members, SECOND, "dr-2", ["member-4"])
    placed = await placements.get(SECOND)
    assert placed is not None and placed.instance == b.url  # the least loaded one
    before = await admissions(h)
    assert sum(1 for _, action, _ in before if action.startswith("admit")) >= 2  # both groups
    states = {p.id: (await p.peer.call("snapshot", {}))["room"]["you"]["state"] for p in first}
    assert set(states.values()) == {"admitted"}
    second_offers = [len(p.peer.events("sfu.offer")) for p in second]

    a.kill()  # SIGKILL: no goodbye to anyone
    killed = time.monotonic()
    for p in first:
        p.frames.clear()
    # Within a few seconds everyone is told to publish again, and receives the others
    # again, through B (the media part waits on ICE and aiortc on a shared box).
    await until(lambda: all(p.republished == 1 for p in first), timeout=5)
    told = time.monotonic() - killed
    await received_by_all(first, timeout=20)
    took = time.monotonic() - killed
    assert told < 5 and took < 20, (told, took)
    placed = await placements.get(GROUP)
    assert placed is not None and placed.instance == b.url and placed.moves == 1
    assert pool_of(h).placed(GROUP) == b.url

    # Nobody was admitted again, nobody's state changed.
    assert await admissions(h) == before
    for p in first:
        assert (await p.peer.call("snapshot", {}))["room"]["you"]["state"] == "admitted"
        assert not p.peer.events("admitted")[1:]  # one admission each (the clinician: none)

    # The second group never noticed: no republish, no feed gone, no new offer, frames flow.
    for p in second:
        p.frames.clear()
    await received_by_all(second, timeout=10)
    for p, offers in zip(second, second_offers, strict=True):
        assert p.republished == 0 and not p.peer.events("sfu.gone")
        assert len(p.peer.events("sfu.offer")) == offers
    placed = await placements.get(SECOND)
    assert placed is not None and placed.instance == b.url and placed.moves == 0


@pytest.mark.timeout(150)
async def test_with_every_janus_down_media_is_unavailable_until_one_comes_back(
        start_server: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    a, b = two_janus
    h = await serve(start_server, a, b)
    everyone = await seated(h, members, GROUP, "dr-1", ["member-1"])
    clinician, member = everyone
    before = await admissions(h)

    a.kill()
    b.kill()
    await asyncio.sleep(1.5)  # the pool notices, and has nowhere to move the room
    refused = await clinician.publish()
    assert refused["error"]["code"] == "E_SFU_UNAVAILABLE"
    assert (await member.peer.call("sfu.subscribe", {}))["error"]["code"] == "E_SFU_UNAVAILABLE"
    assert all(p.republished == 0 for p in everyone)

    b.start()  # one instance back (same port and secrets; it remembers no room)
    for p in everyone:
        p.frames.clear()
    await until(lambda: all(p.republished == 1 for p in everyone), timeout=10)
    await received_by_all(everyone, timeout=20)
    placed = await Placements(h.store).get(GROUP)
    assert placed is not None and placed.instance == b.url
    assert await admissions(h) == before
    assert (await member.peer.call("snapshot", {}))["room"]["you"]["state"] == "admitted"


@pytest.mark.timeout(150)
async def test_a_janus_that_hangs_is_given_up_and_its_rooms_move(
        start_server: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    a, b = two_janus
    h = await serve(start_server, a, b)
    everyone = await seated(h, members, GROUP, "dr-1", ["member-1"])
    assert pool_of(h).placed(GROUP) == a.url
    assert a.process is not None
    os.kill(a.process.pid, signal.SIGSTOP)  # alive, socket open, answering nothing
    try:
        for p in everyone:
            p.frames.clear()
        # Given up after a failed keepalive (every 5 s, 10 s to answer), then moved.
        await until(lambda: all(p.republished == 1 for p in everyone), timeout=30)
        await received_by_all(everyone, timeout=20)
        assert pool_of(h).placed(GROUP) == b.url
    finally:
        os.kill(a.process.pid, signal.SIGCONT)


@pytest.mark.timeout(150)
async def test_a_breakout_is_placed_on_its_own_and_moves_alone_when_its_janus_dies(
        start_server: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    a, b = two_janus
    h = await serve(start_server, a, b)
    clinician, one, two = await seated(h, members, GROUP, "dr-1", ["member-1", "member-2"])
    pool = pool_of(h)
    assert pool.placed(GROUP) == a.url
    ack = await clinician.peer.call("group.breakout", {"pairs": [["member-1", "member-2"]]})
    assert ack["ok"], ack
    await until(lambda: one.republished == 1 and two.republished == 1)
    await frames_from(one, ["member-2"])
    await frames_from(two, ["member-1"])
    (pair,) = [k for k in pool.rooms() if k != GROUP]
    assert pool.placed(pair) == b.url  # the least loaded: the group's own room is on A
    placed = await Placements(h.store).get(pair)
    assert placed is not None and placed.instance == b.url

    b.kill()  # only the breakout lived there
    one.frames.clear()
    two.frames.clear()
    await until(lambda: one.republished == 2 and two.republished == 2, timeout=5)
    await frames_from(one, ["member-2"], 20)
    await frames_from(two, ["member-1"], 20)
    assert pool.placed(pair) == a.url and pool.placed(GROUP) == a.url
    assert clinician.republished == 0  # the main room never moved

    assert (await clinician.peer.call("group.breakout-end", {}))["ok"]
    await until(lambda: one.republished == 3 and two.republished == 3)
    await frames_from(clinician, ["member-1", "member-2"], 30)
    await until(lambda: pool.rooms() == [GROUP])
