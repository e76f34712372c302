"""A tiny tool from outside the project: a shared tally, private notes, and misbehaviour on demand.

``sulk {in, seconds}`` makes a later call misbehave: ``view``, ``wake`` or ``record`` sleeps
for ``seconds``, and ``view-raise``, ``wake-raise`` or ``record-raise`` raises. The
``catalog`` sleeps 5 s or raises when its setting ``ALONGSIDE_TALLY_CATALOG`` is ``sleep`` or
``raise``. Its browser panel is ``panel.js`` beside this file.
"""

from __future__ import annotations

import time
from typing import Any

EVERYONE = frozenset({"clinician", "client", "partner"})


class Tally:
    name = "tally"
    title = "Tally"
    room_kinds = frozenset({"individual", "couples"})
    actions = {
        "start": frozenset({"clinician"}),
        "stop": frozenset({"clinician"}),
        "add": EVERYONE,
        "note": EVERYONE,
        "boom": EVERYONE,
        "hang": frozenset({"clinician"}),
        "timer": frozenset({"clinician"}),
        "sulk": frozenset({"clinician"}),
        "tick": frozenset({"system"}),
    }

    setting_names = frozenset({"ALONGSIDE_TALLY_CATALOG"})

    def catalog(self, ctx: Any) -> list[dict[str, Any]]:
        mode = ctx.settings.get("ALONGSIDE_TALLY_CATALOG", "")
        if mode == "sleep":
            time.sleep(5)
        elif mode == "raise":
            raise RuntimeError("this catalog is broken")
        return [{"id": "plain", "title": "A plain tally"}]

    def start(self, ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
        return {"count": int(options.get("from", 0)), "notes": {}, "rang": False,
                "wake": None}

    def act(self, ctx: Any, state: dict[str, Any], actor: Any, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        if action == "add":
            state["count"] += 1
            ctx.send("added", {"count": state["count"]})
        elif action == "note":
            state["notes"][actor.id] = str(payload.get("text", ""))[:100]
        elif action == "boom":
            raise RuntimeError("this tool is broken")
        elif action == "hang":
            time.sleep(30)
        elif action == "timer":
            state["wake"] = ctx.now + float(payload.get("seconds", 0.5))
        elif action == "sulk":
            state["sulk"] = {"in": str(payload.get("in", "")),
                             "seconds": float(payload.get("seconds", 5))}
        elif action == "tick":
            state["rang"], state["wake"] = True, None
        return state

    def view(self, state: dict[str, Any], viewer: Any) -> dict[str, Any]:
        _misbehave(state, "view")
        # Each person sees only their own note; the clinician sees everyone's.
        notes = state["notes"] if viewer.role == "clinician" else {
            k: v for k, v in state["notes"].items() if k == viewer.id}
        return {"count": state["count"], "notes": notes, "rang": state["rang"]}

    def wake_at(self, state: dict[str, Any]) -> float | None:
        _misbehave(state, "wake")
        return state["wake"]

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        _misbehave(state, "record")
        return {"count": state["count"]}


def _misbehave(state: dict[str, Any], call: str) -> None:
    sulk = state.get("sulk") or {}
    if sulk.get("in") == call:
        time.sleep(sulk["seconds"])
    elif sulk.get("in") == f"{call}-raise":
        raise RuntimeError(f"this tool's {call} is broken")
