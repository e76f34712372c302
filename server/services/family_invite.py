"""Use cases of a family member's invitation link: make one for a family room, list a
program's links with how far each went, withdraw one, and open one for a token.

Caveat: a link is a store document of its own, written with its audit row; nothing the
client or the partner reads changes, so no ``program`` event is sent.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from server.domain import family_invite as family
from server.domain import room_link
from server.domain.audit import AuditEntry
from server.domain.family_invite import FamilyInvite
from server.store.family_invites import FamilyInvites
from server.store.rooms import Rooms


async def invite(invites: FamilyInvites, rooms: Rooms, program_id: str, *, room_id: str,
                 name: str, ttl: float, by: str, now: float, locale: str | None,
                 audit: AuditEntry) -> tuple[FamilyInvite, str]:
    """A new link and its secret (shown once; only its SHA-256 is kept)."""
    room = family.check_room(await rooms.get(room_id), program_id)
    family.check_room_has_space(
        sum(1 for i in await invites.list(program_id) if i.room == room.id))
    secret = secrets.token_urlsafe(32)
    made = FamilyInvite(
        id=secrets.token_urlsafe(9), room=room.id, program=program_id, name=name,
        secret_hash=room_link.digest(secret), created_at=now, expires_at=now + ttl,
        created_by=by, locale=locale)
    return await invites.create(made, audit), secret


async def listed(invites: FamilyInvites, rooms: Rooms, program_id: str,
                 now: float) -> list[dict[str, Any]]:
    """Each link of the program, newest first: open, opened, attended (admitted to the
    room at least once), withdrawn or expired."""
    return [await _view(rooms, inv, now)
            for inv in sorted(await invites.list(program_id), key=lambda i: -i.created_at)]


async def withdraw(invites: FamilyInvites, rooms: Rooms, program_id: str, invite_id: str,
                   now: float, audit: AuditEntry) -> dict[str, Any]:
    """Withdraw a link; the link as the clinician's list now shows it."""
    done = await invites.update(invite_id, lambda i: family.withdraw(i, program_id, now), audit)
    return await _view(rooms, done, now)


async def _view(rooms: Rooms, invite: FamilyInvite, now: float) -> dict[str, Any]:
    attended = room_link.attended(await rooms.get(invite.room), family.participant(invite.id))
    return family.clinician_view(invite, now, attended)


async def open_link(invites: FamilyInvites, rooms: Rooms, invite_id: str, secret: str,
                    now: float, audit: AuditEntry) -> FamilyInvite:
    """The link's invitation, spent now, once its secret matches, it is live and its room
    still takes people (an ended session does not spend the link)."""
    found = await invites.get(invite_id)
    room = None if found is None else await rooms.get(found.room)
    if found is not None:  # the row names the link's program and room (never its secret)
        audit = replace(audit, program=found.program, room=found.room)
    return await invites.update(invite_id, lambda i: family.open_link(i, secret, now, room),
                                audit)
