"""A real HTTP webhook receiver on a free port, which a test can take down and bring up.

It checks every request's signature, records it (the event, the status it answered,
how many posts of the same event id were in flight at once), and answers by ``mode``:
``"up"`` 204, ``"down"`` 503; ``delay`` holds each answer that long first, so a post
is in flight for a while (what lets a test see two nodes overlap).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.conftest import free_port

SECRET = "hook-secret-" + "w" * 20


@dataclass
class Post:
    event: dict[str, Any]
    headers: dict[str, str]
    status: int
    overlapping: int  # posts of this event id in flight when this one arrived, itself included


def verified(raw: bytes, headers: Mapping[str, str], secret: str = SECRET) -> dict[str, Any]:
    """The event a post carries, once its signature is checked as docs/partner-lifecycle.md
    tells a receiver to (computed here, not with the server's own code)."""
    stamp = headers["Alongside-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), stamp.encode() + b"." + raw,
                                hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["Alongside-Signature"], expected)
    event: dict[str, Any] = json.loads(raw)
    return event


@dataclass
class Receiver:
    mode: str = "down"
    delay: float = 0.0
    refuse: Callable[[dict[str, Any]], bool] = lambda event: False  # answer 500 to these
    posts: list[Post] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _in_flight: dict[str, int] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        event = verified(await request.read(), request.headers)
        self._in_flight[event["id"]] = overlapping = self._in_flight.get(event["id"], 0) + 1
        status = 204 if self.mode == "up" else 503  # as it was when the post arrived
        if status == 204 and self.refuse(event):
            status = 500
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            self.posts.append(Post(event, dict(request.headers), status, overlapping))
            self._changed.set()
            return web.Response(status=status)
        finally:
            self._in_flight[event["id"]] -= 1

    def accepted(self) -> list[dict[str, Any]]:
        """The events answered 2xx, in the order they were answered."""
        return [p.event for p in self.posts if p.status == 204]

    async def wait_accepted(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """Wait until ``count`` events were accepted (or fail, showing what came)."""
        async def enough() -> None:
            while len(self.accepted()) < count:
                self._changed.clear()
                await self._changed.wait()
        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"{len(self.accepted())} of {count} events accepted; "
                                 f"posts: {[(p.event['type'], p.status) for p in self.posts]}"
                                 ) from None
        return self.accepted()

    async def wait_posts(self, count: int, timeout: float = 30) -> None:
        """Wait until at least ``count`` posts arrived, whatever they were answered."""
        async def enough() -> None:
            while len(self.posts) < count:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(enough(), timeout)


def in_order(events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The ``seq`` of each program's events, in the order they came."""
    seqs: dict[str, list[int]] = {}
    for e in events:
        seqs.setdefault(e["program"], []).append(e["seq"])
    return seqs
