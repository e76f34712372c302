"""Typed access to program documents (the partner's record lives in its program)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from server.domain import outbox as webhook_events
from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.program import Invite, Program
from server.domain.room import Room
from server.errors import Code, Refused
from server.store import rooms
from server.store.outbox import Outbox
from server.store.protocol import Doc, Key, Store

T = TypeVar("T")
KIND = "program"
INVITE_INDEX = "invite-hash"  # (INVITE_INDEX, sha256 of the secret) -> {program, invite}


def key(program_id: str) -> Key:
    return (KIND, program_id)


class Programs:
    """Programs over a :class:`Store`.

    Note: with an ``outbox`` (webhooks on), ``update`` given ``events`` and
    ``update_with_room`` queue their webhook events in the same commit.
    """

    def __init__(self, store: Store, outbox: Outbox | None = None) -> None:
        self.store = store
        self.outbox = outbox
        self._decoded: dict[str, Program] = {}

    async def get(self, program_id: str) -> Program | None:
        """The program as committed.

        Note: decoded programs are cached per version (a partner's knock reads
        it twice); treat the result as read-only and change it through ``update``.
        """
        doc = await self.store.read(key(program_id))
        if doc is None:
            return None
        cached = self._decoded.get(program_id)
        if cached is not None and cached.version == doc.get("version", 0):
            return cached
        program = Program.from_dict(doc)
        self._decoded[program_id] = program
        return program

    async def create(self, program: Program, audit: AuditEntry) -> None:
        def write(docs: dict[Key, Doc | None]) -> None:
            if docs[key(program.id)] is not None:
                raise Refused(Code.PROGRAM_EXISTS)
            docs[key(program.id)] = program.to_dict()
        await self.store.transact([key(program.id)], write, audit)

    async def put(self, program: Program, audit: AuditEntry) -> None:
        def write(docs: dict[Key, Doc | None]) -> None:
            docs[key(program.id)] = program.to_dict()
        await self.store.transact([key(program.id)], write, audit)

    async def update(self, program_id: str, rule: Callable[[Program], T], audit: AuditEntry,
                     events: Callable[[Program, T], list[webhook_events.Event]] | None = None,
                     ) -> tuple[Program, T]:
        """One rule over the program; ``events``: the webhook events of its outcome."""
        staged = self.outbox.stage(program_id) if self.outbox and events else None
        keys = [key(program_id)] if staged is None else [key(program_id), staged.key]

        def write(docs: dict[Key, Doc | None]) -> tuple[Program, T]:
            doc = docs[key(program_id)]
            if doc is None:
                raise Refused(Code.PROGRAM_NOT_FOUND)
            program = Program.from_dict(doc)
            result = rule(program)
            docs[key(program_id)] = program.to_dict()
            if staged is not None and events is not None:
                staged.write(docs, events(program, result))
            return program, result
        done = await self.store.transact(keys, write, audit)
        if staged is not None:
            staged.committed()
        return done

    async def create_invite(self, program_id: str, *, room: str, quota: int, ttl: float,
                            by: str, now: float, audit: AuditEntry, locale: str | None = None,
                            before: Callable[[Program], None] | None = None,
                            ) -> tuple[Invite, str]:
        """A new trial invite and its secret (shown once; only its hash is kept); ``before``
        sees the program as read, before the change (the last run is the one committed).

        The hash index is written in the same commit as the invite, so a link works
        the moment it exists and never points at a program that does not know it.
        """
        secret, digest = lifecycle.new_secret()
        invite_id = "inv-" + uuid.uuid4().hex[:12]
        pkey, hkey = key(program_id), (INVITE_INDEX, digest)

        def write(docs: dict[Key, Doc | None]) -> Invite:
            doc = docs[pkey]
            if doc is None:
                raise Refused(Code.PROGRAM_NOT_FOUND)
            program = Program.from_dict(doc)
            if before is not None:
                before(program)  # sees the program as read, before the change
            invite = lifecycle.create_invite(program, invite_id=invite_id, secret_hash=digest,
                                             room=room, quota=quota, ttl=ttl, by=by, now=now,
                                             locale=locale)
            docs[pkey] = program.to_dict()
            docs[hkey] = {"id": digest, "program": program_id, "invite": invite_id}
            return invite

        row = replace(audit, target=invite_id)  # the audit row names the invite it made
        return await self.store.transact([pkey, hkey], write, row), secret

    async def update_with_room(self, program_id: str, room_id: str,
                               rule: Callable[[Program, Room], T],
                               audit: AuditEntry) -> tuple[Program, Room, T]:
        """One rule over a program and one of its rooms, committed together
        (e.g. admitting a partner re-checks their consent in the same write)."""
        pkey, rkey = key(program_id), rooms.key(room_id)
        staged = self.outbox.stage(program_id) if self.outbox else None
        told: list[tuple[int, frozenset[str] | None]] = []
        keys = [pkey, rkey] if staged is None else [pkey, rkey, staged.key]

        def write(docs: dict[Key, Doc | None]) -> tuple[Program, Room, T]:
            pdoc, rdoc = docs[pkey], docs[rkey]
            if rdoc is None:
                raise Refused(Code.ROOM_NOT_FOUND)
            if pdoc is None:
                raise Refused(Code.PROGRAM_NOT_FOUND)
            program = Program.from_dict(pdoc)
            room, room_doc, result = rooms.apply(rdoc, lambda r: rule(program, r))
            docs[pkey], docs[rkey] = program.to_dict(), room_doc
            told[:] = [(room.version, room.shown_to)]  # the last run is the one committed
            if staged is not None:
                staged.write(docs, webhook_events.room_events(room_id, result))
            return program, room, result
        program, _, result = await self.store.transact(keys, write, audit)
        if staged is not None:
            staged.committed()
        # Read the room back: the copy decoded inside the write still has the old
        # version, and clients ignore a snapshot that is not newer than theirs.
        committed = await rooms.Rooms(self.store).get(room_id)
        assert committed is not None
        if told and committed.version == told[0][0] + 1:  # no other write since ours
            committed.shown_to = told[0][1]
        return program, committed, result
