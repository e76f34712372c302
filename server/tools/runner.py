"""Running tool code in isolation: a worker thread, a time limit, failures contained.

Every call the server makes into a plugin (``start``, ``act``, ``view``, ``wake_at``,
``record``, ``catalog``, a tool module's helpers) goes through :meth:`Runner.call`, so
none runs on the event loop; what it returns is copied through JSON in the worker,
so the server never holds an object the tool's code could still change.

Note: a call that overran keeps its thread (Python cannot kill a thread) until the
tool's code returns by itself. Each tool has ``per_tool`` threads at most: calls
beyond that wait for one (within the same time limit), and once all of a tool's
threads are held by calls that overran, further calls to that tool are refused at
once (``E_TOOL_TIMEOUT``) without starting a thread. So a stuck tool costs at most
``per_tool`` threads and never delays another tool or another room.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from server.domain.room import MemberState, Room
from server.errors import Code, Refused
from server.logs import log_event
from server.tools.api import Participant, Tool, ToolContext, ToolError

T = TypeVar("T")
SYSTEM = Participant(id="system", name="system", role="system")


class ToolFailed(Exception):
    """The tool raised something other than ToolError, or timed out."""

    def __init__(self, code: Code) -> None:
        super().__init__(code.value)
        self.code = code


@dataclass
class _Call:
    started: bool = False
    finished: bool = False
    overran: bool = False


def plain(value: Any) -> Any:
    """``value`` as JSON would carry it (a fresh copy); anything else is the tool's bug."""
    return json.loads(json.dumps(value, allow_nan=False))


class Runner:
    """Runs tool calls on daemon threads, so a tool that never returns cannot hold up
    the event loop or the process's exit."""

    def __init__(self, timeout: float = 2.0, per_tool: int = 4) -> None:
        self.timeout = timeout
        self.per_tool = per_tool
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._overran: Counter[str] = Counter()  # calls past their limit, still running

    def stuck(self, name: str) -> int:
        """How many calls into tool ``name`` overran and have not returned yet."""
        return self._overran[name]

    async def call(self, name: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a call into tool ``name``) off the event loop, within the time limit.

        Raises :class:`ToolError` as the tool raised it, else :class:`ToolFailed`.
        """
        if self._overran[name] >= self.per_tool:  # every thread it may have is stuck
            log_event("tool.stuck", logging.ERROR, event=name)
            raise ToolFailed(Code.TOOL_TIMEOUT)
        loop = asyncio.get_running_loop()
        slots = self._slots.setdefault(name, asyncio.Semaphore(self.per_tool))
        done: asyncio.Future[T] = loop.create_future()
        call = _Call()
        try:
            async with asyncio.timeout(self.timeout):
                await slots.acquire()
                call.started = True
                self._start(loop, name, fn, done, call, slots)
                return await done
        except ToolError:
            raise
        except TimeoutError:
            if call.started and not call.finished:  # its thread runs on: count it
                call.overran = True
                self._overran[name] += 1
            log_event("tool.timeout", logging.ERROR, event=name)
            raise ToolFailed(Code.TOOL_TIMEOUT) from None
        except Exception as exc:
            log_event("tool.crashed", logging.ERROR, event=name, error=type(exc).__name__)
            raise ToolFailed(Code.TOOL_FAILED) from None

    def _start(self, loop: asyncio.AbstractEventLoop, name: str, fn: Callable[[], T],
               done: asyncio.Future[T], call: _Call, slots: asyncio.Semaphore) -> None:
        def settle(result: T | None, error: BaseException | None) -> None:
            # On the loop: the thread is over, whether or not anyone still waits for it.
            call.finished = True
            slots.release()
            if call.overran:
                self._overran[name] -= 1
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(cast(T, result))

        def work() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = plain(fn())
            except Exception as exc:  # handed to the loop as is
                error = exc
            except BaseException as exc:  # noqa: BLE001 (a tool's SystemExit must not end the server)
                error = RuntimeError(type(exc).__name__)
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        threading.Thread(target=work, name=f"tool-{name}", daemon=True).start()

    def close(self) -> None:
        """Nothing to join: stuck daemon threads end with the process."""


def roster(room: Room) -> tuple[Participant, ...]:
    return tuple(Participant(m.id, m.name, m.role.value, m.side) for m in room.admitted())


def participant(room: Room, member_id: str) -> Participant:
    m = room.members.get(member_id)
    if m is None or m.state is not MemberState.ADMITTED:
        raise Refused(Code.NOT_ADMITTED)
    return Participant(m.id, m.name, m.role.value, m.side)


def context(room: Room, now: float, actor: Participant | None = None,
            settings: Mapping[str, str] | None = None) -> ToolContext:
    return ToolContext(roster=roster(room), now=now, room_kind=room.kind.value, actor=actor,
                       settings=dict(settings or {}))


def arrange(tools: dict[str, Tool], room: Room,
            seen: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every tool of the room as each admitted member may see it, given ``seen``
    (tool name -> member id -> that member's view) for the running tools."""
    out: dict[str, list[dict[str, Any]]] = {}
    for member in room.admitted():
        clinician = member.role.value == "clinician"
        items = []
        for name, entry in room.tools.items():
            tool = tools.get(name)
            if tool is None:
                continue
            item: dict[str, Any] = {"name": name, "title": tool.title, "status": entry["status"]}
            if entry["status"] == "running":
                if member.id not in seen.get(name, {}):
                    continue
                item["view"] = seen[name][member.id]
            elif clinician:
                item["error"] = entry.get("error")
            else:
                continue  # a failed tool simply disappears for clients and partners
            items.append(item)
        out[member.id] = items
    return out
