"""Typed access to room documents: rules run on :class:`Room`, the store keeps JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import orjson

from server.domain import outbox as webhook_events
from server.domain.audit import AuditEntry
from server.domain.room import Room
from server.domain.view import settle_quiet, shown
from server.errors import Code, Refused
from server.store.outbox import Outbox, Staged
from server.store.protocol import Doc, Key, RecentReads, Store

T = TypeVar("T")
KIND = "room"


def key(room_id: str) -> Key:
    return (KIND, room_id)


class Rooms:
    """Rooms over a :class:`Store`.

    Decoded rooms are cached per version, so relaying a signal (which reads the
    room twice per message) costs no JSON decoding.
    Note: a returned room is a snapshot; never mutate it, go through ``update``.
    Note: with an ``outbox`` (webhooks on), ``update`` queues the webhook events of the
    rule's :class:`~server.domain.room.Change` in the same commit.
    """

    def __init__(self, store: Store, outbox: Outbox | None = None) -> None:
        self.store = store
        self.outbox = outbox
        self._decoded: dict[str, Room] = {}
        self._read_recent = store.read_recent if isinstance(store, RecentReads) else store.read

    def _decode(self, doc: Doc) -> Room:
        cached = self._decoded.get(doc["id"])
        if cached is not None and cached.version == doc["version"]:
            return cached
        room = Room.from_dict(doc)
        self._decoded[room.id] = room
        return room

    async def get(self, room_id: str) -> Room | None:
        doc = await self.store.read(key(room_id))
        return None if doc is None else self._decode(doc)

    async def get_recent(self, room_id: str) -> Room | None:
        """The room, possibly one pub/sub hop behind another node's commit.

        For the signal relay's admission check, which runs per message: where the
        answer would be a refusal, callers ask :meth:`get` again before refusing.
        """
        doc = await self._read_recent(key(room_id))
        return None if doc is None else self._decode(doc)

    async def list(self, program: str) -> list[Room]:
        return [self._decode(d) for d in await self.store.list(KIND, program)]

    async def put(self, room: Room, audit: AuditEntry) -> Room:
        """Create or replace a room (seeding, scheduling)."""
        def write(docs: dict[Key, Doc | None]) -> None:
            docs[key(room.id)] = room.to_dict()
        await self.store.transact([key(room.id)], write, audit)
        return await self.get(room.id) or room

    async def create(self, room: Room, audit: AuditEntry) -> bool:
        """Create a room unless one with that id exists; ``True`` when created."""
        def write(docs: dict[Key, Doc | None]) -> bool:
            if docs[key(room.id)] is not None:
                return False
            docs[key(room.id)] = room.to_dict()
            return True
        return await self.store.transact([key(room.id)], write, audit)

    async def update(self, room_id: str, rule: Callable[[Room], T],
                     audit: AuditEntry) -> tuple[Room, T]:
        """Run one domain rule on the room in one atomic write with its audit row
        (and, with an outbox, the webhook events of its change)."""
        changed: list[tuple[Room, Doc]] = []
        staged = None if self.outbox is None else await self._stage(room_id)
        keys = [key(room_id)] if staged is None else [key(room_id), staged.key]

        def write(docs: dict[Key, Doc | None]) -> T:
            doc = docs[key(room_id)]
            if doc is None:
                raise Refused(Code.ROOM_NOT_FOUND)
            room, written, result = apply(doc, rule)
            docs[key(room_id)] = written
            changed[:] = [(room, written)]  # the last run is the one committed (a backend may retry)
            if staged is not None:
                staged.write(docs, webhook_events.room_events(room_id, result))
            return result
        result = await self.store.transact(keys, write, audit)
        if staged is not None:
            staged.committed()
        # Reuse the room just committed instead of decoding it again; only its
        # version, which the store bumped (in the written document too), needs taking over.
        committed = await self.store.read(key(room_id))
        assert committed is not None
        room, written = changed[0]
        room.version = int(committed["version"])
        # The SQLite store keeps the very document written; Redis hands back an equal copy.
        if committed is not written and committed != written:  # another write won
            room = self._decode(committed)
        self._decoded[room_id] = room
        return room, result

    async def _stage(self, room_id: str) -> Staged | None:
        """The outbox share of one update: of the room's program (which never changes)."""
        assert self.outbox is not None
        cached = self._decoded.get(room_id)
        program = cached.program if cached is not None else \
            (await self._read_recent(key(room_id)) or {}).get("program")
        return None if program is None else self.outbox.stage(str(program))


def apply(doc: Doc, rule: Callable[[Room], T]) -> tuple[Room, Doc, T]:
    """Run ``rule`` on the room ``doc`` holds: the room, the document to write, and the
    rule's result.

    A write that changes the room also settles each member's own version
    (:func:`server.domain.view.settle_quiet`) and notes in ``room.shown_to`` whom it
    changed something for; a write that changes nothing leaves the document as it was.
    """
    # The text before the rule: rules edit the decoded room in place, and it shares
    # nested values with ``doc``, so comparing with ``doc`` afterwards would miss them.
    was = orjson.dumps({**doc, "quiet": None})
    room = Room.from_dict(doc)
    before, quiet = shown(room), dict(room.quiet)
    result = rule(room)
    written = room.to_dict()
    if orjson.dumps({**written, "quiet": None}) == was:
        room.shown_to = frozenset()
        return room, written, result
    room.shown_to = settle_quiet(before, quiet, room)
    written["quiet"] = dict(room.quiet)
    return room, written, result
