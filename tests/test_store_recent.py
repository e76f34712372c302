"""Node-local copies in the Redis store (``read_recent``): fast, and never stale for long.

Two ``RedisStore`` instances on one private ``redis-server`` play two nodes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import redis.asyncio as aioredis

from server.domain.audit import AuditEntry
from server.store import StoreUnavailable
from server.store.protocol import Doc, Key
from server.store.redis import RedisStore, doc_key

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

ROOM: Key = ("room", "r1")


def audit() -> AuditEntry:
    return AuditEntry(actor="tester", role="system", action="test", room="r1", program="p1")


def set_topic(topic: str):  # type: ignore[no-untyped-def]
    def write(docs: dict[Key, Doc | None]) -> None:
        docs[ROOM] = {"id": "r1", "program": "p1", "topic": topic}
    return write


async def gets_served(url: str) -> int:
    """GET commands Redis has answered so far."""
    client = aioredis.Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
        return int(stats.get("cmdstat_get", {}).get("calls", 0))
    finally:
        await client.aclose()


async def eventually(check, timeout: float = 3.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
            if result:
                return result
        except StoreUnavailable:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    a, b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def listening(store: RedisStore, url: str) -> None:
    """Wait until ``store`` hears commits (its subscription is up), so none is missed."""
    async def up() -> bool:
        return store.serving_copies
    await eventually(up)


async def test_a_repeated_read_is_served_without_asking_redis(
        nodes: tuple[RedisStore, RedisStore], redis_server: RedisServer) -> None:
    a, b = nodes
    await a.transact([ROOM], set_topic("first"), audit())
    await listening(b, redis_server.url)
    before = await gets_served(redis_server.url)
    for _ in range(50):
        doc = await b.read_recent(ROOM)
        assert doc is not None and doc["topic"] == "first"
    assert await gets_served(redis_server.url) - before <= 1


async def test_a_commit_on_another_node_replaces_the_copy_within_moments(
        nodes: tuple[RedisStore, RedisStore], redis_server: RedisServer) -> None:
    a, b = nodes
    await a.transact([ROOM], set_topic("first"), audit())
    await listening(b, redis_server.url)
    assert (await b.read_recent(ROOM) or {})["topic"] == "first"
    await a.transact([ROOM], set_topic("second"), audit())
    started = time.monotonic()
    while (await b.read_recent(ROOM) or {})["topic"] != "second":
        assert time.monotonic() - started < 1.0, "node b kept serving its old copy"
        await asyncio.sleep(0.001)


async def test_a_nodes_own_commit_is_visible_to_it_at_once(
        nodes: tuple[RedisStore, RedisStore], redis_server: RedisServer) -> None:
    _, b = nodes
    await b.transact([ROOM], set_topic("first"), audit())
    await listening(b, redis_server.url)
    assert (await b.read_recent(ROOM) or {})["topic"] == "first"
    await b.transact([ROOM], set_topic("second"), audit())
    assert (await b.read_recent(ROOM) or {})["topic"] == "second"  # no waiting for pub/sub


async def test_no_copy_outlives_an_outage_of_redis(
        nodes: tuple[RedisStore, RedisStore], redis_server: RedisServer) -> None:
    a, b = nodes
    await a.transact([ROOM], set_topic("first"), audit())
    await listening(b, redis_server.url)
    assert (await b.read_recent(ROOM) or {})["topic"] == "first"

    redis_server.kill()

    async def refused() -> bool:
        try:
            await b.read_recent(ROOM)
        except StoreUnavailable:
            return True
        return False
    await eventually(refused)  # once the node knows Redis is gone, it serves no copy

    redis_server.start()
    # A write this node cannot hear about (as if its publish were lost while the
    # node was resubscribing): the copy must already be gone.
    raw = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await raw.set(doc_key(ROOM), '{"id": "r1", "program": "p1", "topic": "after", '
                                     '"version": 9}')
    finally:
        await raw.aclose()
    doc = await eventually(lambda: b.read_recent(ROOM))
    assert doc["topic"] == "after"
