"""The Tool protocol: what a plugin implements, and the narrow context it is given.

A tool is pure over JSON: ``start`` makes its state, ``act`` turns one action into
a new state, ``view`` says what one participant may see of it. The server keeps
the state in the store (so it survives reconnects and restarts), routes actions
to the tool after checking the caller's role against ``actions``, and sends each
participant the view computed for them: filtering happens on the server.

A tool never sees the server. Through :class:`ToolContext` it reads the roster and
the clock, and asks for effects: a message to the room or to one person, muting
a microphone, or moving someone to a side room.

Note: every method (and a ``catalog`` attribute, if the tool has one) runs in a
worker thread with a time limit (``server/tools/runner.py``); they must not touch
asyncio or keep global state, and must return JSON. A tool that raises or overruns
in any of them is marked failed. ``name``, ``title``, ``room_kinds`` and ``actions``
are read on the event loop: keep them plain values, not properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

ENTRY_POINT_GROUP = "alongside.tools"
MAIN = ""  # the main room; side rooms have names


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    name: str
    role: str  # clinician | client | partner
    side: str = MAIN


class ToolError(Exception):
    """A refusal a tool wants answered with its own code (``E_TOOL_*``) and message."""

    def __init__(self, code: str, message: str) -> None:
        if not code.startswith("E_TOOL_"):
            raise ValueError("tool error codes start with E_TOOL_")
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ToolContext:
    """What a tool may know and ask for, and nothing more."""

    roster: tuple[Participant, ...]
    now: float
    room_kind: str
    actor: Participant | None = None  # who caused this call (None for the clock)
    effects: list[dict[str, Any]] = field(default_factory=list)

    def by_role(self, role: str) -> list[Participant]:
        return [p for p in self.roster if p.role == role]

    def get(self, participant: str) -> Participant | None:
        return next((p for p in self.roster if p.id == participant), None)

    def send(self, event: str, payload: Mapping[str, Any], to: str | None = None) -> None:
        """Send ``tool:<event>`` to one participant, or to the room when ``to`` is None."""
        self.effects.append({"kind": "send", "event": event, "payload": dict(payload), "to": to})

    def mute(self, participant: str, muted: bool) -> None:
        """Ask that participant's client to mute (or unmute) their microphone."""
        self.effects.append({"kind": "mute", "to": participant, "muted": muted})

    def move(self, participant: str, side: str) -> None:
        """Put a participant in a side room (``MAIN`` brings them back).

        Signaling and media are scoped to side rooms: only people in the same one
        see and hear each other.
        """
        self.effects.append({"kind": "move", "to": participant, "side": side})


@runtime_checkable
class Tool(Protocol):
    name: str
    title: str
    room_kinds: frozenset[str]
    # action -> the roles allowed to take it (default deny)
    actions: Mapping[str, frozenset[str]]

    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]: ...

    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]: ...

    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]: ...

    def wake_at(self, state: dict[str, Any]) -> float | None:
        """When the tool wants ``act(..., action="tick")`` from the clock, if ever."""

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        """What the session record keeps of this tool, as ``viewer_role`` may read it."""
