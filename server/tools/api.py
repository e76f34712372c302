"""The Tool protocol: what a plugin implements, and the narrow context it is given.

A tool is pure over JSON: ``start`` makes its state, ``act`` turns one action into
a new state, ``view`` says what one participant may see of it. The server keeps
the state in the store (so it survives reconnects and restarts), routes actions
to the tool after checking the caller's role against ``actions``, and sends each
participant the view computed for them: filtering happens on the server.

A tool never sees the server. Through :class:`ToolContext` it reads the roster and
the clock, and asks for effects: a message to the room or to one person, muting
a microphone, or moving someone to a side room.

Optional hooks are declared below as protocols of their own: :class:`Catalog`,
:class:`ProgramReport` and :class:`Configurable`. Effects are typed values
(:class:`Send`, :class:`Mute`, :class:`Move`). A tool's browser panel is a
``panel.js`` beside its module (docs/plugins.md, "Panels").

Note: every method (hooks included) runs in a
worker thread with a time limit (``server/tools/runner.py``); they must not touch
asyncio or keep global state, and must return JSON. A tool that raises or overruns
in any of them is marked failed. ``name``, ``title``, ``room_kinds`` and ``actions``
are read on the event loop: keep them plain values, not properties.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

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


@dataclass(frozen=True, slots=True)
class Send:
    """``tool:<event>`` with ``payload`` to one participant, or to the room when ``to`` is None."""

    event: str
    payload: Mapping[str, Any]
    to: str | None = None
    kind: ClassVar[str] = "send"


@dataclass(frozen=True, slots=True)
class Mute:
    """Ask participant ``to``'s client to mute (or unmute) their microphone."""

    to: str
    muted: bool
    kind: ClassVar[str] = "mute"


@dataclass(frozen=True, slots=True)
class Move:
    """Put participant ``to`` in side room ``side`` (``MAIN`` brings them back)."""

    to: str
    side: str
    kind: ClassVar[str] = "move"


Effect = Send | Mute | Move


@dataclass
class ToolContext:
    """What a tool may know and ask for, and nothing more.

    ``settings`` holds only the names the tool declares in ``setting_names`` (see
    :class:`Configurable`), with the values the server started with: a tool reads its
    settings here, never from ``os.environ``.
    """

    roster: tuple[Participant, ...]
    now: float
    room_kind: str
    actor: Participant | None = None  # who caused this call (None for the clock)
    effects: list[Effect] = field(default_factory=list)
    settings: Mapping[str, str] = field(default_factory=dict)

    def by_role(self, role: str) -> list[Participant]:
        return [p for p in self.roster if p.role == role]

    def get(self, participant: str) -> Participant | None:
        return next((p for p in self.roster if p.id == participant), None)

    def send(self, event: str, payload: Mapping[str, Any], to: str | None = None) -> None:
        """Send ``tool:<event>`` to one participant, or to the room when ``to`` is None."""
        self.effects.append(Send(event, dict(payload), to))

    def mute(self, participant: str, muted: bool) -> None:
        """Ask that participant's client to mute (or unmute) their microphone."""
        self.effects.append(Mute(participant, muted))

    def move(self, participant: str, side: str) -> None:
        """Put a participant in a side room (``MAIN`` brings them back).

        Signaling and media are scoped to side rooms: only people in the same one
        see and hear each other.
        """
        self.effects.append(Move(participant, side))


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


# -- optional hooks: a tool has them or not; the server checks with isinstance ---------------
@runtime_checkable
class Catalog(Protocol):
    """A tool whose launcher offers choices before it starts (the exercise library)."""

    def catalog(self, ctx: ToolContext) -> Any:
        """What the clinician may choose from; JSON. ``ctx`` has no actor's effects: any it
        asks for are ignored."""


@runtime_checkable
class ProgramReport(Protocol):
    """A tool that reads a whole program's session records (check-in's trend)."""

    def report(self, records: Iterable[Mapping[str, Any]]) -> Any:
        """A summary over ``records`` (``{"tool", "at", "state", "session"}`` each, every
        tool's, as the store keeps them: the tool filters its own); JSON, clinicians only."""


@runtime_checkable
class Configurable(Protocol):
    """A tool with settings: the server passes these names (and only these) in
    :attr:`ToolContext.settings`, with the values of its environment at start."""

    setting_names: frozenset[str]
