"""The socket.io server: handshake, room events, signaling relay, delivery.

Each handler validates its payload, checks the caller's grant through the
domain rule, calls ONE domain function inside one store write, delivers what
changed, and returns an ack. No handler raises: a raising handler would send
no ack at all.

Note: python-socketio runs each incoming event as its own task, so two events
of one client can interleave. Signaling is serialised per sender with the
connection's lock; room changes are serialised by the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import socketio
from pydantic import ValidationError

from server.cluster import ClusterManager, NodeHeartbeat
from server.domain import partner as lifecycle
from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role
from server.domain.room import Change, Member, MemberState, Room
from server.domain.signals import RTCIceCandidate, RTCSessionDescription
from server.domain.turn import ice_servers
from server.domain.view import snapshot
from server.errors import Code, Refused, failure
from server.logs import log_event
from server.media.echo import EchoService
from server.media.turn_probe import TurnMonitor
from server.realtime import engine_adapter, schemas
from server.realtime.codec import UNREADABLE, OrjsonCodec, OrjsonPacket
from server.realtime.connections import Connection, Connections
from server.realtime.direct import DirectManager
from server.realtime.media_events import MediaEvents
from server.realtime.ratelimit import TokenBucket
from server.realtime.tool_events import ToolEvents
from server.realtime.upkeep import Upkeep
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tokens import TokenVerifier
from server.webhooks import Webhooks

P = TypeVar("P", bound=schemas.Payload)
Handler = Callable[[Connection, Any], Awaitable[dict[str, Any]]]

# Disconnect reasons after which the person is expected back (python-engineio's
# ``reason`` values); anything else but a client's own goodbye is treated alike.
CLIENT_LEFT = "client disconnect"


class RealtimeServer:
    """Owns the ``socketio.AsyncServer`` and this node's connections."""

    def __init__(self, settings: Settings, store: Store, webhooks: Webhooks) -> None:
        self.settings = settings
        self.webhooks = webhooks
        self.store = store
        # With webhooks on, room changes queue their events in their own commit.
        self.rooms = Rooms(store, webhooks.outbox)
        self.programs = Programs(store, webhooks.outbox)
        self.verifier = TokenVerifier(settings)
        self.connections = Connections()
        self.echo = EchoService(settings.precall_limit, settings.precall_seconds)
        self.turn = TurnMonitor(settings.turn_urls)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.heartbeat = NodeHeartbeat(settings.store, settings.node_id or None) \
            if settings.cluster else None
        self.node_id = self.heartbeat.node_id if self.heartbeat else (settings.node_id or "solo")
        self.manager = ClusterManager(settings.store, node_id=self.node_id) \
            if settings.cluster else None
        self.local_rooms: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=self.manager or DirectManager(),
            transports=["websocket"],
            cors_allowed_origins=list(settings.allowed_origins),
            max_http_buffer_size=settings.max_message_bytes,
            ping_interval=settings.ping_interval,
            ping_timeout=settings.ping_timeout,
            # Loggers, not False: given False, both libraries add a plain-text stderr
            # handler of their own, bypassing the JSON formatter (server/logs.py).
            logger=logging.getLogger("socketio.server"),
            engineio_logger=logging.getLogger("engineio.server"),
            json=OrjsonCodec,
            serializer=OrjsonPacket,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_unknown)
        events: dict[str, tuple[type[schemas.Payload], Handler, bool]] = {
            "join": (schemas.Join, self._join, False),
            "leave": (schemas.Empty, self._leave, True),
            "snapshot": (schemas.Empty, self._snapshot, True),
            "ice-servers": (schemas.Empty, self._ice_servers, False),  # the pre-call test too
            "admit": (schemas.Target, self._admit, True),
            "deny": (schemas.TargetWithReason, self._deny, True),
            "remove": (schemas.TargetWithReason, self._remove, True),
            "send-back": (schemas.Target, self._send_back, True),
            "lock": (schemas.Lock, self._lock, True),
            "end": (schemas.Empty, self._end, True),
            "offer": (schemas.Description, self._offer, True),
            "answer": (schemas.Description, self._answer, True),
            "candidate": (schemas.Candidate, self._candidate, True),
        }
        self.media_events = MediaEvents(self)
        self.upkeep = Upkeep(self)
        events.update(self.media_events.handlers())
        self.tool_events = ToolEvents(self)
        events.update(self.tool_events.handlers())
        for name, (schema, handler, needs_join) in events.items():
            self.sio.on(name, self._guard(name, schema, handler, needs_join))

    async def start(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.start()
        if self.manager is not None:
            self.manager.on_resubscribe = self.resync
            # Subscribe now, not at the first connection: readiness waits for it.
            engine_adapter.subscribe_now(self.sio)
        self._sweeper = asyncio.ensure_future(self.upkeep.sweep_forever())

    async def resync(self) -> None:
        await self.upkeep.resync()

    async def drain(self, deadline: float) -> None:
        """Leave gracefully on SIGTERM (see :meth:`Upkeep.drain`)."""
        await self.upkeep.drain(deadline)

    async def release(self, deadline: float) -> None:
        """Send everyone to another node, and stay (see ``server/step_aside.py``)."""
        await self.upkeep.drop_sockets(deadline)

    @property
    def draining(self) -> bool:
        return self.upkeep.draining

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        self.tool_events.close()
        await self.echo.close()
        await self.sio.shutdown()
        for task in list(self._tasks):
            task.cancel()

    # -- plumbing ------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _guard(self, name: str, schema: type[schemas.Payload], handler: Handler,
               needs_join: bool) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def guarded(sid: str, *args: Any) -> dict[str, Any]:
            conn = self.connections.get(sid)
            if conn is None:
                return failure(Code.NOT_JOINED)
            if not conn.bucket.take():
                log_event("event.rate_limited", logging.WARNING, event=name, actor=conn.identity.id)
                return failure(Code.RATE_LIMITED)
            try:
                if len(args) > 1:
                    raise Refused(Code.SCHEMA, "Send one payload object.")
                payload = schema.model_validate(args[0] if args and args[0] is not None else {})
                if needs_join and not conn.joined:
                    raise Refused(Code.NOT_JOINED)
                return {"ok": True, **await handler(conn, payload)}
            except Refused as refusal:
                return {"ok": False, "error": refusal.as_error()}
            except ValidationError:
                return failure(Code.SCHEMA)
            except StoreUnavailable:
                log_event("store.unavailable", logging.WARNING, event=name)
                return failure(Code.UNAVAILABLE)
            except Exception as exc:  # a bug: answer, log the type only, keep serving
                log_event("event.crashed", logging.ERROR, event=name, error=type(exc).__name__)
                return failure(Code.INTERNAL)

        return guarded

    async def _on_unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        if conn is not None and not conn.bucket.take():
            return failure(Code.RATE_LIMITED)
        if event == UNREADABLE:  # too deep, not JSON, or not [name, ...]: see codec.py
            return failure(Code.SCHEMA)
        return failure(Code.UNKNOWN_EVENT)

    async def _change(self, conn: Connection, action: str, rule: Callable[[Room], Change],
                      target: str = "") -> tuple[Room, Change]:
        """Run one domain rule in one store write with its audit row, then deliver."""
        who = conn.identity
        audit = AuditEntry(actor=who.id, role=who.role.value, action=action, target=target,
                           room=who.room, program=who.program)
        room, change = await self.rooms.update(who.room, rule, audit)
        await self._deliver(room, change, skip_sid=conn.sid)
        return room, change

    async def _deliver(self, room: Room, change: Change, skip_sid: str | None = None,
                       everyone: bool = False) -> None:
        """Tell each person what changed, each through their own filtered view.

        Note: a ``room`` snapshot goes only to those whose snapshot the write changed
        (``room.shown_to``, from the store's update), so nobody learns the moment of a
        change they cannot see (a knock, a private answer); ``everyone`` sends it to all
        (a resync after messages may have been lost).
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

    def _ice(self, who: Identity) -> list[dict[str, Any]]:
        s = self.settings
        return ice_servers(s.turn_urls, s.turn_secret, who.id, time.time(), s.turn_ttl)

    # -- connection lifecycle --------------------------------------------------------
    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        who: Identity | None = None
        try:
            who = self.verifier.verify(token)
            wanted = auth.get("room") if isinstance(auth, dict) else None
            if wanted is not None and wanted != who.room:
                raise Refused(Code.FORBIDDEN_ROOM)
            room = await self._room_for(who)
            rules.check_entry(room, who, await self._partner_approved(who, room))
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
        conn.expiry = asyncio.get_running_loop().call_later(
            delay, lambda: self._spawn(self._token_expired(sid)))
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

    async def _partner_approved(self, who: Identity, room: Room) -> bool:
        """For a partner: refuse unless their lifecycle lets them knock here now;
        ``True`` when they are approved (they may knock on an individual session)."""
        if who.role is not Role.PARTNER:
            return False
        program = await self.programs.get(room.program)
        lifecycle.may_enter(program, who.id, room.kind, room.id, who.trial, time.time())
        assert program is not None
        return lifecycle.State(program.partner.state) in (lifecycle.S.APPROVED,
                                                          lifecycle.S.ACTIVE)

    async def evict(self, program_id: str, participant: str, code: Code) -> int:
        """Move a participant out of every live room of a program at once.

        Used when a partner's access ends (pause, withdrawal, revocation, invite
        revoked); returns how many rooms they were moved out of.
        """
        moved = 0
        for room in await self.rooms.list(program_id):
            if participant not in room.members:
                continue
            audit = AuditEntry(actor="server", role="system", action="evict",
                               target=participant, room=room.id, program=program_id)
            updated, change = await self.rooms.update(
                room.id, lambda r: rules.evict(r, participant, code, time.time()), audit)
            await self._deliver(updated, change)
            moved += 1
        return moved

    async def _token_expired(self, sid: str) -> None:
        await self.sio.emit("expired", {}, to=sid)
        await self.sio.disconnect(sid)

    async def _on_disconnect(self, sid: str, reason: str) -> None:
        await self.echo.stop(sid)
        conn = self.connections.pop(sid)
        if conn is None or not conn.joined:
            return
        who = conn.identity
        try:
            if reason == CLIENT_LEFT:
                await self._change(conn, "leave",
                                   lambda r: rules.leave(r, who.id, sid, time.time(), strict=False))
                return
            grace = self.settings.grace_seconds
            await self._change(conn, "drop",
                               lambda r: rules.drop(r, who.id, sid, time.time(), grace))
            asyncio.get_running_loop().call_later(
                grace + 0.05, lambda: self._spawn(self._expire(who.room)))
        except (Refused, StoreUnavailable) as exc:
            log_event("disconnect.unrecorded", logging.WARNING, error=type(exc).__name__)

    async def _expire(self, room_id: str) -> None:
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
        await self._deliver(room, change)

    # -- room events -----------------------------------------------------------------
    async def _join(self, conn: Connection, p: schemas.Join) -> dict[str, Any]:
        who = conn.identity
        current = await self.rooms.get(who.room)
        if current is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        approved = await self._partner_approved(who, current)
        room, change = await self._change(
            conn, "join",
            lambda r: rules.join(r, who, conn.sid, p.renegotiate, time.time(), approved,
                                 self.node_id))
        conn.joined = True
        view = snapshot(room, who.id)
        return {"you": view["you"], "room": view, "iceServers": self._ice(who),
                "turn": await self.turn.status()}

    async def _leave(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        await self._change(conn, "leave", lambda r: rules.leave(r, who.id, conn.sid, time.time()))
        conn.joined = False
        return {}

    async def _snapshot(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        room = await self.rooms.get(conn.identity.room)
        if room is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        return {"room": snapshot(room, conn.identity.id)}

    async def _ice_servers(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        return {"iceServers": self._ice(conn.identity), "turn": await self.turn.status()}

    async def _control(self, conn: Connection, action: str, rule: Callable[[Room], Change],
                       target: str = "") -> dict[str, Any]:
        room, _ = await self._change(conn, action, rule, target)
        return {"room": snapshot(room, conn.identity.id)}

    async def _admit(self, conn: Connection, p: schemas.Target) -> dict[str, Any]:
        who = conn.identity
        current = await self.rooms.get(who.room)
        waiting = current.members.get(p.participant) if current else None
        if waiting is None or waiting.role is not Role.PARTNER:
            return await self._control(
                conn, "admit", lambda r: rules.admit(r, who, p.participant, time.time()),
                p.participant)
        # A partner's consent is re-checked in the same write that admits them,
        # so a withdrawal racing the admission cannot slip through.
        def admit_partner(program: Any, room: Room) -> Change:
            member = room.members.get(p.participant)
            trial = member.trial if member else None
            lifecycle.may_enter(program, p.participant, room.kind, room.id, trial, time.time())
            on_trial = program.partner.state not in ("approved", "active")
            change = rules.admit(room, who, p.participant, time.time())
            lifecycle.record_admission(program, time.time(), trial=on_trial)
            return change

        audit = AuditEntry(actor=who.id, role=who.role.value, action="admit",
                           target=p.participant, room=who.room, program=who.program)
        _, room, change = await self.programs.update_with_room(who.program, who.room,
                                                               admit_partner, audit)
        await self._deliver(room, change, skip_sid=conn.sid)
        return {"room": snapshot(room, who.id)}

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
        await self._change(conn, "end", lambda r: rules.end(r, who, time.time()))
        conn.joined = False
        # Every socket of an ended room is closed (docs/protocol.md §5); the others were in
        # _deliver, the clinician's goes right after this answer. The task first runs once
        # this handler has returned, and python-socketio queues the ack before it yields
        # again, so the ack still reaches the clinician ahead of the close.
        self._spawn(self.sio.disconnect(conn.sid))
        return {}

    # -- signaling -------------------------------------------------------------------
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
