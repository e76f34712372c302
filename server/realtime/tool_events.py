"""socket.io events for in-session tools: list, start, act, stop; delivery of per-role views.

Each action reads the room, runs the tool's code in a worker (time-limited), then
commits the new tool state in one store write that also checks nobody wrote the
room in between (retried if so). Then each person is told what changed *for them*
and nothing more (``server/realtime/tool_delivery.py``): a private answer sends the
other partner nothing at all. Effects follow (``tool:<event>``, ``mute``).

Every call into a tool's code goes through the runner (``server/tools/guarded.py``
for views, wake times, records and catalogs): a tool that raises or overruns in any
of them is marked failed, and the room goes on.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from server.domain.audit import AuditEntry
from server.domain.room import MemberState, Room
from server.errors import Code, Refused, ToolCode
from server.realtime import schemas
from server.realtime.connections import Connection
from server.realtime.tasks import TaskSupervisor
from server.realtime.tool_delivery import Delivery, Emit
from server.store import Store
from server.store.rooms import Rooms
from server.tools import guarded
from server.tools import runner as run
from server.tools.api import MAIN, Effect, Move, Mute, Tool, ToolError
from server.tools.registry import discover, settings

RETRIES = 5


class Conflict(Exception):
    """The room changed while the tool was thinking; run it again on the new state."""


class ToolEvents:
    def __init__(self, rooms: Rooms, store: Store, tasks: TaskSupervisor, emit: Emit,
                 tools: dict[str, Tool] | None = None, timeout: float = 2.0) -> None:
        self.rooms = rooms
        self.store = store
        self.tasks = tasks
        self.tools = discover() if tools is None else tools
        self.runner = run.Runner(timeout=timeout)
        self.settings = settings(self.tools)  # what each tool declared, from the environment
        self._wakes: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._arming: dict[tuple[str, str], int] = {}  # the latest wake_at asked, per tool
        self._asked: dict[tuple[str, str], int] = {}  # room version whose wake_at was None
        self.delivery = Delivery(emit)

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
        offered = [t for t in self.tools.values() if room.kind.value in t.room_kinds]
        # What a launcher can offer before starting (e.g. the exercise library).
        contexts = {t.name: run.context(room, time.time(), me, self.settings.get(t.name))
                    for t in offered}
        catalogs = await guarded.catalogs(self.runner, offered, contexts) \
            if me.role == "clinician" else {}
        available = []
        for t in offered:
            item: dict[str, Any] = {
                "name": t.name, "title": t.title, "catalog": None,
                "actions": sorted(a for a, roles in t.actions.items() if me.role in roles)}
            found = catalogs.get(t.name)
            if isinstance(found, Code):
                item["error"] = found.value
            else:
                item["catalog"] = found
            available.append(item)
        viewed, per_member, _ = await self._views(room)
        if viewed is not room:  # a tool failed: everyone sees that
            await self.delivery.views(viewed, per_member, None)
        mine = per_member.get(me.id, [])
        self.delivery.remember(viewed, me.id, conn.sid)
        return {"available": available, "running": mine, "now": time.time()}

    async def records(self, room: Room, role: str) -> list[dict[str, Any]]:
        """The room's session record as ``role`` may read it (see :func:`guarded.records`)."""
        return await guarded.records(self.runner, self.tools, room.records, role)

    async def helper(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run other code of tool ``name`` (e.g. its ``report``) through the runner;
        a failure is refused with ``E_TOOL_FAILED`` or ``E_TOOL_TIMEOUT``."""
        try:
            return await self.runner.call(name, fn)
        except ToolError:
            raise Refused(Code.TOOL_FAILED) from None
        except run.ToolFailed as failed:
            raise Refused(failed.code) from None

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
        room = await self.rooms.get(conn.identity.room)
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
                await self.store.record(audit.refused(refusal.code.value))
                raise
            ctx = run.context(room, time.time(), actor, self.settings.get(tool.name))
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
                await self.store.record(audit.refused(error.code))
                raise Refused(ToolCode(error.code), error.message) from None
            except run.ToolFailed as failed:
                await self._publish(await self._fail(room, tool.name, failed.code))
                raise Refused(failed.code) from None
            if stop:  # a tool that ends must not leave anyone muted
                ctx.effects.extend(Mute(p.id, False)
                                   for p in ctx.roster if p.role != "clinician")
            try:
                updated, _ = await self.rooms.update(
                    who.room, self._commit(room.version, tool, state, ctx.effects, stop), audit)
            except Conflict:
                continue
            updated, per_member = await self._deliver(updated, ctx.effects, room)
            updated = await self._schedule(updated, tool)
            entry = updated.tools.get(tool.name)
            if entry is not None and entry["status"] == "failed":  # its view or clock failed
                raise Refused(Code(entry["error"]))
            return {"tools": per_member.get(who.id, []), "now": time.time()}
        raise Refused(Code.UNAVAILABLE, "The session is busy; try again.")

    def _commit(self, version: int, tool: Tool, state: dict[str, Any],
                effects: list[Effect], stop: bool) -> Callable[[Room], None]:
        def write(room: Room) -> None:
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
                if isinstance(effect, Move) and effect.to in room.members:
                    member = room.members[effect.to]
                    if member.state is MemberState.ADMITTED:
                        member.side = str(effect.side)
        return write

    async def _fail(self, room: Room, name: str, code: Code) -> Room:
        """Mark a running tool failed (the clinician sees it); the room and other tools go
        on. As when a tool stops, everyone comes back to the main room and nobody stays
        muted. Sends snapshots and the unmuting; the caller publishes the views."""
        unmute: list[Effect] = []

        def mark(current: Room) -> None:
            entry = current.tools.get(name)
            if entry is not None and entry["status"] == "running":
                current.tools[name] = {"status": "failed", "state": {}, "error": code.value}
                for member in current.members.values():
                    member.side = MAIN
                unmute[:] = [Mute(m.id, False)
                             for m in current.admitted() if m.role.value != "clinician"]

        audit = AuditEntry(actor="server", role="system", action="tool-failed",
                           target=name, room=room.id, program=room.program,
                           outcome=f"refused:{code.value}")
        updated, _ = await self.rooms.update(room.id, mark, audit)
        await self.delivery.snapshots(updated)
        await self.delivery.effects(updated, unmute)
        return updated

    # -- delivery ----------------------------------------------------------------------
    async def _deliver(self, room: Room, effects: list[Effect],
                       before: Room) -> tuple[Room, guarded.Views]:
        """After a commit (``before`` is the room it changed): snapshots and views to
        whoever they changed for, then effects. Returns the room (newer if a tool failed
        meanwhile) and everyone's views."""
        await self.delivery.snapshots(room)
        room, per_member, earlier = await self._views(room, before)
        await self.delivery.views(room, per_member, earlier)
        await self.delivery.effects(room, effects)
        return room, per_member

    async def _publish(self, room: Room) -> None:
        """Views to everyone (after a tool failed, which everyone sees)."""
        room, per_member, _ = await self._views(room)
        await self.delivery.views(room, per_member, None)

    async def _views(self, room: Room, before: Room | None = None
                     ) -> tuple[Room, guarded.Views, guarded.Views | None]:
        """Everyone's views now and (given ``before``) just before; a tool whose views
        fail is marked failed first, and then the views before are dropped (everyone
        sees a tool fail)."""
        per_member: guarded.Views = {}
        earlier: guarded.Views | None = None
        for _ in range(len(room.tools) + 1):  # each round fails one tool at least
            per_member, earlier, failed = await guarded.views(self.runner, self.tools, room,
                                                              before)
            if not failed:
                break
            for name, code in failed.items():
                room = await self._fail(room, name, code)
            before = earlier = None
        return room, per_member, earlier

    # -- the clock -------------------------------------------------------------------
    def rearm(self, room: Room) -> None:
        """Arm clocks of running tools that no timer on this node holds (after a
        restart, or when the node that held them died)."""
        for name, entry in room.tools.items():
            tool, key = self.tools.get(name), (room.id, name)
            if tool is None or entry["status"] != "running" or key in self._wakes \
                    or key in self._arming or self._asked.get(key) == room.version:
                continue
            self.tasks.spawn(self._schedule(room, tool))

    async def _schedule(self, room: Room, tool: Tool) -> Room:
        """Ask the tool when it wants its clock, and set the timer; a tool that cannot
        say is marked failed. Returns the room (newer if so)."""
        key = (room.id, tool.name)
        if (old := self._wakes.pop(key, None)) is not None:
            old.cancel()
        entry = room.tools.get(tool.name)
        if entry is None or entry["status"] != "running":
            self._asked.pop(key, None)
            return room
        turn = self._arming[key] = self._arming.get(key, 0) + 1
        try:
            at = await guarded.wake_at(self.runner, tool, entry["state"])
        except run.ToolFailed as failed:
            if self._arming.get(key) == turn:
                del self._arming[key]
            room = await self._fail(room, tool.name, failed.code)
            await self._publish(room)
            return room
        if self._arming.get(key) != turn:  # a newer change asked meanwhile: it decides
            return room
        del self._arming[key]
        if at is None:
            self._asked[key] = room.version
            return room
        delay = max(0.0, at - time.time())
        self._wakes[key] = asyncio.get_running_loop().call_later(
            delay, lambda: self.tasks.spawn(self._tick(room.id, tool)))
        return room

    async def _tick(self, room_id: str, tool: Tool) -> None:
        """The tool's clock fired (a timer ran out): let it act as the system."""
        self._wakes.pop((room_id, tool.name), None)
        for _ in range(RETRIES):
            room = await self.rooms.get(room_id)
            entry = room.tools.get(tool.name) if room else None
            if room is None or entry is None or entry["status"] != "running":
                return
            ctx = run.context(room, time.time(), settings=self.settings.get(tool.name))
            state = copy.deepcopy(entry["state"])
            try:
                state = await self.runner.call(
                    tool.name, partial(tool.act, ctx, state, run.SYSTEM, "tick", {}))
            except ToolError:
                return
            except run.ToolFailed as failed:
                await self._publish(await self._fail(room, tool.name, failed.code))
                return
            audit = AuditEntry(actor="server", role="system", action="tool-tick",
                               target=tool.name, room=room_id, program=room.program)
            try:
                updated, _ = await self.rooms.update(
                    room_id, self._commit(room.version, tool, state, ctx.effects, False), audit)
            except Conflict:
                continue
            updated, _ = await self._deliver(updated, ctx.effects, room)
            await self._schedule(updated, tool)
            return

