"""The Store contract: what the server needs of durable state, whatever the backend.

Invariant: every state change and its audit row commit together, or neither does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from server.domain.audit import AuditEntry
from server.domain.room import Room

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The backend cannot be reached; the caller answers ``E_UNAVAILABLE``."""


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the backend answers."""

    async def get_room(self, room_id: str) -> Room | None:
        """The room as last committed.

        Note: treat the result as read-only; change rooms only through ``update_room``.
        """

    async def put_room(self, room: Room, audit: AuditEntry) -> None:
        """Create or replace a room (seeding, ad hoc creation)."""

    async def create_room(self, room: Room, audit: AuditEntry) -> bool:
        """Create a room unless one with that id exists; ``True`` when created."""

    async def update_room(self, room_id: str, change: Callable[[Room], T],
                          audit: AuditEntry) -> tuple[Room, T]:
        """Apply ``change`` to the stored room atomically and bump its version.

        If ``change`` raises :class:`server.errors.Refused`, nothing changes, a
        refused audit row is written, and the exception propagates.
        Note: ``change`` must not await; it runs while the room's write is held.
        """

    async def record(self, audit: AuditEntry) -> None:
        """Append one audit row on its own (refusals outside a room write)."""

    async def audit_rows(self, room_id: str | None = None) -> list[AuditEntry]: ...
