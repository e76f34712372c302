"""A socket's life on this node: the handshake, the token's expiry, and the disconnect.

The handshake verifies the token and the caller's entry to their room (a partner's
lifecycle included) before any event is accepted; a refusal is audited for a verified
caller only, so unverified callers cost no store write. A disconnect without a goodbye
keeps the person's seat for the grace period.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio

from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role
from server.domain.room import Room
from server.errors import Code, Refused
from server.logs import log_event
from server.media.echo import EchoService
from server.realtime.connections import Connection, Connections
from server.realtime.delivery import RoomDelivery
from server.realtime.ratelimit import TokenBucket
from server.realtime.room_writes import RoomWrites
from server.realtime.tasks import TaskSupervisor
from server.services import rooms as room_cases
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tokens import TokenVerifier

# Disconnect reasons after which the person is expected back (python-engineio's
# ``reason`` values); anything else but a client's own goodbye is treated alike.
CLIENT_LEFT = "client disconnect"


class Handshake:
    def __init__(self, settings: Settings, store: Store, rooms: Rooms, programs: Programs,
                 connections: Connections, local_rooms: set[str], writes: RoomWrites,
                 delivery: RoomDelivery, tasks: TaskSupervisor, echo: EchoService) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings)
        self.store = store
        self.rooms = rooms
        self.programs = programs
        self.connections = connections
        self.local_rooms = local_rooms  # rooms this node has served (for the sweeper)
        self.writes = writes
        self.delivery = delivery
        self.tasks = tasks
        self.echo = echo

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        who: Identity | None = None
        try:
            who = self.verifier.verify(token)
            wanted = auth.get("room") if isinstance(auth, dict) else None
            if wanted is not None and wanted != who.room:
                raise Refused(Code.FORBIDDEN_ROOM)
            room = await self._room_for(who)
            rules.check_entry(room, who,
                              await room_cases.partner_approved(self.programs, who, room))
        except Refused as refusal:
            log_event("connect.refused", code=refusal.code.value)
            if who is not None:  # unverified callers cost no store write
                await self.store.record(AuditEntry(
                    actor=who.id, role=who.role.value, action="connect", room=who.room,
                    program=who.program, outcome=f"refused:{refusal.code.value}"))
            raise socketio.exceptions.ConnectionRefusedError(
                refusal.code.value, refusal.as_error()) from None
        except StoreUnavailable:
            unavailable = Refused(Code.UNAVAILABLE)
            raise socketio.exceptions.ConnectionRefusedError(
                unavailable.code.value, unavailable.as_error()) from None
        conn = Connection(sid, who, TokenBucket(self.settings.rate_per_second,
                                                self.settings.rate_burst))
        delay = max(0.0, who.expires_at - time.time())
        conn.expiry = self.tasks.later(delay, lambda: self._token_expired(sid))
        self.connections.add(conn)
        self.local_rooms.add(who.room)

    async def _room_for(self, who: Identity) -> Room:
        room = await self.rooms.get(who.room)
        if room is not None:
            return room
        if who.role is not Role.CLINICIAN or who.room_kind is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        adhoc = Room(id=who.room, program=who.program, kind=who.room_kind,
                     session={"id": who.room, "scheduled": False, "opened_at": time.time()})
        await self.rooms.create(adhoc, AuditEntry(
            actor=who.id, role=who.role.value, action="open-room", room=who.room,
            program=who.program))
        return await self.rooms.get(who.room) or adhoc

    async def _token_expired(self, sid: str) -> None:
        await self.delivery.send("expired", {}, sid)
        await self.delivery.close(sid)

    async def on_disconnect(self, sid: str, reason: str) -> None:
        await self.echo.stop(sid)
        conn = self.connections.pop(sid)
        if conn is None or not conn.joined:
            return
        who = conn.identity
        try:
            if reason == CLIENT_LEFT:
                await self.writes.change(
                    conn, "leave", lambda r: rules.leave(r, who.id, sid, time.time(),
                                                         strict=False))
                return
            grace = self.settings.grace_seconds
            await self.writes.change(conn, "drop",
                                     lambda r: rules.drop(r, who.id, sid, time.time(), grace))
            self.tasks.later(grace + 0.05, lambda: self.writes.expire(who.room))
        except (Refused, StoreUnavailable) as exc:
            log_event("disconnect.unrecorded", logging.WARNING, error=type(exc).__name__)
