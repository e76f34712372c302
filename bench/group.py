"""B6 driver: a group of eight through Janus and our server, a two-person call, a mesh of six.

    python -m bench.group URL SECRET JANUS_PID SERVER_PID TRIALS WINDOW_S

Run by :func:`bench.group_phase.b6` on CPU 1, against our server (which talks to a real Janus).
What it does, in one process:

1. Seven people open a group room (``room_kind: group``): the clinician opens it, six members
   accept the group agreement, knock and are admitted all at once; each publishes one video to
   the SFU (``sfu.publish``); the clinician receives each of the others (``sfu.subscribe``, one
   connection per feed, every ``sfu.offer`` answered), and every frame is read (decoded) and
   dropped. The six members only send: decoding 7 × 7 streams in this one process on a
   two-core box would slow every clock measured here.
2. ``TRIALS`` times, alternating: B4's two-person peer-to-peer call on the same server
   (:mod:`bench.first_frame`, join → first decoded remote frame) and the eighth member's
   join → first decoded remote frame through the SFU (connect, accept the agreement, knock,
   admitted by the clinician, publish, subscribe; the clock stops at the first frame of any
   feed; the time until a frame of every one of the seven is kept as well). Both while the
   seven keep sending, so both see the same load.
3. With eight in the room (the last eighth member stays), over ``WINDOW_S``: each member's
   uplink (``bytesSent`` of its one outbound stream, from aiortc's ``getStats``), the CPU time
   of the Janus and server processes (``/proc/PID/stat``) and the streams forwarded (the
   subscriptions open: the clinician's seven and the eighth member's seven, 14).
4. The group gone, one member of a six-person mesh: one connection to each of the five others,
   each with its own encoder (as a browser has one per connection), over the same window.

Every video is :class:`MovingVideo` (160×120, 15 frames a second, a moving pattern so that
the encoder has something to send). Caveat: the mesh is measured from one member's side (its
five peers receive only; a mesh is symmetric, so each member's uplink is the same), and the
peers swap SDP in this process, not through a server; B4's call sends aiortc's own 640×480
test track, so its first frame is a larger one than the group's.

Prints one JSON object (see :func:`main`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from fractions import Fraction
from typing import Any

import av
import socketio
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, VideoStreamTrack

from bench import first_frame
from devtools.sfu_member import SfuMember
from server.settings import Settings
from server.tokens import mint

AGREEMENT = "group-agreement-v1-en"
WIDTH, HEIGHT, FPS = 160, 120, 15
TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class MovingVideo(VideoStreamTrack):
    """160×120 at 15 frames a second: a diagonal pattern that moves one pixel a frame."""

    _row = bytes((x * 3) % 256 for x in range(WIDTH * 2))

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._t0: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._t0 is None:
            self._t0 = time.time()
        else:
            self._n += 1
            wait = self._t0 + self._n / FPS - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        k = self._n % WIDTH
        y = b"".join(self._row[(k + r) % WIDTH:(k + r) % WIDTH + WIDTH] for r in range(HEIGHT))
        frame.planes[0].update(y)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = self._n * 6000, Fraction(1, 90000)
        return frame


def cpu_s(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def bytes_sent(pc: RTCPeerConnection) -> int:
    report = await pc.getStats()
    return sum(getattr(s, "bytesSent", 0) for s in report.values()
               if getattr(s, "type", "") == "outbound-rtp")


class GroupMember(SfuMember):
    """One person in the group: a socket.io client of its own and the SFU member's connections
    (devtools/sfu_member.py), sending :class:`MovingVideo`; ``first[feed]`` is the time of the
    first decoded frame from that feed. A refused event raises: B6 measures working calls."""

    def __init__(self, url: str, token: str, pid: str) -> None:
        super().__init__(socketio.AsyncClient(reconnection=False), pid)
        self.url, self.token = url, token
        self.first: dict[str, float] = {}
        self.any_frame = asyncio.Event()
        self.admitted = asyncio.Event()
        self.sio.on("sfu.gone", self._on_gone)
        self.sio.on("admitted", lambda data: self.admitted.set())

    def tracks(self) -> list[MediaStreamTrack]:
        return [MovingVideo()]

    def on_frame(self, feed: str, kind: str, frame: Any) -> None:
        if feed not in self.first:
            self.first[feed] = time.perf_counter()
            self.any_frame.set()

    async def call(self, event: str, data: dict[str, Any], timeout: float = 15) -> dict[str, Any]:
        ack = await super().call(event, data, timeout=timeout)
        if not ack.get("ok"):
            raise RuntimeError(f"{event} refused: {ack}")
        return ack

    async def enter(self, member: bool) -> dict[str, Any]:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10, retry=False)
        if member:  # a member accepts the group agreement before the lobby
            await self.call("agreement.accept", {"version": AGREEMENT, "alias": self.id})
        return await self.call("join", {})

    async def _on_gone(self, data: dict[str, Any]) -> None:
        await self.drop(data.get("feed", ""))

    async def frames_from(self, feeds: list[str], timeout: float = TIMEOUT) -> None:
        end = time.perf_counter() + timeout
        while not all(f in self.first for f in feeds):
            if time.perf_counter() > end:
                missing = [f for f in feeds if f not in self.first]
                raise TimeoutError(f"{self.id}: no frame from {missing}")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        await super().close()
        if self.sio.connected:
            try:
                await self.sio.call("leave", {}, timeout=5)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
            await self.sio.disconnect()


class Group:
    """A group room of our server with the people in it."""

    def __init__(self, url: str, settings: Settings) -> None:
        self.url, self.settings = url, settings
        self.room = f"b6-{time.time_ns()}"
        self.people: list[GroupMember] = []

    def person(self, role: str, pid: str) -> GroupMember:
        extra: dict[str, Any] = {"room_kind": "group"} if role == "clinician" else {}
        token = mint(self.settings, sub=pid, name=pid, role=role, program="bench",
                     room=self.room, ttl=900, **extra)
        member = GroupMember(self.url, token, pid)
        self.people.append(member)
        return member

    async def open(self, members: int) -> GroupMember:
        """The clinician and ``members`` members in, admitted, publishing and subscribed, with
        a frame of everyone received by everyone."""
        clinician = self.person("clinician", "dr")
        await clinician.enter(member=False)
        others = [self.person("client", f"m{i}") for i in range(1, members + 1)]
        await asyncio.gather(*(m.enter(member=True) for m in others))
        await clinician.call("admit-all", {})
        await asyncio.wait_for(asyncio.gather(*(m.admitted.wait() for m in others)), TIMEOUT)
        for m in self.people:
            await m.publish()
        # The clinician receives everyone; the members only send (a box of two cores cannot
        # also decode 7 × 7 streams in this one process, which would slow every clock here).
        await clinician.call("sfu.subscribe", {})
        await clinician.frames_from([o.id for o in others])
        return clinician

    async def eighth(self, clinician: GroupMember, n: int) -> tuple[float, float, GroupMember]:
        """One more member, from connecting to the first decoded remote frame (ms), and to a
        frame of every one already in (ms)."""
        already = [p.id for p in self.people]
        m = self.person("client", f"e{n}")
        t0 = time.perf_counter()
        ack = await m.enter(member=True)
        if ack["you"]["state"] != "lobby":
            raise RuntimeError(f"expected the lobby: {ack['you']}")
        await clinician.call("admit", {"participant": m.id})
        await asyncio.wait_for(m.admitted.wait(), TIMEOUT)
        await m.publish()
        await m.call("sfu.subscribe", {})
        await asyncio.wait_for(m.any_frame.wait(), TIMEOUT)
        first = (min(m.first.values()) - t0) * 1000
        await m.frames_from(already)
        every = (max(m.first[f] for f in already) - t0) * 1000
        return first, every, m

    async def leave(self, m: GroupMember) -> None:
        await m.close()
        self.people.remove(m)

    async def close(self) -> None:
        await asyncio.gather(*(m.close() for m in self.people), return_exceptions=True)
        self.people.clear()


async def p2p_trial(url: str, settings: Settings, n: int) -> float:
    """B4's measure: the project's participant when it works here, else B4's own driver."""
    usable = getattr(first_frame, "Participant", None) is not None
    trial = first_frame.participant_trial if usable else first_frame.ours_trial
    return await asyncio.wait_for(trial(url, settings, 1000 + n), TIMEOUT)


async def window(group: Group, janus_pid: int, server_pid: int,
                 seconds: float) -> dict[str, Any]:
    """Uplink bytes, CPU and forwarded streams over ``seconds`` with everyone in."""
    pubs = [m.publication for m in group.people if m.publication is not None]
    streams = sum(len(m.subscriptions) for m in group.people)
    b0 = [await bytes_sent(pc) for pc in pubs]
    j0, s0, t0 = cpu_s(janus_pid), cpu_s(server_pid), time.perf_counter()
    await asyncio.sleep(seconds)
    b1 = [await bytes_sent(pc) for pc in pubs]
    j1, s1, t1 = cpu_s(janus_pid), cpu_s(server_pid), time.perf_counter()
    wall = t1 - t0
    up = sorted((b - a) / wall for a, b in zip(b0, b1, strict=True))
    return {"members": len(group.people), "forwarded_streams": streams, "window_s": wall,
            "uplink_bytes_per_s": up, "janus_cpu_s": j1 - j0, "server_cpu_s": s1 - s0}


async def mesh_member(peers: int, seconds: float) -> dict[str, Any]:
    """One member of a mesh of ``peers + 1``: a connection (and an encoder) to each other
    member; ``bytesSent`` summed over its connections."""
    senders: list[RTCPeerConnection] = []
    receivers: list[RTCPeerConnection] = []
    got: list[asyncio.Future[None]] = []
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()

    async def drain(track: MediaStreamTrack, first: asyncio.Future[None]) -> None:
        while True:
            await track.recv()
            if not first.done():
                first.set_result(None)

    try:
        for _ in range(peers):
            out = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            out.addTrack(MovingVideo())
            inn = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            first: asyncio.Future[None] = loop.create_future()
            got.append(first)

            @inn.on("track")
            def on_track(track: MediaStreamTrack, first: asyncio.Future[None] = first) -> None:
                tasks.append(asyncio.ensure_future(drain(track, first)))

            senders.append(out)
            receivers.append(inn)
            await out.setLocalDescription(await out.createOffer())
            await inn.setRemoteDescription(out.localDescription)
            await inn.setLocalDescription(await inn.createAnswer())
            await out.setRemoteDescription(inn.localDescription)
        await asyncio.wait_for(asyncio.gather(*got), TIMEOUT)
        await asyncio.sleep(1.0)  # past the first key frames, as for the group
        b0 = sum([await bytes_sent(pc) for pc in senders])
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        b1 = sum([await bytes_sent(pc) for pc in senders])
        wall = time.perf_counter() - t0
        return {"peers": peers, "window_s": wall, "uplink_bytes_per_s": (b1 - b0) / wall}
    finally:
        for task in tasks:
            task.cancel()
        for pc in [*senders, *receivers]:
            await pc.close()


async def main(url: str, secret: str, janus_pid: int, server_pid: int, trials: int,
               seconds: float) -> dict[str, Any]:
    """``{"eighth_ms", "eighth_all_ms", "p2p_ms", "window", "mesh", "failures"}``."""
    settings = Settings(jwt_secret=secret)
    failures: list[str] = []
    eighth_ms: list[float] = []
    every_ms: list[float] = []
    p2p_ms: list[float] = []
    group = Group(url, settings)
    started = time.perf_counter()
    try:
        clinician = await group.open(members=6)
        opened_s = time.perf_counter() - started
        try:  # untimed warm-up of the two-person call (imports, codecs)
            await p2p_trial(url, settings, -1)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"p2p warm-up: {type(exc).__name__}: {exc}")
        last: GroupMember | None = None
        for n in range(trials):
            try:
                p2p_ms.append(await p2p_trial(url, settings, n))
            except Exception as exc:  # noqa: BLE001
                failures.append(f"p2p: {type(exc).__name__}: {exc}")
            if last is not None:
                await group.leave(last)
                await asyncio.sleep(1.2)  # the server drops the leaver's feed (RECONCILE)
            try:
                first, every, last = await group.eighth(clinician, n)
                eighth_ms.append(first)
                every_ms.append(every)
            except Exception as exc:  # noqa: BLE001
                failures.append(f"eighth: {type(exc).__name__}: {exc}")
                last = None
        if len(group.people) < 8:
            raise RuntimeError(f"no eighth member in the room: {failures}")
        await group.people[-1].frames_from([p.id for p in group.people[:-1]])
        await clinician.frames_from([group.people[-1].id])
        await asyncio.sleep(1.0)
        measured = await window(group, janus_pid, server_pid, seconds)
    finally:
        await group.close()
    mesh = await mesh_member(5, seconds)
    return {"eighth_ms": eighth_ms, "eighth_all_ms": every_ms, "p2p_ms": p2p_ms,
            "window": measured, "mesh": mesh, "open_s": opened_s, "failures": failures}


if __name__ == "__main__":
    url_, secret_, janus_, server_, trials_, seconds_ = sys.argv[1:7]
    result = asyncio.run(main(url_, secret_, int(janus_), int(server_), int(trials_),
                              float(seconds_)))
    print(json.dumps(result), flush=True)
