"""socket.io events of a group's clinician controls: mute, ask to unmute, video off,
spotlight, focus mode, allow video, breakouts in pairs and visits; and the member's own
``group.unmute`` once asked.

Each one is a rule of :mod:`server.domain.group` in one store write with its audit row
(content-free: the action and its target, never a reason or a name), delivered to each
person through their own view; then the server applies it at the SFU at once
(:meth:`SfuEvents.settle`: blocks with VideoRoom ``moderate``, subscriptions converged on
:func:`server.domain.group.sees`, people moved between Janus rooms) instead of waiting for
the next reconcile, which keeps it so.

Note: only clinicians may send the controls (``E_FORBIDDEN_ROLE`` otherwise, checked by the
rule, inside the write); a wrong shape is ``E_SCHEMA`` before anything is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, model_validator

from server.domain import group as rules
from server.domain.room import Change, Room
from server.domain.view import snapshot
from server.logs import log_event
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.guard import EventTable
from server.realtime.room_writes import RoomWrites
from server.realtime.sfu_events import SfuEvents
from server.sfu.api import SfuRefused, SfuUnavailable


class Mute(schemas.Payload):
    participant: schemas.Id | None = None
    all: StrictBool = False

    @model_validator(mode="after")
    def _one(self) -> Mute:
        if (self.participant is None) == (not self.all):
            raise ValueError("either participant or all: true")
        return self


class VideoOff(schemas.Payload):
    participant: schemas.Id
    off: StrictBool = True


class Spotlight(schemas.Payload):
    participant: schemas.Id | None


class Focus(schemas.Payload):
    on: StrictBool


class AllowVideo(schemas.Payload):
    participant: schemas.Id
    allowed: StrictBool


Pair = Annotated[list[schemas.Id], Field(min_length=2, max_length=3)]  # a trio if odd


class Breakout(schemas.Payload):
    pairs: Annotated[list[Pair], Field(min_length=1, max_length=8)]


class Visit(schemas.Payload):
    breakout: Annotated[StrictInt, Field(ge=0, le=7)] | None


class GroupControls:
    def __init__(self, writes: RoomWrites, sfu_events: SfuEvents) -> None:
        self.writes = writes
        self.sfu_events = sfu_events

    def handlers(self) -> EventTable:
        return {
            "group.mute": (Mute, self._mute, True),
            "group.ask-unmute": (schemas.Target, self._ask_unmute, True),
            "group.unmute": (schemas.Empty, self._unmute, True),
            "group.video-off": (VideoOff, self._video_off, True),
            "group.spotlight": (Spotlight, self._spotlight, True),
            "group.focus": (Focus, self._focus, True),
            "group.allow-video": (AllowVideo, self._allow_video, True),
            "group.breakout": (Breakout, self._breakout, True),
            "group.breakout-end": (schemas.Empty, self._breakout_end, True),
            "group.visit": (Visit, self._visit, True),
        }

    async def _apply(self, conn: Connection, action: str, rule: Callable[[Room], Change],
                     target: str = "") -> dict[str, Any]:
        room, _ = await self.writes.change(conn, action, rule, target)
        try:
            await self.sfu_events.settle(room.id)
        except (SfuUnavailable, SfuRefused):  # decided and stored: the reconcile applies it
            log_event("sfu.settle_failed", logging.WARNING, event=action)
        return {"room": snapshot(room, conn.identity.id)}

    async def _mute(self, conn: Connection, p: Mute) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.mute" if p.participant else "group.mute-all",
                                 lambda r: rules.mute(r, who, p.participant),
                                 p.participant or "")

    async def _ask_unmute(self, conn: Connection, p: schemas.Target) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.ask-unmute",
                                 lambda r: rules.ask_unmute(r, who, p.participant),
                                 p.participant)

    async def _unmute(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.unmute", lambda r: rules.unmute_self(r, who))

    async def _video_off(self, conn: Connection, p: VideoOff) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.video-off" if p.off else "group.video-on",
                                 lambda r: rules.video_off(r, who, p.participant, p.off),
                                 p.participant)

    async def _spotlight(self, conn: Connection, p: Spotlight) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.spotlight",
                                 lambda r: rules.spotlight(r, who, p.participant),
                                 p.participant or "")

    async def _focus(self, conn: Connection, p: Focus) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.focus-on" if p.on else "group.focus-off",
                                 lambda r: rules.focus(r, who, p.on))

    async def _allow_video(self, conn: Connection, p: AllowVideo) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(
            conn, "group.allow-video" if p.allowed else "group.disallow-video",
            lambda r: rules.allow_video(r, who, p.participant, p.allowed), p.participant)

    async def _breakout(self, conn: Connection, p: Breakout) -> dict[str, Any]:
        who = conn.identity
        pairs = [list(pair) for pair in p.pairs]
        return await self._apply(conn, "group.breakout",
                                 lambda r: rules.breakout(r, who, pairs))

    async def _breakout_end(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.breakout-end",
                                 lambda r: rules.breakout_end(r, who))

    async def _visit(self, conn: Connection, p: Visit) -> dict[str, Any]:
        who = conn.identity
        return await self._apply(conn, "group.visit", lambda r: rules.visit(r, who, p.breakout))
