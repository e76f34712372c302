"""One contract, every backend: what ``server.store.protocol.Store`` promises.

Each test runs on the embedded SQLite store (a temporary file) and on the Redis
store (a private ``redis-server``, see :mod:`tests.redis_server`). Tests that only
make sense with several writers (two nodes, Redis going away) run on Redis alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from server.domain.audit import AuditEntry
from server.errors import Code, Refused
from server.store import Store, StoreUnavailable, open_store
from server.store.protocol import Doc, Key
from server.store.redis import RedisStore

if TYPE_CHECKING:
    from tests.redis_server import RedisServer


pytestmark = pytest.mark.timeout(60)

# The code an exhausted invite answers with, once it exists; the closest one until then.
EXHAUSTED = getattr(Code, "INVITE_EXHAUSTED", Code.INVALID_STATE)

COUNTER: Key = ("counter", "c1")


@dataclass
class Backend:
    name: str
    store: Store
    url: str
    redis: RedisServer | None = None

    async def another(self) -> Store:
        """A second, independent store on the same data (another node, for Redis)."""
        store = open_store(self.url)
        await store.open()
        return store


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    redis: RedisServer | None = None
    if request.param == "redis":
        redis = request.getfixturevalue("redis_server")
        assert redis is not None
        url = redis.url
    else:
        url = f"sqlite:///{tmp_path}/store.db"
    store = open_store(url)
    await store.open()
    try:
        yield Backend(request.param, store, url, redis)
    finally:
        await store.close()


@pytest.fixture
async def redis_backend(redis_server: RedisServer) -> AsyncIterator[Backend]:
    store = open_store(redis_server.url)
    assert isinstance(store, RedisStore)
    await store.open()
    try:
        yield Backend("redis", store, redis_server.url, redis_server)
    finally:
        await store.close()


def audit(action: str = "test", *, room: str = "r1", program: str = "p1",
          actor: str = "tester") -> AuditEntry:
    return AuditEntry(actor=actor, role="system", action=action, room=room, program=program)


def increment(docs: dict[Key, Doc | None]) -> int:
    doc = docs[COUNTER] or {"id": COUNTER[1], "program": "p1", "n": 0}
    doc["n"] += 1
    docs[COUNTER] = doc
    return int(doc["n"])


def put(key: Key, **fields: Any) -> Callable[[dict[Key, Doc | None]], None]:
    def write(docs: dict[Key, Doc | None]) -> None:
        docs[key] = {"id": key[1], **fields}
    return write


# -- documents ----------------------------------------------------------------------------
async def test_read_of_a_missing_document_is_none(backend: Backend) -> None:
    assert await backend.store.read(("room", "nope")) is None
    assert await backend.store.list("room", "p1") == []


async def test_transact_creates_then_bumps_the_version(backend: Backend) -> None:
    store = backend.store
    for expected in (1, 2, 3):
        assert await store.transact([COUNTER], increment, audit("inc")) == expected
        doc = await store.read(COUNTER)
        assert doc == {"id": "c1", "program": "p1", "n": expected, "version": expected}


async def test_a_change_that_changes_nothing_keeps_the_version_but_is_audited(
        backend: Backend) -> None:
    store = backend.store
    await store.transact([COUNTER], increment, audit("inc"))
    assert await store.transact([COUNTER], lambda docs: "looked", audit("look")) == "looked"
    assert (await store.read(COUNTER) or {})["version"] == 1
    assert [r.action for r in await store.audit_rows()] == ["inc", "look"]


async def test_list_returns_only_that_kind_in_that_program(backend: Backend) -> None:
    store = backend.store
    await store.transact([("room", "b")], put(("room", "b"), program="p1"), audit())
    await store.transact([("room", "a")], put(("room", "a"), program="p1"), audit())
    await store.transact([("room", "c")], put(("room", "c"), program="p2"), audit())
    await store.transact([("invite", "a")], put(("invite", "a"), program="p1"), audit())
    assert [d["id"] for d in await store.list("room", "p1")] == ["a", "b"]
    assert [d["id"] for d in await store.list("room", "p2")] == ["c"]
    assert [d["id"] for d in await store.list("invite", "p1")] == ["a"]
    assert await store.list("room", "p3") == []
    # A document that moves to another program is listed there only.
    await store.transact([("room", "b")], put(("room", "b"), program="p2"), audit())
    assert [d["id"] for d in await store.list("room", "p1")] == ["a"]
    assert [(d["id"], d["version"]) for d in await store.list("room", "p2")] == [("b", 2),
                                                                                ("c", 1)]


async def test_multi_document_transact_is_all_or_nothing(backend: Backend) -> None:
    store = backend.store
    a, b = ("account", "a"), ("account", "b")

    def move(docs: dict[Key, Doc | None]) -> None:
        source, dest = docs[a], docs[b]
        assert source is not None and dest is not None
        source["balance"] -= 10
        dest["balance"] += 10
    await store.transact([a, b], lambda docs: docs.update({
        a: {"id": "a", "program": "p1", "balance": 10},
        b: {"id": "b", "program": "p1", "balance": 0}}), audit("open"))

    def move_then_refuse(docs: dict[Key, Doc | None]) -> None:
        move(docs)
        raise Refused(Code.INVALID_STATE)

    with pytest.raises(Refused) as refused:
        await store.transact([a, b], move_then_refuse, audit("move", actor="mover"))
    assert refused.value.code is Code.INVALID_STATE
    assert await store.read(a) == {"id": "a", "program": "p1", "balance": 10, "version": 1}
    assert await store.read(b) == {"id": "b", "program": "p1", "balance": 0, "version": 1}
    rows = [r for r in await store.audit_rows() if r.action == "move"]
    assert [(r.actor, r.outcome) for r in rows] == [("mover", "refused:E_INVALID_STATE")]

    # A bug in ``change`` (anything but Refused) writes nothing, not even an audit row.
    def crash(docs: dict[Key, Doc | None]) -> None:
        move(docs)
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await store.transact([a, b], crash, audit("crash"))
    assert (await store.read(a) or {})["balance"] == 10
    assert [r.action for r in await store.audit_rows() if r.action == "crash"] == []

    await store.transact([a, b], move, audit("move"))
    assert await store.read(a) == {"id": "a", "program": "p1", "balance": 0, "version": 2}
    assert await store.read(b) == {"id": "b", "program": "p1", "balance": 10, "version": 2}


async def test_read_results_are_not_the_stored_documents(backend: Backend) -> None:
    store = backend.store
    await store.transact([COUNTER], increment, audit())

    def edit_and_refuse(docs: dict[Key, Doc | None]) -> None:
        doc = docs[COUNTER]
        assert doc is not None
        doc["n"] = 99
        raise Refused(Code.INVALID_STATE)

    with pytest.raises(Refused):
        await store.transact([COUNTER], edit_and_refuse, audit())
    assert (await store.read(COUNTER) or {})["n"] == 1


async def test_redis_refuses_a_change_to_a_document_it_did_not_watch(
        redis_backend: Backend) -> None:
    # SQLite would write it (with its version reset to 1); Redis cannot protect an
    # unwatched key from other nodes, so it is a programming error there.
    with pytest.raises(ValueError):
        await redis_backend.store.transact([COUNTER], put(("room", "other"), program="p1"),
                                           audit())
    assert await redis_backend.store.read(("room", "other")) is None
    assert await redis_backend.store.audit_rows() == []


# -- audit --------------------------------------------------------------------------------
async def test_audit_rows_commit_with_the_change_in_order_and_filter(backend: Backend) -> None:
    store = backend.store
    await store.transact([("room", "r1")], put(("room", "r1"), program="p1"),
                         [audit("create", room="r1"), audit("announce", room="r1")])
    await store.transact([("room", "r2")], put(("room", "r2"), program="p2"),
                         audit("create", room="r2", program="p2"))
    await store.record(audit("connect", room="r1").refused(Code.FORBIDDEN_ROLE.value))
    await store.transact([("room", "r3")], put(("room", "r3"), program="p1"),
                         audit("create", room="r3"))

    rows = await store.audit_rows()
    assert [(r.action, r.room, r.program, r.outcome) for r in rows] == [
        ("create", "r1", "p1", "ok"),
        ("announce", "r1", "p1", "ok"),
        ("create", "r2", "p2", "ok"),
        ("connect", "r1", "p1", "refused:E_FORBIDDEN_ROLE"),
        ("create", "r3", "p1", "ok"),
    ]
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    assert [(r.action, r.room) for r in await store.audit_rows(program="p1")] == [
        ("create", "r1"), ("announce", "r1"), ("connect", "r1"), ("create", "r3")]
    assert [r.action for r in await store.audit_rows(room="r1")] == [
        "create", "announce", "connect"]
    assert [r.action for r in await store.audit_rows(program="p2", room="r2")] == ["create"]
    assert await store.audit_rows(program="p2", room="r1") == []
    # Rows come back field for field (the timestamp exactly).
    entry = AuditEntry(actor="a-1", role="clinician", action="admit", target="c-1",
                       room="r9", program="p9", outcome="ok", at=1712345678.123456)
    await store.record(entry)
    assert await store.audit_rows(room="r9") == [entry]


# -- concurrency --------------------------------------------------------------------------
async def test_concurrent_transacts_on_one_key_lose_no_update(backend: Backend) -> None:
    store = backend.store
    results = await asyncio.gather(*(store.transact([COUNTER], increment, audit("inc"))
                                     for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
    assert await store.read(COUNTER) == {"id": "c1", "program": "p1", "n": 50, "version": 50}
    assert len([r for r in await store.audit_rows() if r.action == "inc"]) == 50


async def test_a_burst_wider_than_the_connection_pool_waits_instead_of_failing(
        backend: Backend) -> None:
    store = backend.store
    keys = [("item", f"i{n:03}") for n in range(200)]
    await asyncio.gather(*(store.transact([k], put(k, program="p1"), audit()) for k in keys))
    assert len(await store.list("item", "p1")) == 200


async def test_two_nodes_racing_on_one_key_lose_no_update(redis_backend: Backend) -> None:
    node_a, node_b = redis_backend.store, await redis_backend.another()
    try:
        results = await asyncio.gather(*(
            node.transact([COUNTER], increment, audit("inc"))
            for _ in range(50) for node in (node_a, node_b)))
        assert sorted(results) == list(range(1, 101))
        assert (await node_b.read(COUNTER) or {})["n"] == 100
        assert (await node_a.read(COUNTER) or {})["version"] == 100
        assert len(await node_a.audit_rows()) == 100
    finally:
        await node_b.close()


async def test_the_last_use_of_a_quota_has_exactly_one_winner(redis_backend: Backend) -> None:
    node_a, node_b = redis_backend.store, await redis_backend.another()

    def redeem(key: Key) -> Callable[[dict[Key, Doc | None]], int]:
        def use(docs: dict[Key, Doc | None]) -> int:
            invite = docs[key]
            assert invite is not None
            if invite["used"] >= invite["quota"]:
                raise Refused(EXHAUSTED)
            invite["used"] += 1
            return int(invite["used"])
        return use

    try:
        for round_ in range(10):
            key = ("invite", f"inv{round_}")
            await node_a.transact([key], put(key, program="p1", used=0, quota=1),
                                  audit("issue", room=key[1]))
            outcomes = await asyncio.gather(*(
                node.transact([key], redeem(key), audit("redeem", room=key[1]))
                for _ in range(5) for node in (node_a, node_b)), return_exceptions=True)
            winners = [o for o in outcomes if o == 1]
            losers = [o for o in outcomes if isinstance(o, Refused)]
            assert len(winners) == 1 and len(losers) == 9, outcomes
            assert all(o.code is EXHAUSTED for o in losers)
            doc = await node_b.read(key)
            assert doc is not None and doc["used"] == 1 and doc["version"] == 2
            rows = [r.outcome for r in await node_b.audit_rows(room=key[1])
                    if r.action == "redeem"]
            assert sorted(rows) == ["ok"] + [f"refused:{EXHAUSTED.value}"] * 9
    finally:
        await node_b.close()


# -- outages ------------------------------------------------------------------------------
async def test_a_closed_store_is_unavailable_until_reopened(backend: Backend) -> None:
    store = backend.store
    await store.transact([COUNTER], increment, audit())
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.transact([COUNTER], increment, audit())
    await store.open()
    await store.ping()
    assert await store.transact([COUNTER], increment, audit()) == 2


async def test_redis_down_is_unavailable_and_restart_keeps_every_commit(
        redis_backend: Backend) -> None:
    store, server = redis_backend.store, redis_backend.redis
    assert server is not None
    for _ in range(3):
        await store.transact([COUNTER], increment, audit("inc"))
    await store.transact([("room", "r1")], put(("room", "r1"), program="p1"), audit("create"))
    await store.record(audit("connect").refused(Code.TOKEN_EXPIRED.value))
    before_rows = await store.audit_rows()

    server.kill()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.transact([COUNTER], increment, audit("inc"))
    with pytest.raises(StoreUnavailable):
        await store.read(COUNTER)
    with pytest.raises(StoreUnavailable):
        await store.record(audit("connect"))
    assert time.monotonic() - started < 20  # answers promptly, does not hang

    server.start()
    await store.ping()  # the same store instance reconnects by itself
    assert await store.read(COUNTER) == {"id": "c1", "program": "p1", "n": 3, "version": 3}
    assert [d["id"] for d in await store.list("room", "p1")] == ["r1"]
    assert await store.audit_rows() == before_rows
    assert await store.transact([COUNTER], increment, audit("inc")) == 4

    # The same after a clean shutdown, and through a brand-new store.
    server.restart()
    fresh = await redis_backend.another()
    try:
        assert (await fresh.read(COUNTER) or {})["n"] == 4
        assert len(await fresh.audit_rows()) == len(before_rows) + 1
    finally:
        await fresh.close()


class DroppingProxy:
    """A TCP proxy in front of Redis that can lose the connection around one EXEC.

    ``arm("after")`` forwards the next EXEC to Redis, then cuts the client off
    before the reply comes back (the commit happened, the caller cannot know);
    ``arm("before")`` cuts it off without forwarding the EXEC (nothing committed).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode: str | None = None
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    def arm(self, mode: str) -> None:
        self.mode = mode

    async def close(self) -> None:
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        r_reader, r_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [c_writer, r_writer]
        cut = asyncio.Event()

        async def upstream() -> None:
            while data := await c_reader.read(65536):
                if self.mode and b"EXEC" in data:
                    mode, self.mode = self.mode, None
                    cut.set()  # from here on, no reply reaches the client
                    if mode == "after":
                        r_writer.write(data)
                        await r_writer.drain()
                        await asyncio.sleep(0.2)  # let Redis commit it
                    self.dropped += 1
                    return
                r_writer.write(data)
                await r_writer.drain()

        async def downstream() -> None:
            while data := await r_reader.read(65536):
                if cut.is_set():
                    return
                c_writer.write(data)
                await c_writer.drain()

        up, down = asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())
        try:
            await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
            if cut.is_set():
                await up
        finally:
            for task in (up, down):
                task.cancel()
            c_writer.close()
            r_writer.close()


@pytest.mark.parametrize("when", ["after", "before"])
async def test_a_commit_whose_reply_is_lost_is_applied_exactly_once(
        redis_server: RedisServer, when: str) -> None:
    proxy = DroppingProxy(redis_server.port)
    store = RedisStore(await proxy.start())
    await store.open()
    try:
        assert await store.transact([COUNTER], increment, audit("inc")) == 1
        proxy.arm(when)
        assert await store.transact([COUNTER], increment, audit("inc")) == 2
        assert proxy.dropped == 1
        assert (await store.read(COUNTER) or {})["n"] == 2
        assert [r.action for r in await store.audit_rows()] == ["inc", "inc"]
        # The same for an audit row on its own.
        proxy.arm(when)
        await store.record(audit("connect"))
        assert proxy.dropped == 2
        assert [r.action for r in await store.audit_rows()] == ["inc", "inc", "connect"]
    finally:
        await store.close()
        await proxy.close()


# -- rate limits (take_token) ------------------------------------------------------------------
async def test_a_token_bucket_allows_a_burst_then_counts_refusals_in_a_row(
        backend: Backend) -> None:
    store = backend.store
    assert [await store.take_token("b1", 0.001, 3) for _ in range(6)] == [0, 0, 0, 1, 2, 3]
    assert await store.take_token("b2", 0.001, 3) == 0  # buckets are separate
    # It refills at its rate: at 5 per second a token is back after 200 ms (waited: 300 ms).
    assert [await store.take_token("fast", 5.0, 1) for _ in range(2)] == [0, 1]
    await asyncio.sleep(0.3)
    assert [await store.take_token("fast", 5.0, 1) for _ in range(2)] == [0, 1]
    if backend.name == "redis":  # every node spends from the same bucket
        other = await backend.another()
        try:
            assert await other.take_token("b1", 0.001, 3) == 4
            assert await other.take_token("b2", 0.001, 3) == 0
        finally:
            await other.close()


async def test_an_sfu_placement_is_recorded_moved_and_seen_by_another_node(
        backend: Backend) -> None:
    from server.store.placements import Placements

    placements = Placements(backend.store)
    assert await placements.get("room-g") is None
    first = await placements.place("room-g", "ws://127.0.0.1:8188", 0, "room-g")
    assert (first.instance, first.moves) == ("ws://127.0.0.1:8188", 0)
    again = await placements.place("room-g", "ws://127.0.0.1:8188", 0, "room-g")
    assert again.moves == 0  # the same instance is no move
    await placements.place("room-g|b1", "ws://127.0.0.1:8188", 0, "room-g")
    moved = await placements.place("room-g", "ws://127.0.0.1:8189", 1, "room-g")
    assert (moved.instance, moved.moves) == ("ws://127.0.0.1:8189", 1)

    other = Placements(await backend.another())  # another node, or this one restarted
    try:
        seen = await other.get("room-g")
        assert seen is not None and (seen.instance, seen.moves) == ("ws://127.0.0.1:8189", 1)
        assert sorted(p.room for p in await other.all()) == ["room-g", "room-g|b1"]
    finally:
        await other.store.close()
    rows = await backend.store.audit_rows(room="room-g")
    assert [(r.action, r.target) for r in rows] == [
        ("sfu-placed", "sfu-0"), ("sfu-placed", "sfu-0"), ("sfu-placed", "sfu-0"),
        ("sfu-moved", "sfu-1")]
    assert all("ws://" not in r.target for r in rows)  # the audit names no address
