"""A group room served by both replicas of the cluster, through one VideoRoom per group.

The native compose topology (``tests/cluster.py``: Redis, two ``alongside serve`` replicas,
nginx, coturn) with real Janus processes (``devtools/janus.py``), and aiortc members
(``tests/test_group_controls.py``'s ``Person``) connected straight to one replica or the
other, as if nginx had sent them there. The VideoRoom's record is read from the store
(Redis) the replicas share; Janus itself is asked what it holds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio

from devtools.janus import JanusServer
from server.sfu.janus import PLUGIN
from server.sfu.janus_session import JanusSession
from server.store.placements import Placements
from tests.cluster import Person as Socket
from tests.janus_fixtures import Member, members, two_janus  # noqa: F401  (fixtures)
from tests.lifecycle import PROGRAM
from tests.outside_tool import plugin_path  # noqa: F401  (fixture of the cluster fixture)
from tests.test_cluster import Cluster, cluster, until  # noqa: F401  (fixture: cluster)
from tests.test_group_controls import Person, audio_in, frames_from
from tests.test_group_controls import until as holds

pytestmark = pytest.mark.timeout(180)
GROUP = "p-group"



async def group_cluster(cluster: Any, *janus: JanusServer,  # noqa: F811
                        rooms: tuple[str, ...] = (GROUP,)) -> Cluster:
    """Both replicas knowing the same Janus instances, and group sessions made over REST."""
    c: Cluster = await cluster(
        ALONGSIDE_JANUS_URLS=",".join(j.url for j in janus),
        ALONGSIDE_JANUS_API_SECRET=janus[0].config.api_secret,
        ALONGSIDE_JANUS_ADMIN_KEY=janus[0].config.admin_key)
    api = c.api()
    t = await api.setup_program()
    for room in rooms:
        await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                       {"id": room, "kind": "group"}, expect=201)
    return c


async def sit(c: Cluster, made: list[Member], pid: str, node: str, then: str,
              room: str = GROUP) -> Person:
    """A clinician (``dr-…``) joins, or a member accepts the agreement and knocks, straight on
    replica ``node``; a reconnect goes straight to replica ``then``."""
    role = "clinician" if pid.startswith("dr-") else "client"
    token = c.api().h.token(role, sub=pid, name=pid.title(), program=PROGRAM, room=room)
    socket = Socket(c.url(then), token)
    await socket.connect(c.url(node))
    if role == "client":
        ack = await socket.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                     "alias": pid.title()})
        assert ack["ok"], ack
    await socket.join()
    person = Person(socket, pid, audio=True)  # type: ignore[arg-type]
    made.append(person)
    return person


async def media(people: list[Person]) -> None:
    for p in people:
        assert (await p.publish())["ok"]
        assert (await p.peer.call("sfu.subscribe", {}))["ok"]


async def all_receive_all(people: list[Person], timeout: float = 40) -> None:
    await asyncio.gather(*(frames_from(p, [o.id for o in people if o is not p], timeout)
                           for p in people))


async def publishers(janus: JanusServer, room_id: str, secret: str) -> int:
    """How many publications Janus holds in the VideoRoom (one room, whoever made it)."""
    probe = await JanusSession.open(janus.url, janus.config.api_secret)
    try:
        data, _ = await probe.message(await probe.attach(PLUGIN), {
            "request": "listparticipants", "room": room_id, "secret": secret})
        return sum(1 for p in data["participants"] if p.get("publisher"))
    finally:
        await probe.close()


async def refused_token(janus: JanusServer, room_id: str, pin: str, token: str) -> int:
    """Janus's error code for a publisher join with ``token`` (0: let in)."""
    probe = await JanusSession.open(janus.url, janus.config.api_secret)
    try:
        await probe.message(await probe.attach(PLUGIN), {
            "request": "join", "ptype": "publisher", "room": room_id, "pin": pin,
            "token": token})
        return 0
    except Exception as exc:  # SfuRefused, with Janus's code
        return int(getattr(exc, "code", -1))
    finally:
        await probe.close()


async def admissions(c: Cluster) -> list[tuple[str, str]]:
    rows = await c.store.audit_rows(room=GROUP)
    return [(r.action, r.target) for r in rows if r.action.startswith("admit")]


async def test_one_group_on_both_replicas_sees_hears_is_muted_removed_and_moves(
        cluster: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    janus, _ = two_janus
    c = await group_cluster(cluster, janus)
    clinician = await sit(c, members, "dr-1", "app1", "app2")
    one = await sit(c, members, "member-1", "app1", "app2")
    two = await sit(c, members, "member-2", "app2", "app2")
    three = await sit(c, members, "member-3", "app2", "app2")
    everyone = [clinician, one, two, three]
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await asyncio.gather(*(p.peer.wait_for("admitted") for p in (one, two, three)))
    room = await c.room(GROUP)
    assert {m: room.members[m].node for m in room.members} == {
        "dr-1": "app1", "member-1": "app1", "member-2": "app2", "member-3": "app2"}

    # Everyone receives everyone, across the replicas, through one VideoRoom.
    await media(everyone)
    await all_receive_all(everyone)
    record = await Placements(c.store).get(GROUP)
    assert record is not None and record.instance == janus.url and record.engine is not None
    engine = record.engine
    assert sorted(record.seats) == ["dr-1", "member-1", "member-2", "member-3"]
    assert await publishers(janus, engine.id, engine.secret) == 4
    # Nothing of it reached anyone.
    secrets_ = [engine.id, engine.secret, engine.pin,
                *(s.token for s in record.seats.values()), *(s.feed for s in record.seats.values())]
    for p in everyone:
        seen = repr(p.peer.received)
        assert [s for s in secrets_ if s in seen] == []

    # Mute all, from app1: the audio of the members on app2 stops at Janus for everyone.
    await holds(lambda: clinician.heard("member-2") > 0 and one.heard("member-3") > 0)
    assert await audio_in(clinician, "member-2") > 20
    ack = await clinician.peer.call("group.mute", {"all": True})
    assert ack["ok"], ack
    await two.peer.wait_for("group.muted")
    await asyncio.sleep(1.5)  # what was in flight drains
    assert await audio_in(clinician, "member-2") <= 2  # app1 listening to app2
    assert await audio_in(three, "member-2") <= 2  # app2 listening to app2
    assert await audio_in(two, "member-1") <= 2  # app2 listening to app1
    assert await audio_in(two, "dr-1") > 20  # the clinician is not muted
    video = clinician.counts["member-2"]["video"]
    await asyncio.sleep(1.0)
    assert clinician.counts["member-2"]["video"] > video

    # Removed from app1, a member on app2: their feed goes, their Janus token is withdrawn,
    # and they cannot come back.
    token = record.seats["member-3"].token
    assert await refused_token(janus, engine.id, engine.pin, token) == 0  # valid until then
    assert (await clinician.peer.call("remove", {"participant": "member-3"}))["ok"]
    await three.peer.wait_for("removed")
    for p in (clinician, one, two):
        await holds(lambda p=p: {"feed": "member-3"} in p.peer.events("sfu.gone"), 10)
    await until("member-3's token withdrawn at Janus",
                lambda: _code(refused_token(janus, engine.id, engine.pin, token)), 10)
    assert await refused_token(janus, engine.id, engine.pin, token) == 433  # not allowed
    after = await Placements(c.store).get(GROUP)
    assert after is not None and "member-3" not in after.seats
    again = Socket(c.url("app2"), c.api().h.token("client", sub="member-3", program=PROGRAM,
                                                  room=GROUP), reconnect=False)
    c.people.append(again)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(c.url("app1"))
    members.remove(three)
    await three.close()

    # app1 stopped: its people reconnect to app2 and publish and receive again there,
    # in the same VideoRoom, without being admitted again.
    before = await admissions(c)
    c.t.nodes["app1"].terminate()
    for p in (clinician, one):
        await p.peer.wait_for("_rejoined", lambda ack: bool(ack.get("ok")), timeout=30)
    for p in (clinician, one, two):
        p.frames.clear()
    await media([clinician, one])
    await all_receive_all([clinician, one, two])
    room = await c.room(GROUP)
    assert {room.members[m].node for m in ("dr-1", "member-1", "member-2")} == {"app2"}
    assert {room.members[m].state.value for m in ("dr-1", "member-1", "member-2")} == \
        {"admitted"}
    assert await admissions(c) == before
    moved = await Placements(c.store).get(GROUP)
    assert moved is not None and moved.engine == engine and moved.moves == 0
    assert await publishers(janus, engine.id, engine.secret) == 3


async def _code(probe: Any) -> bool:
    return bool(await probe)


async def test_least_loaded_counts_the_rooms_every_replica_placed(
        cluster: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    a, b = two_janus
    c = await group_cluster(cluster, a, b, rooms=("p-g1", "p-g2", "p-g3"))
    first = await sit(c, members, "dr-1", "app1", "app1", room="p-g1")
    assert (await first.peer.call("sfu.subscribe", {}))["ok"]  # makes the room
    # app2 has placed nothing, but app1's room is on A: app2's goes to B.
    second = await sit(c, members, "dr-1", "app2", "app2", room="p-g2")
    assert (await second.peer.call("sfu.subscribe", {}))["ok"]
    placements = Placements(c.store)
    g1, g2 = await placements.get("p-g1"), await placements.get("p-g2")
    assert g1 is not None and g1.instance == a.url
    assert g2 is not None and g2.instance == b.url
    # One each: a tie goes to the first listed, whichever replica asks.
    third = await sit(c, members, "dr-1", "app2", "app2", room="p-g3")
    assert (await third.peer.call("sfu.subscribe", {}))["ok"]
    g3 = await placements.get("p-g3")
    assert g3 is not None and g3.instance == a.url
    assert await placements.load() == {a.url: 2, b.url: 1}

    # Ending a session, on whichever replica, ends its VideoRoom for every node.
    assert (await first.peer.call("end", {}))["ok"]
    await until("p-g1's VideoRoom ended", lambda: _ended(placements, "p-g1"), 10)
    assert await placements.load() == {a.url: 1, b.url: 1}


async def _ended(placements: Placements, room: str) -> bool:
    record = await placements.get(room)
    return record is not None and record.ended


async def test_a_single_janus_that_restarts_gets_its_rooms_back_and_everyone_republishes(
        cluster: Any, two_janus: tuple[JanusServer, JanusServer],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    janus, _ = two_janus
    c = await group_cluster(cluster, janus)
    clinician = await sit(c, members, "dr-1", "app1", "app1")
    member = await sit(c, members, "member-1", "app2", "app2")
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await member.peer.wait_for("admitted")
    await media([clinician, member])
    await all_receive_all([clinician, member])
    record = await Placements(c.store).get(GROUP)
    assert record is not None and record.engine is not None

    janus.kill()  # as in a crash; it comes back remembering no room
    janus.start()
    for p in (clinician, member):
        p.frames.clear()
    # Each replica notices its new Janus session and tells its own people, once each.
    await holds(lambda: clinician.republished >= 1 and member.republished >= 1, 20)
    await all_receive_all([clinician, member])
    assert (clinician.republished, member.republished) == (1, 1)
    again = await Placements(c.store).get(GROUP)
    assert again is not None and again.engine == record.engine  # made again from its record
    assert await publishers(janus, record.engine.id, record.engine.secret) == 2
    room = await c.room(GROUP)
    assert {room.members[m].state.value for m in ("dr-1", "member-1")} == {"admitted"}
