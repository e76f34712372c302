"""Room use cases that more than one transport needs: admitting, and moving people out."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from server.domain import partner as lifecycle
from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role
from server.domain.program import Program
from server.domain.room import Change, Room
from server.errors import Code, Refused
from server.services.notifier import Deliver, PanelViews
from server.services.program_writes import Before
from server.store.programs import Programs
from server.store.rooms import Rooms


async def partner_approved(programs: Programs, who: Identity, room: Room) -> bool:
    """For a partner: refuse unless their lifecycle lets them knock here now;
    ``True`` when they are approved (they may knock on an individual session)."""
    if who.role is not Role.PARTNER:
        return False
    # A room with no partner's seat (a group) refuses the same way whatever the partner's
    # state: the lifecycle's codes speak of couples sessions and would suggest a way in.
    if not rules.partner_may_knock(room.kind):
        raise Refused(Code.ROLE_NOT_IN_ROOM_KIND)
    program = await programs.get(room.program)
    lifecycle.may_enter(program, who.id, room.kind, room.id, who.trial, time.time())
    assert program is not None
    return lifecycle.has_couples_access(program.partner)


ProgramChanged = Callable[[PanelViews, Program], Awaitable[None]]


async def admit(rooms: Rooms, programs: Programs, who: Identity, participant: str,
                audit: AuditEntry, told: ProgramChanged | None = None) -> tuple[Room, Change]:
    """Admit ``participant`` from the lobby of ``who``'s room, in one write with ``audit``.

    Note: a partner's consent is re-checked in the same write that admits them (program
    and room commit together), so a withdrawal racing the admission cannot slip through;
    anyone else is admitted by the room rule alone. ``told`` hears how the partner's
    admission changed the program (a trial session counted, an approved partner active).
    """
    current = await rooms.get(who.room)
    waiting = current.members.get(participant) if current else None
    if waiting is None or waiting.role is not Role.PARTNER:
        return await rooms.update(
            who.room, lambda r: rules.admit(r, who, participant, time.time()), audit)

    before = Before()

    def admit_partner(program: Any, room: Room) -> Change:
        before(program)
        member = room.members.get(participant)
        trial = member.trial if member else None
        lifecycle.may_enter(program, participant, room.kind, room.id, trial, time.time())
        on_trial = not lifecycle.has_couples_access(program.partner)
        change = rules.admit(room, who, participant, time.time())
        lifecycle.record_admission(program, time.time(), trial=on_trial)
        return change

    updated, room, change = await programs.update_with_room(who.program, who.room,
                                                            admit_partner, audit)
    if told is not None:
        await told(before.views, updated)
    return room, change


async def evict(rooms: Rooms, deliver: Deliver, program_id: str, participant: str,
                code: Code) -> int:
    """Move a participant out of every live room of a program at once.

    Used when a partner's access ends (pause, withdrawal, revocation, invite
    revoked); returns how many rooms they were moved out of.
    """
    moved = 0
    for room in await rooms.list(program_id):
        if participant not in room.members:
            continue
        audit = AuditEntry(actor="server", role="system", action="evict",
                           target=participant, room=room.id, program=program_id)
        updated, change = await rooms.update(
            room.id, lambda r: rules.evict(r, participant, code, time.time()), audit)
        await deliver(updated, change)
        moved += 1
    return moved
