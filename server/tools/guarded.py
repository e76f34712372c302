"""The server's reads of plugin code, each through the runner: a delivery's views, a
wake time, a session record's parts, the launchers' catalogs.

What one tool is asked for a delivery is batched into ONE worker call (every
person's view, now and just before the change), and different tools' calls run side
by side, so one time limit bounds the whole delivery however many people there are. Each call gets
its own JSON copy of the state, so a tool cannot change what the server holds.

Note: a batch fails as a whole when it overruns, so one slow view marks its tool
failed for everyone (which is the point: a failed tool is not called again).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, cast

from server.domain.room import Room
from server.errors import MESSAGES, Code
from server.tools import runner as run
from server.tools.api import Catalog, Participant, ProgramReport, Tool, ToolContext, ToolError

Views = dict[str, list[dict[str, Any]]]  # member id -> the tools as that member sees them


def _code(outcome: BaseException) -> Code:
    """The code a failed call is marked with (a ToolError outside ``act`` is a bug too)."""
    if isinstance(outcome, run.ToolFailed):
        return outcome.code
    if isinstance(outcome, ToolError):
        return Code.TOOL_FAILED
    raise outcome


async def views(runner: run.Runner, tools: dict[str, Tool], room: Room,
                before: Room | None = None) -> tuple[Views, Views | None, dict[str, Code]]:
    """Every running tool as each admitted member may see it, the same as it was in
    ``before`` (the room just before this change, if given), and the tools whose views
    failed (left out; the caller marks them failed).

    Each tool's views, after and before, are one call. A tool that is no longer running
    is not asked what it showed before: it shows something else now anyway."""
    people = run.roster(room)
    earlier = run.roster(before) if before is not None else ()
    running = [(name, tools[name], entry["state"]) for name, entry in room.tools.items()
               if entry["status"] == "running" and name in tools]
    outcomes = await asyncio.gather(
        *(runner.call(name, partial(_view_each, tool, state, people,
                                    _running_state(before, name), earlier))
          for name, tool, state in running), return_exceptions=True)
    now: dict[str, dict[str, Any]] = {}
    then: dict[str, dict[str, Any]] = {}
    failed: dict[str, Code] = {}
    for (name, _, _), outcome in zip(running, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            failed[name] = _code(outcome)
        else:
            now[name], then[name] = outcome
    if before is None:
        return run.arrange(tools, room, now), None, failed
    for name, entry in before.tools.items():
        if entry["status"] == "running" and not then.get(name):
            then[name] = {p.id: GONE for p in earlier}
    return run.arrange(tools, room, now), run.arrange(tools, before, then), failed


GONE = "(no longer running)"  # stands for a view that was not asked for again


def _running_state(room: Room | None, name: str) -> dict[str, Any] | None:
    entry = room.tools.get(name) if room is not None else None
    return entry["state"] if entry is not None and entry["status"] == "running" else None


def _view_each(tool: Tool, state: dict[str, Any], people: Sequence[Participant],
               earlier_state: dict[str, Any] | None,
               earlier: Sequence[Participant]) -> tuple[dict[str, Any], dict[str, Any]]:
    # In the worker. Each view gets its own copy: views are pure, but must not be trusted.
    now = {p.id: tool.view(run.plain(state), p) for p in people}
    if earlier_state is None:
        return now, {}
    return now, {p.id: tool.view(run.plain(earlier_state), p) for p in earlier}


async def wake_at(runner: run.Runner, tool: Tool, state: dict[str, Any]) -> float | None:
    """When the tool wants its clock; raises :class:`ToolFailed` if it cannot say."""
    try:
        return await runner.call(tool.name, partial(_wake, tool, state))
    except ToolError:
        raise run.ToolFailed(Code.TOOL_FAILED) from None


def _wake(tool: Tool, state: dict[str, Any]) -> float | None:
    at = tool.wake_at(run.plain(state))
    if at is None:
        return None
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise TypeError("wake_at answers seconds since the epoch, or None")
    return float(at)


async def records(runner: run.Runner, tools: dict[str, Tool],
                  entries: Sequence[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """The session record as ``role`` may read it: ``{tool, at, record}`` per finished run,
    or ``{tool, at, error: {code, message}}`` where the tool's ``record`` raised or overran.
    Runs of tools no longer installed are left out.

    Each run is its own call (one broken run must not hide the others), all side by side
    (a tool's calls beyond its thread limit wait within the same time limit)."""
    kept = [e for e in entries if e.get("tool") in tools]
    outcomes = await asyncio.gather(
        *(runner.call(e["tool"], partial(_record, tools[e["tool"]], e["state"], role))
          for e in kept), return_exceptions=True)
    out = []
    for entry, outcome in zip(kept, outcomes, strict=True):
        part: dict[str, Any] = {"tool": entry["tool"], "at": entry["at"]}
        if isinstance(outcome, BaseException):
            code = _code(outcome)
            part["error"] = {"code": code.value, "message": MESSAGES[code]}
        else:
            part["record"] = outcome
        out.append(part)
    return out


def _record(tool: Tool, state: dict[str, Any], role: str) -> Any:
    return tool.record(run.plain(state), role)


async def catalogs(runner: run.Runner, offered: Sequence[Tool],
                   contexts: Mapping[str, ToolContext]) -> dict[str, Any]:
    """Each tool's ``catalog(ctx)`` (what a launcher offers before starting; ``None`` when
    it has no :class:`Catalog` hook), or the :class:`Code` it failed with."""
    outcomes = await asyncio.gather(
        *(runner.call(tool.name, partial(_catalog, tool, contexts[tool.name]))
          for tool in offered), return_exceptions=True)
    return {tool.name: _code(outcome) if isinstance(outcome, BaseException) else outcome
            for tool, outcome in zip(offered, outcomes, strict=True)}


def has_hook(tool: Tool, name: str) -> bool:
    """Whether the tool's class defines method ``name``, looked up on the class so a
    property is never run on the event loop to find out."""
    return callable(getattr(type(tool), name, None))


def _catalog(tool: Tool, ctx: ToolContext) -> Any:
    return cast(Catalog, tool).catalog(ctx) if has_hook(tool, "catalog") else None


async def report(runner: run.Runner, tool: Tool,
                 records: Sequence[Mapping[str, Any]]) -> Any:
    """The tool's :class:`ProgramReport` over a program's ``records``; raises
    :class:`ToolFailed` (or ``ToolError`` as the tool raised it) if it fails."""
    return await runner.call(tool.name, partial(cast(ProgramReport, tool).report,
                                                run.plain(list(records))))
