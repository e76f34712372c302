"""Typed access to program documents (the partner's record lives in its program)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.domain.audit import AuditEntry
from server.domain.program import Program
from server.domain.room import Room
from server.errors import Code, Refused
from server.store import rooms
from server.store.protocol import Doc, Key, Store

T = TypeVar("T")
KIND = "program"


def key(program_id: str) -> Key:
    return (KIND, program_id)


class Programs:
    def __init__(self, store: Store) -> None:
        self.store = store
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

    async def update(self, program_id: str, rule: Callable[[Program], T],
                     audit: AuditEntry) -> tuple[Program, T]:
        def write(docs: dict[Key, Doc | None]) -> tuple[Program, T]:
            doc = docs[key(program_id)]
            if doc is None:
                raise Refused(Code.PROGRAM_NOT_FOUND)
            program = Program.from_dict(doc)
            result = rule(program)
            docs[key(program_id)] = program.to_dict()
            return program, result
        return await self.store.transact([key(program_id)], write, audit)

    async def update_with_room(self, program_id: str, room_id: str,
                               rule: Callable[[Program, Room], T],
                               audit: AuditEntry) -> tuple[Program, Room, T]:
        """One rule over a program and one of its rooms, committed together
        (e.g. admitting a partner re-checks their consent in the same write)."""
        pkey, rkey = key(program_id), rooms.key(room_id)

        def write(docs: dict[Key, Doc | None]) -> tuple[Program, Room, T]:
            pdoc, rdoc = docs[pkey], docs[rkey]
            if rdoc is None:
                raise Refused(Code.ROOM_NOT_FOUND)
            if pdoc is None:
                raise Refused(Code.PROGRAM_NOT_FOUND)
            program, room = Program.from_dict(pdoc), Room.from_dict(rdoc)
            result = rule(program, room)
            docs[pkey], docs[rkey] = program.to_dict(), room.to_dict()
            return program, room, result
        program, _, result = await self.store.transact([pkey, rkey], write, audit)
        # Read the room back: the copy decoded inside the write still has the old
        # version, and clients ignore a snapshot that is not newer than theirs.
        committed = await rooms.Rooms(self.store).get(room_id)
        assert committed is not None
        return program, committed, result
