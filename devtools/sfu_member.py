"""One person in a group room as an aiortc client of Alongside's SFU path (``sfu.*`` events).

The tests' ``Member`` (tests/janus_fixtures.py) and B6's ``GroupMember`` (bench/group.py) are
this class with their own socket and their own bookkeeping. It publishes one connection
(``sfu.publish``), answers every ``sfu.offer`` at once with a connection per feed, and reads
every received track so that frames never pile up; ``frames[feed]`` resolves with the first
video frame of a feed. What a member sends, which tracks it reads and what it notes of each
frame or signal are hooks (:meth:`tracks`, :meth:`reads`, :meth:`on_frame`, :meth:`note`).

Note: aiortc has no trickle-out and no rollback, so an offer is answered whole and a feed
offered again gets a new connection (the old one is closed first), as docs/groups.md says the
browser SDK does too. Connections pass ``iceServers=[]``: aiortc otherwise asks a public STUN
server, and every peer here is on the loopback.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError


class SmallVideo(VideoStreamTrack):
    """160x120 grey frames: enough to prove media flows, cheap to encode on a shared box."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(160, 120, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, Fraction(time_base)
        return frame


class SfuMember:
    """A publication and one subscription per feed, signaled over ``sio``.

    ``subscriptions[feed]`` is the connection that receives ``feed``; ``answers`` keeps the
    ack of every ``sfu.answer``. The socket is the caller's: connecting, joining and leaving
    the room are theirs, :meth:`close` closes only the media.
    """

    def __init__(self, sio: socketio.AsyncClient, pid: str) -> None:
        self.sio = sio
        self.id = pid
        self.publication: RTCPeerConnection | None = None
        self.subscriptions: dict[str, RTCPeerConnection] = {}
        self.frames: dict[str, asyncio.Future[Any]] = {}
        self.answers: list[dict[str, Any]] = []
        self._readers: list[asyncio.Task[None]] = []
        sio.on("sfu.offer", self._on_offer)

    # Hooks ---------------------------------------------------------------------------------

    def tracks(self) -> list[MediaStreamTrack]:
        """What this member publishes: a small video (a subclass may add audio, or move)."""
        return [SmallVideo()]

    def reads(self, kind: str) -> bool:
        """Whether a received track of ``kind`` is read (video; a subclass may add audio)."""
        return kind == "video"

    def on_frame(self, feed: str, kind: str, frame: Any) -> None:
        """Each frame read from ``feed``: the first video one resolves ``frame_from(feed)``."""
        if kind == "video":
            first = self.frame_from(feed)  # the one asked for now (frames may be cleared)
            if not first.done():
                first.set_result(frame)

    def note(self, event: str, data: Any) -> None:
        """A signal this member handled itself (an offer, the publish ack): nothing here; a
        test keeps them with what the person received, to scan for leaks."""

    async def call(self, event: str, data: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """An event and its ack (a subclass may refuse to go on when it is not ok)."""
        ack: dict[str, Any] = await self.sio.call(event, data, timeout=timeout)
        return ack

    # Media ---------------------------------------------------------------------------------

    def frame_from(self, feed: str) -> asyncio.Future[Any]:
        if feed not in self.frames:
            self.frames[feed] = asyncio.get_running_loop().create_future()
        return self.frames[feed]

    async def publish(self) -> dict[str, Any]:
        """Publish :meth:`tracks` on a new connection (an earlier one is closed: a breakout or
        a move publishes again); the ack, whose ``sdp`` is Janus's answer when ``ok``."""
        if self.publication is not None:
            await self.publication.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.publication = pc
        for track in self.tracks():
            pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.call("sfu.publish", {"sdp": pc.localDescription.sdp})
        self.note("ack:sfu.publish", ack)
        if ack.get("ok"):
            await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        return ack

    async def drop(self, feed: str) -> None:
        """Stop receiving ``feed`` (its ``sfu.gone``): close its connection, forget its frame."""
        pc = self.subscriptions.pop(feed, None)
        self.frames.pop(feed, None)
        if pc is not None:
            await pc.close()

    async def _on_offer(self, data: dict[str, Any]) -> None:
        self.note("sfu.offer", data)
        feed = data["feed"]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        old = self.subscriptions.pop(feed, None)
        if old is not None:
            await old.close()
        self.subscriptions[feed] = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if self.reads(track.kind):
                self._readers.append(asyncio.ensure_future(self._read(track, feed)))

        await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.answers.append(await self.call("sfu.answer",
                                            {"feed": feed, "sdp": pc.localDescription.sdp}))

    async def _read(self, track: MediaStreamTrack, feed: str) -> None:
        try:
            while True:  # keep reading: frames must not pile up
                self.on_frame(feed, track.kind, await track.recv())
        except MediaStreamError:  # its connection closed (sfu.gone, a move, the end)
            return

    async def close(self) -> None:
        """Close every connection of this member (not its socket)."""
        for task in self._readers:
            task.cancel()
        for pc in [*self.subscriptions.values(), *([self.publication] if self.publication
                                                   else [])]:
            await pc.close()
