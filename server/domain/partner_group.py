"""The partner's other door: an invitation to a partners-and-family psychoeducation group.

A partner who said not now to couples therapy, or declined it, may be invited by link to a
``group`` room marked ``audience: "partners-family"``. There they are a group member like
any other (role ``client`` of the group's program, under a participant id of their own), who
reads and accepts that group's own agreement before knocking.

Caveat (the point of this module): nothing here reads or writes the partner's lifecycle
state or anything the client's views are built from. The invitations live in the client's
program record (``Program.partner_groups``) only so that its clinicians can list them; the
client's and the partner's views (``program_view.py``) never include them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.domain import room_link
from server.domain.identity import RoomKind
from server.domain.room_link import RoomLink
from server.errors import Code, Refused

if TYPE_CHECKING:
    from server.domain.program import Program
    from server.domain.room import Room

AUDIENCE = "partners-family"
"""The ``audience`` of a group room a partner may be invited to by this door."""

# Plain strings (the partner's ``State`` values): ``program.py`` imports this module.
OTHER_DOOR = frozenset({"deferred", "declined"})
"""The partner states this door opens from: not now, or declined, couples therapy."""

MAX_INVITES = 20  # per program: a clinician re-inviting for each weekly group is fine


@dataclass(slots=True, kw_only=True)
class PartnerGroupInvite(RoomLink):
    """One invitation of the program's partner to one partners-and-family group room; it
    opens as often as the partner likes until it expires (``opened_at``: the last time)."""

    group_program: str  # the program the group room belongs to (usually a clinic's own)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartnerGroupInvite:
        return cls(**data)


def participant(invite_id: str) -> str:
    """The partner's participant id in the group room: one per invitation, never the
    partner's own id, so the group's records do not name the couples program's partner."""
    return f"pg-{invite_id}"


def check_room(room: Room | None) -> Room:
    """Refuse unless ``room`` is an open partners-and-family group."""
    if room is not None and room.session.get("audience") != AUDIENCE:
        raise Refused(Code.INVALID_STATE,
                      "Invite to a group session whose audience is partners-family.")
    return room_link.check_room(room, RoomKind.GROUP)


def rooms_offered(rooms: list[Room]) -> list[Room]:
    """The program's sessions a clinician may choose for this door: its partners-and-family
    groups that have not ended, in the order of their start (then id)."""
    open_ = [r for r in rooms if r.kind is RoomKind.GROUP and r.status.value != "ended"
             and r.session.get("audience") == AUDIENCE]
    return sorted(open_, key=lambda r: (float(r.session.get("starts_at") or 0), r.id))


def add(program: Program, invite: PartnerGroupInvite) -> PartnerGroupInvite:
    """Record ``invite`` once the partner said not now or declined couples therapy.

    Note: only ``program.partner_groups`` changes; the partner's state, history and
    cool-down are left as they are (a decline's cool-down is about couples invitations).
    """
    if str(program.partner.state) not in OTHER_DOOR:
        raise Refused(Code.TRANSITION_NOT_ALLOWED,
                      "This door is for a partner who said not now or declined.")
    if len(program.partner_groups) >= MAX_INVITES:
        raise Refused(Code.INVALID_STATE, "Too many group invitations for this program.")
    program.partner_groups[invite.id] = invite
    return invite


def open_link(program: Program, invite_id: str, secret: str, now: float) -> PartnerGroupInvite:
    """The invitation a link opens, or ``E_INVITE_INVALID`` / ``E_INVITE_EXPIRED``.

    Caveat: a partner revoked by a clinician is revoked here too (``E_INVITE_REVOKED``):
    a revoke is for safety, and it covers every door.
    """
    invite = room_link.check_secret(program.partner_groups.get(invite_id), secret)
    if str(program.partner.state) == "revoked":
        raise Refused(Code.INVITE_REVOKED)
    room_link.check_live(invite, now)
    invite.opened_at = now
    return invite


def status(accepted: bool, attended: bool) -> str:
    """What the clinician's partner panel says of one invitation."""
    return "attended" if attended else "accepted" if accepted else "invited"
