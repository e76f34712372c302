"""A round for groups: each member answers one prompt privately; the clinician shares the
answers with the group without names, in a shuffled order.

How it keeps answers anonymous (docs/plugins.md, "Round"):

- While the round is **open**, a member sees only their own answer. Nobody (the clinicians
  included) sees any answer's text: the clinicians see only *who* has answered, so they can
  invite the others. Because texts are not shown as they arrive, the order of arrival can
  never tie a text to a name.
- **Close** ends answering and shuffles the answers (a fresh ``SystemRandom`` shuffle, kept
  in the state). Only now the clinicians read the texts, nameless, and may **hold back**
  one that identifies someone or should be taken up one to one, before sharing.
- **Reveal** shows the shuffled, nameless answers to everyone. A round needs at least
  ``MIN_TO_REVEAL`` answers shared (not held back): with two, each of the two writers
  would know who wrote the other.

Caveat: the state keeps which answer is whose (a member sees their own, and may change it
until the round closes); that link never leaves the server and the session record keeps
only the nameless texts. A member told that answers are anonymous should also be told the
clinicians read them before they are shared (the panel says so).
"""

from __future__ import annotations

import random
from typing import Any

from server.tools.api import Participant, ToolContext, ToolError

CLINICIAN = frozenset({"clinician"})
ANSWERING = frozenset({"client", "partner"})
PROMPT_MAX = 300
ANSWER_MAX = 500
MIN_TO_REVEAL = 3
OPEN, CLOSED, REVEALED = "open", "closed", "revealed"


def _invalid(message: str) -> ToolError:
    return ToolError("E_TOOL_INVALID", message)


def _text(value: Any, limit: int, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise _invalid(f"{what} is text of 1 to {limit} characters.")
    return value.strip()


def _only(payload: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(payload) - allowed)
    if extra:
        raise _invalid(f"Unexpected field(s): {', '.join(extra)}.")


class Round:
    name = "round"
    title = "Round"
    room_kinds = frozenset({"group"})
    actions = {
        "start": CLINICIAN,
        "answer": ANSWERING,
        "close": CLINICIAN,
        "hold": CLINICIAN,
        "reveal": CLINICIAN,
        "stop": CLINICIAN,
    }

    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]:
        _only(options, {"prompt"})
        prompt = _text(options.get("prompt"), PROMPT_MAX, "The prompt")
        expected = {p.id: p.name for p in ctx.roster if p.role in ANSWERING}
        return {"prompt": prompt, "stage": OPEN, "opened_at": ctx.now, "expected": expected,
                "answers": {}, "shuffled": [], "held": []}

    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        stage = state["stage"]
        if action == "answer":
            if stage != OPEN:
                raise ToolError("E_TOOL_CLOSED", "The round is closed.")
            _only(payload, {"text"})
            state["answers"][actor.id] = _text(payload.get("text"), ANSWER_MAX, "An answer")
            state["expected"].setdefault(actor.id, actor.name)
        elif action == "close":
            _only(payload, set())
            if stage != OPEN:
                raise ToolError("E_TOOL_CLOSED", "The round is already closed.")
            order = list(state["answers"])
            random.SystemRandom().shuffle(order)
            # Who wrote which stays on the server only so each member can see their own.
            state["shuffled"] = [{"text": state["answers"][pid], "by": pid} for pid in order]
            state["stage"] = CLOSED
        elif action == "hold":
            _only(payload, {"index", "held"})
            if stage != CLOSED:
                raise ToolError("E_TOOL_STAGE", "Answers can be held back after closing, "
                                                "before they are shared.")
            index, held = payload.get("index"), payload.get("held", True)
            if (isinstance(index, bool) or not isinstance(index, int)
                    or not 0 <= index < len(state["shuffled"]) or not isinstance(held, bool)):
                raise _invalid("Hold takes the index of an answer and held true or false.")
            kept = set(state["held"]) - {index}
            state["held"] = sorted(kept | {index} if held else kept)
        elif action == "reveal":
            _only(payload, set())
            if stage != CLOSED:
                raise ToolError("E_TOOL_STAGE", "Close the round before sharing the answers.")
            if len(state["shuffled"]) - len(state["held"]) < MIN_TO_REVEAL:
                raise ToolError("E_TOOL_TOO_FEW", f"A round is shared only with at least "
                                                  f"{MIN_TO_REVEAL} answers (not held back), "
                                                  "so nobody can tell who wrote which.")
            state["stage"] = REVEALED
        else:
            raise _invalid(f"Round has no action {action!r}.")
        return state

    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]:
        stage = state["stage"]
        out: dict[str, Any] = {"prompt": state["prompt"], "stage": stage,
                               "min_to_reveal": MIN_TO_REVEAL}
        shared = [a["text"] for i, a in enumerate(state["shuffled"]) if i not in state["held"]]
        if viewer.role == "clinician":
            answered = state["answers"]
            out["answered"] = sorted(state["expected"][p] for p in answered)
            out["waiting"] = sorted(n for p, n in state["expected"].items() if p not in answered)
            if stage != OPEN:  # nameless, shuffled, all at once: arrival order tells nothing
                out["answers"] = [{"index": i, "text": a["text"], "held": i in state["held"]}
                                  for i, a in enumerate(state["shuffled"])]
            if stage == REVEALED:
                out["shared"] = shared
            return out
        out["mine"] = state["answers"].get(viewer.id)
        if stage == REVEALED:
            out["shared"] = shared
            mine = next((i for i, a in enumerate(state["shuffled"]) if a["by"] == viewer.id),
                        None)
            out["mine_shared"] = mine is not None and mine not in state["held"]
        return out

    def wake_at(self, state: dict[str, Any]) -> float | None:
        return None

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        if viewer_role != "clinician":
            return {"prompt": state.get("prompt"), "happened": True}
        held = set(state.get("held", []))
        shuffled = state.get("shuffled", [])
        return {"prompt": state.get("prompt"), "stage": state.get("stage"),
                "answered": len(state.get("answers", {})),
                "expected": len(state.get("expected", {})),
                "shared": ([a["text"] for i, a in enumerate(shuffled) if i not in held]
                           if state.get("stage") == REVEALED else []),
                "held": len(held)}


__all__ = ["Round"]
