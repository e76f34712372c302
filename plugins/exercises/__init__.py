"""Structured relationship exercises: private answers revealed together, and speaker-listener.

The clinician starts an exercise from the library (``library/*.json``) for two
participants: the client and the partner, or in an individual room the client and
the clinician, who takes the partner's part. Steps are played one at a time:

- ``private-reveal``: each participant answers privately (or withholds). The other
  sees nothing of an answer, not even its length, until both have answered or
  withheld *and* the clinician releases the step. The clinician sees answers as
  they arrive, to guide the session.
- ``floor``: speaker-listener. The speaker holds the floor; everyone else in the
  exercise is asked to mute (the clinician never is). The listener paraphrases,
  the speaker confirms or asks to try again, then the roles swap.
- ``shared``: answers are seen by everyone as they are given.

Codes: ``E_TOOL_INVALID`` (malformed options or answer), ``E_TOOL_NOT_IN_EXERCISE``,
``E_TOOL_NOT_YOUR_TURN``, ``E_TOOL_STEP`` (the action does not fit this step),
``E_TOOL_NOT_READY`` (release before everyone answered or withheld),
``E_TOOL_RELEASED`` (changing an answer after release), ``E_TOOL_FLOOR``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.exercises.library import (
    BUILT_IN,
    EXTRA_DIRS_ENV,
    Exercise,
    LibraryError,
    extra_dirs,
    load,
)
from server.tools.api import Participant, ToolContext, ToolError

__all__ = ["Exercises", "LibraryError"]

EVERYONE = frozenset({"clinician", "client", "partner"})
CLINICIAN = frozenset({"clinician"})
PARAPHRASE_MAX = 2000
TEXT_MAX = 2000
WITHHELD = {"withheld": True}


def _skipped(error: LibraryError) -> None:
    logging.getLogger("alongside.plugins.exercises").error("exercise skipped: %s", error)


def _err(code: str, message: str) -> ToolError:
    return ToolError(code, message)


class Exercises:
    name = "exercises"
    title = "Exercises"
    room_kinds = frozenset({"individual", "couples"})
    actions: Mapping[str, frozenset[str]] = {
        "start": CLINICIAN,
        "stop": CLINICIAN,
        "next": CLINICIAN,
        "back": CLINICIAN,
        "release": CLINICIAN,
        "answer": EVERYONE,
        "withhold": EVERYONE,
        "take-floor": EVERYONE,
        "paraphrase": EVERYONE,
        "confirm": EVERYONE,
        "swap": EVERYONE,
        "tick": frozenset({"system"}),
    }

    setting_names = frozenset({EXTRA_DIRS_ENV})  # read from ctx.settings, never os.environ

    def __init__(self, library_dirs: list[Path] | None = None) -> None:
        # Given folders replace the library (tests); they must all be valid.
        self._fixed = load(library_dirs) if library_dirs is not None else None
        self._builtin = load([BUILT_IN])  # the built-in library must be valid
        self._added: tuple[str, dict[str, Exercise]] | None = None

    def library(self, settings: Mapping[str, str]) -> dict[str, Exercise]:
        """The built-ins and the clinic's folders (read once per setting's value).

        A clinician's broken file in an added folder is logged and skipped, so it cannot
        take the built-ins down with it."""
        if self._fixed is not None:
            return self._fixed
        extra = settings.get(EXTRA_DIRS_ENV, "")
        added = self._added
        if added is not None and added[0] == extra:
            return added[1]
        found = load(extra_dirs(extra), dict(self._builtin), on_error=_skipped)
        self._added = (extra, found)  # one assignment: safe across worker threads
        return found

    def catalog(self, ctx: ToolContext) -> list[dict[str, Any]]:
        """What a launcher may offer (the exercise list), without starting anything."""
        return [e.catalog_entry() for e in self.library(ctx.settings).values()]

    # -- start ---------------------------------------------------------------------------
    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]:
        exercise_id = options.get("exercise")
        library = self.library(ctx.settings)
        if not isinstance(exercise_id, str) or exercise_id not in library:
            raise _err("E_TOOL_INVALID", "Choose an exercise from the library.")
        unknown = set(options) - {"exercise", "participants", "speaker"}
        if unknown:
            raise _err("E_TOOL_INVALID", f"Unknown options: {', '.join(sorted(unknown))}.")
        people = self._assign(ctx, options.get("participants"))
        speaker = options.get("speaker", people[0]["id"])
        if not isinstance(speaker, str) or speaker not in {p["id"] for p in people}:
            raise _err("E_TOOL_INVALID", "The speaker must be one of the participants.")
        listener = next(p["id"] for p in people if p["id"] != speaker)
        exercise = library[exercise_id]
        state: dict[str, Any] = {
            "exercise": exercise.model_dump(by_alias=True, mode="json"),
            "people": people,
            "speaker": speaker,
            "listener": listener,
            "index": 0,
            "finished": False,
            "steps": [_blank_step() for _ in exercise.steps],
        }
        self._enter(ctx, state)
        return state

    def _assign(self, ctx: ToolContext, chosen: Any) -> list[dict[str, str]]:
        if chosen is None:
            wanted = ["client", "partner" if ctx.room_kind == "couples" else "clinician"]
            people = []
            for role in wanted:
                found = ctx.by_role(role)
                if role == "clinician" and ctx.actor is not None and ctx.actor in found:
                    found = [ctx.actor]  # the clinician who starts it takes the part
                if not found:
                    raise _err("E_TOOL_INVALID",
                               f"The {role} is not in the session; choose the participants.")
                people.append(found[0])
        else:
            if (not isinstance(chosen, list) or len(chosen) != 2
                    or not all(isinstance(x, str) for x in chosen) or chosen[0] == chosen[1]):
                raise _err("E_TOOL_INVALID", "Choose two different participants.")
            people = []
            for pid in chosen:
                person = ctx.get(pid)
                if person is None:
                    raise _err("E_TOOL_INVALID", "Both participants must be in the session.")
                people.append(person)
        roles = [p.role for p in people]
        if roles.count("clinician") > 1 or len({r for r in roles if r != "clinician"}) \
                != len([r for r in roles if r != "clinician"]):
            raise _err("E_TOOL_INVALID", "Choose the client and the partner, or one of "
                                         "them and a clinician.")
        # The clinician stands in for whichever part is missing (the partner, usually).
        taken = {r for r in roles if r != "clinician"}
        spare = [r for r in ("partner", "client") if r not in taken]
        return [{"id": p.id, "name": p.name, "role": p.role,
                 "part": p.role if p.role != "clinician" else spare[0]} for p in people]

    # -- actions -------------------------------------------------------------------------
    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        handler = {
            "next": self._next, "back": self._back, "answer": self._answer,
            "withhold": self._withhold, "release": self._release,
            "take-floor": self._take_floor, "paraphrase": self._paraphrase,
            "confirm": self._confirm, "swap": self._swap, "tick": self._tick,
        }.get(action)
        if handler is None:
            raise _err("E_TOOL_INVALID", "Unknown action.")
        if state["finished"] and action not in ("back", "tick"):
            raise _err("E_TOOL_STEP", "The exercise is finished; go back or stop it.")
        handler(ctx, state, actor, payload)
        return state

    def _next(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
              payload: dict[str, Any]) -> None:
        self._leave(ctx, state)
        if state["index"] + 1 >= len(state["exercise"]["steps"]):
            state["finished"] = True
            return
        state["index"] += 1
        self._enter(ctx, state)

    def _back(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
              payload: dict[str, Any]) -> None:
        if state["finished"]:
            state["finished"] = False
        elif state["index"] == 0:
            raise _err("E_TOOL_STEP", "This is the first step.")
        else:
            self._leave(ctx, state)
            state["index"] -= 1
        self._enter(ctx, state)

    def _answer(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                payload: dict[str, Any]) -> None:
        step, st = _current(state)
        if step["mode"] == "floor":
            raise _err("E_TOOL_STEP", "This step is spoken; the listener uses paraphrase.")
        self._may_answer(state, step, actor)
        if step["mode"] == "private-reveal" and st["released"]:
            raise _err("E_TOOL_RELEASED", "The answers were already revealed.")
        st["answers"][actor.id] = {"value": _parse_answer(step, payload), "withheld": False}

    def _withhold(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                  payload: dict[str, Any]) -> None:
        step, st = _current(state)
        if step["mode"] != "private-reveal":
            raise _err("E_TOOL_STEP", "Only a private answer can be withheld.")
        self._may_answer(state, step, actor)
        if st["released"]:
            raise _err("E_TOOL_RELEASED", "The answers were already revealed.")
        if payload:
            raise _err("E_TOOL_INVALID", "Withholding takes no payload.")
        st["answers"][actor.id] = {"value": None, "withheld": True}

    def _release(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                 payload: dict[str, Any]) -> None:
        step, st = _current(state)
        if step["mode"] != "private-reveal":
            raise _err("E_TOOL_STEP", "Only private answers are released.")
        missing = [p["name"] for p in state["people"] if p["id"] not in st["answers"]]
        if missing:
            raise _err("E_TOOL_NOT_READY",
                       f"Waiting for {', '.join(missing)} to answer or withhold.")
        st["released"] = True

    def _take_floor(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                    payload: dict[str, Any]) -> None:
        self._floor_step(state, actor)
        if actor.id != state["speaker"]:
            raise _err("E_TOOL_FLOOR", "The speaker holds the floor; wait for the swap.")
        self._mutes(ctx, state)  # the speaker (re)claims it: mutes are sent again

    def _paraphrase(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                    payload: dict[str, Any]) -> None:
        st = self._floor_step(state, actor)
        if actor.id != state["listener"]:
            raise _err("E_TOOL_FLOOR", "Only the listener paraphrases.")
        if set(payload) != {"text"}:
            raise _err("E_TOOL_INVALID", "A paraphrase is {text}.")
        text = _text(payload["text"], PARAPHRASE_MAX)
        said = st["paraphrases"]
        entry = {"by": actor.id, "text": text, "status": "pending", "round": st["round"]}
        if said and said[-1]["status"] == "pending" and said[-1]["round"] == st["round"]:
            said[-1] = entry  # the listener rephrases before the speaker answers
        else:
            said.append(entry)

    def _confirm(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
                 payload: dict[str, Any]) -> None:
        st = self._floor_step(state, actor)
        if actor.id != state["speaker"]:
            raise _err("E_TOOL_FLOOR", "Only the speaker confirms a paraphrase.")
        ok = payload.get("ok", True)
        if not isinstance(ok, bool) or set(payload) - {"ok"}:
            raise _err("E_TOOL_INVALID", "Confirm with {ok: true} or ask again with {ok: false}.")
        said = st["paraphrases"]
        if not said or said[-1]["status"] != "pending" or said[-1]["round"] != st["round"]:
            raise _err("E_TOOL_STEP", "There is no paraphrase to confirm yet.")
        said[-1]["status"] = "confirmed" if ok else "try-again"

    def _swap(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
              payload: dict[str, Any]) -> None:
        step, st = _current(state)
        if step["mode"] != "floor":
            raise _err("E_TOOL_STEP", "Roles swap on a speaker-listener step.")
        if actor.role != "clinician":
            self._floor_step(state, actor)
            said = st["paraphrases"]
            if not (said and said[-1]["status"] == "confirmed"
                    and said[-1]["round"] == st["round"]):
                raise _err("E_TOOL_FLOOR", "Swap once the speaker has confirmed a paraphrase.")
        state["speaker"], state["listener"] = state["listener"], state["speaker"]
        st["round"] += 1
        self._enter(ctx, state)

    def _tick(self, ctx: ToolContext, state: dict[str, Any], actor: Participant,
              payload: dict[str, Any]) -> None:
        _, st = _current(state)
        if st["deadline"] is not None and not st["timeUp"] and ctx.now >= st["deadline"] - 0.05:
            st["timeUp"] = True

    # -- helpers -------------------------------------------------------------------------
    def _may_answer(self, state: dict[str, Any], step: dict[str, Any],
                    actor: Participant) -> None:
        if step["who"] == "clinician":
            if actor.role != "clinician":
                raise _err("E_TOOL_NOT_YOUR_TURN", "The clinician answers this step.")
            return
        if _person(state, actor.id) is None:
            raise _err("E_TOOL_NOT_IN_EXERCISE", "You are not a participant in this exercise.")
        if step["who"] in ("speaker", "listener") and actor.id != state[step["who"]]:
            raise _err("E_TOOL_NOT_YOUR_TURN", f"The {step['who']} answers this step.")

    def _floor_step(self, state: dict[str, Any], actor: Participant) -> dict[str, Any]:
        step, st = _current(state)
        if step["mode"] != "floor":
            raise _err("E_TOOL_STEP", "This is not a speaker-listener step.")
        if _person(state, actor.id) is None:
            raise _err("E_TOOL_NOT_IN_EXERCISE", "You are not a participant in this exercise.")
        return st

    def _enter(self, ctx: ToolContext, state: dict[str, Any]) -> None:
        step, st = _current(state)
        st["deadline"] = ctx.now + step["timer"] if step.get("timer") else None
        st["timeUp"] = False
        if step["mode"] == "floor":
            self._mutes(ctx, state)

    def _leave(self, ctx: ToolContext, state: dict[str, Any]) -> None:
        step, _ = _current(state)
        if step["mode"] == "floor":  # nobody stays muted after the round
            for p in state["people"]:
                if p["role"] != "clinician":
                    ctx.mute(p["id"], False)

    def _mutes(self, ctx: ToolContext, state: dict[str, Any]) -> None:
        for p in state["people"]:
            if p["role"] != "clinician":  # the clinician is never muted
                ctx.mute(p["id"], p["id"] != state["speaker"])

    # -- what people see -----------------------------------------------------------------
    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]:
        step, st = _current(state)
        clinician = viewer.role == "clinician"
        me = _person(state, viewer.id)
        ex = state["exercise"]
        shown_step = {k: step.get(k) for k in ("prompt", "who", "mode", "fields", "template",
                                                "timer")}
        if clinician and step.get("guide"):
            shown_step["guide"] = step["guide"]
        out: dict[str, Any] = {
            "exercise": {"id": ex["id"], "title": ex["title"], "intro": ex["intro"]},
            "people": [{"id": p["id"], "name": p["name"], "part": p["part"]}
                       for p in state["people"]],
            "speaker": state["speaker"],
            "listener": state["listener"],
            "index": state["index"],
            "count": len(ex["steps"]),
            "finished": state["finished"],
            "you": {"inExercise": me is not None, "part": me["part"] if me else None},
            "step": {**shown_step, "deadline": st["deadline"], "timeUp": st["timeUp"]},
        }
        if step["mode"] == "floor":
            out["floor"] = {
                "holder": state["speaker"],
                "round": st["round"],
                "paraphrases": st["paraphrases"],
                "youMuted": (me is not None and viewer.role != "clinician"
                             and viewer.id != state["speaker"] and not state["finished"]),
            }
        else:
            out["answers"] = _visible(state, step, st, viewer.id, clinician)
            if step["mode"] == "private-reveal":
                out["released"] = st["released"]
                # Who is done (answered *or* withheld, not which): "waiting for Sam".
                out["done"] = sorted(st["answers"])
        return out

    def wake_at(self, state: dict[str, Any]) -> float | None:
        if state["finished"]:
            return None
        _, st = _current(state)
        return None if st["timeUp"] else st["deadline"]

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        """The clinician reads every answer; a client or partner reads their own, the
        shared ones, and the other's private answers only where they were released."""
        clinician = viewer_role == "clinician"
        own = {p["id"] for p in state["people"] if p["role"] == viewer_role}
        steps = []
        for step, st in zip(state["exercise"]["steps"], state["steps"], strict=True):
            entry: dict[str, Any] = {"prompt": step["prompt"], "mode": step["mode"]}
            if step["mode"] == "floor":
                entry["paraphrases"] = st["paraphrases"]
            else:
                answers = {}
                for pid in st["answers"]:
                    shown = _shown(step, st, pid, own, clinician)
                    if shown is not None:
                        answers[pid] = shown
                entry["answers"] = answers
                if step["mode"] == "private-reveal":
                    entry["released"] = st["released"]
            steps.append(entry)
        return {"exercise": state["exercise"]["id"], "title": state["exercise"]["title"],
                "people": [{"id": p["id"], "name": p["name"], "part": p["part"]}
                           for p in state["people"]],
                "steps": steps}


# -- pure helpers over the state ------------------------------------------------------------
def _blank_step() -> dict[str, Any]:
    return {"answers": {}, "released": False, "deadline": None, "timeUp": False,
            "paraphrases": [], "round": 1}


def _current(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    i = state["index"]
    return state["exercise"]["steps"][i], state["steps"][i]


def _person(state: dict[str, Any], pid: str) -> dict[str, Any] | None:
    return next((p for p in state["people"] if p["id"] == pid), None)


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _err("E_TOOL_INVALID", "Write something, or withhold.")
    if len(value) > limit:
        raise _err("E_TOOL_INVALID", f"Keep it under {limit} characters.")
    return value.strip()


def _parse_answer(step: dict[str, Any], payload: dict[str, Any]) -> dict[str, str]:
    fields = step.get("fields") or []
    if not fields:
        if set(payload) != {"text"}:
            raise _err("E_TOOL_INVALID", "This answer is {text}.")
        return {"text": _text(payload["text"], TEXT_MAX)}
    given = payload.get("fields")
    names = [f["name"] for f in fields]
    if set(payload) != {"fields"} or not isinstance(given, dict) or set(given) != set(names):
        raise _err("E_TOOL_INVALID", f"This answer is {{fields: {{{', '.join(names)}}}}}.")
    return {f["name"]: _text(given[f["name"]], f["maxLength"]) for f in fields}


def _rendered(step: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    if answer["withheld"]:
        return dict(WITHHELD)
    out: dict[str, Any] = {"withheld": False, "value": copy.deepcopy(answer["value"])}
    if step.get("template"):
        out["text"] = step["template"].format(**answer["value"])
    elif "text" in answer["value"]:
        out["text"] = answer["value"]["text"]
    return out


def _shown(step: dict[str, Any], st: dict[str, Any], pid: str, own: set[str],
           clinician: bool) -> dict[str, Any] | None:
    """One answer as a reader may see it, or None (nothing at all: not even that it exists)."""
    answer = st["answers"][pid]
    if clinician or pid in own or step["mode"] == "shared" or st["released"]:
        return _rendered(step, answer)
    return None


def _visible(state: dict[str, Any], step: dict[str, Any], st: dict[str, Any], viewer: str,
             clinician: bool) -> dict[str, Any]:
    out = {}
    for pid in st["answers"]:
        shown = _shown(step, st, pid, {viewer}, clinician)
        if shown is not None:
            out[pid] = shown
    return out
