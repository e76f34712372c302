"""The pre-call test's far end: an aiortc peer that loops a person's media back.

The browser offers (aiortc has no rollback, so it always answers), its camera
and microphone come straight back through a ``MediaRelay``, and a data channel
answers ``ping…`` with ``pong…`` so the page can time round trips. Tests are
capped in number and in time, and every peer connection is closed.

Note: aiortc decodes and re-encodes every frame (it is no SFU), so each test
costs about one VGA decode and one encode; keep ``limit`` small.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from server.errors import Code, Refused
from server.logs import log_event
from server.media.participant import ice_servers_from_json


@dataclass
class EchoTest:
    pc: RTCPeerConnection
    timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class EchoService:
    """Pre-call echo peers, at most ``limit`` at once, each for at most ``seconds``."""

    def __init__(self, limit: int = 4, seconds: float = 30.0, ice_timeout: float = 10.0) -> None:
        self.limit = limit
        self.seconds = seconds
        self.ice_timeout = ice_timeout
        self.relay = MediaRelay()
        self._tests: dict[str, EchoTest] = {}

    @property
    def active(self) -> int:
        return len(self._tests)

    async def answer(self, owner: str, offer_sdp: str,
                     ice_servers: list[dict[str, Any]]) -> str:
        """Answer ``owner``'s offer with an echo peer; refuse past the cap."""
        await self.stop(owner)  # one test per connection; a new offer starts over
        if len(self._tests) >= self.limit:
            raise Refused(Code.PRECALL_BUSY)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers_from_json(ice_servers)))
        test = EchoTest(pc)
        self._tests[owner] = test

        @pc.on("track")
        def on_track(track: Any) -> None:
            pc.addTrack(self.relay.subscribe(track))

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            @channel.on("message")
            def on_message(message: Any) -> None:
                if isinstance(message, str) and message.startswith("ping"):
                    channel.send("pong" + message[4:])

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.stop(owner)

        loop = asyncio.get_running_loop()
        test.timer = loop.call_later(self.seconds, lambda: asyncio.ensure_future(
            self.stop(owner)))
        loop.call_later(self.ice_timeout, lambda: asyncio.ensure_future(
            self._stop_unless_connected(owner, pc)))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            if not pc.getTransceivers() and pc.sctp is None:
                raise ValueError("the offer has nothing to echo")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc raises ValueError and friends on bad SDP
            await self.stop(owner)
            log_event("precall.bad_offer", logging.INFO, error=type(exc).__name__)
            raise Refused(Code.BAD_SDP, "The offer could not be used for a test call.") from None
        log_event("precall.started", count=len(self._tests))
        return str(pc.localDescription.sdp)

    async def _stop_unless_connected(self, owner: str, pc: RTCPeerConnection) -> None:
        test = self._tests.get(owner)
        if test is not None and test.pc is pc and pc.connectionState != "connected":
            log_event("precall.ice_timeout", logging.INFO)
            await self.stop(owner)

    async def stop(self, owner: str) -> None:
        test = self._tests.pop(owner, None)
        if test is None:
            return
        if test.timer is not None:
            test.timer.cancel()
        with contextlib.suppress(Exception):
            await test.pc.close()
        test.done.set()

    async def close(self) -> None:
        for owner in list(self._tests):
            await self.stop(owner)
