"""The :class:`~server.sfu.api.Sfu` adapter for Janus's VideoRoom plugin (Janus 1.1.x).

Each Alongside group room becomes one VideoRoom with a random string id, its own random
``secret`` (for destroy, kick, allowed) and ``pin`` (to join), ``is_private`` (not listed),
``require_pvtid`` (a subscriber must name the private id of a publisher of that room) and an
``allowed`` list holding one random token per member, so nobody joins it without Alongside.
The member ids Alongside uses never reach Janus: publishers get random ids too (a fresh
one for each publication), and no display names are sent.

One Janus session per process carries every handle: a control handle for the room
requests, one publisher handle per member, one subscriber handle per (member, feed).

In a cluster (``records``, :mod:`server.store.placements`) the VideoRoom is shared: its id,
secret, pin and each member's token and publisher id are in the store, written by the node
that makes the room and by each node for the members connected to it. Every node opens its
own handles in the same VideoRoom; :meth:`JanusSfu.refresh` reads the record and asks Janus
(``listparticipants``) which publications are up, so a node subscribes its members to feeds
published through other nodes, and can moderate and kick a member connected elsewhere (all
that needs is the room's secret and the member's publisher id).

Note: when the WebSocket to Janus closes, Janus destroys the session and its handles
(``reclaim_session_timeout`` 0): the adapter forgets every member's handles and opens a
new session at the next call; rooms are checked with ``exists`` and made again if Janus
itself restarted. Members must then publish again (docs/groups.md).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from server.sfu.api import FeedListener, MovedListener, SfuRefused, SfuUnavailable
from server.sfu.janus_session import KEEPALIVE, JanusSession
from server.store.placements import Engine, Placement, Placements, Seat

PLUGIN = "janus.plugin.videoroom"
ROOM_EXISTS = 427  # JANUS_VIDEOROOM_ERROR_ROOM_EXISTS
PUBLISHERS = 17  # a group's seats (two clinicians, fifteen members); create_room may ask more


def _random() -> str:
    return secrets.token_urlsafe(18)


def _feed_id() -> str:
    return secrets.token_hex(8)


def fresh_engine(publishers: int = PUBLISHERS) -> Engine:
    """A new VideoRoom's id, secret and pin, all random (nothing of an earlier one)."""
    return Engine(_random(), _random(), _random(), publishers)


def _mids(sdp: str) -> dict[str, list[str]]:
    """The mid of each audio and video m-line of an SDP (what ``moderate`` names)."""
    mids: dict[str, list[str]] = {}
    kind = ""
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
        elif line.startswith("a=mid:") and kind in ("audio", "video"):
            mids.setdefault(kind, []).append(line[len("a=mid:"):].strip())
    return mids


def _scrubbed(sdp: str) -> str:
    """Janus's SDP without the room id it writes into the session name (``s=VideoRoom
    <id>``): the room id is a capability to know, so it stays on the server."""
    return "\r\n".join("s=-" if line.startswith("s=") else line for line in sdp.split("\r\n"))


@dataclass
class _Member:
    token: str = field(default_factory=_random)
    feed_id: str = field(default_factory=_feed_id)  # Janus publisher id, fresh per handle
    publisher: int | None = None  # handle
    private_id: Any = None
    publishing: bool = False  # offered and answered
    live: bool = False  # Janus said webrtcup: others may subscribe
    subscriptions: dict[str, int] = field(default_factory=dict)  # feed member -> handle
    subscribed: dict[str, str] = field(default_factory=dict)  # feed member -> its publisher id
    mids: dict[str, list[str]] = field(default_factory=dict)  # kind -> its m-lines' mids
    blocked: tuple[bool, bool] = (False, False)  # (audio, video) wanted blocked
    applied: tuple[bool, bool] = (False, False)  # what Janus holds for this publication


@dataclass
class _Room:
    janus_id: str = field(default_factory=_random)
    secret: str = field(default_factory=_random)
    pin: str = field(default_factory=_random)
    publishers: int = 16
    members: dict[str, _Member] = field(default_factory=dict)
    made_on: int = 0  # the session id it was last checked on
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # From the shared record (cluster): every member's seat as last read, the feeds up
    # through other nodes (member -> publisher id), and what this node last asked Janus to
    # block of each of those (publisher id, (audio, video)).
    seats: dict[str, Seat] = field(default_factory=dict)
    remote: dict[str, str] = field(default_factory=dict)
    remote_blocked: dict[str, tuple[str, tuple[bool, bool]]] = field(default_factory=dict)


class JanusSfu:
    """Janus's VideoRoom behind :class:`~server.sfu.api.Sfu`.

    :param urls: WebSocket URLs (``ws://127.0.0.1:8188``); the first one that answers is
        used. Several instances with placement and failover: :class:`server.sfu.pool.SfuPool`,
        which holds one :class:`JanusSfu` per instance.
    :param api_secret: Janus's ``api_secret``.
    :param admin_key: the VideoRoom's ``admin_key``, needed to create rooms when set.
    :param keepalive: seconds between keepalives; under Janus's ``session_timeout``.
    :param records: where the VideoRooms are recorded for every node (``None``: in this
        process only); the room's placement (:meth:`adopt`) comes first, from the pool.
    """

    def __init__(self, urls: Sequence[str], api_secret: str, admin_key: str = "",
                 timeout: float = 10.0, keepalive: float = KEEPALIVE,
                 records: Placements | None = None) -> None:
        self.urls = tuple(urls)
        self.records = records
        self.api_secret = api_secret
        self.admin_key = admin_key
        self.timeout = timeout
        self.keepalive = keepalive
        self._session: JanusSession | None = None
        self._control: int | None = None
        self._connecting = asyncio.Lock()
        self._rooms: dict[str, _Room] = {}
        self.on_feed: FeedListener = lambda room, member: None
        self.on_moved: MovedListener = lambda room: None  # one instance alone never moves a room
        self._closed = False  # after close(), nothing connects again (shutdown)

    # -- the session -----------------------------------------------------------------
    async def _live(self) -> tuple[JanusSession, int]:
        """The session and its control handle, opened again if the last one died."""
        async with self._connecting:
            if self._closed:
                raise SfuUnavailable("the adapter is closed")
            if self._session is None or self._session.closed or self._control is None:
                if self._session is not None:
                    await self._session.close()
                    self._forget_handles()
                self._session = None
                self._control = None
                failures = []
                for url in self.urls:
                    try:
                        session = await JanusSession.open(url, self.api_secret, self.timeout,
                                                          self.keepalive)
                        session.on_event = self._on_event
                        self._control = await session.attach(PLUGIN)
                        self._session = session
                        break
                    except SfuUnavailable as exc:
                        failures.append(str(exc))
                    except SfuRefused as exc:  # a wrong api_secret: misconfigured, not a blip
                        failures.append(f"refused ({exc.code})")
                if self._session is None or self._control is None:
                    raise SfuUnavailable("no Janus answered: " + ", ".join(failures))
            return self._session, self._control

    def _on_event(self, handle: int | None, message: dict[str, Any]) -> None:
        """Janus's own news: a publisher's media is up (``webrtcup``) or gone (``hangup``)."""
        kind = message.get("janus")
        if handle is None or kind not in ("webrtcup", "hangup"):
            return
        for room_id, room in self._rooms.items():
            for member_id, member in room.members.items():
                if member.publisher == handle and member.publishing:
                    member.live = kind == "webrtcup"
                    if member.live:
                        self.on_feed(room_id, member_id)
                    return

    def _forget_handles(self) -> None:
        for room in self._rooms.values():
            room.made_on = 0
            for member in room.members.values():
                member.publisher = None
                member.private_id = None
                member.publishing = False
                member.live = False
                member.applied = (False, False)
                member.subscriptions.clear()
                member.subscribed.clear()
            room.remote_blocked.clear()

    # -- what a pool asks (server/sfu/pool.py) -----------------------------------------
    @property
    def alive(self) -> bool:
        """Whether the session is up right now (its WebSocket open): a killed Janus closes
        the socket at once, a hung one once a request or keepalive times out."""
        return self._session is not None and not self._session.closed

    @property
    def session_id(self) -> int:
        """The live session's id (0: none). A new one means Janus forgot every handle."""
        return self._session.session_id if self.alive and self._session is not None else 0

    async def connect(self) -> None:
        """Open the session now if it is down; raises :class:`SfuUnavailable`."""
        await self._live()

    def forget(self, room: str) -> None:
        """Drop what this process holds for ``room`` without asking Janus (it is dead, or
        the room is moving away): the room's ids, secret, pin and tokens are never reused."""
        self._rooms.pop(room, None)

    async def release(self, room: str) -> None:
        """Close this node's handles in ``room`` and forget it, leaving the VideoRoom itself
        to the others (another node made it again elsewhere)."""
        known = self._rooms.pop(room, None)
        if known is None or not self.alive or self._session is None:
            return
        async with known.lock:
            for member in known.members.values():
                await self._drop_handles(self._session, member)

    def adopt(self, room: str, placement: Placement) -> None:
        """Use the VideoRoom ``placement`` records for ``room`` (made by this node or
        another, before or after a restart): its id, secret, pin and the members' tokens.
        Janus is asked at the next call whether it still has it (it is made again with the
        same ids if that Janus restarted)."""
        engine = placement.engine
        assert engine is not None, "a placement to adopt names its VideoRoom"
        known = self._rooms.get(room)
        if known is not None and known.janus_id == engine.id:
            return
        self._rooms[room] = _Room(
            janus_id=engine.id, secret=engine.secret, pin=engine.pin,
            publishers=engine.publishers, seats=dict(placement.seats),
            members={m: _Member(token=seat.token) for m, seat in placement.seats.items()
                     if seat.token})

    async def sync(self, room: str) -> None:
        await self.refresh(room)

    async def refresh(self, room: str) -> bool:
        """Learn what the other nodes did in ``room``: the members' seats (a token
        withdrawn, a new publication) and which feeds are up through them (Janus's
        ``listparticipants``). A subscription to an earlier publication of a feed is closed
        (the caller offers the current one). ``False`` when the record names another
        VideoRoom now (made again elsewhere) or says it ended: the caller lets go of it."""
        known = self._rooms.get(room)
        if known is None or self.records is None:
            return True
        record = await self.records.get(room)
        if (record is None or record.ended or record.engine is None
                or record.engine.id != known.janus_id):
            return False
        known, session = await self._ensure(room)
        data, _ = await session.message(self._control_handle(), {
            "request": "listparticipants", "room": known.janus_id})
        up = {str(p.get("id")) for p in data.get("participants", []) if p.get("publisher")}
        async with known.lock:
            known.seats = dict(record.seats)
            for member_id in list(known.members):
                state = known.members[member_id]
                seat = record.seats.get(member_id)
                if state.publisher is not None or state.subscriptions:
                    continue  # this node's own member: what it holds is the truth
                if seat is None:
                    del known.members[member_id]  # kicked through another node
                else:
                    state.token = seat.token or _random()  # "": withdrawn, unusable here
            for member_id, seat in record.seats.items():
                if member_id not in known.members and seat.token:
                    known.members[member_id] = _Member(token=seat.token)
            known.remote = {
                m: seat.feed for m, seat in record.seats.items()
                if seat.feed in up and known.members.get(m, _Member()).publisher is None}
            for m in [m for m, (feed, _) in known.remote_blocked.items()
                      if known.remote.get(m) != feed]:
                del known.remote_blocked[m]
            for state in known.members.values():
                for feed, handle in list(state.subscriptions.items()):
                    current = self._publisher_id(known, feed)
                    if current is not None and current != state.subscribed.get(feed):
                        await session.detach(handle)  # an earlier publication of that feed
                        del state.subscriptions[feed]
                        state.subscribed.pop(feed, None)
        return True

    def _publisher_id(self, known: _Room, feed: str) -> str | None:
        """The Janus publisher id of ``feed``'s publication that is up now, if one is:
        through this node or, as last synced, another."""
        source = known.members.get(feed)
        if source is not None and source.publisher is not None:
            return source.feed_id if source.live else None
        return known.remote.get(feed)

    async def _seat(self, room: str, known: _Room, member: str, state: _Member | None) -> None:
        """Write ``member``'s seat to the shared record (``None``: they have none now)."""
        if self.records is None:
            return
        seat = None if state is None else Seat(state.token, state.feed_id if state.publisher
                                               is not None else "", dict(state.mids))
        if seat is None:
            known.seats.pop(member, None)
        else:
            known.seats[member] = seat
        await self.records.seat(room, known.janus_id, member, seat)

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._control = None

    # -- rooms -----------------------------------------------------------------------
    async def _ensure(self, room_id: str, publishers: int = 16) -> tuple[_Room, JanusSession]:
        """The room, made on Janus if this session has not checked it yet."""
        session, control = await self._live()
        room = self._rooms.setdefault(room_id, _Room(publishers=publishers))
        if room.made_on == session.session_id:
            return room, session
        exists, _ = await session.message(control, {"request": "exists",
                                                    "room": room.janus_id})
        if not exists.get("exists"):
            body: dict[str, Any] = {
                "request": "create", "room": room.janus_id, "permanent": False,
                "secret": room.secret, "pin": room.pin, "is_private": True,
                "require_pvtid": True, "publishers": room.publishers,
                "allowed": [m.token for m in room.members.values() if m.token],
                "notify_joining": False, "audiocodec": "opus", "videocodec": "vp8"}
            if self.admin_key:
                body["admin_key"] = self.admin_key
            try:
                await session.message(control, body)
            except SfuRefused as refused:
                # Two calls for a new room raced (everyone publishes again at once after a
                # move): the other one made it, with this same id and secret.
                if refused.code != ROOM_EXISTS:
                    raise
        room.made_on = session.session_id
        return room, session

    async def create_room(self, room: str, publishers: int) -> None:
        if room in self._rooms:
            self._rooms[room].publishers = max(self._rooms[room].publishers, publishers)
        await self._ensure(room, publishers)

    async def destroy_room(self, room: str) -> None:
        known = self._rooms.pop(room, None)
        if known is None:
            return
        if self.records is not None:  # whichever node ends it: no node uses it again
            await self.records.end(room, known.janus_id)
        if self._session is None or self._session.closed:
            return
        async with known.lock:
            session, control = await self._live()
            for member in known.members.values():
                await self._drop_handles(session, member)
            try:
                await session.message(control, {"request": "destroy", "room": known.janus_id,
                                                "secret": known.secret})
            except SfuRefused:
                pass  # already gone (Janus restarted)

    def _room(self, room: str) -> _Room:
        known = self._rooms.get(room)
        if known is None:
            raise SfuRefused("no such room on this node")
        return known

    async def allow(self, room: str, member: str) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            await self._allow(room, known, session, member)

    async def _allow(self, room: str, known: _Room, session: JanusSession,
                     member: str) -> _Member:
        state = known.members.get(member)
        if state is None:
            state = known.members[member] = _Member()
        if not state.token:
            state.token = _random()
        await session.message(self._control_handle(), {
            "request": "allowed", "room": known.janus_id, "secret": known.secret,
            "action": "add", "allowed": [state.token]})
        await self._seat(room, known, member, state)
        return state

    def _control_handle(self) -> int:
        if self._control is None:
            raise SfuUnavailable("no Janus session")
        return self._control

    async def forbid(self, room: str, member: str) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            await self._forbid(room, known, session, member)

    async def _forbid(self, room: str, known: _Room, session: JanusSession,
                      member: str) -> None:
        """Withdraw ``member``'s token, known to this node or recorded by another."""
        state = known.members.get(member)
        seat = known.seats.get(member)
        tokens = {t for t in (state.token if state else "", seat.token if seat else "") if t}
        if not tokens:
            return
        await session.message(self._control_handle(), {
            "request": "allowed", "room": known.janus_id, "secret": known.secret,
            "action": "remove", "allowed": sorted(tokens)})
        if state is not None:
            state.token = _random()  # a new one only if allowed again
        if seat is not None and self.records is not None:
            known.seats[member] = Seat("", seat.feed, seat.mids)
            await self.records.seat(room, known.janus_id, member, known.seats[member])

    # -- a member's media --------------------------------------------------------------
    async def join(self, room: str, member: str) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            await self._join(room, known, session, member)

    async def _join(self, room: str, known: _Room, session: JanusSession,
                    member: str) -> _Member:
        state = known.members.get(member)
        if state is None or state.token == "":
            state = await self._allow(room, known, session, member)
        if state.publisher is not None:
            return state
        # A fresh publisher id for each publication: another node's subscription to an
        # earlier one is then told apart from the current one (sync).
        state.feed_id = _feed_id()
        handle = await session.attach(PLUGIN)
        try:
            joined, _ = await session.message(handle, {
                "request": "join", "ptype": "publisher", "room": known.janus_id,
                "id": state.feed_id, "pin": known.pin, "token": state.token})
        except BaseException:
            await session.detach(handle)
            raise
        state.publisher = handle
        state.private_id = joined.get("private_id")
        state.mids = {}
        await self._seat(room, known, member, state)
        return state

    async def publish(self, room: str, member: str, offer: str) -> str:
        known, session = await self._ensure(room)
        async with known.lock:
            state = await self._join(room, known, session, member)
            assert state.publisher is not None
            _, jsep = await session.message(state.publisher, {"request": "publish"},
                                            {"type": "offer", "sdp": offer})
            if not jsep or jsep.get("type") != "answer":
                raise SfuRefused("no answer to the offer")
            state.publishing = True
            state.mids = _mids(str(jsep["sdp"]))
            state.applied = (False, False)  # a new publication: nothing blocked on it yet
            await self._seat(room, known, member, state)  # its m-lines, for other nodes
            await self._moderate(known, session, state)
            return _scrubbed(str(jsep["sdp"]))

    async def moderate(self, room: str, member: str, audio: bool, video: bool) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            state = known.members.get(member)
            if (state is None or state.publisher is None) and member in known.remote:
                await self._moderate_remote(known, session, member, (audio, video))
                return
            if state is None:
                return  # not allowed in yet; the caller says it again once they publish
            state.blocked = (audio, video)
            await self._moderate(known, session, state)

    async def _moderate_remote(self, known: _Room, session: JanusSession, member: str,
                               blocked: tuple[bool, bool]) -> None:
        """Block a publication made through another node, by its publisher id and the
        m-lines that node recorded (its own node applies the same rule at its next pass)."""
        feed = known.remote[member]
        seat = known.seats.get(member)
        if seat is None or known.remote_blocked.get(member) == (feed, blocked):
            return
        await self._send_moderate(known, session, feed, seat.mids, blocked)
        known.remote_blocked[member] = (feed, blocked)

    async def _moderate(self, known: _Room, session: JanusSession, state: _Member) -> None:
        """Make what Janus blocks of a publication what is wanted (VideoRoom ``moderate``,
        one request per m-line that changes)."""
        if not state.publishing or state.applied == state.blocked:
            return
        await self._send_moderate(known, session, state.feed_id, state.mids, state.blocked,
                                  state.applied)
        state.applied = state.blocked

    async def _send_moderate(self, known: _Room, session: JanusSession, feed_id: str,
                             mids: dict[str, list[str]], blocked: tuple[bool, bool],
                             applied: tuple[bool, bool] | None = None) -> None:
        """One VideoRoom ``moderate`` per m-line of publication ``feed_id``, for each kind
        (audio, video) whose block differs from ``applied`` (``None``: every kind)."""
        for index, kind in enumerate(("audio", "video")):
            if applied is not None and applied[index] == blocked[index]:
                continue
            for mid in mids.get(kind, []):
                await session.message(self._control_handle(), {
                    "request": "moderate", "room": known.janus_id, "secret": known.secret,
                    "id": feed_id, "mid": mid, "mute": blocked[index]})

    async def subscribe(self, room: str, member: str, feed: str) -> str:
        known, session = await self._ensure(room)
        async with known.lock:
            state = await self._join(room, known, session, member)
            publisher_id = self._publisher_id(known, feed)
            if publisher_id is None:
                raise SfuRefused("that feed is not published")
            old = state.subscriptions.pop(feed, None)
            if old is not None:
                await session.detach(old)
            handle = await session.attach(PLUGIN)
            try:
                _, jsep = await session.message(handle, {
                    "request": "join", "ptype": "subscriber", "room": known.janus_id,
                    "pin": known.pin, "private_id": state.private_id,
                    "streams": [{"feed": publisher_id}]})
            except BaseException:
                await session.detach(handle)
                raise
            if not jsep or jsep.get("type") != "offer":
                await session.detach(handle)
                raise SfuRefused("no offer for the subscription")
            state.subscriptions[feed] = handle
            state.subscribed[feed] = publisher_id
            return _scrubbed(str(jsep["sdp"]))

    async def unsubscribe(self, room: str, member: str, feed: str) -> None:
        known = self._rooms.get(room)
        if known is None:
            return
        session, _ = await self._live()
        async with known.lock:
            state = known.members.get(member)
            handle = state.subscriptions.pop(feed, None) if state else None
            if state is not None:
                state.subscribed.pop(feed, None)
            if handle is not None:
                await session.detach(handle)

    async def answer(self, room: str, member: str, feed: str, sdp: str) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            handle = self._subscription(known, member, feed)
            await session.message(handle, {"request": "start"}, {"type": "answer", "sdp": sdp})

    def _subscription(self, known: _Room, member: str, feed: str) -> int:
        state = known.members.get(member)
        handle = state.subscriptions.get(feed) if state else None
        if handle is None:
            raise SfuRefused("no subscription to that feed")
        return handle

    async def trickle(self, room: str, member: str, feed: str | None,
                      candidate: dict[str, Any] | None) -> None:
        known, session = await self._ensure(room)
        async with known.lock:
            if feed is None:
                state = known.members.get(member)
                if state is None or state.publisher is None:
                    raise SfuRefused("not publishing")
                handle = state.publisher
            else:
                handle = self._subscription(known, member, feed)
            await session.trickle(handle, candidate)

    async def leave(self, room: str, member: str) -> list[str]:
        known = self._rooms.get(room)
        if known is None:
            return []
        session, _ = await self._live()
        async with known.lock:
            return await self._leave(known, session, member)

    async def _leave(self, known: _Room, session: JanusSession, member: str) -> list[str]:
        state = known.members.get(member)
        ended = []
        for other_id, other in known.members.items():
            handle = other.subscriptions.pop(member, None)
            other.subscribed.pop(member, None)
            if handle is not None:
                await session.detach(handle)
                ended.append(other_id)
        if state is not None:
            await self._drop_handles(session, state)
        return ended

    async def _drop_handles(self, session: JanusSession, state: _Member) -> None:
        for handle in state.subscriptions.values():
            await session.detach(handle)
        state.subscriptions.clear()
        state.subscribed.clear()
        if state.publisher is not None:
            await session.detach(state.publisher)  # Janus makes it leave the room
        state.publisher = None
        state.private_id = None
        state.publishing = False
        state.live = False
        state.applied = (False, False)

    async def kick(self, room: str, member: str) -> list[str]:
        known = self._rooms.get(room)
        if known is None:
            return []
        session, control = await self._live()
        async with known.lock:
            state = known.members.get(member)
            if state is None and member not in known.seats:
                return []
            await self._forbid(room, known, session, member)
            # Their publication, through this node or another (the secret is all it takes).
            feed = state.feed_id if state is not None and state.publisher is not None \
                else known.remote.pop(member, None)
            if feed is not None:
                try:
                    await session.message(control, {"request": "kick", "room": known.janus_id,
                                                    "secret": known.secret, "id": feed})
                except SfuRefused:
                    pass  # already out
            ended = await self._leave(known, session, member)
            known.members.pop(member, None)
            await self._seat(room, known, member, None)
            return ended

    # -- what this node knows ----------------------------------------------------------
    def feeds(self, room: str) -> list[str]:
        known = self._rooms.get(room)
        if known is None:
            return []
        local = [m for m, s in known.members.items() if s.live]
        return local + [m for m in known.remote if m not in local]

    def subscriptions(self, room: str, member: str) -> list[str]:
        known = self._rooms.get(room)
        state = known.members.get(member) if known else None
        return list(state.subscriptions) if state else []

    def rooms(self) -> list[str]:
        return list(self._rooms)

    def members(self, room: str) -> list[str]:
        known = self._rooms.get(room)
        return [m for m, s in known.members.items()
                if s.publisher is not None or s.subscriptions] if known else []
