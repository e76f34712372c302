"""Webhook events queued in a program's outbox inside the commit that makes them.

A write path (:class:`server.store.rooms.Rooms`, :class:`server.store.programs.Programs`)
given an :class:`Outbox` adds the program's outbox to the keys of its ``transact`` and,
when its rule made events, appends them in the same commit as the change and its audit
row (see :mod:`server.domain.outbox`). Without one (no webhook URL) it reads and writes
nothing more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from server.domain import outbox
from server.store.protocol import Doc, Key


class Staged:
    """One write's share of an outbox.

    The time and the id base are drawn here, once, outside the change: a backend that
    runs the change again queues the very same events.
    """

    def __init__(self, program_id: str, wake: Callable[[str], None]) -> None:
        self.program = program_id
        self.key: Key = outbox.key(program_id)
        self._wake = wake
        self._at = time.time()
        self._base = uuid.uuid4().hex
        self._queued = False

    def write(self, docs: dict[Key, Doc | None], events: list[outbox.Event]) -> None:
        """Inside the change: append ``events`` (none: leave the outbox untouched)."""
        self._queued = bool(events)  # the last run is the one committed
        if events:
            docs[self.key] = outbox.append(docs[self.key], self.program, events,
                                           at=self._at, base=self._base)

    def committed(self) -> None:
        """After the commit: wake this node's worker if anything was queued."""
        if self._queued:
            self._wake(self.program)


class Outbox:
    """What write paths need to queue events: a :class:`Staged` per write."""

    def __init__(self, wake: Callable[[str], None]) -> None:
        self._wake = wake

    def stage(self, program_id: str) -> Staged:
        return Staged(program_id, self._wake)
