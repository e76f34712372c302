"""The socket.io server, assembled: one ``socketio.AsyncServer``, this node's connections,
and the event modules, each given only the collaborators it uses.

Each handler validates its payload, checks the caller's grant through the domain rule,
calls ONE domain function inside one store write, delivers what changed, and returns
an ack (``guard.py`` answers for any handler that raises). Where each event lives:

* ``handshake.py``: connect, token expiry, disconnect;
* ``room_events.py``: join, leave, snapshot, the lobby and the clinician's controls;
* ``signal_events.py``: offer, answer, candidate;
* ``media_events.py``: the pre-call test and connection quality;
* ``tool_events.py``: in-session tools;
* ``sfu_events.py``: a group room's media through the SFU;
* ``group_controls.py``: a group's clinician controls (mute, focus, breakouts...);
* ``upkeep.py``: the sweeper, resync and draining.

Note: python-socketio runs each incoming event as its own task, so two events
of one client can interleave. Signaling is serialised per sender with the
connection's lock; room changes are serialised by the store.
"""

from __future__ import annotations

import asyncio
import logging

import socketio
from aiohttp import web

from server.agreement_text import PARTNERS_AGREEMENT, GroupAgreements
from server.cluster import ClusterManager, NodeHeartbeat
from server.domain.partner_group import AUDIENCE
from server.domain.program import Program
from server.errors import Code
from server.media.echo import EchoService
from server.media.turn_probe import TurnMonitor
from server.metrics import Metrics
from server.realtime import engine_adapter
from server.realtime.agreement_events import AgreementEvents
from server.realtime.codec import OrjsonCodec, OrjsonPacket
from server.realtime.connections import Connections
from server.realtime.delivery import RoomDelivery
from server.realtime.direct import DirectManager
from server.realtime.group_controls import GroupControls
from server.realtime.guard import EventTable, guard, unknown
from server.realtime.handshake import Handshake
from server.realtime.ice import IceServers
from server.realtime.media_events import MediaEvents
from server.realtime.program_events import ProgramEvents
from server.realtime.room_events import RoomEvents
from server.realtime.room_writes import RoomWrites
from server.realtime.sfu_events import SfuEvents
from server.realtime.signal_events import SignalEvents
from server.realtime.tasks import TaskSupervisor
from server.realtime.tool_events import ToolEvents
from server.realtime.upkeep import Upkeep
from server.services import rooms as room_cases
from server.services.notifier import PanelViews
from server.settings import Settings
from server.sfu import from_settings as sfu_from_settings
from server.store import Store
from server.store.agreements import Agreements
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.webhooks import Webhooks


class RealtimeServer:
    """Owns the ``socketio.AsyncServer`` and this node's connections.

    It is also the app's :class:`server.services.notifier.Notifier` (use cases ask it to
    move people out) and its :class:`server.readiness.Node`.
    """

    def __init__(self, settings: Settings, store: Store, webhooks: Webhooks,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.store = store
        # With webhooks on, room changes queue their events in their own commit.
        self.rooms = Rooms(store, webhooks.outbox)
        self.programs = Programs(store, webhooks.outbox)
        self.connections = Connections()
        self.local_rooms: set[str] = set()
        self.echo = EchoService(settings.precall_limit, settings.precall_seconds)
        self.turn = TurnMonitor(settings.turn_urls)
        self.tasks = TaskSupervisor()
        self.heartbeat = NodeHeartbeat(settings.store, settings.node_id or None) \
            if settings.cluster else None
        self.node_id = self.heartbeat.node_id if self.heartbeat else (settings.node_id or "solo")
        self.manager = ClusterManager(settings.store, node_id=self.node_id) \
            if settings.cluster else None
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
        self.delivery = RoomDelivery(self.sio)
        self.program_events = ProgramEvents(self.rooms, self.sio, self.manager)
        writes = RoomWrites(self.rooms, self.delivery)
        ice = IceServers(settings)
        self.handshake = Handshake(settings, store, self.rooms, self.programs, self.connections,
                                   self.local_rooms, writes, self.delivery, self.tasks,
                                   self.echo)
        self.tool_events = ToolEvents(self.rooms, store, self.tasks, self.sio.emit)
        self.upkeep = Upkeep(settings, self.rooms, self.connections, self.local_rooms, writes,
                             self.delivery, self.heartbeat, self.node_id, self.sio,
                             self.tool_events.rearm)
        events: EventTable = {}
        events.update(RoomEvents(self.rooms, self.programs, writes, self.delivery, self.tasks,
                                 ice, self.turn, self.node_id, self.metrics,
                                 self.program_changed).handlers())
        events.update(SignalEvents(self.rooms, self.sio, self.manager).handlers())
        events.update(MediaEvents(self.echo, self.turn, ice, self.rooms, self.delivery,
                                  settings.precall_seconds).handlers())
        events.update(self.tool_events.handlers())
        self.sfu_events = SfuEvents(sfu_from_settings(settings, store), self.rooms, self.delivery,
                                    self.tasks, self.node_id)
        events.update(self.sfu_events.handlers())
        events.update(GroupControls(writes, self.sfu_events).handlers())
        # The group agreement (agreement_events.py) reads and accepts before a join, and
        # gates a group member's join on it.
        agreement = AgreementEvents(
            self.rooms, self.programs, Agreements(store), GroupAgreements.load(settings.content_dir),
            {AUDIENCE: GroupAgreements.load(settings.content_dir, PARTNERS_AGREEMENT)})
        events.update(agreement.handlers())
        schema, join, needs_join = events["join"]
        events["join"] = (schema, agreement.gate(join), needs_join)
        self.sio.on("connect", self.handshake.on_connect)
        self.sio.on("disconnect", self.handshake.on_disconnect)
        self.sio.on("*", unknown(self.connections))
        for name, (schema, handler, needs_join) in events.items():
            self.sio.on(name, guard(self.connections, name, schema, handler, needs_join,
                                    self.metrics.observer(name)))

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app)

    async def start(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.start()
        if self.manager is not None:
            self.manager.on_resubscribe = self.upkeep.resync
            # Subscribe now, not at the first connection: readiness waits for it.
            engine_adapter.subscribe_now(self.sio)
        self._sweeper = asyncio.ensure_future(self.upkeep.sweep_forever())

    async def evict(self, program_id: str, participant: str, code: Code) -> int:
        """Move a participant out of every live room of a program at once (see
        :func:`server.services.rooms.evict`)."""
        return await room_cases.evict(self.rooms, self.delivery.deliver, program_id,
                                      participant, code)

    async def program_changed(self, before: PanelViews, after: Program) -> None:
        """Tell the program's connected members what a write changed on their panel (see
        :mod:`server.realtime.program_events`)."""
        await self.program_events.changed(before, after)

    async def drain(self, deadline: float) -> None:
        """Leave gracefully on SIGTERM (see :meth:`Upkeep.drain`)."""
        await self.upkeep.drain(deadline)

    async def release(self, deadline: float) -> None:
        """Send everyone to another node, and stay (see ``server/step_aside.py``)."""
        await self.upkeep.drop_sockets(deadline)

    @property
    def draining(self) -> bool:
        return self.upkeep.draining

    @property
    def delivering(self) -> bool:
        """Whether cross-node delivery is listening (always, on one node alone)."""
        return self.manager is None or self.manager.subscribed

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        self.tool_events.close()
        await self.sfu_events.close()
        await self.echo.close()
        await self.sio.shutdown()
        self.tasks.cancel_all()


REALTIME = web.AppKey("realtime", RealtimeServer)
