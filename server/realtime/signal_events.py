"""socket.io events for WebRTC signaling: offer, answer and candidate, relayed in order.

The server assigns who is polite (``server/domain/negotiation.py``) and relays each
signal to one admitted member of the sender's room, on the same side (side rooms scope
media too). The browsers negotiate with each other; the server never reads an SDP
beyond checking its shape.

Note: this is the hottest path of the server (benchmarked): one room read from the
node's recent copy, one emit, no other await.
"""

from __future__ import annotations

from typing import Any

import socketio

from server.cluster import ClusterManager
from server.domain.identity import SFU_KINDS
from server.domain.room import Member, MemberState, Room
from server.domain.signals import RTCIceCandidate, RTCSessionDescription
from server.errors import Code, Refused
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.guard import EventTable
from server.store.rooms import Rooms


class SignalEvents:
    def __init__(self, rooms: Rooms, sio: socketio.AsyncServer,
                 manager: ClusterManager | None) -> None:
        self.rooms = rooms
        self.sio = sio
        self.manager = manager  # cluster mode: a signal goes to the node holding its target

    def handlers(self) -> EventTable:
        return {
            "offer": (schemas.Description, self._offer, True),
            "answer": (schemas.Description, self._answer, True),
            "candidate": (schemas.Candidate, self._candidate, True),
        }

    async def _relay(self, conn: Connection, event: str, to: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        """Pass one signal to one admitted member of the sender's room, in order."""
        who = conn.identity
        async with conn.lock:
            try:
                sender, target = relay_ends(await self.rooms.get_recent(who.room), conn, to)
            except Refused:
                # The node's copy may lag another node's commit by a pub/sub hop (an
                # admission just made there); refuse only what the committed room refuses.
                sender, target = relay_ends(await self.rooms.get(who.room), conn, to)
            signal = {"from": who.id, "epoch": sender.epoch, **body}
            if self.manager is not None:
                assert target.sid
                await self.manager.emit_to_member(event, signal, target.sid, target.node)
            else:
                await self.sio.emit(event, signal, to=target.sid)
        return {}

    async def _offer(self, conn: Connection, p: schemas.Description) -> dict[str, Any]:
        description = RTCSessionDescription("offer", p.sdp)
        return await self._relay(conn, "offer", p.to, {"sdp": description.sdp})

    async def _answer(self, conn: Connection, p: schemas.Description) -> dict[str, Any]:
        description = RTCSessionDescription("answer", p.sdp)
        return await self._relay(conn, "answer", p.to, {"sdp": description.sdp})

    async def _candidate(self, conn: Connection, p: schemas.Candidate) -> dict[str, Any]:
        candidate = RTCIceCandidate.parse(p.candidate)
        body = {"candidate": candidate.to_json() if candidate else None}
        return await self._relay(conn, "candidate", p.to, body)


def relay_ends(room: Room | None, conn: Connection, to: str) -> tuple[Member, Member]:
    """The sender and the target of a signal, if the room lets the one reach the other."""
    if room is None:
        raise Refused(Code.ROOM_NOT_FOUND)
    if room.kind in SFU_KINDS:  # media goes through the SFU only (sfu_events.py)
        raise Refused(Code.SFU_ONLY)
    sender = room.members.get(conn.identity.id)
    if sender is None or sender.state is not MemberState.ADMITTED or sender.sid != conn.sid:
        raise Refused(Code.NOT_ADMITTED)
    target = room.members.get(to)
    if target is None or target.id == sender.id or not target.sid \
            or target.state is not MemberState.ADMITTED:
        raise Refused(Code.TARGET_NOT_ADMITTED)
    if not room.same_side(sender, target):  # side rooms scope media too
        raise Refused(Code.OTHER_SIDE_ROOM)
    return sender, target
