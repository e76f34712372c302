"""Use cases of the partner's other door: invite to a partners-and-family group, list the
invitations with how far each went, and open a link for a token to the group.

Caveat: an invitation is written to the client's program record in one store write with its
audit row, and that write changes neither the partner's state nor the client's or partner's
views (``program_view.py`` never reads ``partner_groups``); so nobody but the program's
clinicians (and the partner, through the link) learns of it. No program event is sent.
"""

from __future__ import annotations

import secrets
from typing import Any

from server.domain import partner_group as door
from server.domain import room_link
from server.domain.audit import AuditEntry
from server.domain.program import Program
from server.store.agreements import Agreements
from server.store.programs import Programs
from server.store.rooms import Rooms


async def invite(programs: Programs, rooms: Rooms, program_id: str, *, room_id: str,
                 ttl: float, by: str, now: float, locale: str | None,
                 audit: AuditEntry) -> tuple[door.PartnerGroupInvite, str]:
    """A new invitation and its secret (shown once; only its SHA-256 is kept)."""
    room = door.check_room(await rooms.get(room_id))
    secret = secrets.token_urlsafe(32)
    made = door.PartnerGroupInvite(
        id=secrets.token_urlsafe(9), room=room.id, group_program=room.program,
        secret_hash=room_link.digest(secret), created_at=now, expires_at=now + ttl, created_by=by,
        locale=locale)
    _, added = await programs.update(program_id, lambda p: door.add(p, made), audit)
    return added, secret


async def listed(program: Program, rooms: Rooms, agreements: Agreements) -> list[dict[str, Any]]:
    """Each invitation as the clinician's partner panel shows it: invited, accepted (the
    group's agreement, in that room) or attended (admitted to that room at least once)."""
    out: list[dict[str, Any]] = []
    for inv in sorted(program.partner_groups.values(), key=lambda i: i.created_at):
        pid = door.participant(inv.id)
        room = await rooms.get(inv.room)
        attended = room_link.attended(room, pid)
        accepted = await agreements.get(inv.room, pid) is not None
        out.append({"id": inv.id, "room": inv.room, "createdAt": inv.created_at,
                    "expiresAt": inv.expires_at, "locale": inv.locale,
                    "openedAt": inv.opened_at, "status": door.status(accepted, attended)})
    return out


async def open_link(programs: Programs, rooms: Rooms, program_id: str, invite_id: str,
                    secret: str, now: float, audit: AuditEntry) -> door.PartnerGroupInvite:
    """The invitation the link names, once its secret matches and it is live, and the group
    room still takes people."""
    _, opened = await programs.update(
        program_id, lambda p: door.open_link(p, invite_id, secret, now), audit)
    door.check_room(await rooms.get(opened.room))
    return opened
