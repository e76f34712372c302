"""Stepping aside: a replica cut off from Redis hands its people to the others, then comes back.

A replica that cannot reach Redis can record nothing: its people can neither knock nor be admitted,
and their signals to people on other replicas go nowhere. Its ``/readyz`` says 503, but
open-source nginx does not poll it, and established websockets stay where they are. So when this
replica has been unready for ``step_aside_seconds`` *while a peer says it is ready* (a partition),
it stops listening and drops its sockets without a goodbye, as the SIGTERM drain does: clients
reconnect through the balancer, whose connection attempt here is refused and goes to a peer, where
they keep their seat and are not admitted again. Once this replica is ready again, it listens again.

In a Redis outage nobody is ready, so nobody steps aside: moving people would help no one, and
they resume where they are when Redis is back. The peer must stay ready for the whole period, so
the replica that resubscribes a moment later than another after an outage stays where it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from server.logs import log_event

CHECK_EVERY = 0.5  # seconds
PEER_DEADLINE = 1.0  # seconds for a peer's /readyz


class Listener:
    """This process's listening socket, which can be closed and opened again.

    Note: closing it refuses new connections only; established ones stay (see
    :meth:`server.realtime.server.RealtimeServer.release`).
    """

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self._runner = runner
        self._host = host
        self._port = port
        self._site: web.TCPSite | None = None

    @property
    def listening(self) -> bool:
        return self._site is not None

    async def start(self) -> None:
        if self._site is None:
            site = web.TCPSite(self._runner, self._host, self._port)
            await site.start()
            self._site = site

    async def stop(self) -> None:
        site, self._site = self._site, None
        if site is not None:
            await site.stop()


class StepAside:
    """Watches this replica's readiness and its peers'; see the module docstring."""

    def __init__(self, listener: Listener, peers: tuple[str, ...], seconds: float,
                 ready: Callable[[], Awaitable[bool]],
                 release: Callable[[], Awaitable[None]]) -> None:
        self.listener = listener
        self.peers = tuple(p.rstrip("/") for p in peers)
        self.seconds = seconds
        self._ready = ready
        self._release = release
        self.aside = False

    async def run(self) -> None:
        """Check every :data:`CHECK_EVERY` seconds until cancelled."""
        timeout = aiohttp.ClientTimeout(total=PEER_DEADLINE)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            since: float | None = None  # since when: unready here while a peer is ready
            while True:
                await asyncio.sleep(CHECK_EVERY)
                try:
                    since = await self._check(http, since)
                except Exception as exc:  # keep watching whatever one check did
                    log_event("server.step_aside_failed", logging.ERROR,
                              error=type(exc).__name__)

    async def _check(self, http: aiohttp.ClientSession, since: float | None) -> float | None:
        if await self._ready():
            if self.aside:
                await self.listener.start()
                self.aside = False
                log_event("server.stepped_back", status="listening")
            return None
        if self.aside or not await self._peer_ready(http):
            return None
        now = time.monotonic()
        if since is None:
            return now
        if now - since < self.seconds:
            return since
        # Stop listening first, so that nobody reconnects here.
        await self.listener.stop()
        self.aside = True
        log_event("server.stepped_aside", logging.WARNING, status="not listening")
        await self._release()
        return None

    async def _peer_ready(self, http: aiohttp.ClientSession) -> bool:
        for peer in self.peers:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with http.get(f"{peer}/readyz") as resp:
                    if resp.status == 200:
                        return True
        return False
