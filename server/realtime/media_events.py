"""socket.io events for media: the pre-call test (an aiortc echo peer) and connection quality.

The echo peers and the TURN monitor belong to the server (they are closed with
it); these handlers are given them, and only validate, call them and answer.
"""

from __future__ import annotations

from typing import Any

from server.domain.identity import Role
from server.domain.quality import Sample, verdict
from server.domain.room import MemberState
from server.domain.signals import RTCSessionDescription
from server.errors import Code, Refused
from server.media.echo import EchoService
from server.media.turn_probe import TurnMonitor
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.delivery import RoomDelivery
from server.realtime.guard import EventTable
from server.realtime.ice import IceServers
from server.store.rooms import Rooms


class MediaEvents:
    def __init__(self, echo: EchoService, turn: TurnMonitor, ice: IceServers, rooms: Rooms,
                 delivery: RoomDelivery, precall_seconds: float) -> None:
        self.echo = echo
        self.turn = turn
        self.ice = ice
        self.rooms = rooms
        self.delivery = delivery
        self.precall_seconds = precall_seconds

    def handlers(self) -> EventTable:
        # The pre-call test runs before joining: it needs a verified token only.
        return {
            "precall": (schemas.PrecallOffer, self._precall, False),
            "precall-stop": (schemas.Empty, self._precall_stop, False),
            "precall-result": (schemas.Quality, self._precall_result, False),
            "quality": (schemas.Quality, self._quality, True),
        }

    async def _precall(self, conn: Connection, p: schemas.PrecallOffer) -> dict[str, Any]:
        """Answer a browser's offer with an echo peer (same ICE servers as the rooms).

        Note: send a complete offer (after ICE gathering): the echo peer does not
        take trickled candidates.
        """
        offer = RTCSessionDescription("offer", p.sdp)
        # aiortc waits for a TURN allocation before answering: skip a TURN known to be down.
        ice = [] if await self.turn.status() == "down" else self.ice(conn.identity)
        answer = await self.echo.answer(conn.sid, offer.sdp, ice)
        return {"sdp": answer, "seconds": self.precall_seconds}

    async def _precall_stop(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        await self.echo.stop(conn.sid)
        return {}

    async def _precall_result(self, conn: Connection, p: schemas.Quality) -> dict[str, Any]:
        return {"verdict": verdict(Sample(p.rtt, p.loss, p.jitter, p.bitrate))}

    async def _quality(self, conn: Connection, p: schemas.Quality) -> dict[str, Any]:
        """Classify one participant's link; the clinician sees everyone's.

        A poor link gets ``audioOnly: true`` in its answer: the page offers to turn
        the camera off, and the session goes on.
        """
        who = conn.identity
        result = verdict(Sample(p.rtt, p.loss, p.jitter, p.bitrate))
        room = await self.rooms.get(who.room)
        me = room.members.get(who.id) if room else None
        if room is None or me is None or me.state is not MemberState.ADMITTED:
            raise Refused(Code.NOT_ADMITTED)
        report = {"participant": who.id, "level": result["level"], "rtt": p.rtt,
                  "loss": p.loss, "jitter": p.jitter, "bitrate": p.bitrate,
                  "audioOnly": p.audioOnly}
        for member in room.admitted():
            if member.role is Role.CLINICIAN and member.sid and member.id != who.id:
                await self.delivery.send("quality", report, member.sid)
        return {"verdict": result}
