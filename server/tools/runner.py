"""Running tool code in isolation: a worker thread, a time limit, failures contained.

Note: a tool that never returns keeps its thread busy (Python cannot kill a
thread); the room goes on and the tool is marked failed. Busy threads are
capped so a misbehaving plugin cannot take more than ``workers`` of them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

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


def roster(room: Room) -> tuple[Participant, ...]:
    return tuple(Participant(m.id, m.name, m.role.value, m.side) for m in room.admitted())


def participant(room: Room, member_id: str) -> Participant:
    m = room.members.get(member_id)
    if m is None or m.state is not MemberState.ADMITTED:
        raise Refused(Code.NOT_ADMITTED)
    return Participant(m.id, m.name, m.role.value, m.side)


class Runner:
    """Runs tool calls on daemon threads, so a tool that never returns cannot hold up
    the event loop or the process's exit; at most ``workers`` may be busy at once."""

    def __init__(self, timeout: float = 2.0, workers: int = 8) -> None:
        self.timeout = timeout
        self.workers = workers
        self.busy = 0

    async def call(self, name: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a call into tool ``name``) off the event loop, within the time limit."""
        if self.busy >= self.workers:  # earlier calls are stuck: refuse rather than pile up
            raise ToolFailed(Code.TOOL_TIMEOUT)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not done.done():
                outcome()

        def work() -> None:
            try:
                result = fn()
                loop.call_soon_threadsafe(settle, partial(done.set_result, result))
            except BaseException as exc:  # noqa: BLE001 (handed to the loop as is)
                loop.call_soon_threadsafe(settle, partial(done.set_exception, exc))
            finally:
                self.busy -= 1

        self.busy += 1
        threading.Thread(target=work, name=f"tool-{name}", daemon=True).start()
        try:
            return await asyncio.wait_for(done, self.timeout)
        except ToolError:
            raise
        except TimeoutError:
            log_event("tool.timeout", logging.ERROR, event=name)
            raise ToolFailed(Code.TOOL_TIMEOUT) from None
        except Exception as exc:
            log_event("tool.crashed", logging.ERROR, event=name, error=type(exc).__name__)
            raise ToolFailed(Code.TOOL_FAILED) from None

    def close(self) -> None:
        """Nothing to join: stuck daemon threads end with the process."""


def context(room: Room, now: float, actor: Participant | None = None) -> ToolContext:
    return ToolContext(roster=roster(room), now=now, room_kind=room.kind.value, actor=actor)


def views(tools: dict[str, Tool], room: Room) -> dict[str, list[dict[str, Any]]]:
    """Every running tool as each admitted member may see it (computed in one worker call)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for member in room.admitted():
        viewer = Participant(member.id, member.name, member.role.value, member.side)
        seen = []
        for name, entry in room.tools.items():
            tool = tools.get(name)
            if tool is None:
                continue
            item: dict[str, Any] = {"name": name, "title": tool.title, "status": entry["status"]}
            if entry["status"] == "running":
                try:
                    item["view"] = tool.view(entry["state"], viewer)
                except Exception:  # one broken view must not hide the other tools
                    item = {"name": name, "title": tool.title, "status": "failed",
                            "error": Code.TOOL_FAILED.value}
                    if member.role.value != "clinician":
                        continue
            elif member.role.value == "clinician":
                item["error"] = entry.get("error")
            else:
                continue  # a failed tool simply disappears for clients and partners
            seen.append(item)
        out[member.id] = seen
    return out
