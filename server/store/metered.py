"""A store that times its operations and counts its failures, for ``/metrics``.

It wraps any backend behind the same :class:`~server.store.protocol.Store` contract and
also tells the metrics which audit rows each write committed (``Metrics.audited``).

Note: ``read_recent`` (the signal relay's per-message read of a node-local copy) is
passed through untimed: it is a memory read, and the relay has its own histogram.
A refusal (:class:`~server.errors.Refused`) is an answer, not a store error.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter
from typing import TypeVar

from server.domain.audit import AuditEntry
from server.errors import Refused
from server.metrics import Metrics
from server.store.protocol import Doc, Key, RecentReads, Store, as_list

T = TypeVar("T")
OPERATIONS = ("open", "close", "ping", "read", "list", "transact", "record", "audit_rows",
              "take_token")


def backend_of(url: str) -> str:
    """``sqlite``, ``memory`` (SQLite in memory) or ``redis``: the metrics' backend label."""
    if url.startswith(("redis://", "rediss://")):
        return "redis"
    return "memory" if url.endswith(":memory:") else "sqlite"


class MeteredStore:
    def __init__(self, inner: Store, backend: str, metrics: Metrics) -> None:
        self.inner = inner
        self.backend = backend
        self._metrics = metrics
        self._seconds = {op: metrics.store_seconds.labels(backend, op) for op in OPERATIONS}
        self._errors = {op: metrics.store_errors.labels(backend, op) for op in OPERATIONS}
        self._recent = inner.read_recent if isinstance(inner, RecentReads) else inner.read

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = perf_counter()
        try:
            return await call
        except Refused:
            raise
        except Exception:
            self._errors[operation].inc()
            raise
        finally:
            self._seconds[operation].observe(perf_counter() - started)

    async def open(self) -> None:
        await self._timed("open", self.inner.open())

    async def close(self) -> None:
        await self._timed("close", self.inner.close())

    async def ping(self) -> None:
        await self._timed("ping", self.inner.ping())

    async def read(self, key: Key) -> Doc | None:
        return await self._timed("read", self.inner.read(key))

    async def read_recent(self, key: Key) -> Doc | None:
        return await self._recent(key)

    async def list(self, kind: str, program: str) -> builtins.list[Doc]:
        return await self._timed("list", self.inner.list(kind, program))

    async def transact(self, keys: Sequence[Key], change: Callable[[dict[Key, Doc | None]], T],
                       audit: AuditEntry | Sequence[AuditEntry]) -> T:
        rows = as_list(audit)
        try:
            result = await self._timed("transact", self.inner.transact(keys, change, rows))
        except Refused as refusal:
            self._metrics.audited([r.refused(refusal.code.value) for r in rows])
            raise
        self._metrics.audited(rows)
        return result

    async def record(self, audit: AuditEntry) -> None:
        await self._timed("record", self.inner.record(audit))
        self._metrics.audited([audit])

    async def audit_rows(self, *, program: str | None = None,
                         room: str | None = None) -> builtins.list[AuditEntry]:
        return await self._timed("audit_rows",
                                 self.inner.audit_rows(program=program, room=room))

    async def take_token(self, bucket: str, rate: float, burst: int) -> int:
        return await self._timed("take_token", self.inner.take_token(bucket, rate, burst))
