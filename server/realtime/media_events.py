"""socket.io events for media: the pre-call test (an aiortc echo peer) and connection quality.

The echo peers and the TURN monitor belong to the server (they are closed with
it); these handlers only validate, call them and answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from server.domain.identity import Role
from server.domain.quality import Sample, verdict
from server.domain.room import MemberState
from server.domain.signals import RTCSessionDescription
from server.errors import Code, Refused
from server.realtime import schemas
from server.realtime.connections import Connection

if TYPE_CHECKING:
    from server.realtime.server import RealtimeServer


class MediaEvents:
    def __init__(self, server: RealtimeServer) -> None:
        self.server = server

    def handlers(self) -> dict[str, tuple[type[schemas.Payload],
                                          Callable[[Connection, Any], Awaitable[dict[str, Any]]],
                                          bool]]:
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
        ice = [] if await self.server.turn.status() == "down" else self.server._ice(conn.identity)
        answer = await self.server.echo.answer(conn.sid, offer.sdp, ice)
        return {"sdp": answer, "seconds": self.server.settings.precall_seconds}

    async def _precall_stop(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        await self.server.echo.stop(conn.sid)
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
        room = await self.server.rooms.get(who.room)
        me = room.members.get(who.id) if room else None
        if room is None or me is None or me.state is not MemberState.ADMITTED:
            raise Refused(Code.NOT_ADMITTED)
        report = {"participant": who.id, "level": result["level"], "rtt": p.rtt,
                  "loss": p.loss, "jitter": p.jitter, "bitrate": p.bitrate,
                  "audioOnly": p.audioOnly}
        for member in room.admitted():
            if member.role is Role.CLINICIAN and member.sid and member.id != who.id:
                await self.server.sio.emit("quality", report, to=member.sid)
        return {"verdict": result}
