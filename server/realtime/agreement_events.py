"""socket.io events of the group agreement, and the gate it puts on a group's ``join``.

``agreement`` answers the text to read (in the caller's locale, or the one asked for) and
whether the caller already accepted; ``agreement.accept`` records the caller's acceptance
of one version with the alias they chose. Neither needs a ``join`` first: a member reads
and accepts before knocking. ``join`` of a group member without an acceptance is refused
with ``E_AGREEMENT_REQUIRED`` before anything reaches the lobby; with one, the member
knocks under their alias (docs/groups.md, "The group agreement").

Caveat: the alias replaces the token's name on this connection only (``conn.identity``),
so every snapshot and tool sees the alias; a new connection takes it again at ``join``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated, Any

from pydantic import Field

from server.agreement_text import GroupAgreements
from server.domain.audit import AuditEntry
from server.domain.group_agreement import (
    Acceptance,
    alias_of,
    needs_agreement,
    reads_program,
    suggested_alias,
)
from server.errors import Code, Refused
from server.realtime.connections import Connection
from server.realtime.guard import EventTable, Handler
from server.realtime.schemas import Payload
from server.store.agreements import Agreements
from server.store.programs import Programs
from server.store.rooms import Rooms


class AgreementRead(Payload):
    locale: Annotated[str, Field(min_length=2, max_length=16)] | None = None


class AgreementAccept(Payload):
    version: Annotated[str, Field(min_length=1, max_length=64)]
    # Checked by alias_of, which answers the more useful E_ALIAS_INVALID.
    alias: Annotated[str, Field(max_length=200)]


class AgreementEvents:
    def __init__(self, rooms: Rooms, programs: Programs, agreements: Agreements,
                 texts: GroupAgreements,
                 audiences: dict[str, GroupAgreements] | None = None) -> None:
        self.rooms = rooms
        self.programs = programs
        self.agreements = agreements
        self.texts = texts
        # A group room's ``audience`` (e.g. partners-family) with its own agreement text.
        self.audiences = audiences or {}

    async def _texts(self, conn: Connection) -> GroupAgreements:
        room = await self.rooms.get(conn.identity.room)
        audience = room.session.get("audience") if room else None
        return self.audiences.get(str(audience), self.texts)

    def handlers(self) -> EventTable:
        return {
            "agreement": (AgreementRead, self._read, False),
            "agreement.accept": (AgreementAccept, self._accept, False),
        }

    async def _required(self, conn: Connection) -> bool:
        room = await self.rooms.get(conn.identity.room)
        if room is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        return needs_agreement(room.kind, conn.identity)

    async def _read(self, conn: Connection, p: AgreementRead) -> dict[str, Any]:
        who = conn.identity
        required = await self._required(conn)
        text = (await self._texts(conn)).for_locale(p.locale or who.locale)
        accepted = await self.agreements.get(who.room, who.id) if required else None
        return {
            "required": required,
            "agreement": text.as_dict(),
            "accepted": None if accepted is None else
            {"version": accepted.version, "locale": accepted.locale, "at": accepted.at},
            "alias": accepted.alias if accepted else suggested_alias(who.name),
            # The page asks for the program panel only when REST would answer it.
            "programPanel": reads_program(await self.programs.get(who.program), who),
        }

    async def _accept(self, conn: Connection, p: AgreementAccept) -> dict[str, Any]:
        who = conn.identity
        if not await self._required(conn):
            raise Refused(Code.INVALID_STATE, "Only a group's members accept its agreement.")
        text = (await self._texts(conn)).read_version(p.version)
        if text is None:
            raise Refused(Code.AGREEMENT_VERSION)
        done = await self.agreements.accept(Acceptance(
            room=who.room, program=who.program, participant=who.id, version=text.version,
            locale=text.locale, alias=alias_of(p.alias), at=time.time()))
        return {"accepted": {"version": done.version, "locale": done.locale, "at": done.at},
                "alias": done.alias}

    def gate(self, join: Handler) -> Handler:
        """``join`` behind the agreement: refused without one, under the alias with one."""
        async def gated(conn: Connection, payload: Any) -> dict[str, Any]:
            if await self._required(conn):
                accepted = await self.agreements.get(conn.identity.room, conn.identity.id)
                if accepted is None:
                    who = conn.identity
                    await self.agreements.refused(AuditEntry(
                        actor=who.id, role=who.role.value, action="join", room=who.room,
                        program=who.program).refused(Code.AGREEMENT_REQUIRED.value))
                    raise Refused(Code.AGREEMENT_REQUIRED)
                conn.identity = replace(conn.identity, name=accepted.alias)
            return await join(conn, payload)
        return gated
