"""The compose topology, natively: a couples session over two nodes, and the faults it survives.

``tests/cluster.py`` reads docker-compose.yml and deploy/nginx.conf and starts redis-server,
coturn, two ``alongside serve`` replicas (app1, app2) and nginx on loopback. People connect
either through nginx or straight to one replica (as if nginx had sent them there), and always
reconnect through nginx, as a browser would. Which replica holds a person's socket is read from
the store (``members[id].node``), the source of truth; audit rows prove nobody is admitted twice.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout

from tests.cluster import (  # noqa: F401  (IDS: still importable from here)
    IDS,
    ROOM,
    ROOT,
    TEST_ENV,
    Cluster,
    Person,
    candidate,
    http_status,
    load_compose,
    numbered,
    route_for,
    service,
    service_env,
    start_topology,
    until,
)
from tests.conftest import SECRET
from tests.lifecycle import PROGRAM, secret_of
from tests.outside_tool import plugin_path

pytestmark = pytest.mark.timeout(90)

__all__ = ["plugin_path"]  # the outside tool package, a fixture shared with the tool tests
GRACE = float(TEST_ENV["ALONGSIDE_GRACE_SECONDS"])
SWEEP = float(TEST_ENV["ALONGSIDE_SWEEP_SECONDS"])
DRAIN = float(TEST_ENV["ALONGSIDE_DRAIN_SECONDS"])
STEP_ASIDE = float(TEST_ENV["ALONGSIDE_STEP_ASIDE_SECONDS"])
HEARTBEAT_TTL = 10.0  # server.cluster.HEARTBEAT_TTL: how long a dead node still looks alive
HEARTBEAT_EVERY = 3.0  # server.cluster.HEARTBEAT_EVERY
# A node judges others' heartbeats only once its own have held this long (after its start or an
# outage): a dead node's people are found at most this long after the node started or died.
SETTLE = HEARTBEAT_TTL + HEARTBEAT_EVERY


@pytest.fixture
async def cluster(tmp_path: Path, plugin_path: Path
                  ) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    made: list[Cluster] = []

    async def make(*, proxied: tuple[str, ...] = (), **env: str) -> Cluster:
        extra = {"PYTHONPATH": f"{plugin_path}:{ROOT}", **env}
        topology = await asyncio.to_thread(start_topology, tmp_path, proxied=proxied,
                                           extra_env=extra)
        made.append(Cluster(topology, http))
        await made[-1].store.open()
        return made[-1]

    async with ClientSession(timeout=ClientTimeout(total=10)) as http:
        try:
            yield make
        finally:
            for c in made:
                await c.close()
                await asyncio.to_thread(c.t.stop)


def test_the_test_topology_is_the_compose_file() -> None:
    """What the native topology takes from docker-compose.yml is really there."""
    compose = load_compose()
    assert {"redis", "app1", "app2", "nginx", "coturn"} <= set(compose["services"])
    redis = service(compose, "redis")
    assert redis["image"].startswith("redis:7")
    assert {"--appendonly", "--appendfsync"} <= set(redis["command"])
    assert redis["command"][redis["command"].index("--appendfsync") + 1] == "always"
    for name in ("app1", "app2"):
        app = service(compose, name)
        assert app["build"] == "."  # one Dockerfile for both replicas
        env = service_env(compose, name)
        assert env["ALONGSIDE_NODE_ID"] == name
        assert env["ALONGSIDE_STORE"] == "redis://redis:6379/0"
        assert env["ALONGSIDE_HOST"] == "0.0.0.0"
        assert env["ALONGSIDE_JWT_SECRET"] == SECRET  # from .env
        assert env["ALONGSIDE_TURN_URLS"] and env["ALONGSIDE_TURN_SECRET"]
    nginx = service(compose, "nginx")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    coturn = service(compose, "coturn")
    assert "--denied-peer-ip=127.0.0.0-127.255.255.255" in coturn["command"]
    assert not any("allow-loopback-peers" in c for c in coturn["command"])


async def test_a_couples_session_over_two_nodes(cluster: Any) -> None:
    c: Cluster = await cluster()
    assert c.t.redis.config("appendfsync") == "always"  # the compose flags reached redis-server
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    client = await c.person(t["client"])  # through nginx: either node
    partner = await c.person(t["partner"], "app2")
    # Knocks on any node reach the clinician on app1.
    await clinician.wait_for("room", lambda r: {p["id"] for p in r.get("lobby", [])}
                             >= {"cl-1", "pa-1"})
    await c.admit(clinician, client, "cl-1")
    await c.admit(clinician, partner, "pa-1")
    room = await c.room()
    nodes = {m: room.members[m].node for m in ("dr-1", "cl-1", "pa-1")}
    assert nodes["dr-1"] == "app1" and nodes["pa-1"] == "app2" and nodes["cl-1"] in {"app1", "app2"}
    # Presence crosses nodes: the partner (app2) hears the client joined after it.
    await partner.wait_for("room", lambda r: {p["id"] for p in r["participants"]}
                           == {"dr-1", "cl-1"})

    # Signaling across nodes, in order: offer, 30 candidates, end of candidates; answer back.
    sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    assert (await clinician.call("offer", {"to": "pa-1", "sdp": sdp}))["ok"]
    for n in range(30):
        assert (await clinician.call("candidate", {"to": "pa-1", "candidate": candidate(n)}))["ok"]
    assert (await clinician.call("candidate", {"to": "pa-1", "candidate": None}))["ok"]
    await partner.wait_for("candidate", lambda d: d["candidate"] is None)
    signals = [(e, d) for e, d in partner.received if e in ("offer", "candidate")]
    assert signals[0][0] == "offer" and signals[0][1]["from"] == "dr-1"
    assert [numbered(d) for e, d in signals[1:-1]] == list(range(30))
    assert (await partner.call("answer", {"to": "dr-1", "sdp": sdp}))["ok"]
    answer = await clinician.wait_for("answer")
    assert answer["from"] == "pa-1" and answer["epoch"] == room.members["pa-1"].epoch
    assert client.events("offer") == client.events("candidate") == []

    # What Redis holds: the room document (the session record), one admission each, each
    # node's heartbeat. Only heartbeats, commit markers and rate-limit buckets (the invite
    # look-ups) expire; the room stays.
    keys = {str(k) for k in await c.store.redis.keys("alongside:*")}
    assert {f"alongside:doc:room:{ROOM}", f"alongside:doc:program:{PROGRAM}",
            "alongside:node:app1", "alongside:node:app2", "alongside:audit"} <= keys
    for key in keys:
        ttl = await c.store.redis.ttl(key)
        if key.startswith(("alongside:node:", "alongside:commit:", "alongside:bucket:")):
            assert 0 < ttl <= 120, (key, ttl)
        else:
            assert ttl == -1, (key, ttl)
    assert await c.admissions("cl-1") == 1 and await c.admissions("pa-1") == 1
    assert c.dropped() == []
    # Leaving frees the seat at once, on whichever node the socket is.
    assert (await partner.call("leave", {}))["ok"]
    await clinician.wait_for("presence", lambda d: d == {"participant": "pa-1",
                                                         "status": "left"})
    assert "pa-1" not in (await c.room()).members
    # nginx logs a websocket when it closes: the client's went to the node the store names.
    await client.close()
    await until("nginx logged the websocket",
                _true(lambda: bool(c.t.nginx.upstream_of("/socket.io/"))), 5)
    [upstream] = c.t.nginx.upstream_of("/socket.io/")
    assert upstream == f"127.0.0.1:{c.t.nodes[nodes['cl-1']].port}"


async def test_a_rooms_people_meet_on_one_node_through_nginx(cluster: Any) -> None:
    """With the SDK's room key, nginx sends everyone in a room to the same replica (so their
    signals stay in one process), and different rooms still spread over both replicas."""
    c: Cluster = await cluster()
    token = c.api().h.token
    rooms = [f"affinity-{i}" for i in range(12)]
    placed: dict[str, set[str]] = {}
    for room in rooms:
        clinician = await c.person(token("clinician", sub=f"dr-{room}", program="aff", room=room,
                                         room_kind="couples"), route=route_for(room))
        await c.person(token("client", sub=f"cl-{room}", program="aff", room=room),
                       route=route_for(room))
        assert (await clinician.call("admit", {"participant": f"cl-{room}"}))["ok"]
        members = (await c.room(room)).members.values()
        placed[room] = {m.node for m in members}
    assert all(len(nodes) == 1 for nodes in placed.values()), placed
    # 12 rooms on 2 replicas all landing on one would happen by chance once in 2,048 runs.
    assert set().union(*placed.values()) == {"app1", "app2"}, placed


async def test_the_same_invite_redeemed_on_two_nodes_at_once_has_one_winner(
        cluster: Any) -> None:
    c: Cluster = await cluster()
    api = c.api("app1")
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    for _ in range(3):  # a few rounds: the race has to be won by WATCH, not by luck
        secret = secret_of((await api.invite(c.token("clinician", "p-ind"), quota=1))["url"])
        version = (await api.call("POST", "/api/invites/preview", None,
                                  {"secret": secret}))["couplesInfo"]["version"]
        body = {"secret": secret, "decision": "consent", "documentVersion": version}
        results = await asyncio.gather(*(c.api(n).call("POST", "/api/invites/respond", None, body)
                                         for n in ("app1", "app2")))
        winners = [r for r in results if "token" in r]
        losers = [r["error"]["code"] for r in results if "error" in r]
        assert len(winners) == 1 and losers == ["E_INVITE_EXHAUSTED"], results
    # The audit trail agrees: three consents recorded, three refused.
    rows = [r for r in await c.store.audit_rows(program=PROGRAM) if r.action == "invite-consent"]
    assert sorted(r.outcome for r in rows) == ["ok"] * 3 + ["refused:E_INVITE_EXHAUSTED"] * 3


async def test_a_second_tab_on_the_other_node_supersedes_the_first(cluster: Any) -> None:
    c: Cluster = await cluster()
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    first = await c.person(t["client"], "app1")
    await c.admit(clinician, first, "cl-1")
    second = await c.person(t["client"], "app2")
    assert second.joins[-1]["you"]["state"] == "admitted"  # the seat, not a new knock
    await first.wait_for("superseded", timeout=5)
    await until("the first tab is closed", _true(lambda: not first.sio.connected), 5)
    await asyncio.sleep(0.5)
    assert first.sio.connected is False and first.connects == 1  # and it stays closed
    room = await c.room()
    assert room.members["cl-1"].node == "app2" and second.sio.connected
    assert await c.admissions("cl-1") == 1
    # The second tab works: signaling to the clinician on the other node.
    assert (await second.call("candidate", {"to": "dr-1", "candidate": candidate(1)}))["ok"]
    await clinician.wait_for("candidate", lambda d: d["from"] == "cl-1")


def _true(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return predicate()
    return check


async def test_sigkill_of_the_clinicians_node(cluster: Any) -> None:
    """The clinician's node dies: they reconnect to the other within the grace period and
    keep their place; the tool's state is intact; a person who never returns is let go."""
    c: Cluster = await cluster()
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")  # reconnects through nginx
    client = await c.person(t["client"], "app2")
    partner = await c.person(t["partner"], "app1", reconnect=False)  # never comes back
    await c.admit(clinician, client, "cl-1")
    await c.admit(clinician, partner, "pa-1")
    started = await clinician.call("tool:start", {"tool": "tally", "options": {"from": 5}})
    assert started["ok"], started
    for who in (client, partner, clinician):
        assert (await who.call("tool:act", {"tool": "tally", "action": "add"}))["ok"]
    assert (await client.call("tool:act", {"tool": "tally", "action": "note",
                                           "payload": {"text": "an answer"}}))["ok"]
    before = await c.room()
    assert before.tools["tally"]["state"]["count"] == 8
    # A real exercise too: the client's private answer, given before the crash.
    assert (await clinician.call("tool:start", {"tool": "exercises",
                                                "options": {"exercise": "i-statements"}}))["ok"]
    answer = {"fields": {"feel": "unheard", "when": "plans change", "need": "a text"}}
    assert (await client.call("tool:act", {"tool": "exercises", "action": "answer",
                                           "payload": answer}))["ok"]

    mark = client.mark()
    killed_at = time.monotonic()
    c.t.nodes["app1"].kill()
    back = await clinician.wait_for("_rejoined", timeout=GRACE)
    took = time.monotonic() - killed_at
    assert back["ok"] and back["you"]["state"] == "admitted", back
    assert took < GRACE
    assert await c.node_of("dr-1") == "app2"
    assert {p["id"] for p in back["room"]["participants"]} == {"cl-1", "pa-1"}
    # The others see the clinician back (the client is on the surviving node).
    await client.wait_for("presence", lambda d: d == {"participant": "dr-1", "status": "joined"},
                          after=mark)
    # The tool's state is intact, and it goes on.
    listed = await clinician.call("tools", {})
    running = {t["name"]: t["view"] for t in listed["running"]}
    assert running["tally"]["count"] == 8 and running["tally"]["notes"] == {"cl-1": "an answer"}
    assert running["exercises"]["answers"]["cl-1"]["text"].startswith("I feel unheard when")
    assert (await client.call("tool:act", {"tool": "tally", "action": "add"}))["ok"]
    # The partner, who was on the dead node and never returns: reconnecting once app1's
    # heartbeat has expired (the surviving node's sweeper), then let go after the grace period.
    await client.wait_for("presence", lambda d: d == {"participant": "pa-1",
                                                      "status": "reconnecting"},
                          after=mark, timeout=SETTLE + 3 * SWEEP + 3)
    await client.wait_for("presence", lambda d: d == {"participant": "pa-1", "status": "left"},
                          after=mark, timeout=GRACE + 3 * SWEEP + 2)
    gone = time.monotonic() - killed_at
    assert gone <= SETTLE + GRACE + 4 * SWEEP + 3
    room = await c.room()
    assert set(room.members) == {"dr-1", "cl-1"}
    assert all(m.node == "app2" and m.sid for m in room.members.values())
    assert await c.admissions("cl-1") == 1 and await c.admissions("pa-1") == 1
    assert room.tools["tally"]["state"]["count"] == 9
    rows = await c.store.audit_rows(room=ROOM)
    assert [r.target for r in rows if r.action == "ghost-dropped"] == ["pa-1"]
    print(f"\nSIGKILL: clinician back after {took:.2f} s; "
          f"partner let go after {gone:.1f} s")


async def test_sigterm_drains_and_people_move_without_readmission(cluster: Any) -> None:
    c: Cluster = await cluster()
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app2")
    client = await c.person(t["client"], "app1")
    partner = await c.person(t["partner"], "app1")
    await c.admit(clinician, client, "cl-1")
    await c.admit(clinician, partner, "pa-1")
    app1 = c.t.nodes["app1"]
    mark = clinician.mark()

    statuses: list[int] = []

    async def watch_readyz() -> None:
        while app1.running:
            statuses.append(await asyncio.to_thread(http_status, app1.url + "/readyz", 1))
            await asyncio.sleep(0.02)

    watcher = asyncio.ensure_future(watch_readyz())
    await asyncio.sleep(0.1)
    sent = time.monotonic()
    app1.terminate()
    assert app1.process is not None
    try:
        await asyncio.to_thread(app1.process.wait, DRAIN + 5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"app1 still runs {DRAIN + 5} s after SIGTERM") from None
    exited = time.monotonic() - sent
    await watcher
    assert app1.process.returncode == 0
    assert exited < DRAIN + 2, f"drained in {exited:.1f} s, deadline {DRAIN} s"
    for who, pid in ((client, "cl-1"), (partner, "pa-1")):
        back = await who.wait_for("_rejoined", timeout=GRACE)
        assert back["ok"] and back["you"]["state"] == "admitted", back
        assert await c.node_of(pid) == "app2"
        assert await c.admissions(pid) == 1
    await clinician.wait_for("presence", lambda d: d == {"participant": "cl-1",
                                                         "status": "reconnecting"}, after=mark)
    await clinician.wait_for("presence", lambda d: d == {"participant": "cl-1",
                                                         "status": "joined"}, after=mark)
    print(f"\nSIGTERM: exited after {exited:.2f} s; /readyz seen: {sorted(set(statuses))}")
    # Ready until the signal; from then on never ready again: 503 while it drains, or no
    # answer at all (the server stops listening before it drains, so nginx's next
    # connection attempts are refused and go to the other node).
    assert statuses and statuses[0] == 200, statuses
    down = next((i for i, s in enumerate(statuses) if s != 200), len(statuses))
    assert down < len(statuses) and set(statuses[down:]) <= {503, 0}, statuses


async def test_redis_restarted(cluster: Any) -> None:
    c: Cluster = await cluster()
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    client = await c.person(t["client"], "app2")
    await c.admit(clinician, client, "cl-1")
    partner = await c.person(t["partner"], "app2", reconnect=False)
    await c.admit(clinician, partner, "pa-1")
    nodes = list(c.t.nodes.values())

    c.t.redis.kill()
    took = await until("both nodes not ready", _all_status(nodes, "/readyz", 503), 15)
    assert all(http_status(n.url + "/healthz") == 200 for n in nodes)
    # The partner goes away while nothing can be recorded: a ghost, on app2.
    await partner.close()
    await asyncio.sleep(1)
    c.t.redis.start()
    back = await until("both nodes ready again", _all_status(nodes, "/readyz", 200), 15)
    # The ghost is found by app2's sweeper, kept for the grace period, then let go.
    await clinician.wait_for("presence", lambda d: d == {"participant": "pa-1",
                                                         "status": "left"},
                             timeout=GRACE + 4 * SWEEP + 5)
    room = await c.room()
    assert set(room.members) == {"dr-1", "cl-1"} and all(m.sid for m in room.members.values())
    # Service resumes across nodes: a new knock on app2 reaches the clinician on app1.
    again = await c.person(t["partner"], "app2")
    assert again.joins[-1]["you"]["state"] == "lobby"
    await clinician.wait_for("room", lambda r: [p["id"] for p in r.get("lobby", [])] == ["pa-1"],
                             timeout=10)
    await c.admit(clinician, again, "pa-1")
    assert (await client.call("candidate", {"to": "dr-1", "candidate": candidate(7)}))["ok"]
    await clinician.wait_for("candidate", lambda d: numbered(d) == 7)
    snapshot = (await clinician.call("snapshot", {}))["room"]
    assert {p["id"] for p in snapshot["participants"]} == {"cl-1", "pa-1"}
    assert all(p["presence"] == "online" for p in snapshot["participants"])
    print(f"\nRedis down: not ready after {took:.2f} s; ready again {back:.2f} s after restart")


def _all_status(nodes: list[Any], path: str, status: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        got = await asyncio.gather(*(asyncio.to_thread(http_status, n.url + path, 3)
                                     for n in nodes))
        return all(s == status for s in got)
    return check


class LostMessages(AssertionError):
    """Acknowledged messages that never arrived (a known fault, expected to fail)."""


async def test_a_long_redis_outage_forgets_nobody(cluster: Any) -> None:
    c: Cluster = await cluster()
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    client = await c.person(t["client"], "app2")
    await c.admit(clinician, client, "cl-1")
    nodes = list(c.t.nodes.values())
    down = time.monotonic()
    c.t.redis.kill()
    await until("both nodes not ready", _all_status(nodes, "/readyz", 503), 15)
    await asyncio.sleep(max(0.0, HEARTBEAT_TTL + 1 - (time.monotonic() - down)))
    c.t.redis.start()
    await until("both nodes ready again", _all_status(nodes, "/readyz", 200), 15)
    mark = clinician.mark()
    acked = []
    for n in range(20):  # once /readyz says 200, signals across nodes get through again
        if (await client.call("candidate", {"to": "dr-1", "candidate": candidate(n)})).get("ok"):
            acked.append(n)
        await asyncio.sleep(0.05)
    await asyncio.sleep(GRACE + 3 * SWEEP + 1)
    # Heartbeats expired during the outage: nobody may take the other node's people for ghosts.
    room = await c.room()
    rows = await c.store.audit_rows(room=ROOM)
    assert {m for m, v in room.members.items() if v.sid} == {"dr-1", "cl-1"}, \
        [(r.action, r.target) for r in rows][-6:]
    assert not [r for r in rows if r.action == "ghost-dropped"]
    # Nobody was ready during the outage, so no replica stepped aside: nobody was sent away.
    assert not clinician.events("_disconnect") and not client.events("_disconnect")
    got = [numbered(d) for e, d in clinician.received[mark:] if e == "candidate"]
    if got != acked or len(acked) < 20:
        raise LostMessages(f"acknowledged signals lost across nodes: "
                           f"{sorted(set(acked) - set(got))} (acked {len(acked)} of 20)")


async def test_readyz_answers_quickly_when_redis_stops_answering(cluster: Any) -> None:
    """Redis partitioned silently (packets dropped, nothing refused): a health check gets its
    503 within its own timeout, not after redis-py's retries."""
    c: Cluster = await cluster(proxied=("app2",))
    app2 = c.t.nodes["app2"]
    assert c.t.proxy is not None
    c.t.proxy.cut(silent=True)
    started = time.monotonic()
    status = await asyncio.to_thread(http_status, app2.url + "/readyz", 5)
    took = time.monotonic() - started
    assert status == 503 and took < 3, f"/readyz said {status or 'nothing'} after {took:.1f} s"


async def test_a_node_partitioned_from_redis(cluster: Any) -> None:
    c: Cluster = await cluster(proxied=("app2",))
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    client = await c.person(t["client"], "app2")
    partner = await c.person(t["partner"], "app2")
    await c.admit(clinician, client, "cl-1")
    await c.admit(clinician, partner, "pa-1")
    app1, app2 = c.t.nodes["app1"], c.t.nodes["app2"]
    assert c.t.proxy is not None and c.t.proxy.connections > 0

    cut = time.monotonic()
    c.t.proxy.cut()
    took = await until("app2 not ready", _all_status([app2], "/readyz", 503), 15)
    assert http_status(app1.url + "/readyz") == 200
    # app2 can record nothing. Unready for ALONGSIDE_STEP_ASIDE_SECONDS while app1 is ready, it
    # stops listening and drops its sockets: its people reconnect through nginx (app2 refuses,
    # so app1), keep their seats and are not admitted again.
    for who, pid in ((client, "cl-1"), (partner, "pa-1")):
        back = await who.wait_for("_rejoined", timeout=STEP_ASIDE + GRACE)
        assert back["ok"] and back["you"]["state"] == "admitted", back
        assert await c.node_of(pid) == "app1"
    moved = time.monotonic() - cut
    assert http_status(app2.url + "/healthz") == 0  # not listening while cut off
    for pid in ("cl-1", "pa-1"):
        assert await c.admissions(pid) == 1
    assert (await partner.call("candidate", {"to": "cl-1", "candidate": candidate(3)}))["ok"]
    await client.wait_for("candidate", lambda d: d["from"] == "pa-1")
    # Mended: app2 listens again and serves; a signal from someone on it crosses to app1.
    c.t.proxy.mend()
    await until("app2 ready again", _all_status([app2], "/readyz", 200), 15)
    again = await c.person(t["partner"], "app2")  # a second tab, straight to app2
    assert again.joins[-1]["you"]["state"] == "admitted"
    assert await c.node_of("pa-1") == "app2"
    assert await c.admissions("pa-1") == 1
    mark = clinician.mark()
    assert (await again.call("candidate", {"to": "dr-1", "candidate": candidate(4)}))["ok"]
    await clinician.wait_for("candidate", lambda d: numbered(d) == 4, after=mark)
    print(f"\npartition: app2 not ready after {took:.2f} s, its people on app1 after {moved:.1f} s")


async def test_a_node_silently_cut_off_from_redis_sends_its_people_away(cluster: Any) -> None:
    """Packets to Redis dropped, nothing refused: app2's store calls hang instead of failing.
    It still turns unready within a second and steps aside; its people move without waiting
    for any of its hanging Redis calls."""
    c: Cluster = await cluster(proxied=("app2",))
    t = await c.couples()
    clinician = await c.person(t["clinician"], "app1")
    client = await c.person(t["client"], "app2")
    await c.admit(clinician, client, "cl-1")
    assert c.t.proxy is not None
    cut = time.monotonic()
    c.t.proxy.cut(silent=True)
    back = await client.wait_for("_rejoined", timeout=STEP_ASIDE + GRACE)
    assert back["ok"] and back["you"]["state"] == "admitted", back
    assert await c.node_of("cl-1") == "app1"
    assert await c.admissions("cl-1") == 1
    assert (await client.call("candidate", {"to": "dr-1", "candidate": candidate(5)}))["ok"]
    await clinician.wait_for("candidate", lambda d: numbered(d) == 5)
    print(f"\nsilent partition: app2's people on app1 after {time.monotonic() - cut:.1f} s")


async def test_a_burst_across_nodes_waits_rather_than_drops(cluster: Any) -> None:
    """Many rooms at once, each clinician on app1 and client on app2, every signal crossing
    nodes through Redis: all of them arrive, in order, and nothing is counted as dropped."""
    c: Cluster = await cluster(ALONGSIDE_RATE_PER_SECOND="1000", ALONGSIDE_RATE_BURST="1000")
    rooms, signals = 30, 25

    async def pair(i: int) -> tuple[Person, Person]:
        room = f"burst-{i}"
        token = c.api().h.token
        clinician = await c.person(token("clinician", sub=f"dr-{i}", program="burst", room=room,
                                         room_kind="couples"), "app1")
        client = await c.person(token("client", sub=f"cl-{i}", program="burst", room=room),
                                "app2")
        ack = await clinician.call("admit", {"participant": f"cl-{i}"})
        assert ack["ok"], ack
        await client.wait_for("admitted")
        return clinician, client

    pairs = await asyncio.gather(*(pair(i) for i in range(rooms)))

    async def send(i: int, clinician: Person) -> None:
        for n in range(signals):
            ack = await clinician.call("candidate", {"to": f"cl-{i}", "candidate": candidate(n)},
                                       timeout=15)
            assert ack["ok"], ack

    # Listen in on Redis: each signal must travel on app2's own channel only, so app1
    # (and any other node) never decodes messages that are not for its sockets.
    listener = c.store.redis.pubsub()
    await listener.subscribe("alongside", "alongside:node:app2", "alongside:node:app1")
    start = time.monotonic()
    await asyncio.gather(*(send(i, dr) for i, (dr, _) in enumerate(pairs)))
    for i, (_, client) in enumerate(pairs):
        await client.wait_for("candidate", lambda d: numbered(d) == signals - 1, timeout=10)
        assert [numbered(d) for d in client.events("candidate")] == list(range(signals)), i
    took = time.monotonic() - start
    assert c.dropped() == []
    heard: dict[str, int] = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 0.5:  # read until Redis has nothing more for us
        message = await listener.get_message(timeout=0.1)
        if message is None or message["type"] != "message":
            continue
        quiet_since = time.monotonic()
        if "candidate" in str(message["data"]):
            heard[str(message["channel"])] = heard.get(str(message["channel"]), 0) + 1
    await listener.aclose()
    assert heard == {"alongside:node:app2": rooms * signals}
    print(f"\nburst: {rooms * signals} cross-node signals in {took:.2f} s")
