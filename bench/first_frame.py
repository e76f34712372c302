"""B4: join to first decoded remote video frame, two aiortc peers.

    python -m bench.first_frame URL SECRET TRIALS

``ours``: a clinician and a client connect to our server with their tokens, join
(the client knocks and is admitted), the initiator offers through the server,
the other answers through it; the clock stops when the client decodes its first
frame from the clinician. Both people are the project's own Python participant
(``server.media.participant.Participant``, one 640x480 test video track each)
when it imports, else the small aiortc driver below (``Member``). ``direct``
(D0): two aiortc peers with the same one video track each, SDP handed over by
direct calls in this process. Trials alternate between the two. ``iceServers=[]``
so aiortc gathers host candidates only (no STUN wait).

Prints one JSON object: {"ours_ms": [...], "direct_ms": [...], "failures": n}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack, VideoStreamTrack

from server.settings import Settings
from server.tokens import mint

try:
    from server.media.participant import Participant
except Exception:  # noqa: BLE001 - not there (or broken): drive aiortc ourselves
    Participant = None

TRIAL_TIMEOUT = 15.0


class Peer:
    """One aiortc peer sending a 640x480 test pattern; ``first_frame`` resolves on the first
    decoded remote frame with its time."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(VideoStreamTrack())
        loop = asyncio.get_running_loop()
        self.first_frame: asyncio.Future[float] = loop.create_future()
        self._tasks: list[asyncio.Task[Any]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self._tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        await track.recv()
        if not self.first_frame.done():
            self.first_frame.set_result(time.perf_counter())
        # Keep draining so the jitter buffer does not back up while the trial ends.
        while True:
            await track.recv()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


async def direct_trial() -> float:
    t0 = time.perf_counter()
    clinician, client = Peer(), Peer()
    try:
        await clinician.accept(await client.answer(await clinician.offer()))
        t1 = await asyncio.wait_for(client.first_frame, TRIAL_TIMEOUT)
        return (t1 - t0) * 1000
    finally:
        await clinician.close()
        await client.close()


class Member:
    """A person on our server: socket.io client plus aiortc peer."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.peer: Peer | None = None
        self.admitted = asyncio.Event()

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack = await self.sio.call(event, data, timeout=10)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"{event} refused: {ack}")
        return ack

    async def connect_and_join(self) -> dict[str, Any]:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10, retry=False)
        # aiortc cannot renegotiate: say so, the server then picks the initiator for us.
        return await self.call("join", {"renegotiate": False})

    async def close(self) -> None:
        if self.peer is not None:
            await self.peer.close()
        if self.sio.connected:
            try:
                await self.call("leave", {})
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
            await self.sio.disconnect()


async def ours_trial(url: str, settings: Settings, n: int) -> float:
    room = f"ff-{n}-{time.time_ns()}"

    def token(role: str, **extra: Any) -> str:
        return mint(settings, sub=f"{role}-{n}", name=role.title(), role=role, program="bench",
                    room=room, ttl=600, **extra)

    clinician = Member(url, token("clinician", room_kind="individual"))
    client = Member(url, token("client"))

    @client.sio.on("admitted")
    async def on_admitted(data: Any) -> None:
        client.admitted.set()

    @client.sio.on("offer")
    async def on_offer(data: dict[str, Any]) -> None:
        client.peer = client.peer or Peer()
        sdp = await client.peer.answer(data["sdp"])
        await client.call("answer", {"to": data["from"], "sdp": sdp})

    @clinician.sio.on("answer")
    async def on_answer(data: dict[str, Any]) -> None:
        assert clinician.peer is not None
        await clinician.peer.accept(data["sdp"])

    t0 = time.perf_counter()
    try:
        await clinician.connect_and_join()
        knock = await client.connect_and_join()
        assert knock["you"]["state"] == "lobby", knock
        admit = await clinician.call("admit", {"participant": f"client-{n}"})
        await asyncio.wait_for(client.admitted.wait(), TRIAL_TIMEOUT)
        peers = admit["room"]["participants"]
        other = next(p for p in peers if p["id"] == f"client-{n}")
        if not other["initiator"]:
            raise RuntimeError("expected the clinician to be the initiator")
        clinician.peer = Peer()
        await clinician.call("offer", {"to": other["id"], "sdp": await clinician.peer.offer()})
        while client.peer is None:  # the offer handler creates it
            await asyncio.sleep(0.001)
            if time.perf_counter() - t0 > TRIAL_TIMEOUT:
                raise TimeoutError("no offer arrived")
        t1 = await asyncio.wait_for(client.peer.first_frame, TRIAL_TIMEOUT)
        return (t1 - t0) * 1000
    finally:
        await clinician.close()
        await client.close()


async def participant_trial(url: str, settings: Settings, n: int) -> float:
    """``ours`` with the project's Python participant on both ends."""
    assert Participant is not None
    room = f"ffp-{n}-{time.time_ns()}"

    def token(role: str, **extra: Any) -> str:
        return mint(settings, sub=f"{role}-{n}", name=role.title(), role=role, program="bench",
                    room=room, ttl=600, **extra)

    videos = [VideoStreamTrack(), VideoStreamTrack()]
    clinician = Participant(tracks=[videos[0]], reconnection=False)
    client = Participant(tracks=[videos[1]], reconnection=False)
    t0 = time.perf_counter()
    try:
        await clinician.connect(url, token("clinician", room_kind="individual"))
        if not (await clinician.join()).get("ok"):
            raise RuntimeError("clinician could not join")
        await client.connect(url, token("client"))
        knock = await client.join()
        if not knock.get("ok"):
            raise RuntimeError(f"knock refused: {knock}")
        admit = await clinician.call("admit", {"participant": f"client-{n}"})
        if not admit.get("ok"):
            raise RuntimeError(f"admit refused: {admit}")
        await client.wait_admitted(timeout=TRIAL_TIMEOUT)
        await client.first_frame(f"clinician-{n}", timeout=TRIAL_TIMEOUT)
        return (time.perf_counter() - t0) * 1000
    finally:
        await clinician.close()
        await client.close()
        for video in videos:
            video.stop()


async def main(url: str, secret: str, trials: int) -> dict[str, Any]:
    settings = Settings(jwt_secret=secret)
    ours: list[float] = []
    direct: list[float] = []
    failures: list[str] = []
    ours_trial_ = ours_trial
    driver = "aiortc (bench/first_frame.py Member)"
    if Participant is not None:
        # Use the project's participant if it works here; otherwise say so and fall back.
        try:
            await asyncio.wait_for(participant_trial(url, settings, -2), TRIAL_TIMEOUT * 2)
            ours_trial_ = participant_trial
            driver = "server.media.participant.Participant"
        except Exception as exc:  # noqa: BLE001
            failures.append(f"participant unusable, fell back: {type(exc).__name__}: {exc}")
    # One untimed warm-up of each (imports, codec initialisation).
    for trial in (direct_trial(), ours_trial_(url, settings, -1)):
        try:
            await asyncio.wait_for(trial, TRIAL_TIMEOUT * 2)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"warm-up: {type(exc).__name__}: {exc}")
    for n in range(trials):
        for name, make in (("ours", lambda n=n: ours_trial_(url, settings, n)),
                           ("direct", direct_trial)):
            try:
                ms = await asyncio.wait_for(make(), TRIAL_TIMEOUT * 2)
                (ours if name == "ours" else direct).append(ms)
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
    return {"ours_ms": ours, "direct_ms": direct, "failures": failures, "driver": driver}


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    print(json.dumps(result), flush=True)
