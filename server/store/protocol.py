"""The Store contract: what the server needs of durable state, whatever the backend.

State is a set of JSON documents addressed by ``(kind, id)`` (``("room", "r1")``,
``("program", "p1")``, ...), each carrying its ``program`` for listing and a
``version`` the store bumps on every write.

Invariant: every state change and its audit rows commit together, or nothing does.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from server.domain.audit import AuditEntry

T = TypeVar("T")
Key = tuple[str, str]
Doc = dict[str, Any]


def as_list(audit: AuditEntry | Sequence[AuditEntry]) -> list[AuditEntry]:
    """``transact``'s audit argument, one row or several, as a list."""
    return [audit] if isinstance(audit, AuditEntry) else list(audit)


class StoreUnavailable(Exception):
    """The backend cannot be reached; the caller answers ``E_UNAVAILABLE``."""


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the backend answers."""

    async def read(self, key: Key) -> Doc | None:
        """The document as last committed.

        Note: treat the result as read-only; change documents only through ``transact``.
        """

    async def list(self, kind: str, program: str) -> builtins.list[Doc]:
        """Every document of ``kind`` belonging to ``program``."""

    async def transact(self, keys: Sequence[Key],
                       change: Callable[[dict[Key, Doc | None]], T],
                       audit: AuditEntry | Sequence[AuditEntry]) -> T:
        """Apply ``change`` to private copies of ``keys`` and commit them atomically.

        ``change`` receives ``{key: doc or None}``; it may edit documents in place
        or put new ones under those keys. Every changed document gets its
        ``version`` bumped and is written with the audit rows in one commit.
        If ``change`` raises :class:`server.errors.Refused`, nothing is written
        but the audit rows marked refused with its code, and the exception
        propagates.

        Note: ``change`` must not await. A backend may run it more than once
        (optimistic retries when another node wrote the same keys), so it must
        be a pure function of its input documents. It may write only under
        ``keys`` (a backend cannot protect a key it did not read).
        Note: :class:`StoreUnavailable` from ``transact`` can mean "maybe
        committed" when the backend vanished mid-commit and did not come back
        within the retries; callers answer ``E_UNAVAILABLE`` and clients resync.
        """

    async def record(self, audit: AuditEntry) -> None:
        """Append one audit row on its own (refusals outside any write)."""

    async def audit_rows(self, *, program: str | None = None,
                         room: str | None = None) -> builtins.list[AuditEntry]: ...

    async def take_token(self, bucket: str, rate: float, burst: int) -> int:
        """Take one token from the named bucket (``burst`` at most, refilled at ``rate``
        per second), the same bucket for every node on this store.

        Returns 0 when a token was taken; otherwise how many refusals in a row the
        bucket has now given (1: the first since it last allowed), so a caller can
        note a run of refusals once instead of once per request.
        Note: the name is stored; never put an address or an id in it unhashed.
        """


@runtime_checkable
class RecentReads(Protocol):
    """What a store offers when a recent copy is much cheaper than a committed read.

    The Redis store keeps node-local copies (:mod:`server.store.recent`); the
    SQLite store's ``read`` is already in memory and does without.
    """

    async def read_recent(self, key: Key) -> Doc | None:
        """The document, possibly one pub/sub hop behind another node's commit.

        Note: read-only, like ``read``; use only where a momentarily old copy is
        harmless or re-checked.
        """
