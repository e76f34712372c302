"""The ``program`` event: a program's panels kept live without polling (docs/protocol.md §5).

After a program write (a partner's step or answer, a link made or revoked, a check-in, a
request, an admission counting a trial session), each connected member of the program's
rooms whose role's panel view changed gets ``program`` with that view: the clinician the
partner's whole record and the approval queue, the client the client's view, the partner
their own. The views are filtered on the server (:mod:`server.domain.program_panel`), and a
role whose view did not change is sent nothing, so the client never learns *when* the
partner answered without sharing it.

Note: a member on another node is reached through the cluster manager on that node's
channel, as a relayed signal is; one that moved node since the room recorded it gets
nothing, and sees the current state at its next join (the panel also reads it over REST
when it mounts). Two writes told concurrently may arrive out of order; each event is a
whole view, so the next change puts a panel right.
"""

from __future__ import annotations

from typing import Any

import socketio

from server.cluster import ClusterManager
from server.domain.program import Program
from server.domain.program_panel import panel_view
from server.services.notifier import PanelViews
from server.store.rooms import Rooms

EVENT = "program"


class ProgramEvents:
    """Sends ``program`` to the program's connected members, each their role's view."""

    def __init__(self, rooms: Rooms, sio: socketio.AsyncServer,
                 manager: ClusterManager | None) -> None:
        self.rooms = rooms
        self.sio = sio
        self.manager = manager

    async def changed(self, before: PanelViews, after: Program) -> int:
        """Tell whoever's view changed; returns how many sockets were told."""
        views: dict[Any, dict[str, Any] | None] = {}
        told = 0
        sent: set[str] = set()  # a socket is in one room, but be sure it hears once
        for room in await self.rooms.list(after.id):
            for member in room.members.values():
                if not member.sid or member.sid in sent:
                    continue
                if member.role not in views:
                    view = panel_view(after, member.role)
                    views[member.role] = view if view != before.get(member.role) else None
                view = views[member.role]
                if view is None:
                    continue
                sent.add(member.sid)
                await self._send(view, member.sid, member.node)
                told += 1
        return told

    async def _send(self, view: dict[str, Any], sid: str, node: str) -> None:
        if self.manager is not None:
            await self.manager.emit_to_member(EVENT, view, sid, node)
        else:
            await self.sio.emit(EVENT, view, to=sid)
