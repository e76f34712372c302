"""Keeping a node honest: the sweeper, resync after lost messages, and draining on SIGTERM.

Timers and sockets live on one node; the store does not. These chores repair what
a lost node, a Redis outage or a restart could not record, and let a node leave
without costing anyone their seat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial

import socketio

from server.cluster import NodeHeartbeat
from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.room import Change, Room
from server.errors import Refused
from server.logs import log_event
from server.realtime import engine_adapter
from server.realtime.connections import Connection, Connections
from server.realtime.delivery import RoomDelivery
from server.realtime.room_writes import RoomWrites
from server.settings import Settings
from server.store import StoreUnavailable
from server.store.rooms import Rooms

# How long a draining node keeps its sockets open after recording their drops: longer than
# the pub/sub hop in which another node's copy of a room can still name the old socket.
HANDOVER_SECONDS = 0.5


def _drop_open(member_id: str, sid: str, now: float, grace: float, room: Room) -> Change:
    return rules.drop(room, member_id, sid, now, grace)


class Upkeep:
    def __init__(self, settings: Settings, rooms: Rooms, connections: Connections,
                 local_rooms: set[str], writes: RoomWrites, delivery: RoomDelivery,
                 heartbeat: NodeHeartbeat | None, node_id: str, sio: socketio.AsyncServer,
                 rearm: Callable[[Room], None]) -> None:
        self.settings = settings
        self.rooms = rooms
        self.connections = connections
        self.local_rooms = local_rooms
        self.writes = writes
        self.delivery = delivery
        self.heartbeat = heartbeat
        self.node_id = node_id
        self.sio = sio  # only to close transports (see engine_adapter.abort)
        self.rearm = rearm  # re-arms the clocks of a room's running tools
        self.draining = False

    async def resync(self) -> None:
        """Send every local participant a fresh snapshot (after messages may have been lost)."""
        for room_id in list(self.local_rooms):
            try:
                room = await self.rooms.get(room_id)
            except StoreUnavailable:
                return
            if room is not None:
                await self.delivery.deliver(room, Change(), everyone=True)

    async def drain(self, deadline: float) -> None:
        """Leave gracefully (SIGTERM): drop every socket *without* a goodbye.

        A socket.io disconnect packet would tell clients not to reconnect; closing
        the transport makes them reconnect, through the load balancer, to another
        node, where they keep their seat (recorded here as a drop) and are not
        admitted again. The caller stops listening first, so they cannot come back
        here.

        The drops are recorded *before* the sockets close (:meth:`hand_over`): from then
        on other nodes refuse signals for these people (``E_TARGET_NOT_ADMITTED``, which
        the sender sees) instead of sending them here, where a closed socket would drop
        them after they were acknowledged; signals already on their way still find the
        socket open. Caveat: a node whose copy of the room lags the drop by more than
        :data:`HANDOVER_SECONDS` can still send one here in vain.
        """
        self.draining = True
        began = time.monotonic()
        try:
            await asyncio.wait_for(self.hand_over(), deadline / 2)
        except TimeoutError:
            log_event("server.handover_timeout", logging.WARNING, count=len(self.connections))
        await self.drop_sockets(max(0.5, deadline - (time.monotonic() - began)))

    async def hand_over(self) -> None:
        """Record every joined socket here as dropped while it is still open, then wait
        :data:`HANDOVER_SECONDS` for signals already sent here (see :meth:`drain`)."""
        now, grace = time.time(), self.settings.grace_seconds
        by_room: dict[str, list[Connection]] = {}
        for conn in self.connections.values():
            if conn.joined:
                by_room.setdefault(conn.identity.room, []).append(conn)

        async def one_room(conns: list[Connection]) -> None:
            # One room's writes in turn (they would only retry each other); rooms at once.
            for conn in conns:
                who, sid = conn.identity, conn.sid
                try:
                    await self.writes.change(conn, "drop",
                                             partial(_drop_open, who.id, sid, now, grace))
                except (Refused, StoreUnavailable):
                    pass  # recorded when the socket closes, or repaired by a sweeper

        await asyncio.gather(*(one_room(conns) for conns in by_room.values()))
        await asyncio.sleep(HANDOVER_SECONDS)

    async def drop_sockets(self, deadline: float) -> None:
        """Close every socket's transport without a socket.io goodbye, so that clients
        reconnect (to another node, once this one no longer listens); see :meth:`drain`."""
        # Each close runs our disconnect handler, which records the drop and so can hang
        # for as long as the store does (a replica cut off from Redis stepping aside).
        sockets = engine_adapter.transports(self.sio, [c.sid for c in self.connections.values()])
        try:
            await asyncio.wait_for(
                asyncio.gather(*(engine_adapter.abort(s) for s in sockets),
                               return_exceptions=True), deadline)
        except TimeoutError:
            log_event("server.drain_timeout", logging.WARNING, count=len(self.connections))

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep()
            except StoreUnavailable:
                pass  # the store is away: nothing can be recorded; try again later
            except Exception as exc:  # keep sweeping whatever one room did
                log_event("sweep.failed", logging.ERROR, error=type(exc).__name__)

    async def sweep(self) -> None:
        """Repair what timers on a lost node or a store outage could not record.

        For each room this node has served: a member whose socket was on this
        node but is gone, or on a node whose heartbeat stopped, is a ghost; they
        are marked as dropped (their seat kept for the grace period). Then
        expired seats are let go, and tool clocks that no node holds are re-armed.
        """
        now = time.time()
        local = {c.sid for c in self.connections.values()}
        # Judged on the node's recent copies (a pub/sub hop behind at most): every repair
        # below is re-checked inside its write, and the next sweep sees what this one missed.
        for room_id in list(self.local_rooms):
            room = await self.rooms.get_recent(room_id)
            if room is None or not room.members:
                self.local_rooms.discard(room_id)
                continue
            nodes = {m.node for m in room.members.values() if m.sid}
            alive = await self.heartbeat.alive(nodes) if self.heartbeat else nodes
            ghosts = [m for m in room.members.values() if m.sid and (
                (m.node == self.node_id and m.sid not in local) or m.node not in alive)]
            for ghost in ghosts:
                audit = AuditEntry(actor="server", role="system", action="ghost-dropped",
                                   target=ghost.id, room=room_id, program=room.program)
                updated, change = await self.rooms.update(
                    room_id, partial(self._drop_ghost, ghost.id, ghost.sid or "", now), audit)
                await self.delivery.deliver(updated, change)
            await self.writes.expire(room_id)
            room = await self.rooms.get_recent(room_id)
            if room is not None:
                self.rearm(room)

    def _drop_ghost(self, member_id: str, sid: str, now: float, room: Room) -> Change:
        # Checked again inside the write: the socket may have joined meanwhile.
        if any(c.sid == sid for c in self.connections.values()):
            return Change()
        return rules.drop(room, member_id, sid, now, self.settings.grace_seconds)

