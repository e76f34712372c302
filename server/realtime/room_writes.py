"""One room change: a domain rule in one store write with its audit row, then delivery."""

from __future__ import annotations

import time
from collections.abc import Callable

from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.room import Change, Room
from server.realtime.connections import Connection
from server.realtime.delivery import RoomDelivery
from server.store.rooms import Rooms


class RoomWrites:
    def __init__(self, rooms: Rooms, delivery: RoomDelivery) -> None:
        self.rooms = rooms
        self.delivery = delivery

    async def change(self, conn: Connection, action: str, rule: Callable[[Room], Change],
                     target: str = "") -> tuple[Room, Change]:
        """Run ``rule`` for the caller in one write with its audit row, then deliver
        (the caller's own socket is skipped: its ack carries the snapshot)."""
        who = conn.identity
        audit = AuditEntry(actor=who.id, role=who.role.value, action=action, target=target,
                           room=who.room, program=who.program)
        room, change = await self.rooms.update(who.room, rule, audit)
        await self.delivery.deliver(room, change, skip_sid=conn.sid)
        return room, change

    async def expire(self, room_id: str) -> None:
        """Let go of people whose grace ran out, and tell the others.

        Note: checked on the recent copy (this node's own drops are in it at once);
        ``rules.expire`` runs again on the committed room inside the write.
        """
        room = await self.rooms.get_recent(room_id)
        now = time.time()
        if room is None or not any(m.grace_until and m.grace_until <= now
                                   for m in room.members.values()):
            return
        audit = AuditEntry(actor="server", role="system", action="grace-expired", room=room_id,
                           program=room.program)
        room, change = await self.rooms.update(room_id, lambda r: rules.expire(r, now), audit)
        await self.delivery.deliver(room, change)
