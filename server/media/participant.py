"""A scriptable Python participant: joins an Alongside room and exchanges media with aiortc.

It speaks the wire contract of ``docs/protocol.md``, like the browser SDK, so a bot, a test or
a load probe can sit in a session::

    async with Participant() as me:           # sends aiortc's test video and silence
        await me.connect("http://localhost:8080", token)
        await me.join()
        await me.wait_admitted()
        frame = await me.first_frame("clin-1")

One ``RTCPeerConnection`` is kept per admitted peer, made from the room snapshots (the ``join``
ack, then each ``room`` event), replaced when that peer's ``epoch`` changes and closed when the
peer leaves.

Note: aiortc has no rollback, no ``negotiationneeded``, no ``restartIce`` and no trickle-out, so
the participant joins with ``renegotiate: false`` and never renegotiates. The server then makes
every browser the offerer toward it (``initiator``); between two Python participants the usual
rule applies (the impolite side offers) and the offerer sends one complete offer. Its SDP
carries all of its candidates; remote trickled candidates are applied as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeAlias, overload

import socketio
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaPlayer, MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, VideoFrame

log = logging.getLogger(__name__)

Kind = Literal["audio", "video"]
Frame: TypeAlias = VideoFrame | AudioFrame
Token: TypeAlias = str | Callable[[], str] | Callable[[], Awaitable[str]]
Callback: TypeAlias = Callable[[Any], Awaitable[None] | None]

KINDS: tuple[Kind, ...] = ("audio", "video")
#: Server events kept in ``Participant.events`` (plus a local ``disconnect`` with its reason).
ROOM_EVENTS = ("room", "presence", "admitted", "denied", "removed", "sent-back", "ended",
               "superseded", "expired")
#: After these the server closes the socket; the participant does not rejoin.
FINAL_EVENTS = ("removed", "ended", "superseded", "expired")
#: Signaling is owned by the participant; ``call`` refuses these.
SIGNALS = ("offer", "answer", "candidate")
_GOODBYES = ("client disconnect", "server disconnect")


class ConnectRefused(Exception):
    """The server refused the handshake; ``code`` is one of docs/protocol.md's codes."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class NotAdmitted(Exception):
    """The clinician denied or removed us, or the session ended, while we waited."""

    def __init__(self, event: str, payload: Any) -> None:
        super().__init__(event)
        self.event = event
        self.payload = payload


@dataclass(frozen=True, slots=True)
class RemoteTrack:
    """A track received from ``peer``; ``track`` is a relay of it for one consumer.

    Note: the relay keeps only the latest frame; a slow consumer skips frames instead of
    queueing them without bound.
    """

    peer: str
    kind: str
    track: MediaStreamTrack


def ice_servers_from_json(raw: Any) -> list[RTCIceServer]:
    """The ``iceServers`` of a join ack as aiortc objects; ``[]`` when there are none.

    Note: aiortc uses the first STUN and the first TURN server and skips the rest, and a
    ``turn:`` URL needs ``?transport=udp`` or ``?transport=tcp``.
    """
    servers: list[RTCIceServer] = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, Mapping) and entry.get("urls"):
            servers.append(RTCIceServer(urls=entry["urls"], username=entry.get("username"),
                                        credential=entry.get("credential")))
    return servers


def candidate_from_json(raw: Mapping[str, Any] | None) -> RTCIceCandidate | None:
    """A relayed ``RTCIceCandidateInit`` as aiortc's ``RTCIceCandidate``.

    ``None`` or an empty ``candidate`` string is the end of candidates, returned as ``None``.

    :raises ValueError: the candidate line cannot be read.
    """
    if raw is None:
        return None
    line = raw.get("candidate") or ""
    if not isinstance(line, str):
        raise ValueError("an ICE candidate must be a string")
    line = line.strip().removeprefix("a=").removeprefix("candidate:")
    if not line:
        return None
    try:
        candidate = candidate_from_sdp(line)
    except (AssertionError, IndexError, ValueError) as exc:
        raise ValueError("unreadable ICE candidate") from exc
    candidate.sdpMid = raw.get("sdpMid")
    candidate.sdpMLineIndex = raw.get("sdpMLineIndex")
    return candidate


def _ice_ufrag(sdp: str) -> str | None:
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line.partition(":")[2].strip()
    return None


@dataclass(eq=False)
class _Link:
    """Our one ``RTCPeerConnection`` with one peer, for one ``epoch`` of theirs."""

    peer: str
    epoch: int | None  # None: opened for an offer that came before the snapshot naming them
    initiator: bool
    pc: RTCPeerConnection
    pending: list[RTCIceCandidate | None] = field(default_factory=list)
    sending: bool = False
    latest: dict[str, Frame] = field(default_factory=dict)


class Participant:
    """One person in a room, scripted from Python, with real media through aiortc.

    :param tracks: what to send to every peer. Default: aiortc's ``VideoStreamTrack`` (640x480
        green) and ``AudioStreamTrack`` (silence). ``[]`` receives only.
    :param media: instead of ``tracks``, a file path or URL opened with aiortc's
        ``MediaPlayer(media, loop=True)``, or a ``MediaPlayer`` you built yourself.
    :param on_track: called with each ``RemoteTrack`` as it arrives (may be async).
    :param reconnection: let socket.io reconnect after a network drop; the participant then
        joins again, which gives it a new ``epoch`` and new peer connections.
    :param call_timeout: seconds to wait for each acknowledgement.

    Note: tracks you pass in are relayed to each peer and are never stopped by the
    participant; its own test sources and the ``media`` player's tracks are stopped by
    :meth:`close`.
    """

    def __init__(self, tracks: list[MediaStreamTrack] | None = None, *,
                 media: str | MediaPlayer | None = None,
                 on_track: Callable[[RemoteTrack], Awaitable[None] | None] | None = None,
                 reconnection: bool = True, call_timeout: float = 10.0) -> None:
        if tracks is not None and media is not None:
            raise ValueError("Pass tracks or media, not both.")
        owned: list[MediaStreamTrack] = []
        if media is not None:
            player = media if isinstance(media, MediaPlayer) else MediaPlayer(media, loop=True)
            owned = [t for t in (player.audio, player.video) if t is not None]
        elif tracks is None:
            owned = [VideoStreamTrack(), AudioStreamTrack()]
        self.local_tracks: list[MediaStreamTrack] = list(tracks) if tracks is not None else owned
        self.on_track = on_track
        #: Every ``RemoteTrack`` received, in order.
        self.remote_tracks: asyncio.Queue[RemoteTrack] = asyncio.Queue()
        #: Every room event received, as ``(event, payload)`` in arrival order. The snapshots
        #: in our own acks are kept as ``room`` entries too: the server does not send the
        #: actor its own change as an event.
        self.events: list[tuple[str, Any]] = []
        #: The newest room snapshot (from an ack or a ``room`` event).
        self.room: dict[str, Any] | None = None
        self.ice_servers: list[RTCIceServer] = []
        self._owned = owned
        self._reconnection = reconnection
        self._call_timeout = call_timeout
        # handle_sigint=False: python-engineio's own SIGINT handler would cancel every task
        # of the application and stop its loop.
        self._sio = socketio.AsyncClient(reconnection=reconnection, handle_sigint=False)
        self._links: dict[str, _Link] = {}
        self._retired: set[RTCPeerConnection] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._firsts: dict[tuple[str, str], asyncio.Future[Frame]] = {}
        self._out = MediaRelay()
        self._in = MediaRelay()
        self._tasks: set[asyncio.Task[None]] = set()
        self._callbacks: defaultdict[str, list[Callback]] = defaultdict(list)
        self._changed = asyncio.Event()
        self._join_done = asyncio.Event()
        self._join_done.set()
        self._joined = False
        self._closed = False
        self._refusal: dict[str, Any] | None = None
        self._sio.on("connect", self._on_connect)
        self._sio.on("connect_error", self._on_connect_error)
        self._sio.on("disconnect", self._on_disconnect)
        for name in ROOM_EVENTS:
            self._sio.on(name, self._room_handler(name))
        self._sio.on("offer", self._on_offer)
        self._sio.on("answer", self._on_answer)
        self._sio.on("candidate", self._on_candidate)

    async def __aenter__(self) -> Participant:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # -- what a script reads ----------------------------------------------------------
    @property
    def you(self) -> dict[str, Any]:
        """Our own entry of the latest snapshot (``id``, ``name``, ``role``, ``state``)."""
        return dict((self.room or {}).get("you") or {})

    @property
    def state(self) -> str | None:
        """``"lobby"``, ``"admitted"`` or ``None`` before the first join."""
        return self.you.get("state")

    @property
    def participants(self) -> list[dict[str, Any]]:
        """The admitted others, as in the latest snapshot."""
        return list((self.room or {}).get("participants") or [])

    @property
    def connections(self) -> dict[str, RTCPeerConnection]:
        """The current ``RTCPeerConnection`` per peer id (read ``getStats()`` from here)."""
        return {peer: link.pc for peer, link in self._links.items()}

    def on(self, event: str, callback: Callback) -> None:
        """Call ``callback(payload)`` on each ``event`` (one of ``ROOM_EVENTS``); may be async."""
        self._callbacks[event].append(callback)

    async def wait_for(self, event: str, predicate: Callable[[Any], bool] = lambda _: True,
                       timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """The first ``event`` payload, already received or coming, matching ``predicate``."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                for name, payload in self.events[seen:]:
                    if name == event and predicate(payload):
                        return payload
                seen = len(self.events)
                await changed.wait()

    async def wait_until(self, condition: Callable[[], bool],
                         timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``condition()`` holds; it is checked after every event we handle.

        For example ``await p.wait_until(lambda: "client-1" in p.connections)``.
        """
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                if condition():
                    return
                await changed.wait()

    async def stream(self) -> AsyncIterator[tuple[str, Any]]:
        """Every room event from now on, as ``(event, payload)``, until :meth:`close`."""
        seen = len(self.events)
        while not self._closed:
            changed = self._changed
            while seen < len(self.events):
                seen += 1
                yield self.events[seen - 1]
            await changed.wait()

    async def wait_admitted(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait until we are in the room.

        :raises NotAdmitted: on ``denied``, ``removed``, ``ended`` while waiting.
        """
        seen = len(self.events)
        async with asyncio.timeout(timeout):
            while self.state != "admitted":
                changed = self._changed
                for name, payload in self.events[seen:]:
                    if name in ("denied", "removed", "ended"):
                        raise NotAdmitted(name, payload)
                seen = len(self.events)
                await changed.wait()

    @overload
    async def first_frame(self, peer_id: str, kind: Literal["video"] = ...,
                          timeout: float = ...) -> VideoFrame: ...  # noqa: ASYNC109
    @overload
    async def first_frame(self, peer_id: str, kind: Literal["audio"],
                          timeout: float = ...) -> AudioFrame: ...  # noqa: ASYNC109
    async def first_frame(self, peer_id: str, kind: Kind = "video",
                          timeout: float = 10.0) -> Frame:  # noqa: ASYNC109
        """The first decoded frame of ``kind`` from ``peer_id`` on our current connection.

        Returns at once if it already came. Note: a new connection (the peer reconnected)
        starts over: the next call waits for that connection's first frame.
        """
        key = (peer_id, kind)
        future = self._firsts.get(key)
        if future is None:
            future = self._firsts[key] = asyncio.get_running_loop().create_future()
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    def latest_frame(self, peer_id: str, kind: Kind = "video") -> Frame | None:
        """The newest decoded frame of ``kind`` from ``peer_id``, if any yet."""
        link = self._links.get(peer_id)
        return link.latest.get(kind) if link else None

    def subscribe(self, peer_id: str, kind: Kind = "video", buffered: bool = False
                  ) -> MediaStreamTrack | None:
        """Another consumer's relay of ``peer_id``'s current ``kind`` track, if there is one.

        Note: ``buffered=True`` keeps every frame until read; read it or stop it.
        """
        link = self._links.get(peer_id)
        for receiver in link.pc.getReceivers() if link else []:
            if receiver.track is not None and receiver.track.kind == kind:
                return self._in.subscribe(receiver.track, buffered=buffered)
        return None

    # -- what a script does -------------------------------------------------------------
    async def connect(self, url: str, token: Token) -> None:
        """Open the socket (websocket transport only) with ``token`` in the ``auth`` payload.

        ``token`` may be a callable (sync or async) asked again on every reconnect.

        :raises ConnectRefused: the server refused the handshake (the code says why).
        """
        async def auth() -> dict[str, str]:
            value = token() if callable(token) else token
            return {"token": await value if inspect.isawaitable(value) else value}

        self._refusal = None
        try:
            await self._sio.connect(url, auth=auth, transports=["websocket"], wait_timeout=10,
                                    retry=False)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise ConnectRefused(str(self._refusal.get("code")),
                                     str(self._refusal.get("message", ""))) from exc
            raise

    async def join(self) -> dict[str, Any]:
        """Send ``join`` with ``renegotiate: false`` and return the ack.

        For anyone but a clinician this is a knock: ``ack["you"]["state"]`` is ``"lobby"``
        until the clinician admits us (see :meth:`wait_admitted`).

        Note: a join starts a new ``epoch`` for us, so every peer connection we had is closed;
        peers make new ones when they see the new epoch.
        """
        self._join_done.clear()
        self._drop_all()
        try:
            ack = await self._emit("join", {"renegotiate": False})
            self._joined = bool(ack.get("ok"))
            if self._joined:
                self.ice_servers = ice_servers_from_json(ack.get("iceServers"))
                self._apply_room(ack.get("room"))
        finally:
            self._join_done.set()
        self._reconcile()
        if self._joined:
            self._record("room", ack.get("room"))
        else:
            self._notify()
        return ack

    async def call(self, event: str, payload: Mapping[str, Any] | None = None,
                   timeout: float | None = None) -> dict[str, Any]:  # noqa: ASYNC109
        """Send any other client event (``admit``, ``lock``, tool actions...) and return its ack.

        A ``room`` in the ack is applied and recorded like a ``room`` event: the server does
        not send the actor its own change as an event.

        :raises ValueError: for ``offer``/``answer``/``candidate``, which the participant owns.
        :raises TimeoutError: no ack within ``timeout`` (default ``call_timeout``).
        """
        if event in SIGNALS:
            raise ValueError(f"{event!r} is sent by the participant itself")
        if event == "join":
            return await self.join()
        ack = await self._emit(event, dict(payload or {}), timeout)
        if ack.get("ok") and event in ("leave", "end"):
            self._joined = False
            self._drop_all()
        if ack.get("ok") and isinstance(ack.get("room"), dict):
            self._apply_room(ack["room"])
            self._record("room", ack["room"])
        else:
            self._notify()
        return ack

    async def close(self) -> None:
        """Leave the room, close every peer connection and the socket.

        Note: ``leave`` is sent first because python-engineio's client may close the websocket
        before its goodbye packet is written; the server would then keep our seat for the
        grace period as if the network had dropped.
        """
        if self._closed:
            return
        self._closed = True
        if self._joined and self._sio.connected:
            with contextlib.suppress(Exception):
                await self._emit("leave", {}, timeout=2)
        self._joined = False
        self._drop_all()
        with contextlib.suppress(Exception):
            await self._sio.shutdown()
        await asyncio.gather(*(pc.close() for pc in self._retired), return_exceptions=True)
        for track in self._owned:
            track.stop()
        # A callback may be what called close(): never cancel or wait for ourselves.
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self._notify()

    # -- socket events ------------------------------------------------------------------
    async def _emit(self, event: str, payload: dict[str, Any],
                    timeout: float | None = None) -> dict[str, Any]:  # noqa: ASYNC109
        try:
            ack = await self._sio.call(event, payload, timeout=timeout or self._call_timeout)
        except socketio.exceptions.TimeoutError:
            raise TimeoutError(f"no answer to {event!r}") from None
        return ack if isinstance(ack, dict) else {"ok": False, "error": {"code": "E_SCHEMA"}}

    async def _on_connect(self) -> None:
        if self._joined and not self._closed:  # a reconnect: we are a new epoch now
            self._spawn(self._rejoin(), "rejoin")

    async def _rejoin(self) -> None:
        ack = await self.join()
        if not ack.get("ok"):
            log.warning("rejoin refused: %s", (ack.get("error") or {}).get("code"))
            self._record("rejoin-refused", ack.get("error"))

    def _on_connect_error(self, data: Any = None) -> None:
        inner = data.get("data", data) if isinstance(data, dict) else None
        self._refusal = inner if isinstance(inner, dict) else {"code": str(data)}

    def _on_disconnect(self, reason: str = "") -> None:
        self._record("disconnect", {"reason": reason})
        if reason in _GOODBYES or not self._reconnection:
            self._joined = False
            self._drop_all()

    def _room_handler(self, name: str) -> Callable[..., None]:
        def handle(payload: Any = None) -> None:
            if name == "room":
                self._apply_room(payload)
            elif name in FINAL_EVENTS:
                self._joined = False
                self._drop_all()
            self._record(name, payload)

        return handle

    def _record(self, name: str, payload: Any) -> None:
        self.events.append((name, payload))
        for callback in self._callbacks.get(name, []):
            result = callback(payload)
            if inspect.isawaitable(result):
                self._spawn(result, f"{name} callback")
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- room snapshots -> peer connections -------------------------------------------
    def _apply_room(self, room: Any) -> None:
        """Keep the newest snapshot; reconcile links unless a join is on its way."""
        if not isinstance(room, dict):
            return
        if self.room is not None and room.get("version", 0) < self.room.get("version", 0):
            return  # an older snapshot overtaken by a newer one
        self.room = room
        if self._join_done.is_set():
            self._reconcile()

    def _reconcile(self) -> None:
        room = self.room or {}
        wanted: dict[str, dict[str, Any]] = {}
        if self._joined and not self._closed and room.get("status") == "open" \
                and (room.get("you") or {}).get("state") == "admitted":
            wanted = {p["id"]: p for p in room.get("participants") or []
                      if isinstance(p, dict) and isinstance(p.get("id"), str)}
        for peer in list(self._links):
            if peer not in wanted:
                self._drop(peer)
        for peer, info in wanted.items():
            link = self._links.get(peer)
            if link is not None and link.epoch is None:
                link.epoch = info.get("epoch")
            if link is not None and link.epoch == info.get("epoch"):
                continue
            if link is not None:
                self._drop(peer)
            if info.get("presence") != "reconnecting":  # it gets a link when it is back
                self._open(peer, info.get("epoch"), bool(info.get("initiator")))

    def _open(self, peer: str, epoch: int | None, initiator: bool) -> _Link:
        # Always explicit: with iceServers=None aiortc would ask a public STUN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=list(self.ice_servers)))
        link = _Link(peer, epoch, initiator, pc)
        self._links[peer] = link
        loop = asyncio.get_running_loop()
        for kind in KINDS:
            future = self._firsts.get((peer, kind))
            if future is None or future.done():
                self._firsts[(peer, kind)] = loop.create_future()

        def on_track(track: MediaStreamTrack) -> None:
            self._on_remote_track(link, track)

        def on_state() -> None:
            log.info("connection with %s: %s", peer, pc.connectionState)
            if pc.connectionState == "failed" and link.initiator and self._current(link):
                self._drop(peer)  # aiortc cannot restart ICE: start over with a new offer
                self._open(peer, link.epoch, True)

        pc.on("track", on_track)
        pc.on("connectionstatechange", on_state)
        if initiator:
            self._spawn(self._send_offer(link), f"offer to {peer}")
        return link

    def _drop(self, peer: str) -> None:
        link = self._links.pop(peer, None)
        if link is not None:
            self._retired.add(link.pc)
            self._spawn(self._close_pc(link.pc), f"closing {peer}")

    def _drop_all(self) -> None:
        for peer in list(self._links):
            self._drop(peer)

    async def _close_pc(self, pc: RTCPeerConnection) -> None:
        await pc.close()
        self._retired.discard(pc)

    def _current(self, link: _Link) -> bool:
        return self._links.get(link.peer) is link

    # -- signaling (serialised per peer) ----------------------------------------------
    # Note: socket.io runs each incoming event as its own task; taking the peer's lock before
    # any other await keeps one peer's signals in the order they arrived.
    async def _on_offer(self, data: Any = None) -> None:
        peer = data.get("from") if isinstance(data, dict) else None
        if not isinstance(peer, str):
            return
        async with self._locks[peer]:
            await self._join_done.wait()
            try:
                await self._answer(peer, str(data.get("sdp")))
            except Exception:
                log.warning("could not answer %s", peer, exc_info=True)

    async def _answer(self, peer: str, sdp: str) -> None:
        link = self._links.get(peer)
        if link is not None and link.pc.signalingState == "have-local-offer":
            log.warning("offer from %s while ours is pending: ignored (no rollback)", peer)
            return
        if link is None or self._needs_new_pc(link, sdp):
            epoch = link.epoch if link else None
            if link is not None:
                self._drop(peer)
            link = self._open(peer, epoch, initiator=False)
        pc = link.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._attach_local(link, answering=True)
        await self._flush(link)
        await pc.setLocalDescription(await pc.createAnswer())
        if self._current(link):
            await self._signal("answer", link, pc.localDescription.sdp)

    @staticmethod
    def _needs_new_pc(link: _Link, sdp: str) -> bool:
        """aiortc cannot restart ICE on a connection: a restart gets a fresh one."""
        remote = link.pc.remoteDescription
        return link.pc.connectionState in ("failed", "closed") or (
            remote is not None and _ice_ufrag(remote.sdp) != _ice_ufrag(sdp))

    async def _send_offer(self, link: _Link) -> None:
        async with self._locks[link.peer]:
            if not self._current(link) or link.pc.remoteDescription is not None:
                return  # gone, or the peer offered first and we answered
            self._attach_local(link, answering=False)
            await link.pc.setLocalDescription(await link.pc.createOffer())  # gathers first
            if self._current(link):
                await self._signal("offer", link, link.pc.localDescription.sdp)

    async def _on_answer(self, data: Any = None) -> None:
        peer = data.get("from") if isinstance(data, dict) else None
        if not isinstance(peer, str):
            return
        async with self._locks[peer]:
            link = self._links.get(peer)
            if link is None or link.pc.signalingState != "have-local-offer":
                log.info("answer from %s without an offer of ours: ignored", peer)
                return
            try:
                await link.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=str(data.get("sdp")), type="answer"))
                await self._flush(link)
            except Exception:
                log.warning("could not apply the answer of %s", peer, exc_info=True)

    async def _on_candidate(self, data: Any = None) -> None:
        peer = data.get("from") if isinstance(data, dict) else None
        if not isinstance(peer, str):
            return
        async with self._locks[peer]:
            link = self._links.get(peer)
            if link is None:
                return  # for a connection we already closed
            try:
                candidate = candidate_from_json(data.get("candidate"))
            except ValueError:
                log.info("unreadable candidate from %s: ignored", peer)
                return
            if link.pc.remoteDescription is None:
                link.pending.append(candidate)
                return
            with contextlib.suppress(Exception):
                await link.pc.addIceCandidate(candidate)

    async def _flush(self, link: _Link) -> None:
        pending, link.pending = link.pending, []
        for candidate in pending:
            with contextlib.suppress(Exception):
                await link.pc.addIceCandidate(candidate)

    async def _signal(self, event: str, link: _Link, sdp: str) -> None:
        ack = await self._emit(event, {"to": link.peer, "sdp": sdp})
        if not ack.get("ok"):
            log.info("%s to %s refused: %s", event, link.peer,
                     (ack.get("error") or {}).get("code"))

    def _attach_local(self, link: _Link, answering: bool) -> None:
        """Send our tracks on ``link``, each through its own relay (one source, many peers).

        Note: an answer can only send what the offer made room for; a browser that sends
        nothing must still offer a ``recvonly`` transceiver of each kind it wants.
        """
        if link.sending:
            return
        link.sending = True
        pc = link.pc
        for track in self.local_tracks:
            free = any(t.kind == track.kind and t.sender.track is None
                       for t in pc.getTransceivers())
            if answering and not free:
                log.info("%s offered no %s slot: not sending it", link.peer, track.kind)
                continue
            pc.addTrack(self._out.subscribe(track, buffered=False))
        if not answering:
            for kind in {*KINDS} - {t.kind for t in self.local_tracks}:
                pc.addTransceiver(kind, direction="recvonly")

    # -- remote media ------------------------------------------------------------------
    def _on_remote_track(self, link: _Link, track: MediaStreamTrack) -> None:
        if not self._current(link):
            return
        self._spawn(self._sink(link, track), f"{track.kind} from {link.peer}")
        remote = RemoteTrack(link.peer, track.kind, self._in.subscribe(track, buffered=False))
        self.remote_tracks.put_nowait(remote)
        if self.on_track is not None:
            result = self.on_track(remote)
            if inspect.isawaitable(result):
                self._spawn(result, "on_track")

    async def _sink(self, link: _Link, track: MediaStreamTrack) -> None:
        """Read every decoded frame (else aiortc queues them without bound); keep the first."""
        proxy = self._in.subscribe(track, buffered=False)
        first = self._firsts[(link.peer, track.kind)]
        try:
            while True:
                frame = await proxy.recv()
                if not isinstance(frame, VideoFrame | AudioFrame) or not self._current(link):
                    continue
                link.latest[track.kind] = frame
                if not first.done():
                    first.set_result(frame)
        except MediaStreamError:
            pass
        finally:
            proxy.stop()

    def _spawn(self, work: Awaitable[Any], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.warning("%s failed", what, exc_info=True)

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = ["ConnectRefused", "NotAdmitted", "Participant", "RemoteTrack", "candidate_from_json",
           "ice_servers_from_json"]
