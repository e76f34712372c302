"""Signed webhooks to the host platform: content-free events from a durable outbox.

Events are queued in the program's outbox in the same commit as the change that made
them (:mod:`server.domain.outbox`, :mod:`server.store.outbox`); this module's worker
delivers them **at least once**, **in order per program**, and survives restarts:

* one task per program with pending events delivers the head of its queue, then the
  next; a task starts when this node queues an event, and a scan of every outbox
  (at start and every ``webhook_lease / 3`` seconds) finds queues whose writer died;
* before each attempt the worker takes the outbox's lease (``webhook_lease`` seconds)
  through ``transact``, so two nodes never post the same head at once while both live;
  a node killed mid-delivery is taken over once its lease runs out;
* a failed attempt waits ``webhook_backoff * 2 ** (n - 1)`` seconds; after
  ``webhook_attempts`` the event is **parked**: recorded, listed, replayable, and the
  queue moves on (liveness over strict order: a receiver orders by ``seq``).

Each request: ``Alongside-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``,
``Alongside-Timestamp: <unix seconds>`` (refuse ones older than five minutes),
``Alongside-Event: <type>`` and ``Alongside-Event-Id: <id>``, the idempotency key:
an event is posted again after a crash between the receiver's answer and its record.

Note: with the embedded SQLite store one process owns the file, so its leases last no
time and a restart resumes at once; in cluster mode a restarted or surviving node
waits for the dead node's lease. Leases compare wall clocks: keep nodes in NTP sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import aiohttp

from server.domain import outbox
from server.domain.audit import AuditEntry
from server.domain.outbox import EVENTS
from server.errors import Code, Refused
from server.logs import log_event
from server.metrics import Metrics
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.outbox import Outbox
from server.store.protocol import Doc, Key

__all__ = ["EVENTS", "Webhooks", "sign"]

T = TypeVar("T")

HTTP_TIMEOUT = 5.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class Webhooks:
    """This node's webhook worker, and the :class:`Outbox` write paths queue into.

    ``outbox`` is ``None`` when no webhook URL is set: then nothing is queued and no
    write path touches an outbox document.
    """

    def __init__(self, settings: Settings, store: Store, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics or Metrics()
        self.owner = f"{settings.node_id or 'node'}-{uuid.uuid4().hex[:12]}"
        self.lease = settings.webhook_lease if settings.cluster else 0.0
        self.scan_every = max(0.2, settings.webhook_lease / 3)
        self.outbox = Outbox(self.poke) if self.enabled else None
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._scanner: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_url)

    async def start(self) -> None:
        if not self.enabled:
            return
        # A post must end well inside the lease it was made under.
        timeout = min(HTTP_TIMEOUT, self.settings.webhook_lease / 2)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))
        self._scanner = asyncio.ensure_future(self._scan_forever())

    async def stop(self) -> None:
        held = list(self._workers)
        tasks = [t for t in (self._scanner, *self._workers.values()) if t is not None]
        self._scanner = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for program in held:  # let another node start at once (an interrupted post repeats)
            with contextlib.suppress(StoreUnavailable):
                await self._on_outbox(program, partial(outbox.release, owner=self.owner))
        if self._http is not None:
            await self._http.close()
            self._http = None

    def poke(self, program_id: str) -> None:
        """Deliver the program's queue now (after this node queued to it)."""
        if self._http is None:
            return  # not started: the first scan finds it
        self._again.add(program_id)
        task = self._workers.get(program_id)
        if task is None or task.done():
            task = asyncio.ensure_future(self._work(program_id))
            self._workers[program_id] = task
            task.add_done_callback(lambda t: self._done(program_id, t))

    def _done(self, program_id: str, task: asyncio.Task[None]) -> None:
        if self._workers.get(program_id) is task:
            del self._workers[program_id]

    # -- the worker --------------------------------------------------------------------
    async def _scan_forever(self) -> None:
        while True:
            try:
                now = time.time()
                for doc in await self.store.list(outbox.KIND, outbox.EVERY):
                    lease = doc.get("lease")
                    if doc["pending"] and (not lease or lease["until"] <= now
                                           or lease["by"] == self.owner):
                        self.poke(doc["id"])
            except StoreUnavailable:
                log_event("webhook.scan_unavailable", logging.WARNING)
            except Exception as exc:  # a bug: keep scanning, log the type only
                log_event("webhook.scan_crashed", logging.ERROR, error=type(exc).__name__)
            await asyncio.sleep(self.scan_every)

    async def _work(self, program: str) -> None:
        try:
            while True:
                self._again.discard(program)
                claim = await self._on_outbox(program, partial(
                    outbox.claim, owner=self.owner, now=time.time(), lease=self.lease))
                if claim.kind == "go":
                    assert claim.entry is not None
                    await self._attempt(program, claim.entry)
                elif claim.kind == "later":
                    await asyncio.sleep(claim.wait)
                elif claim.kind == "busy":
                    return  # another node's: if it dies, its lease runs out and a scan finds it
                elif program not in self._again:
                    return  # idle, and nothing was queued since the claim
        except StoreUnavailable:  # the next scan starts the program again
            log_event("webhook.store_unavailable", logging.WARNING)
        except Exception as exc:  # a bug: the scan retries the program, log the type only
            log_event("webhook.worker_crashed", logging.ERROR, error=type(exc).__name__)

    async def _attempt(self, program: str, entry: Doc) -> None:
        """Post the head once and account for it in one commit."""
        body = entry["event"]
        delivered, status = await self._post(body)
        parks = not delivered and entry["attempts"] + 1 >= self.settings.webhook_attempts
        action = "webhook-delivered" if delivered else "webhook-parked" if parks else ""
        rows = [AuditEntry(actor="server", role="system", action=action, target=body["id"],
                           room=body["room"] or "", program=program)] if action else []
        okey, rkey = outbox.key(program), outbox.record_key(body["id"])
        now = time.time()

        def settle(docs: dict[Key, Doc | None]) -> str:
            outcome, record = outbox.settle(
                docs[okey], docs[rkey], body["id"], delivered=delivered, status=status,
                now=now, attempts=self.settings.webhook_attempts,
                backoff=self.settings.webhook_backoff)
            if record is not None:
                docs[rkey] = record
            return outcome

        outcome = await self.store.transact([okey, rkey], settle, rows)
        self.metrics.webhooks.labels(outcome).inc()
        if outcome == "parked" and not parks:  # another node's attempts counted too
            await self.store.record(AuditEntry(
                actor="server", role="system", action="webhook-parked", target=body["id"],
                room=body["room"] or "", program=program))
        if outcome == "parked":
            log_event("webhook.parked", logging.WARNING, event=body["type"],
                      count=entry["attempts"] + 1)

    async def _post(self, body: Doc) -> tuple[bool, int | None]:
        assert self._http is not None
        raw = json.dumps(body, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Alongside-Timestamp": stamp,
                   "Alongside-Signature": sign(self.settings.webhook_secret, stamp, raw),
                   "Alongside-Event": body["type"], "Alongside-Event-Id": body["id"]}
        try:
            async with self._http.post(self.settings.webhook_url, data=raw,
                                       headers=headers) as response:
                return 200 <= response.status < 300, response.status
        except (TimeoutError, aiohttp.ClientError):
            return False, None

    async def _on_outbox(self, program: str, rule: Callable[[Doc | None], T]) -> T:
        """One pure rule over the outbox alone: leases are bookkeeping, with no audit row."""
        okey = outbox.key(program)
        return await self.store.transact([okey], lambda docs: rule(docs[okey]), [])

    # -- what the API offers --------------------------------------------------------------
    async def depth(self) -> int:
        """How many events wait in every program's outbox (for ``/metrics``)."""
        return sum(len(doc["pending"]) for doc in await self.store.list(outbox.KIND,
                                                                         outbox.EVERY))

    async def listing(self, program: str) -> list[Doc]:
        """Every event of the program: queued (``pending``), ``delivered`` or ``parked``."""
        records = await self.store.list(outbox.RECORD, program)
        return outbox.listing(await self.store.read(outbox.key(program)), records)

    async def replay(self, program: str, event_id: str, audit: AuditEntry) -> None:
        """Queue a parked (or delivered) event again, with its id, at the end of the queue.

        :raises Refused: ``E_NOT_FOUND`` (no such event of the program),
            ``E_INVALID_STATE`` (it is queued, or webhooks are off).
        """
        okey, rkey = outbox.key(program), outbox.record_key(event_id)

        def queue(docs: dict[Key, Doc | None]) -> None:
            if not self.enabled:
                raise Refused(Code.INVALID_STATE, "Webhooks are not configured.")
            try:
                docs[okey] = outbox.replay(docs[okey], docs[rkey], program)
            except LookupError:
                raise Refused(Code.NOT_FOUND) from None
            except ValueError:
                raise Refused(Code.INVALID_STATE, "That event is queued already.") from None

        await self.store.transact([okey, rkey], queue, audit)
        self.poke(program)
