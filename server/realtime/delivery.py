"""Delivering a room change: each person is told what changed through their own view.

The one place that turns a domain :class:`~server.domain.room.Change` into socket.io
events: notices to their sockets, presence to the admitted, a ``room`` snapshot to
each person whose snapshot the write changed, then the sockets a notice closes.
"""

from __future__ import annotations

from typing import Any

import socketio

from server.domain.room import Change, Room
from server.domain.view import snapshot


class RoomDelivery:
    """Sends through the ``socketio.AsyncServer`` (its public ``emit`` and ``disconnect``)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def send(self, event: str, data: Any, sid: str) -> None:
        """One event to one socket."""
        await self.sio.emit(event, data, to=sid)

    async def close(self, sid: str) -> None:
        """Close one socket with a socket.io goodbye (it will not reconnect)."""
        await self.sio.disconnect(sid)

    async def deliver(self, room: Room, change: Change, skip_sid: str | None = None,
                      everyone: bool = False) -> None:
        """Tell each person what changed, each through their own filtered view.

        Note: a ``room`` snapshot goes only to those whose snapshot the write changed
        (``room.shown_to``, from the store's update), so nobody learns the moment of a
        change they cannot see (a knock, a private answer); ``everyone`` sends it to all
        (a resync after messages may have been lost). ``skip_sid`` is the caller, whose
        ack carries the snapshot.
        """
        told = None if everyone else room.shown_to
        emit = self.sio.emit
        closing: list[str] = []
        for notice in change.notices:
            await emit(notice.event, notice.payload, to=notice.sid)
            if notice.close:
                closing.append(notice.sid)
        audience = [m.sid for m in room.admitted() if m.sid]
        for participant, status in change.presence:
            own = room.members.get(participant)
            for sid in audience:
                if own is None or sid != own.sid:  # the person's own ack says it already
                    await emit("presence", {"participant": participant, "status": status},
                               to=sid)
        for member in room.members.values():
            if member.sid and member.sid != skip_sid and (told is None or member.id in told):
                await emit("room", snapshot(room, member.id), to=member.sid)
        for sid in closing:
            await self.sio.disconnect(sid)
