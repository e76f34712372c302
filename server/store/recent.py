"""Node-local copies of Redis documents, dropped the moment any node commits them.

Relaying one signal reads the sender's room to check that both ends are
admitted. On Redis that read was a network round trip per signal, which cut a
node's relay rate by more than half. Rooms change rarely (joins, admissions)
and are read constantly, so each node keeps the copies it read and every commit
publishes the names it wrote on ``CHANNEL``; a node drops a copy when it hears
of a newer one, and drops all of them whenever its subscription is not known to
be listening (so a missed message cannot leave a stale copy behind).

Note: a copy can lag a commit made on *another* node by one pub/sub hop (well
under a millisecond on a LAN). Callers use it only where that is harmless and
check a refusal against a fresh read (see ``Rooms.get_recent``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import redis.asyncio as aioredis

from server.logs import log_event
from server.store.protocol import Doc

CHANNEL: Final = "alongside:changed"
"""Each commit publishes the space-separated names of the documents it wrote here."""
MAX_COPIES: Final = 10_000
"""Copies kept per node; past it the oldest go (a re-read costs one round trip)."""
RETRY_CAP: Final = 2.0


class RecentDocs:
    """The copies and the subscription that keeps them honest.

    A read that misses takes a :meth:`ticket` before it asks Redis and hands it
    back with the answer to :meth:`keep`; the copy is kept only if nothing about
    that name was heard in between and the subscription stayed up, so a reply
    that raced a commit is never cached.
    """

    def __init__(self) -> None:
        self._copies: dict[str, Doc] = {}
        self._heard: dict[str, int] = {}  # name -> invalidations heard (while it may be cached)
        self._epoch = 0  # bumped whenever the subscription starts or stops
        self.live = False
        self._task: asyncio.Task[None] | None = None

    # -- the cache --------------------------------------------------------------
    def get(self, name: str) -> Doc | None:
        return self._copies.get(name) if self.live else None

    def ticket(self, name: str) -> tuple[int, int]:
        return self._epoch, self._heard.get(name, 0)

    def keep(self, name: str, ticket: tuple[int, int], doc: Doc) -> None:
        if not self.live or ticket != self.ticket(name):
            return
        if len(self._copies) >= MAX_COPIES:
            oldest = next(iter(self._copies))
            del self._copies[oldest]
            self._heard.pop(oldest, None)
        self._copies[name] = doc

    def drop(self, names: list[str]) -> None:
        for name in names:
            self._copies.pop(name, None)
            self._heard[name] = self._heard.get(name, 0) + 1
        if len(self._heard) > 2 * MAX_COPIES:  # counters only matter for in-flight reads
            self._epoch += 1
            self._heard.clear()
            self._copies.clear()

    def _reset(self, live: bool) -> None:
        self._epoch += 1
        self._copies.clear()
        self._heard.clear()
        self.live = live

    # -- the subscription --------------------------------------------------------
    def start(self, connect: Callable[[], aioredis.Redis]) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._follow(connect))

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._reset(False)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _follow(self, connect: Callable[[], aioredis.Redis]) -> None:
        delay = 0.1
        while True:
            client = connect()
            pubsub: Any = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self._reset(True)
                delay = 0.1
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        data = data.decode()
                    if isinstance(data, str):
                        self.drop(data.split(" "))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any redis-py error: no copies until listening again
                self._reset(False)
                log_event("store.recent_retry", logging.WARNING, error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CAP)
            finally:
                await _quietly(pubsub.aclose())
                await _quietly(client.aclose())


async def _quietly(closing: Awaitable[Any]) -> None:
    try:
        await closing
    except Exception:  # closing a dead connection may fail; nothing is lost
        pass
