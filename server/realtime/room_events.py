"""socket.io events of the room and its lobby: join, leave, snapshot, and the clinician's
controls (admit, admit all, deny, remove, send back, lock, end).

Each handler checks the caller's grant through the domain rule, which runs inside one
store write with its audit row (:class:`~server.realtime.room_writes.RoomWrites`);
what changed is delivered to each person through their own view, and the caller's
ack carries their snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.room import Change, Room
from server.domain.view import snapshot
from server.errors import Code, Refused
from server.media.turn_probe import TurnMonitor
from server.metrics import Metrics
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.delivery import RoomDelivery
from server.realtime.guard import EventTable
from server.realtime.ice import IceServers
from server.realtime.room_writes import RoomWrites
from server.realtime.tasks import TaskSupervisor
from server.services import rooms as room_cases
from server.store.programs import Programs
from server.store.rooms import Rooms


class RoomEvents:
    def __init__(self, rooms: Rooms, programs: Programs, writes: RoomWrites,
                 delivery: RoomDelivery, tasks: TaskSupervisor, ice: IceServers,
                 turn: TurnMonitor, node_id: str, metrics: Metrics,
                 program_changed: room_cases.ProgramChanged | None = None) -> None:
        self.rooms = rooms
        self.programs = programs
        self.writes = writes
        self.delivery = delivery
        self.tasks = tasks
        self.ice = ice
        self.turn = turn
        self.node_id = node_id
        self.metrics = metrics
        self.program_changed = program_changed  # an admission may count a trial session

    def handlers(self) -> EventTable:
        return {
            "join": (schemas.Join, self._join, False),
            "leave": (schemas.Empty, self._leave, True),
            "snapshot": (schemas.Empty, self._snapshot, True),
            "ice-servers": (schemas.Empty, self._ice_servers, False),  # the pre-call test too
            "admit": (schemas.Target, self._admit, True),
            "admit-all": (schemas.Empty, self._admit_all, True),
            "deny": (schemas.TargetWithReason, self._deny, True),
            "remove": (schemas.TargetWithReason, self._remove, True),
            "send-back": (schemas.Target, self._send_back, True),
            "lock": (schemas.Lock, self._lock, True),
            "end": (schemas.Empty, self._end, True),
        }

    async def _join(self, conn: Connection, p: schemas.Join) -> dict[str, Any]:
        who = conn.identity
        current = await self.rooms.get(who.room)
        if current is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        approved = await room_cases.partner_approved(self.programs, who, current)
        room, change = await self.writes.change(
            conn, "join",
            lambda r: rules.join(r, who, conn.sid, p.renegotiate, time.time(), approved,
                                 self.node_id))
        conn.joined = True
        view = snapshot(room, who.id)
        return {"you": view["you"], "room": view, "iceServers": self.ice(who),
                "turn": await self.turn.status()}

    async def _leave(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        await self.writes.change(conn, "leave",
                                 lambda r: rules.leave(r, who.id, conn.sid, time.time()))
        conn.joined = False
        return {}

    async def _snapshot(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        room = await self.rooms.get(conn.identity.room)
        if room is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        return {"room": snapshot(room, conn.identity.id)}

    async def _ice_servers(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        return {"iceServers": self.ice(conn.identity), "turn": await self.turn.status()}

    async def _control(self, conn: Connection, action: str, rule: Callable[[Room], Change],
                       target: str = "") -> dict[str, Any]:
        room, _ = await self.writes.change(conn, action, rule, target)
        return {"room": snapshot(room, conn.identity.id)}

    async def _admit(self, conn: Connection, p: schemas.Target) -> dict[str, Any]:
        who = conn.identity
        audit = AuditEntry(actor=who.id, role=who.role.value, action="admit",
                           target=p.participant, room=who.room, program=who.program)
        room, change = await room_cases.admit(self.rooms, self.programs, who, p.participant,
                                              audit, told=self.program_changed)
        self.metrics.admitted(room.members.get(p.participant))
        await self.delivery.deliver(room, change, skip_sid=conn.sid)
        return {"room": snapshot(room, who.id)}

    async def _admit_all(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        return await self._control(conn, "admit-all",
                                   lambda r: rules.admit_all(r, who, time.time()))

    async def _deny(self, conn: Connection, p: schemas.TargetWithReason) -> dict[str, Any]:
        who = conn.identity
        return await self._control(
            conn, "deny", lambda r: rules.deny(r, who, p.participant, p.reason), p.participant)

    async def _remove(self, conn: Connection, p: schemas.TargetWithReason) -> dict[str, Any]:
        who = conn.identity
        return await self._control(
            conn, "remove", lambda r: rules.remove(r, who, p.participant, p.reason, time.time()),
            p.participant)

    async def _send_back(self, conn: Connection, p: schemas.Target) -> dict[str, Any]:
        who = conn.identity
        return await self._control(
            conn, "send-back", lambda r: rules.send_back(r, who, p.participant, time.time()),
            p.participant)

    async def _lock(self, conn: Connection, p: schemas.Lock) -> dict[str, Any]:
        who = conn.identity
        return await self._control(conn, "lock" if p.locked else "unlock",
                                   lambda r: rules.lock(r, who, p.locked))

    async def _end(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        await self.writes.change(conn, "end", lambda r: rules.end(r, who, time.time()))
        conn.joined = False
        # Every socket of an ended room is closed (docs/protocol.md §5); the others were in
        # the delivery, the clinician's goes right after this answer. The task first runs
        # once this handler has returned, and python-socketio queues the ack before it
        # yields again, so the ack still reaches the clinician ahead of the close.
        self.tasks.spawn(self.delivery.close(conn.sid))
        return {}
