"""The pre-call test: a real aiortc peer stands in for the browser and offers to the echo peer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from server.realtime.server import REALTIME
from tests.conftest import Harness


async def offer(peer: Any, pc: RTCPeerConnection) -> dict[str, Any]:
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers before returning
    return await peer.call("precall", {"sdp": pc.localDescription.sdp}, timeout=15)


def offering_peer() -> tuple[RTCPeerConnection, Any]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(VideoStreamTrack())
    channel = pc.createDataChannel("rtt")
    return pc, channel


async def test_media_comes_back_and_the_page_gets_a_verdict(alongside: Harness) -> None:
    person = await alongside.peer("client", join=False)  # before joining, as on the device check
    pc, channel = offering_peer()
    echoed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track: Any) -> None:
        async def first() -> None:
            echoed.set_result(await track.recv())
        asyncio.ensure_future(first())

    pongs: asyncio.Queue[float] = asyncio.Queue()

    @channel.on("message")
    def on_message(message: str) -> None:
        sent = float(message.removeprefix("pong"))
        pongs.put_nowait((time.perf_counter() - sent) * 1000)

    ack = await offer(person, pc)
    assert ack["ok"] and ack["sdp"].startswith("v=0")
    await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
    frame = await asyncio.wait_for(echoed, 10)
    assert frame.width == 640 and frame.height == 480  # our own test pattern, looped back
    for _ in range(50):
        if channel.readyState == "open":
            break
        await asyncio.sleep(0.05)
    rtts = []
    for _ in range(5):
        channel.send(f"ping{time.perf_counter()}")
        rtts.append(await asyncio.wait_for(pongs.get(), 5))
    result = await person.call("precall-result", {"rtt": sorted(rtts)[2], "loss": 0.0,
                                                  "jitter": 2.0, "bitrate": 900})
    assert result["verdict"] == {"level": "good", "advice": "good", "audioOnly": False}
    await person.call("precall-stop", {})
    assert alongside.app[REALTIME].echo.active == 0
    await pc.close()


async def test_tests_are_capped_and_time_limited(start_server: Any) -> None:
    h: Harness = await start_server(precall_limit=1, precall_seconds=1.5)
    first = await h.peer("client", join=False)
    second = await h.peer("clinician", join=False)
    pc1, _ = offering_peer()
    # The first never applies the answer: its ICE never completes.
    assert (await offer(first, pc1))["ok"]
    pc2, _ = offering_peer()
    busy = await offer(second, pc2)
    assert busy["error"]["code"] == "E_PRECALL_BUSY"
    echo = h.app[REALTIME].echo
    for _ in range(60):
        if echo.active == 0:
            break
        await asyncio.sleep(0.1)
    assert echo.active == 0  # timed out, closed, capacity freed
    assert (await offer(second, pc2))["ok"]
    await second.close()  # leaving also closes the test
    for _ in range(50):
        if echo.active == 0:
            break
        await asyncio.sleep(0.05)
    assert echo.active == 0
    await pc1.close()
    await pc2.close()


async def test_ice_servers_are_given_before_joining_for_the_test(alongside: Harness) -> None:
    person = await alongside.peer("client", join=False)
    ack = await person.call("ice-servers", {})
    assert ack["ok"] and ack["iceServers"] == [] and ack["turn"] == "none"


async def test_malformed_offers_are_refused(alongside: Harness) -> None:
    person = await alongside.peer("client", join=False)
    for sdp in (None, 7, "hello", "v=0\r\nnot really sdp\r\n"):
        ack = await person.call("precall", {"sdp": sdp})
        assert ack["error"]["code"] == "E_BAD_SDP", sdp
    assert alongside.app[REALTIME].echo.active == 0


async def test_quality_reports_reach_the_clinician_and_poor_links_get_audio_only(
        alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    waiting = await alongside.peer("partner")
    ack = await client.call("quality", {"rtt": 650, "loss": 0.12, "jitter": 80, "bitrate": 90})
    assert ack["verdict"] == {"level": "poor", "advice": "poor", "audioOnly": True}  # codes
    report = await clinician.wait_for("quality")
    assert report["participant"] == "client-1" and report["level"] == "poor"
    good = await client.call("quality", {"rtt": 40, "loss": 0, "jitter": 3, "bitrate": 1200})
    assert good["verdict"] == {"level": "good", "advice": "good", "audioOnly": False}
    assert (await waiting.call("quality", {"rtt": 1, "loss": 0, "jitter": 1}))["error"][
        "code"] == "E_NOT_ADMITTED"
    assert (await client.call("quality", {"rtt": -1, "loss": 0, "jitter": 1}))["error"][
        "code"] == "E_SCHEMA"
    assert (await client.call("quality", {"rtt": 1, "loss": 3, "jitter": 1}))["error"][
        "code"] == "E_SCHEMA"
    # The room keeps going: signaling still flows for the poor link.
    assert (await client.call("offer", {"to": "clinician-1", "sdp": "v=0\r\n"}))["ok"]
    assert client.events("quality") == []  # only the clinician sees reports
