"""What each person is shown of a room: filtered here, on the server.

Only the clinician sees the lobby; someone waiting sees no one else's details;
nobody sees connection ids or grace deadlines.

Each person's snapshot carries a version of their own: the room's version less the
writes that changed nothing they are shown (``Room.quiet``). Why: the store bumps
the room's version on every write, so a shared version would tell the client the
moment a partner knocks (the lobby is the clinician's) or answers an exercise in
private, to someone who merely asks for ``snapshot``. A person's version still only
grows, and grows by one per change they can see.
"""

from __future__ import annotations

from typing import Any

from server.domain import group, negotiation
from server.domain.identity import SFU_KINDS, Role, RoomKind
from server.domain.room import Member, MemberState, Room


def _peer(me: Member, peer: Member) -> dict[str, Any]:
    return {
        "id": peer.id,
        "name": peer.name,
        "role": peer.role.value,
        "presence": peer.presence.value,
        "epoch": peer.epoch,
        "polite": negotiation.polite(me, peer),
        "initiator": negotiation.initiator(me, peer),
    }


def snapshot(room: Room, viewer_id: str) -> dict[str, Any]:
    """The room as ``viewer_id`` may see it."""
    me = room.members.get(viewer_id)
    view: dict[str, Any] = {
        "id": room.id,
        "kind": room.kind.value,
        "program": room.program,
        "version": room.version - room.quiet.get(viewer_id, 0),
        "status": room.status.value,
        "locked": room.locked,
        "clinicianPresent": room.clinician_present(),
        "you": None,
        "participants": [],
    }
    if room.kind in SFU_KINDS:  # group and family sessions
        view["media"] = "sfu"  # no peer-to-peer offers: sfu.* events (docs/groups.md)
    if me is None:
        return view
    view["you"] = {"id": me.id, "name": me.name, "role": me.role.value, "state": me.state.value,
                   "epoch": me.epoch}
    if me.state is MemberState.ADMITTED:
        others = [p for p in room.admitted() if p.id != me.id]

        def place(m: Member) -> tuple[str, str]:  # a side room, and a group's breakout
            return m.side, group.where(room, m.id)

        view["participants"] = [_peer(me, p) for p in others if place(p) == place(me)]
        view["side"] = me.side
        # People in another side room or breakout: who they are with, never what they say.
        view["away"] = [
            {"id": p.id, "name": p.name, "role": p.role.value,
             "with": [q.name for q in others if place(q) == place(p) and q.id != p.id]}
            for p in others if place(p) != place(me)]
    if room.kind is RoomKind.GROUP and me.state is MemberState.ADMITTED:
        view["group"] = group.view(room, me)
    if me.role is Role.CLINICIAN:
        view["lobby"] = [
            {"id": p.id, "name": p.name, "role": p.role.value, "since": p.since,
             "presence": p.presence.value}
            for p in sorted(room.lobby(), key=lambda m: m.since)
        ]
    return view


Shown = dict[str, dict[str, Any]]  # member id -> their snapshot, apart from its version


def shown(room: Room) -> Shown:
    """What each member is shown of ``room``, apart from the version."""
    views = {}
    for member_id in room.members:
        view = snapshot(room, member_id)
        del view["version"]
        views[member_id] = view
    return views


def settle_quiet(before: Shown, quiet: dict[str, int], room: Room) -> frozenset[str]:
    """After a write that changed ``room``: count it as quiet for each member whose
    snapshot it left as ``before`` showed it, and return the others (who are told).

    :param quiet: the counts before the write (the room's are replaced).
    Note: call it only for a write that changes the room; a write that changes
    nothing must leave the counts alone, or it would become a write.
    """
    after = shown(room)
    told = frozenset(m for m, view in after.items() if before.get(m) != view)
    room.quiet = {m: quiet.get(m, 0) + (0 if m in told else 1) for m in after}
    return told
