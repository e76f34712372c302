"""Telling each person what a tool's change changed for *them*, and nothing more.

A ``room`` snapshot goes only to those whose snapshot the write changed, and ``tool`` only to those whose views differ from what the room showed just before
the change. So a private answer sends the other partner nothing at all: no event at
the instant it is given is the whole point (an identical event would still say when).

Each person's snapshot version is their own (``server/domain/view.py``), so a
private change does not move it either, even for someone who keeps asking for
``snapshot``. Note: two deliveries from different nodes may still arrive out of order.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, Protocol

from server.domain.room import Room
from server.domain.view import snapshot
from server.tools.api import Effect, Mute, Send
from server.tools.guarded import Views


class Emit(Protocol):
    """``socketio.AsyncServer.emit``, as far as tools use it."""

    def __call__(self, event: str, data: Any, *, to: str) -> Awaitable[Any]: ...


class Delivery:
    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self._sent: dict[tuple[str, str, str], int] = {}  # room version last shown per socket

    async def snapshots(self, room: Room) -> None:
        """A ``room`` event to each person whose snapshot the write changed
        (``room.shown_to``, settled by the store's update), the caller included (a
        tool's ack carries no snapshot); to nobody else, not even for a new version."""
        told = room.shown_to
        for member in room.members.values():
            if member.sid and (told is None or member.id in told):
                await self.emit("room", snapshot(room, member.id), to=member.sid)

    async def views(self, room: Room, per_member: Views, earlier: Views | None) -> None:
        """``tool`` to each person whose views differ from ``earlier`` (all, if None).

        Compared with what the room showed just before, not with what this node last
        sent: a person back on a new socket, or on another node, is no exception."""
        sids = {m.id: m.sid for m in room.admitted() if m.sid}
        for member_id, seen in per_member.items():
            sid = sids.get(member_id)
            if sid is None or (earlier is not None and earlier.get(member_id) == seen):
                continue
            if self.remember(room, member_id, sid):
                # The server's clock, so countdowns do not depend on the browser's.
                await self.emit("tool", {"tools": seen, "now": time.time()}, to=sid)
        live = set(sids.values())
        for stale in [k for k in self._sent if k[0] == room.id and k[2] not in live]:
            del self._sent[stale]

    def remember(self, room: Room, member_id: str, sid: str) -> bool:
        """Note that socket ``sid`` was shown the tools of this version of the room;
        ``False`` if it was shown a newer one already (this delivery came late)."""
        key = (room.id, member_id, sid)
        if self._sent.get(key, -1) > room.version:
            return False
        self._sent[key] = room.version
        return True

    async def effects(self, room: Room, effects: list[Effect]) -> None:
        """A tool's own messages (``tool:<event>``) and mute requests, to whom they name
        (a move is no message: the room snapshot says where everyone is)."""
        emit = self.emit
        sids = {m.id: m.sid for m in room.admitted() if m.sid}
        for effect in effects:
            targets = [sids[effect.to]] if effect.to in sids else (
                list(sids.values()) if effect.to is None else [])
            for sid in targets:
                if isinstance(effect, Send):
                    await emit(f"tool:{effect.event}", dict(effect.payload), to=sid)
                elif isinstance(effect, Mute):
                    await emit("mute", {"muted": bool(effect.muted)}, to=sid)
