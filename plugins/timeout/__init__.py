"""Conflict time-out with side rooms, and the clinician's private safety check-in.

Anyone in a couples room may call a time-out: each partner goes to a side room of
their own (``timeout-<id>``) with a countdown and a calming prompt; the clinician
stays in the main room and may ``visit`` either side room and ``return``. Everyone
comes back when the clinician ends it (``end`` or ``stop``) or the time runs out.
Side rooms scope signaling and media on the server: partners in different side
rooms can neither see, hear nor signal each other.

The clinician can also take one partner aside (``check-in``): the two go to
``private-<id>``, the other partner stays in the main room and is shown only
"the clinician is with <name>".

In an individual room a time-out is a personal pause: nobody moves; the client
gets the countdown and the calming prompt.

The clinician may open a check-in directly: ``start`` with ``{checkIn: <id>}``.

Codes: ``E_TOOL_INVALID`` (options or payload), ``E_TOOL_PHASE`` (the action does
not fit what is happening now), ``E_TOOL_NO_SIDE_ROOMS`` (visit or check-in in an
individual room, or visit during a personal pause), ``E_TOOL_FORBIDDEN`` (a check-in
opened by anyone but a clinician).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.tools.api import MAIN, Participant, ToolContext, ToolError

EVERYONE = frozenset({"clinician", "client", "partner"})
CLINICIAN = frozenset({"clinician"})
PARTNERS = ("client", "partner")
DEFAULT_MINUTES = 5
MAX_SECONDS = 20 * 60

PROMPTS = (
    "Breathe in slowly through your nose for a count of four, hold for four, and breathe "
    "out through your mouth for six. Repeat until the timer ends.",
    "Put both feet on the floor. Name five things you can see, four you can hear, three you "
    "can touch. Let your breathing slow down.",
    "Place a hand on your chest and breathe so that it rises slowly. You do not have to solve "
    "anything right now; you only have to cool down.",
)
PROMPT_AFTER = ("When you come back: one sentence about how you feel, starting with 'I'. "
                "Not what your partner did.")


def _prompt_id(prompt: str) -> int | None:
    """Which of PROMPTS this is: the panel shows that prompt in the page's language."""
    return PROMPTS.index(prompt) if prompt in PROMPTS else None


class TimeOut:
    name = "timeout"
    title = "Time-out"
    room_kinds = frozenset({"couples", "individual"})
    actions: Mapping[str, frozenset[str]] = {
        "start": EVERYONE,
        "call": EVERYONE,  # a new time-out after the last one ended (the tool still runs)
        "end": CLINICIAN,
        "stop": CLINICIAN,
        "visit": CLINICIAN,
        "return": CLINICIAN,
        "check-in": CLINICIAN,
        "tick": frozenset({"system"}),
    }

    # -- start ---------------------------------------------------------------------------
    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"phase": "ended", "deadline": None, "seconds": 0,
                                 "prompt": PROMPTS[0], "sides": {}, "names": {}, "roles": {},
                                 "checkIn": None, "log": [], "count": 0}
        actor = ctx.actor  # who called it (the server passes it; None from the clock)
        if "checkIn" in options:
            if actor is None or actor.role != "clinician":
                raise ToolError("E_TOOL_FORBIDDEN", "Only the clinician opens a check-in.")
            if set(options) != {"checkIn"}:
                raise ToolError("E_TOOL_INVALID", "A check-in takes only {checkIn}.")
            self._check_in(ctx, state, actor, {"participant": options["checkIn"]})
            return state
        self._call(ctx, state, actor, options)
        return state

    # -- actions -------------------------------------------------------------------------
    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        handler = {"call": self._call, "end": self._end, "visit": self._visit,
                   "return": self._return, "check-in": self._check_in,
                   "tick": self._tick}.get(action)
        if handler is None:
            raise ToolError("E_TOOL_INVALID", "Unknown action.")
        handler(ctx, state, actor, payload)
        return state

    def _call(self, ctx: ToolContext, state: dict[str, Any], actor: Participant | None,
              options: dict[str, Any]) -> None:
        if state["phase"] != "ended":
            raise ToolError("E_TOOL_PHASE", "A time-out or check-in is already going on.")
        seconds = _duration(options)
        partners = [p for p in ctx.roster if p.role in PARTNERS]
        _learn(ctx, state)
        separate = ctx.room_kind == "couples" and len(partners) >= 2
        state.update(phase="timeout" if separate else "pause", deadline=ctx.now + seconds,
                     seconds=seconds, prompt=PROMPTS[state["count"] % len(PROMPTS)],
                     checkIn=None, sides={p.id: MAIN for p in ctx.roster})
        state["count"] += 1
        if separate:
            for p in partners:
                self._move(ctx, state, p.id, f"timeout-{p.id}")
        state["log"].append({"at": ctx.now, "event": "called", "seconds": seconds,
                             "by": actor.id if actor else None,
                             "sideRooms": separate})

    def _end(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
             payload: dict[str, Any]) -> None:
        if state["phase"] == "ended":
            raise ToolError("E_TOOL_PHASE", "Nothing to end: everyone is in the main room.")
        self._back_together(ctx, state, "ended")

    def _tick(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
              payload: dict[str, Any]) -> None:
        due = state["deadline"]
        if state["phase"] in ("timeout", "pause") and due is not None and ctx.now >= due - 0.05:
            self._back_together(ctx, state, "time-up")

    def _visit(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
               payload: dict[str, Any]) -> None:
        if state["phase"] != "timeout":
            raise ToolError("E_TOOL_NO_SIDE_ROOMS" if state["phase"] == "pause"
                            else "E_TOOL_PHASE", "There is no time-out side room to visit.")
        target = _target(ctx, payload)
        side = state["sides"].get(target.id, MAIN)
        if not side.startswith("timeout-"):
            raise ToolError("E_TOOL_INVALID", "That person is not in a side room.")
        self._move(ctx, state, actor.id, side)
        state["log"].append({"at": ctx.now, "event": "visit", "by": actor.id,
                             "participant": target.id})

    def _return(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                payload: dict[str, Any]) -> None:
        if state["phase"] == "check-in":  # the check-in is over: everyone comes back
            self._back_together(ctx, state, "check-in-ended")
            return
        if state["phase"] != "timeout":
            raise ToolError("E_TOOL_PHASE", "You are already in the main room.")
        self._move(ctx, state, actor.id, MAIN)

    def _check_in(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                  payload: dict[str, Any]) -> None:
        if ctx.room_kind != "couples":
            raise ToolError("E_TOOL_NO_SIDE_ROOMS",
                            "An individual session is already private.")
        target = _target(ctx, payload)
        _learn(ctx, state)
        # The check-in takes over from a time-out: the other partner waits in the main room.
        state.update(phase="check-in", deadline=None, checkIn=target.id)
        side = f"private-{target.id}"
        for p in ctx.roster:
            if p.id in (target.id, actor.id):
                self._move(ctx, state, p.id, side)
            elif p.role in PARTNERS or state["sides"].get(p.id, MAIN) != MAIN:
                self._move(ctx, state, p.id, MAIN)
        state["log"].append({"at": ctx.now, "event": "check-in", "by": actor.id,
                             "participant": target.id})

    # -- helpers -------------------------------------------------------------------------
    def _move(self, ctx: ToolContext, state: dict[str, Any], pid: str, side: str) -> None:
        state["sides"][pid] = side
        ctx.move(pid, side)

    def _back_together(self, ctx: ToolContext, state: dict[str, Any], why: str) -> None:
        for pid, side in list(state["sides"].items()):
            if side != MAIN:
                self._move(ctx, state, pid, MAIN)
        for p in ctx.roster:  # anyone the tool does not know of, to be sure
            if p.side != MAIN and p.id not in state["sides"]:
                self._move(ctx, state, p.id, MAIN)
        state.update(phase="ended", deadline=None, checkIn=None)
        state["log"].append({"at": ctx.now, "event": why})

    # -- what people see -----------------------------------------------------------------
    # Each view keeps its English sentences (``message``, ``prompt``) for API readers and adds
    # what the panel needs to say them in the page's language: ``promptId`` (an index into
    # PROMPTS) and ``with`` (the name in "the clinician is with <name>"), docs/i18n.md.
    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]:
        phase = state["phase"]
        names = state["names"]
        if viewer.role == "clinician":
            return {"phase": phase, "deadline": state["deadline"], "seconds": state["seconds"],
                    "prompt": state["prompt"], "promptId": _prompt_id(state["prompt"]),
                    "checkIn": state["checkIn"],
                    "sides": dict(state["sides"]), "names": dict(names),
                    "you": {"side": state["sides"].get(viewer.id, MAIN)}}
        if phase == "check-in":
            if state["checkIn"] == viewer.id:
                return {"phase": "check-in", "message": "Your clinician is with you, just the "
                        "two of you. Your partner cannot see or hear this conversation."}
            # The other partner learns only where the clinician is; nothing else.
            with_name = names.get(state["checkIn"])
            return {"phase": "away", "with": with_name,
                    "message": f"The clinician is with {with_name or 'your partner'}."}
        if phase == "ended":
            return {"phase": "ended", "message": "The time-out is over. " + PROMPT_AFTER}
        mine = state["sides"].get(viewer.id, MAIN)
        where = "with-you" if phase == "pause" else "main"
        for pid, role in state["roles"].items():
            side = state["sides"].get(pid, MAIN)
            if role != "clinician" or where == "with-you":
                continue
            if side == mine:
                where = "with-you"
            elif side != MAIN:
                where = "with-partner"
        return {"phase": phase, "deadline": state["deadline"], "seconds": state["seconds"],
                "prompt": state["prompt"], "promptId": _prompt_id(state["prompt"]),
                "sideRoom": phase == "timeout",
                "clinician": {"where": where, "message": {
                    "main": "Your clinician is in the main room.",
                    "with-you": "Your clinician is here with you.",
                    "with-partner": "Your clinician is with your partner.",
                }[where]}}

    def wake_at(self, state: dict[str, Any]) -> float | None:
        if state["phase"] in ("timeout", "pause"):
            deadline: float = state["deadline"]
            return deadline
        return None

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        """Time-outs (when, how long) for everyone; visits and check-ins for the clinician."""
        if viewer_role == "clinician":
            return {"log": state["log"]}
        return {"log": [{k: v for k, v in e.items() if k in ("at", "event", "seconds")}
                        for e in state["log"] if e["event"] in ("called", "ended", "time-up")]}


def _learn(ctx: ToolContext, state: dict[str, Any]) -> None:
    for p in ctx.roster:
        state["names"][p.id] = p.name
        state["roles"][p.id] = p.role


def _duration(options: dict[str, Any]) -> float:
    unknown = set(options) - {"minutes", "seconds"}
    if unknown:
        raise ToolError("E_TOOL_INVALID", f"Unknown options: {', '.join(sorted(unknown))}.")
    if "seconds" in options:  # short time-outs, for tests and demos
        value, scale = options["seconds"], 1
    else:
        value, scale = options.get("minutes", DEFAULT_MINUTES), 60
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("E_TOOL_INVALID", "The length is a number of minutes (1 to 20).")
    seconds = float(value) * scale
    if not 0 < seconds <= MAX_SECONDS:
        raise ToolError("E_TOOL_INVALID", "A time-out lasts up to 20 minutes.")
    return seconds


def _target(ctx: ToolContext, payload: dict[str, Any]) -> Participant:
    pid = payload.get("participant")
    person = ctx.get(pid) if isinstance(pid, str) else None
    if person is None or person.role not in PARTNERS or set(payload) != {"participant"}:
        raise ToolError("E_TOOL_INVALID", "Name a client or partner in the session.")
    return person
