"""A tiny tool from outside the project: a shared tally, private notes, and misbehaviour on demand."""

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
        "tick": frozenset({"system"}),
    }

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
        elif action == "tick":
            state["rang"], state["wake"] = True, None
        return state

    def view(self, state: dict[str, Any], viewer: Any) -> dict[str, Any]:
        # Each person sees only their own note; the clinician sees everyone's.
        notes = state["notes"] if viewer.role == "clinician" else {
            k: v for k, v in state["notes"].items() if k == viewer.id}
        return {"count": state["count"], "notes": notes, "rang": state["rang"]}

    def wake_at(self, state: dict[str, Any]) -> float | None:
        return state["wake"]

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        return {"count": state["count"]}
