"""socket.io events of a group room's media: publish, subscribe, answer, trickle, leave.

In a group room (``kind: group``) nobody negotiates with anybody else: each admitted person
sends their media to the SFU (``sfu.publish``: offer in, answer out) and receives everyone
else's from it, one connection per feed: after ``sfu.subscribe`` the server sends an
``sfu.offer`` ``{feed, sdp}`` for each person publishing now and for each one who starts
later, and the person answers with ``sfu.answer``. The server decides who receives whom
(every admitted person receives every other admitted person in the same side room and
the same place, as focus mode allows: :func:`server.domain.group.sees`; a breakout is an SFU
room of its own, :func:`server.domain.group.sfu_room`);
the SFU's ids, room secret, pin and each member's token never leave the server.

A person who is no longer admitted (left, sent back, removed, dropped, ended) loses their
publication and subscriptions within :data:`RECONCILE` seconds, and whoever received them
gets ``sfu.gone`` ``{feed}``; a removed person's SFU token is withdrawn before they are
kicked. In the same pass, who receives whom converges on the rule (:func:`_sees`): a feed
someone may no longer see (another side room) is closed for them with ``sfu.gone``, one they
may now see is offered.

In a cluster every node serves the members whose socket it holds (``Member.node``), in the
same SFU room (recorded in the store by the adapter): each pass first learns what the other
nodes did (:meth:`Sfu.sync`: feeds published through them), then offers this node's
members every feed the rule allows, wherever it was published, and moderates or kicks a
member connected elsewhere as the room's state says (their own node does the same).

Note: the SFU's session and handles live in this process (``server/sfu/api.py``), so who
receives what is this node's bookkeeping, not the store's; a member reconnecting to another
node publishes and subscribes again there. Calls of one person are serialised by their
connection's lock, fan-out per room by a lock of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from server.domain import group
from server.domain.identity import SFU_KINDS, RoomKind
from server.domain.room import CAPACITY, Member, MemberState, Room, RoomStatus
from server.domain.signals import RTCIceCandidate, RTCSessionDescription
from server.errors import Code, Refused
from server.logs import log_event
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.delivery import RoomDelivery
from server.realtime.guard import EventTable
from server.realtime.tasks import TaskSupervisor
from server.sfu.api import Sfu, SfuRefused, SfuUnavailable
from server.store.rooms import Rooms

RECONCILE = 1.0  # seconds between checks of who still belongs in each SFU room
PUBLISHERS = sum(CAPACITY[RoomKind.GROUP].values())


class SfuOffer(schemas.Payload):
    sdp: Any = None


class SfuAnswer(schemas.Payload):
    feed: schemas.Id
    sdp: Any = None


class SfuTrickle(schemas.Payload):
    feed: schemas.Id | None = None  # None: the candidate is for the person's publication
    candidate: Any = None


class SfuEvents:
    def __init__(self, sfu: Sfu | None, rooms: Rooms, delivery: RoomDelivery,
                 tasks: TaskSupervisor, node: str = "") -> None:
        self.sfu = sfu
        self.node = node  # this app process (Member.node of the sockets it holds)
        self.rooms = rooms
        self.delivery = delivery
        self.tasks = tasks
        # room -> the members who asked for offers (sfu.subscribe) on this node
        self.receiving: dict[str, set[str]] = defaultdict(set)
        self._fan_out: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # One pass at a time per group (the reconcile's and a control's ``settle``), so
        # nobody is moved twice nor told ``sfu.republish`` twice.
        self._settling: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._reconciling = False
        if sfu is not None:
            sfu.on_feed = self._feed_up
            sfu.on_moved = self._moved

    def handlers(self) -> EventTable:
        return {
            "sfu.publish": (SfuOffer, self._publish, True),
            "sfu.subscribe": (schemas.Empty, self._subscribe, True),
            "sfu.answer": (SfuAnswer, self._answer, True),
            "sfu.trickle": (SfuTrickle, self._trickle, True),
            "sfu.leave": (schemas.Empty, self._leave, True),
        }

    async def close(self) -> None:
        if self.sfu is not None:
            await self.sfu.close()

    # -- who may ---------------------------------------------------------------------
    async def _caller(self, conn: Connection) -> tuple[Sfu, Room, Member, str]:
        """The SFU, the room, the caller and the SFU room they belong in now (the group's,
        or their breakout's), if the caller is admitted to a group room."""
        room = await self.rooms.get(conn.identity.room)
        if room is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        if room.kind not in SFU_KINDS:
            raise Refused(Code.INVALID_STATE,
                          "This session's video is peer to peer (offer, answer, candidate).")
        me = room.members.get(conn.identity.id)
        if me is None or me.state is not MemberState.ADMITTED or me.sid != conn.sid:
            raise Refused(Code.NOT_ADMITTED)
        if self.sfu is None:
            raise Refused(Code.SFU_UNAVAILABLE)
        if not self._reconciling:
            self._reconciling = True
            self.tasks.spawn(self._reconcile_forever())
        return self.sfu, room, me, group.sfu_room(room, me.id)

    # -- events ----------------------------------------------------------------------
    async def _publish(self, conn: Connection, p: SfuOffer) -> dict[str, Any]:
        offer = RTCSessionDescription("offer", p.sdp)
        async with conn.lock:
            sfu, room, me, key = await self._caller(conn)
            async with _answering():
                await sfu.create_room(key, PUBLISHERS)
                answer = await sfu.publish(key, me.id, offer.sdp)
                # What the clinician blocks is blocked at the SFU from the first packet.
                await sfu.moderate(key, me.id, *group.blocked(room, me.id))
        # The others' offers go out once the feed is up on the SFU (``_feed_up``).
        return {"sdp": answer}

    async def _subscribe(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        async with conn.lock:
            sfu, room, me, key = await self._caller(conn)
            self.receiving[room.id].add(me.id)
            offered = []
            async with _answering():
                await sfu.create_room(key, PUBLISHERS)
                await sfu.sync(key)  # feeds published through other nodes too
                for feed in [f for f in sfu.feeds(key) if _sees(room, me, f)]:
                    if await self._offer(sfu, room, me, feed):
                        offered.append(feed)
        return {"feeds": offered}

    async def _answer(self, conn: Connection, p: SfuAnswer) -> dict[str, Any]:
        answer = RTCSessionDescription("answer", p.sdp)
        async with conn.lock:
            sfu, room, me, key = await self._caller(conn)
            async with _answering():
                await sfu.answer(key, me.id, p.feed, answer.sdp)
        return {}

    async def _trickle(self, conn: Connection, p: SfuTrickle) -> dict[str, Any]:
        candidate = RTCIceCandidate.parse(p.candidate)
        body = None
        if candidate is not None and candidate.candidate:
            body = {k: v for k, v in candidate.to_json().items() if v is not None}
        async with conn.lock:
            sfu, room, me, key = await self._caller(conn)
            async with _answering():
                await sfu.trickle(key, me.id, p.feed, body)
        return {}

    async def _leave(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        async with conn.lock:
            sfu, room, me, key = await self._caller(conn)
            self.receiving[room.id].discard(me.id)
            async with _answering():
                ended = await sfu.leave(key, me.id)
        await self._tell_gone(room, me.id, ended)
        return {}

    # -- fan-out -----------------------------------------------------------------------
    async def _offer(self, sfu: Sfu, room: Room, viewer: Member, feed: str) -> bool:
        """Subscribe ``viewer`` to ``feed`` and send them the SFU's offer, unless they
        receive it already; ``False`` if the SFU refused (the feed just went)."""
        key = group.sfu_room(room, viewer.id)
        async with self._fan_out[room.id]:
            if feed in sfu.subscriptions(key, viewer.id) or not viewer.sid:
                return False
            try:
                offer = await sfu.subscribe(key, viewer.id, feed)
            except SfuRefused as refused:
                log_event("sfu.refused", logging.WARNING, event="sfu.subscribe",
                          error=str(refused.code))
                return False
            await self.delivery.send("sfu.offer", {"feed": feed, "sdp": offer}, viewer.sid)
            return True

    def _feed_up(self, key: str, feed: str) -> None:
        self.tasks.spawn(self._offer_feed_to_all(key, feed))

    async def _offer_feed_to_all(self, key: str, feed: str) -> None:
        """Offer a new feed to everyone on this node who asked for offers and may see it."""
        if self.sfu is None:
            return
        room = await self.rooms.get(group.parent(key))
        if room is None:
            return
        for member_id in list(self.receiving.get(room.id, ())):
            viewer = room.members.get(member_id)
            if (viewer is None or viewer.id == feed or not _sees(room, viewer, feed)
                    or group.sfu_room(room, viewer.id) != key):
                continue
            try:
                await self._offer(self.sfu, room, viewer, feed)
            except SfuUnavailable:
                log_event("sfu.unavailable", logging.WARNING, event="sfu.offer")
                return
            except Exception as exc:  # a background task: log the bug by type, go on
                log_event("sfu.offer_crashed", logging.ERROR, error=type(exc).__name__)

    async def _tell_gone(self, room: Room, feed: str, ended: list[str]) -> None:
        for member_id in ended:
            member = room.members.get(member_id)
            if member is not None and member.sid:
                await self.delivery.send("sfu.gone", {"feed": feed}, member.sid)

    # -- failover (server/sfu/pool.py) ---------------------------------------------------
    def _moved(self, key: str) -> None:
        self.tasks.spawn(self._republish_all(key))

    async def _republish_all(self, key: str) -> None:
        """SFU room ``key`` was made again on another instance (its own died): everything
        anyone published or received there is gone. Each person present in it gets
        ``sfu.gone`` for the feeds they may have received, then ``sfu.republish``; their
        admission is untouched, and whoever asked for offers keeps receiving them."""
        room = await self.rooms.get(group.parent(key))
        if room is None:
            return
        here = [m for m in room.members if _present(room, m) and group.sfu_room(room, m) == key]
        for member_id in here:
            sid = room.members[member_id].sid
            if not sid or not self._here(room, member_id):
                continue  # another node tells its own (each notices the move)
            for feed in here:
                if feed != member_id:
                    await self.delivery.send("sfu.gone", {"feed": feed}, sid)
            await self.delivery.send("sfu.republish", {}, sid)

    # -- who still belongs ---------------------------------------------------------------
    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE)
            try:
                await self.reconcile()
            except (SfuUnavailable, SfuRefused):
                log_event("sfu.reconcile_failed", logging.WARNING)
            except Exception as exc:  # keep reconciling; a bug is logged, by type only
                log_event("sfu.reconcile_crashed", logging.ERROR, error=type(exc).__name__)

    async def reconcile(self) -> None:
        """Close what the SFU holds for people no longer admitted; end rooms that ended;
        make who receives whom, and what is blocked, what the group's rules say."""
        sfu = self.sfu
        if sfu is None:
            return
        for key in sfu.rooms():
            room = await self.rooms.get(group.parent(key))
            if room is None or room.status is RoomStatus.ENDED:
                await sfu.destroy_room(key)
                if key == group.parent(key):
                    self.receiving.pop(key, None)
                    self._fan_out.pop(key, None)
                    self._settling.pop(key, None)
                continue
            await self._settle(sfu, room, key)

    async def settle(self, room_id: str) -> None:
        """Apply a clinician's control now rather than at the next reconcile (each SFU
        room of the group: its own and its breakouts')."""
        sfu = self.sfu
        if sfu is None:
            return
        room = await self.rooms.get(room_id)
        if room is None:
            return
        for key in [k for k in sfu.rooms() if group.parent(k) == room_id]:
            await self._settle(sfu, room, key)

    async def _settle(self, sfu: Sfu, room: Room, key: str) -> None:
        async with self._settling[room.id]:
            fresh = await self.rooms.get(room.id)  # the pass before may have waited long
            if fresh is not None and key in sfu.rooms():
                await sfu.sync(key)
                if key in sfu.rooms():
                    await self._settle_now(sfu, fresh, key)

    def _here(self, room: Room, member_id: str) -> bool:
        """Whether ``member_id`` is present with a socket on this node."""
        return _present(room, member_id) and room.members[member_id].node == self.node

    async def _settle_now(self, sfu: Sfu, room: Room, key: str) -> None:
        receiving = self.receiving.get(room.id, set())
        for member_id in list(receiving):
            if not self._here(room, member_id):
                receiving.discard(member_id)
        local = sfu.members(key)
        for member_id in [f for f in sfu.feeds(key) if f not in local]:
            # Published through another node: a control from here holds for them too.
            if member_id in room.removed:
                await self._tell_gone(room, member_id, await sfu.kick(key, member_id))
            elif _present(room, member_id) and group.sfu_room(room, member_id) == key:
                try:
                    await sfu.moderate(key, member_id, *group.blocked(room, member_id))
                except SfuRefused as refused:
                    log_event("sfu.refused", logging.WARNING, event="moderate",
                              error=str(refused.code))
        for member_id in local:
            if member_id in room.removed:
                await self._tell_gone(room, member_id, await sfu.kick(key, member_id))
            elif not self._here(room, member_id):
                await self._tell_gone(room, member_id, await sfu.leave(key, member_id))
            elif group.sfu_room(room, member_id) != key:
                await self._move(sfu, room, key, member_id)
            else:
                try:
                    await sfu.moderate(key, member_id, *group.blocked(room, member_id))
                except SfuRefused as refused:  # one publication's trouble stops no one else's
                    log_event("sfu.refused", logging.WARNING, event="moderate",
                              error=str(refused.code))
        if key != room.id and not sfu.members(key):
            if all(group.sfu_room(room, m) != key for m in room.members):
                await sfu.destroy_room(key)  # a breakout that ended
                return
        await self._converge(sfu, room, key)

    async def _move(self, sfu: Sfu, room: Room, key: str, member_id: str) -> None:
        """Take ``member_id`` out of SFU room ``key`` (they went to a breakout or came back):
        ``sfu.gone`` for what they received there, to those who received them, and
        ``sfu.republish`` to them: they publish again, and are offered the feeds of their
        new place as they come up."""
        member = room.members[member_id]
        received = sfu.subscriptions(key, member_id)
        await self._tell_gone(room, member_id, await sfu.leave(key, member_id))
        if member.sid:
            for feed in received:
                await self.delivery.send("sfu.gone", {"feed": feed}, member.sid)
            await self.delivery.send("sfu.republish", {}, member.sid)

    async def _converge(self, sfu: Sfu, room: Room, key: str) -> None:
        """Make who receives whom in SFU room ``key`` what :func:`_sees` says now (a move
        to a side room, focus mode, a member allowed to be seen change it): close what it
        no longer allows, offer what it does."""
        feeds = sfu.feeds(key)
        for member_id in sfu.members(key):
            viewer = room.members.get(member_id)
            for feed in sfu.subscriptions(key, member_id):
                if viewer is None or not _sees(room, viewer, feed) or feed not in feeds:
                    await sfu.unsubscribe(key, member_id, feed)
                    if viewer is not None and viewer.sid:
                        await self.delivery.send("sfu.gone", {"feed": feed}, viewer.sid)
        for member_id in list(self.receiving.get(room.id, ())):
            viewer = room.members.get(member_id)
            if viewer is None or group.sfu_room(room, member_id) != key:
                continue
            for feed in feeds:
                if _sees(room, viewer, feed) and feed not in sfu.subscriptions(key, member_id):
                    await self._offer(sfu, room, viewer, feed)


def _present(room: Room, member_id: str) -> bool:
    member = room.members.get(member_id)
    return member is not None and member.state is MemberState.ADMITTED and bool(member.sid)


def _sees(room: Room, viewer: Member, feed: str) -> bool:
    """Whether ``viewer`` receives ``feed``: every admitted person on their side, in their
    place (main room or breakout), as focus mode allows (:func:`group.sees`)."""
    source = room.members.get(feed)
    return (source is not None and source.id != viewer.id
            and source.state is MemberState.ADMITTED and viewer.state is MemberState.ADMITTED
            and room.same_side(viewer, source) and group.sees(room, viewer, source))


class _answering:
    """Turns the SFU's failures into the documented codes (``E_SFU_…``)."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: object) -> bool:
        if isinstance(exc, SfuUnavailable):
            log_event("sfu.unavailable", logging.WARNING)
            raise Refused(Code.SFU_UNAVAILABLE) from exc
        if isinstance(exc, SfuRefused):
            log_event("sfu.refused", logging.WARNING, error=str(exc.code))
            raise Refused(Code.SFU_REFUSED) from exc
        return False
