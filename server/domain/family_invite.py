"""A family member's invitation: a link a clinician makes for one ``family`` room.

The link (``room_link.py``: secret shown once, kept as SHA-256, expiring) opens once: it
gives a ``role: "family"`` token for that room only, under the participant id
``fi-<invite id>``, and the family member knocks like anyone else; the clinician admits.
A clinician may withdraw a link that has not been opened.

Caveat: each invitation is a store document of its own (``server/store/family_invites.py``),
not part of the program record, so no view the client or the partner reads is built from
it and no ``program`` event follows a change; only the program's clinicians list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.domain import room_link
from server.domain.identity import RoomKind
from server.domain.room_link import RoomLink
from server.errors import Code, Refused

if TYPE_CHECKING:
    from server.domain.room import Room

MAX_PER_ROOM = 20  # links per family room: six seats, and some links go unused or expire


@dataclass(slots=True, kw_only=True)
class FamilyInvite(RoomLink):
    """One link for one family member to one family room of ``program``."""

    program: str
    name: str = ""  # the first name the clinician gave, or none; clinicians' list only
    withdrawn_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FamilyInvite:
        return cls(**{k: v for k, v in data.items() if k != "version"})


def participant(invite_id: str) -> str:
    """The family member's participant id in the room: one per link."""
    return f"fi-{invite_id}"


def check_room(room: Room | None, program: str) -> Room:
    """``room`` if it is an open family session of ``program``; a room of another program
    is answered as missing (a clinician learns nothing of other programs' sessions)."""
    if room is not None and room.program != program:
        raise Refused(Code.ROOM_NOT_FOUND)
    return room_link.check_room(room, RoomKind.FAMILY)


def check_room_has_space(existing: int) -> None:
    if existing >= MAX_PER_ROOM:
        raise Refused(Code.INVALID_STATE, "Too many family links for this session.")


def open_link(invite: FamilyInvite | None, secret: str, now: float,
              room: Room | None) -> FamilyInvite:
    """The invitation a link opens, once: ``E_INVITE_INVALID`` (wrong link or secret),
    ``E_INVITE_REVOKED`` (withdrawn), ``E_INVITE_EXHAUSTED`` (already opened),
    ``E_INVITE_EXPIRED``, then ``room`` (the link's) refused as :func:`check_room` does.

    Note: the link is spent when the token is minted, not when the person knocks: the
    session page keeps the token for a reload, and a second device needs a new link.
    """
    found = room_link.check_secret(invite, secret)
    if found.withdrawn_at is not None:
        raise Refused(Code.INVITE_REVOKED)
    if found.opened_at is not None:
        raise Refused(Code.INVITE_EXHAUSTED)
    room_link.check_live(found, now)
    check_room(room, found.program)
    found.opened_at = now
    return found


def withdraw(invite: FamilyInvite | None, program: str, now: float) -> FamilyInvite:
    """Withdraw a link of ``program`` (again: no change). A link already opened stays
    opened: its token lasts one session; the clinician removes the person from the room."""
    if invite is None or invite.program != program:
        raise Refused(Code.NOT_FOUND)
    if invite.withdrawn_at is None and invite.opened_at is None:
        invite.withdrawn_at = now
    return invite


def status(invite: FamilyInvite, now: float, attended: bool) -> str:
    """What the clinician's list says of one link."""
    if attended:
        return "attended"
    if invite.opened_at is not None:
        return "opened"
    if invite.withdrawn_at is not None:
        return "withdrawn"
    return "expired" if now >= invite.expires_at else "open"


def clinician_view(invite: FamilyInvite, now: float, attended: bool) -> dict[str, Any]:
    """One link as its program's clinicians read it: never its secret or hash."""
    return {"id": invite.id, "room": invite.room, "name": invite.name,
            "createdAt": invite.created_at, "expiresAt": invite.expires_at,
            "locale": invite.locale, "openedAt": invite.opened_at,
            "withdrawnAt": invite.withdrawn_at, "status": status(invite, now, attended)}
