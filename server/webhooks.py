"""Signed webhooks to the host platform: content-free events, retried, each delivery recorded.

Signature: ``Alongside-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` with
``Alongside-Timestamp: <unix seconds>``; receivers should refuse timestamps older
than five minutes. A delivery is retried with exponential backoff; its outcome
(attempts, last status) is kept as a ``webhook`` document of the program.

Note: events are queued in memory; a process killed before delivery loses its
queue (the delivery document stays ``pending``, so the loss is visible).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import aiohttp

from server.domain.audit import AuditEntry
from server.logs import log_event
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.protocol import Doc, Key

EVENTS = frozenset({
    "partner.consented", "partner.declined", "partner.deferred", "partner.withdrew",
    "approval.requested", "approval.decided", "session.started", "session.ended",
    "participant.joined", "participant.left",
})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class Webhooks:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_url)

    async def start(self) -> None:
        if self.enabled:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def emit(self, event: str, *, program: str, room: str = "", participant: str = "",
             data: dict[str, Any] | None = None) -> None:
        """Queue one event. Payloads carry ids and states, never names or words."""
        assert event in EVENTS, event
        if not self.enabled:
            return
        body = {"id": uuid.uuid4().hex, "type": event, "at": time.time(), "program": program,
                "room": room or None, "participant": participant or None, "data": data or {}}
        task = asyncio.ensure_future(self._deliver(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, body: dict[str, Any], status: str, attempts: int,
                      last: int | None) -> None:
        key: Key = ("webhook", body["id"])

        def write(docs: dict[Key, Doc | None]) -> None:
            docs[key] = {"id": body["id"], "program": body["program"], "type": body["type"],
                         "status": status, "attempts": attempts, "lastStatus": last,
                         "at": body["at"]}
        try:
            await self.store.transact([key], write, AuditEntry(
                actor="server", role="system", action=f"webhook-{status}",
                target=body["type"], program=body["program"]))
        except StoreUnavailable:
            log_event("webhook.unrecorded", logging.WARNING, event=body["type"])

    async def _deliver(self, body: dict[str, Any]) -> None:
        assert self._http is not None
        raw = json.dumps(body, separators=(",", ":")).encode()
        await self._record(body, "pending", 0, None)
        last: int | None = None
        for attempt in range(1, self.settings.webhook_attempts + 1):
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "Alongside-Timestamp": stamp,
                       "Alongside-Signature": sign(self.settings.webhook_secret, stamp, raw),
                       "Alongside-Event": body["type"]}
            try:
                async with self._http.post(self.settings.webhook_url, data=raw,
                                           headers=headers) as response:
                    last = response.status
                    if 200 <= response.status < 300:
                        await self._record(body, "delivered", attempt, last)
                        return
            except (TimeoutError, aiohttp.ClientError):
                last = None
            await asyncio.sleep(self.settings.webhook_backoff * 2 ** (attempt - 1))
        log_event("webhook.failed", logging.WARNING, event=body["type"], count=attempt)
        await self._record(body, "failed", attempt, last)
