"""socket.io events for in-session tools: list, start, act, stop; delivery of per-role views.

Each action reads the room, runs the tool's code in a worker (time-limited), then
commits the new tool state in one store write that also checks nobody wrote the
room in between (retried if so). Every admitted member then gets ``tool`` with
the running tools as *they* may see them; effects follow (``tool:<event>``,
``mute``, side-room moves, which also change the room snapshot).
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from server.domain.audit import AuditEntry
from server.domain.room import Change, MemberState, Room
from server.errors import Code, Refused, ToolCode
from server.realtime import schemas
from server.realtime.connections import Connection
from server.tools import runner as run
from server.tools.api import MAIN, Tool, ToolError
from server.tools.registry import discover

if TYPE_CHECKING:
    from server.realtime.server import RealtimeServer

RETRIES = 5


class Conflict(Exception):
    """The room changed while the tool was thinking; run it again on the new state."""


class ToolEvents:
    def __init__(self, server: RealtimeServer, tools: dict[str, Tool] | None = None,
                 timeout: float = 2.0) -> None:
        self.server = server
        self.tools = discover() if tools is None else tools
        self.runner = run.Runner(timeout=timeout)
        self._wakes: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._sent: dict[tuple[str, str, str], str] = {}  # last view sent per socket

    def handlers(self) -> dict[str, tuple[type[schemas.Payload],
                                          Callable[[Connection, Any], Awaitable[dict[str, Any]]],
                                          bool]]:
        return {
            "tools": (schemas.Empty, self._list, True),
            "tool:start": (schemas.ToolStart, self._start, True),
            "tool:act": (schemas.ToolAct, self._act, True),
            "tool:stop": (schemas.ToolName, self._stop, True),
        }

    def close(self) -> None:
        for handle in self._wakes.values():
            handle.cancel()
        self.runner.close()

    # -- events ------------------------------------------------------------------------
    async def _list(self, conn: Connection, p: schemas.Empty) -> dict[str, Any]:
        room = await self._room(conn)
        me = run.participant(room, conn.identity.id)
        available = [
            {"name": t.name, "title": t.title,
             "actions": sorted(a for a, roles in t.actions.items() if me.role in roles),
             # What a launcher can offer before starting (e.g. the exercise library).
             "catalog": getattr(t, "catalog", None) if me.role == "clinician" else None}
            for t in self.tools.values() if room.kind.value in t.room_kinds]
        mine = run.views(self.tools, room).get(me.id, [])
        return {"available": available, "running": mine, "now": time.time()}

    async def _start(self, conn: Connection, p: schemas.ToolStart) -> dict[str, Any]:
        tool = self._tool(p.tool)
        return await self._run(conn, tool, "start", p.options, start=True)

    async def _act(self, conn: Connection, p: schemas.ToolAct) -> dict[str, Any]:
        tool = self._tool(p.tool)
        if p.action in ("start", "stop", "tick") or p.action not in tool.actions:
            raise Refused(Code.TOOL_ACTION)
        return await self._run(conn, tool, p.action, p.payload)

    async def _stop(self, conn: Connection, p: schemas.ToolName) -> dict[str, Any]:
        return await self._run(conn, self._tool(p.tool), "stop", {}, stop=True)

    # -- the cycle -------------------------------------------------------------------
    def _tool(self, name: str) -> Tool:
        tool = self.tools.get(name)
        if tool is None:
            raise Refused(Code.TOOL_UNKNOWN)
        return tool

    async def _room(self, conn: Connection) -> Room:
        room = await self.server.rooms.get(conn.identity.room)
        if room is None:
            raise Refused(Code.ROOM_NOT_FOUND)
        return room

    async def _run(self, conn: Connection, tool: Tool, action: str, payload: dict[str, Any],
                   start: bool = False, stop: bool = False) -> dict[str, Any]:
        who = conn.identity
        audit = AuditEntry(actor=who.id, role=who.role.value, action=f"tool-{action}",
                           target=tool.name, room=who.room, program=who.program)
        for _ in range(RETRIES):
            room = await self._room(conn)
            try:
                actor = run.participant(room, who.id)
                if actor.role not in tool.actions.get(action, frozenset()):
                    raise Refused(Code.FORBIDDEN_ROLE)
                entry = room.tools.get(tool.name)
                if start:
                    if room.kind.value not in tool.room_kinds:
                        raise Refused(Code.TOOL_ROOM_KIND)
                    if entry is not None and entry["status"] == "running":
                        raise Refused(Code.TOOL_RUNNING)
                elif entry is None or (entry["status"] != "running" and not stop):
                    raise Refused(Code.TOOL_NOT_RUNNING)
            except Refused as refusal:
                await self.server.store.record(audit.refused(refusal.code.value))
                raise
            ctx = run.context(room, time.time(), actor)
            try:
                if start:
                    state = await self.runner.call(tool.name,
                                                  partial(tool.start, ctx, dict(payload)))
                elif stop:  # a failed tool is cleared the same way, keeping no record
                    state = entry["state"] if entry else {}
                else:
                    before = copy.deepcopy(entry["state"]) if entry else {}
                    state = await self.runner.call(
                        tool.name, partial(tool.act, ctx, before, actor, action, dict(payload)))
            except ToolError as error:
                await self.server.store.record(audit.refused(error.code))
                raise Refused(ToolCode(error.code), error.message) from None
            except run.ToolFailed as failed:
                await self._fail(conn, tool, failed.code)
                raise Refused(failed.code) from None
            if stop:  # a tool that ends must not leave anyone muted
                ctx.effects.extend({"kind": "mute", "to": p.id, "muted": False}
                                   for p in ctx.roster if p.role != "clinician")
            try:
                updated, change = await self.server.rooms.update(
                    who.room, self._commit(room.version, tool, state, ctx.effects, stop), audit)
            except Conflict:
                continue
            await self._deliver(updated, change, ctx.effects)
            self._schedule(updated, tool)
            mine = run.views(self.tools, updated).get(who.id, [])
            return {"tools": mine, "now": time.time()}
        raise Refused(Code.UNAVAILABLE, "The session is busy; try again.")

    def _commit(self, version: int, tool: Tool, state: dict[str, Any],
                effects: list[dict[str, Any]], stop: bool) -> Callable[[Room], Change]:
        def write(room: Room) -> Change:
            if room.version != version:
                raise Conflict()
            if stop:
                ended = room.tools.pop(tool.name, None)
                if ended is not None and ended["status"] == "running":
                    room.records.append({"tool": tool.name, "at": time.time(), "state": state})
                for member in room.members.values():
                    member.side = MAIN  # everyone comes back when a tool ends
            else:
                room.tools[tool.name] = {"status": "running", "state": state}
            for effect in effects:
                if effect["kind"] == "move" and effect["to"] in room.members:
                    member = room.members[effect["to"]]
                    if member.state is MemberState.ADMITTED:
                        member.side = str(effect["side"])
            return Change()
        return write

    async def _fail(self, conn: Connection, tool: Tool, code: Code) -> None:
        """Mark a tool failed (the clinician sees it); the room and other tools go on."""
        who = conn.identity

        def mark(room: Room) -> Change:
            if tool.name in room.tools:
                room.tools[tool.name] = {"status": "failed", "state": {}, "error": code.value}
                for member in room.members.values():
                    member.side = MAIN
            return Change()

        audit = AuditEntry(actor="server", role="system", action="tool-failed",
                           target=tool.name, room=who.room, program=who.program,
                           outcome=f"refused:{code.value}")
        updated, change = await self.server.rooms.update(who.room, mark, audit)
        await self._deliver(updated, change, [])

    async def _deliver(self, room: Room, change: Change, effects: list[dict[str, Any]]) -> None:
        await self.server._deliver(room, change)  # snapshots (side rooms may have changed)
        try:
            per_member = await self.runner.call("views", lambda: run.views(self.tools, room))
        except run.ToolFailed:
            per_member = {}  # a view that hangs: the room goes on; the next change retries
        emit = self.server.sio.emit
        sids = {m.id: m.sid for m in room.admitted() if m.sid}
        for member_id, seen in per_member.items():
            if member_id not in sids:
                continue
            # Only when this person's view changed: an identical event would still
            # tell them that someone else is, say, writing a private answer.
            key = (room.id, member_id, sids[member_id])
            digest = json.dumps(seen, sort_keys=True, default=str)
            if self._sent.get(key) == digest:
                continue
            self._sent[key] = digest
            # The server's clock, so countdowns do not depend on the browser's.
            await emit("tool", {"tools": seen, "now": time.time()}, to=sids[member_id])
        live = set(sids.values())
        for stale in [k for k in self._sent if k[0] == room.id and k[2] not in live]:
            del self._sent[stale]
        for effect in effects:
            targets = [sids[effect["to"]]] if effect.get("to") in sids else (
                list(sids.values()) if effect.get("to") is None else [])
            for sid in targets:
                if effect["kind"] == "send":
                    await emit(f"tool:{effect['event']}", effect["payload"], to=sid)
                elif effect["kind"] == "mute":
                    await emit("mute", {"muted": bool(effect["muted"])}, to=sid)

    # -- the clock -------------------------------------------------------------------
    def rearm(self, room: Room) -> None:
        """Arm clocks of running tools that no timer on this node holds (after a
        restart, or when the node that held them died)."""
        for name in room.tools:
            tool = self.tools.get(name)
            if tool is not None and (room.id, name) not in self._wakes:
                self._schedule(room, tool)

    def _schedule(self, room: Room, tool: Tool) -> None:
        key = (room.id, tool.name)
        if (old := self._wakes.pop(key, None)) is not None:
            old.cancel()
        entry = room.tools.get(tool.name)
        if entry is None or entry["status"] != "running":
            return
        at = tool.wake_at(entry["state"])
        if at is None:
            return
        delay = max(0.0, at - time.time())
        self._wakes[key] = asyncio.get_running_loop().call_later(
            delay, lambda: self.server._spawn(self._tick(room.id, tool)))

    async def _tick(self, room_id: str, tool: Tool) -> None:
        """The tool's clock fired (a timer ran out): let it act as the system."""
        self._wakes.pop((room_id, tool.name), None)
        for _ in range(RETRIES):
            room = await self.server.rooms.get(room_id)
            entry = room.tools.get(tool.name) if room else None
            if room is None or entry is None or entry["status"] != "running":
                return
            ctx = run.context(room, time.time())
            state = copy.deepcopy(entry["state"])
            try:
                state = await self.runner.call(
                    tool.name, partial(tool.act, ctx, state, run.SYSTEM, "tick", {}))
            except (ToolError, run.ToolFailed):
                return
            audit = AuditEntry(actor="server", role="system", action="tool-tick",
                               target=tool.name, room=room_id, program=room.program)
            try:
                updated, change = await self.server.rooms.update(
                    room_id, self._commit(room.version, tool, state, ctx.effects, False), audit)
            except Conflict:
                continue
            await self._deliver(updated, change, ctx.effects)
            self._schedule(updated, tool)
            return
