"""What each person is shown of a room: filtered here, on the server.

Only the clinician sees the lobby; someone waiting sees no one else's details;
nobody sees connection ids or grace deadlines.
"""

from __future__ import annotations

from typing import Any

from server.domain import negotiation
from server.domain.identity import Role
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
        "version": room.version,
        "status": room.status.value,
        "locked": room.locked,
        "clinicianPresent": room.clinician_present(),
        "you": None,
        "participants": [],
    }
    if me is None:
        return view
    view["you"] = {"id": me.id, "name": me.name, "role": me.role.value, "state": me.state.value,
                   "epoch": me.epoch}
    if me.state is MemberState.ADMITTED:
        others = [p for p in room.admitted() if p.id != me.id]
        view["participants"] = [_peer(me, p) for p in others if p.side == me.side]
        view["side"] = me.side
        # People in another side room: who they are with, never what they say.
        view["away"] = [
            {"id": p.id, "name": p.name, "role": p.role.value,
             "with": [q.name for q in others if q.side == p.side and q.id != p.id]}
            for p in others if p.side != me.side]
    if me.role is Role.CLINICIAN:
        view["lobby"] = [
            {"id": p.id, "name": p.name, "role": p.role.value, "since": p.since,
             "presence": p.presence.value}
            for p in sorted(room.lobby(), key=lambda m: m.since)
        ]
    return view
