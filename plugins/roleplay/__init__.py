"""Role-play: rehearse a hard conversation, turn by turn, inside the session.

The clinician picks a scenario (a validated data file, see :mod:`plugins.roleplay.library`)
and casts its two parts, "speaker" (the person practising) and "partner" (the other side).
In an individual room the clinician plays the partner; in a couples room the client and the
partner play, and can swap. Each turn shows its speaker a prompt (and suggested words) and
runs a timer; the clinician can redo a turn, swap the parts, pause, and sees coaching cues
nobody else ever receives. A closing reflection is kept in the session record.

Codes: ``E_TOOL_INVALID`` (a malformed payload, or an action that does not fit the stage),
``E_TOOL_SCENARIO`` (no such scenario), ``E_TOOL_ROLES`` (a part given to someone not in the
room, or both parts to one person), ``E_TOOL_NOT_YOUR_TURN``, ``E_TOOL_PAUSED``,
``E_TOOL_FINISHED`` (``next`` after the last turn), ``E_TOOL_NOT_PLAYING`` (a reflection from
someone with no part).
"""

from __future__ import annotations

from typing import Any

from plugins.roleplay.library import PARTS, SCENARIOS_ENV, Library, Loader, Scenario
from server.tools.api import Participant, ToolContext, ToolError

CLINICIAN = frozenset({"clinician"})
PEOPLE = frozenset({"clinician", "client", "partner"})
MAX_REFLECTION = 2000
EARLY = 0.05  # a clock tick this close to the deadline counts as on time


def _invalid(message: str) -> ToolError:
    return ToolError("E_TOOL_INVALID", message)


def _only(payload: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(payload) - allowed)
    if extra:
        raise _invalid(f"Unexpected field(s): {', '.join(extra)}.")


class RolePlay:
    name = "roleplay"
    title = "Role-play"
    room_kinds = frozenset({"individual", "couples"})
    actions = {
        "start": CLINICIAN,
        "pick": CLINICIAN,      # choose the scenario when started without one
        "next": PEOPLE,         # the clinician, or whoever speaks this turn
        "redo": CLINICIAN,
        "swap": CLINICIAN,
        "assign": CLINICIAN,    # recast the parts (e.g. the partner arrived late)
        "pause": CLINICIAN,
        "resume": CLINICIAN,
        "reflect": PEOPLE,      # the clinician and whoever has (had) a part
        "stop": CLINICIAN,
        "tick": frozenset({"system"}),
    }

    setting_names = frozenset({SCENARIOS_ENV})  # read from ctx.settings, never os.environ

    def __init__(self) -> None:
        self.loader = Loader()

    def library(self, ctx: ToolContext) -> Library:
        return self.loader.library(ctx.settings.get(SCENARIOS_ENV))

    def catalog(self, ctx: ToolContext) -> list[dict[str, Any]]:
        """The scenarios a launcher can offer before starting (built-in and the clinic's)."""
        return self.library(ctx).catalog()

    # -- starting --------------------------------------------------------------------------
    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]:
        _only(options, {"scenario", "roles"})
        library = self.library(ctx)
        state: dict[str, Any] = {
            "stage": "picking", "scenario": None, "cast": {}, "names": {}, "players": [],
            "turn": 0, "deadline": None, "seconds_left": None, "time_up": False,
            "paused": False, "history": [], "reflections": {}, "started_at": ctx.now,
            "skipped": list(library.skipped), "library": library.catalog(),
        }
        if options.get("scenario") is None:
            if options.get("roles") is not None:
                raise _invalid("Choose a scenario to cast its parts.")
            return state  # the clinician picks from the library in the view
        return self._begin(ctx, state, options)

    def _begin(self, ctx: ToolContext, state: dict[str, Any],
               options: dict[str, Any]) -> dict[str, Any]:
        chosen = options.get("scenario")
        if not isinstance(chosen, str) or not chosen:
            raise _invalid("Name the scenario to play, by its id.")
        scenario = self.library(ctx).scenarios.get(chosen)
        if scenario is None:
            raise ToolError("E_TOOL_SCENARIO", f"There is no scenario called {chosen[:64]!r}.")
        state["scenario"] = scenario.model_dump(mode="json")
        state["stage"] = "playing"
        state.pop("library", None)
        self._cast(ctx, state, options.get("roles"))
        state["turn"] = 0
        self._start_turn(state, ctx.now)
        return state

    def _cast(self, ctx: ToolContext, state: dict[str, Any], roles: Any) -> None:
        if roles is None:
            roles = {}
        if not isinstance(roles, dict) or not set(roles) <= set(PARTS) or not all(
                isinstance(v, str) for v in roles.values()):
            raise _invalid('Roles are {"speaker": participant id, "partner": participant id}.')
        cast: dict[str, str] = {}
        for part in PARTS:
            pid = roles.get(part) or self._default(ctx, part)
            if pid is None:
                raise ToolError("E_TOOL_ROLES", "The client is not in the room yet.")
            if ctx.get(pid) is None:
                raise ToolError("E_TOOL_ROLES", f"The {part} part is given to someone who is "
                                "not in the room.")
            cast[part] = pid
        if cast["speaker"] == cast["partner"]:
            raise ToolError("E_TOOL_ROLES", "One person cannot play both parts.")
        state["cast"] = cast
        for pid in cast.values():
            person = ctx.get(pid)
            assert person is not None
            state["names"][pid] = {"name": person.name, "role": person.role}
            if pid not in state["players"]:
                state["players"].append(pid)

    @staticmethod
    def _default(ctx: ToolContext, part: str) -> str | None:
        """The speaker is the client; the partner is the partner in a couples room when
        present, else the clinician (who plays the partner in an individual room)."""
        clients, partners = ctx.by_role("client"), ctx.by_role("partner")
        clinicians = ctx.by_role("clinician")
        if part == "speaker":
            return clients[0].id if clients else None
        if ctx.room_kind == "couples" and partners:
            return partners[0].id
        return clinicians[0].id if clinicians else None

    # -- the script --------------------------------------------------------------------
    @staticmethod
    def _turns(state: dict[str, Any]) -> list[dict[str, Any]]:
        return state["scenario"]["turns"] if state["scenario"] else []

    def _start_turn(self, state: dict[str, Any], now: float) -> None:
        seconds = float(self._turns(state)[state["turn"]]["seconds"])
        state["time_up"] = False
        if state["paused"]:
            state["deadline"], state["seconds_left"] = None, seconds
        else:
            state["deadline"], state["seconds_left"] = now + seconds, None

    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        now = ctx.now
        if action == "tick":
            if (state["stage"] == "playing" and not state["paused"]
                    and state["deadline"] is not None and now >= state["deadline"] - EARLY):
                state["time_up"], state["deadline"] = True, None
                state["history"].append({"event": "time", "turn": state["turn"], "at": now})
            return state
        if action == "pick":
            if state["stage"] != "picking":
                raise _invalid("A scenario is already running; stop it to choose another.")
            _only(payload, {"scenario", "roles"})
            return self._begin(ctx, state, payload)
        if state["stage"] == "picking":
            raise _invalid("Choose a scenario first.")
        if action == "reflect":
            return self._reflect(state, actor, payload, now)
        if action == "assign":
            _only(payload, {"roles"})
            if not isinstance(payload.get("roles"), dict):
                raise _invalid('Roles are {"speaker": participant id, "partner": participant id}.')
            self._cast(ctx, state, {**state["cast"], **payload["roles"]})
            state["history"].append({"event": "assign", "turn": state["turn"], "at": now,
                                     "cast": dict(state["cast"])})
            self._restart(state, now)
            return state
        _only(payload, set())
        if action == "next":
            return self._next(state, actor, now)
        if action == "redo":
            if state["stage"] == "done":  # after the last turn: go back to it
                state["stage"], state["turn"] = "playing", len(self._turns(state)) - 1
            state["history"].append({"event": "redo", "turn": state["turn"], "at": now})
            self._start_turn(state, now)
        elif action == "swap":
            cast = state["cast"]
            cast["speaker"], cast["partner"] = cast["partner"], cast["speaker"]
            state["history"].append({"event": "swap", "turn": state["turn"], "at": now,
                                     "cast": dict(cast)})
            self._restart(state, now)
        elif action == "pause":
            if not state["paused"]:
                state["paused"] = True
                if state["deadline"] is not None:
                    state["seconds_left"] = max(0.0, state["deadline"] - now)
                    state["deadline"] = None
                state["history"].append({"event": "pause", "turn": state["turn"], "at": now})
        elif action == "resume":
            if state["paused"]:
                state["paused"] = False
                if state["seconds_left"] is not None and state["stage"] == "playing":
                    state["deadline"] = now + state["seconds_left"]
                state["seconds_left"] = None
                state["history"].append({"event": "resume", "turn": state["turn"], "at": now})
        else:
            raise _invalid(f"Role-play has no action {action!r}.")
        return state

    def _restart(self, state: dict[str, Any], now: float) -> None:
        """A new cast plays the current turn again, with a fresh timer."""
        if state["stage"] == "playing":
            self._start_turn(state, now)

    def _next(self, state: dict[str, Any], actor: Participant, now: float) -> dict[str, Any]:
        if state["paused"]:
            raise ToolError("E_TOOL_PAUSED", "The role-play is paused.")
        if state["stage"] == "done":
            raise ToolError("E_TOOL_FINISHED", "That was the last turn; time to reflect.")
        turn = self._turns(state)[state["turn"]]
        speaking = state["cast"][turn["who"]]
        if actor.role != "clinician" and actor.id != speaking:
            raise ToolError("E_TOOL_NOT_YOUR_TURN", "It is not your turn to speak.")
        state["history"].append({"event": "turn", "turn": state["turn"], "by": speaking,
                                 "outcome": "time" if state["time_up"] else "done", "at": now})
        state["turn"] += 1
        if state["turn"] >= len(self._turns(state)):
            state["stage"] = "done"
            state["deadline"], state["seconds_left"], state["time_up"] = None, None, False
        else:
            self._start_turn(state, now)
        return state

    def _reflect(self, state: dict[str, Any], actor: Participant, payload: dict[str, Any],
                 now: float) -> dict[str, Any]:
        _only(payload, {"text"})
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _invalid("A reflection is some text.")
        text = text.strip()
        if len(text) > MAX_REFLECTION:
            raise _invalid(f"A reflection is at most {MAX_REFLECTION} characters.")
        if actor.role != "clinician" and actor.id not in state["players"]:
            raise ToolError("E_TOOL_NOT_PLAYING", "Only the people playing a part reflect here.")
        part = next((p for p, pid in state["cast"].items() if pid == actor.id), None)
        state["reflections"][actor.id] = {"text": text, "at": now, "name": actor.name,
                                          "role": actor.role, "part": part}
        return state

    # -- what people see ---------------------------------------------------------------
    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]:
        clinician = viewer.role == "clinician"
        scenario = state["scenario"]
        out: dict[str, Any] = {"stage": state["stage"], "paused": state["paused"]}
        if scenario is None:
            if clinician:
                out["library"] = state.get("library", [])
                out["skipped"] = state["skipped"]
            else:
                out["message"] = "Your clinician is choosing a role-play."
            return out
        cast, names = state["cast"], state["names"]
        mine = next((p for p, pid in cast.items() if pid == viewer.id), None)
        out["scenario"] = {"id": scenario["id"], "title": scenario["title"],
                           "summary": scenario["summary"]}
        out["parts"] = {part: {**scenario["roles"][part], "participant": cast[part],
                               "name": names.get(cast[part], {}).get("name", "")}
                        for part in PARTS}
        out["you"] = mine
        turns = scenario["turns"]
        out["turns"] = {"count": len(turns),
                        "taken": sum(1 for h in state["history"] if h["event"] == "turn")}
        out["turn"] = None
        if state["stage"] == "playing":
            turn = turns[state["turn"]]
            speaking = cast[turn["who"]]
            out["turn"] = {
                "index": state["turn"], "who": turn["who"], "participant": speaking,
                "name": names.get(speaking, {}).get("name", ""), "prompt": turn["prompt"],
                "seconds": turn["seconds"], "deadline": state["deadline"],
                "seconds_left": state["seconds_left"], "time_up": state["time_up"],
                "yours": speaking == viewer.id,
            }
            if clinician or speaking == viewer.id:
                out["turn"]["suggested"] = turn["suggested"]
        reflection: dict[str, Any] = {"question": scenario["reflection"],
                                      "mine": (state["reflections"].get(viewer.id) or {})
                                      .get("text")}
        out["reflection"] = reflection
        if clinician:
            # Coaching cues, the script ahead, everyone's reflections: the clinician only.
            current = turns[state["turn"]] if state["stage"] == "playing" else None
            out["cues"] = {
                "current": current.get("cue") if current else None,
                "upcoming": [{"index": i, "who": t["who"], "prompt": t["prompt"],
                              "cue": t.get("cue")}
                             for i, t in enumerate(turns)
                             if state["stage"] == "playing" and i > state["turn"]],
            }
            reflection["all"] = state["reflections"]
            out["skipped"] = state["skipped"]
        return out

    def wake_at(self, state: dict[str, Any]) -> float | None:
        if state.get("stage") != "playing" or state.get("paused"):
            return None
        deadline = state.get("deadline")
        return float(deadline) if deadline is not None else None

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        scenario = state.get("scenario") or {}
        history = state.get("history", [])
        taken = sum(1 for h in history if h.get("event") == "turn")
        reflections = state.get("reflections", {})
        if viewer_role != "clinician":
            return {"scenario": scenario.get("id"), "turns_taken": taken,
                    "reflections": len(reflections)}
        names = state.get("names", {})
        return {
            "scenario": scenario.get("id"), "title": scenario.get("title"),
            "cast": {part: {"participant": pid, "name": names.get(pid, {}).get("name", "")}
                     for part, pid in state.get("cast", {}).items()},
            "turns": len(scenario.get("turns", [])), "turns_taken": taken,
            "finished": state.get("stage") == "done",
            "timed_out": sum(1 for h in history if h.get("event") == "time"),
            "redos": sum(1 for h in history if h.get("event") == "redo"),
            "swaps": sum(1 for h in history if h.get("event") == "swap"),
            "question": scenario.get("reflection"),
            "reflections": [{"participant": pid, **r} for pid, r in reflections.items()],
        }


__all__ = ["RolePlay", "Scenario"]
