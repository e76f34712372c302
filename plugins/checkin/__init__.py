"""Check-in: a short mood and readiness scale at the start and end of a session.

Each client or partner answers two questions on a 1-5 scale, privately: they see only their
own answer, the clinician sees everyone's. An answer can be changed until the clinician
closes the check-in. The session record keeps the answers for the clinician only (other
roles learn that a check-in happened); :func:`trend` (its ``report`` hook) turns a program's records into a
per-participant time series.

Codes: ``E_TOOL_INVALID`` (a malformed answer or option), ``E_TOOL_CLOSED`` (an answer after
the clinician closed the check-in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.tools.api import Participant, ToolContext, ToolError

CLINICIAN = frozenset({"clinician"})
ANSWERING = frozenset({"client", "partner"})
PHASES = ("start", "end")
SCALES = ("mood", "readiness")
LOW, HIGH = 1, 5

QUESTIONS = {
    "start": {
        "mood": "How is your mood right now?",
        "readiness": "How ready do you feel for today's session?",
    },
    "end": {
        "mood": "How is your mood now, at the end of the session?",
        "readiness": "How ready do you feel for the days until your next session?",
    },
}
LABELS = {
    "mood": {1: "Very low", 2: "Low", 3: "Okay", 4: "Good", 5: "Very good"},
    "readiness": {1: "Not at all", 2: "A little", 3: "Somewhat", 4: "Mostly", 5: "Fully"},
}
PRIVACY = "Only your clinician sees your answers. There are no right or wrong ones."


def _invalid(message: str) -> ToolError:
    return ToolError("E_TOOL_INVALID", message)


def _scale() -> dict[str, Any]:
    return {"low": LOW, "high": HIGH,
            "labels": {k: {str(n): label for n, label in v.items()} for k, v in LABELS.items()}}


def _value(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    # JSON true is not 3; "3" and 3.0 are not answers either.
    if isinstance(value, bool) or not isinstance(value, int) or not LOW <= value <= HIGH:
        raise _invalid(f"{key.capitalize()} is a whole number from {LOW} to {HIGH}.")
    return value


class CheckIn:
    name = "checkin"
    title = "Check-in"
    room_kinds = frozenset({"individual", "couples", "group"})
    actions = {
        "start": CLINICIAN,
        "answer": ANSWERING,
        "close": CLINICIAN,
        "reopen": CLINICIAN,
        "stop": CLINICIAN,
    }

    def start(self, ctx: ToolContext, options: dict[str, Any]) -> dict[str, Any]:
        extra = sorted(set(options) - {"phase"})
        if extra:
            raise _invalid(f"Unexpected option(s): {', '.join(extra)}.")
        phase = options.get("phase", "start")
        if phase not in PHASES:
            raise _invalid('The phase is "start" or "end".')
        expected = {p.id: {"name": p.name, "role": p.role}
                    for p in ctx.roster if p.role in ANSWERING}
        return {"phase": phase, "open": True, "opened_at": ctx.now, "closed_at": None,
                "expected": expected, "answers": {}}

    def act(self, ctx: ToolContext, state: dict[str, Any], actor: Participant, action: str,
            payload: dict[str, Any]) -> dict[str, Any]:
        if action == "answer":
            if not state["open"]:
                raise ToolError("E_TOOL_CLOSED", "The check-in is closed.")
            extra = sorted(set(payload) - set(SCALES))
            if extra:
                raise _invalid(f"Unexpected field(s): {', '.join(extra)}.")
            mood, readiness = _value(payload, "mood"), _value(payload, "readiness")
            earlier = state["answers"].get(actor.id)
            state["answers"][actor.id] = {
                "mood": mood, "readiness": readiness, "at": ctx.now,
                "first_at": earlier["first_at"] if earlier else ctx.now,
                "changes": earlier["changes"] + 1 if earlier else 0,
                "name": actor.name, "role": actor.role,
            }
            state["expected"].setdefault(actor.id, {"name": actor.name, "role": actor.role})
        elif action in ("close", "reopen"):
            if payload:
                raise _invalid("Closing or reopening takes no fields.")
            state["open"] = action == "reopen"
            state["closed_at"] = ctx.now if action == "close" else None
        else:
            raise _invalid(f"Check-in has no action {action!r}.")
        return state

    def view(self, state: dict[str, Any], viewer: Participant) -> dict[str, Any]:
        out: dict[str, Any] = {"phase": state["phase"], "open": state["open"],
                               "questions": QUESTIONS[state["phase"]], "scale": _scale()}
        answers = state["answers"]
        if viewer.role == "clinician":
            out["answers"] = {pid: {k: a[k] for k in ("name", "role", "mood", "readiness",
                                                      "at", "changes")}
                              for pid, a in answers.items()}
            out["waiting"] = [{"participant": pid, **who}
                              for pid, who in state["expected"].items() if pid not in answers]
            return out
        mine = answers.get(viewer.id)
        out["answered"] = mine is not None
        out["mine"] = ({"mood": mine["mood"], "readiness": mine["readiness"], "at": mine["at"]}
                       if mine else None)
        out["privacy"] = PRIVACY
        return out

    def wake_at(self, state: dict[str, Any]) -> float | None:
        return None

    def report(self, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The program report (the ``ProgramReport`` hook): :func:`trend`."""
        return trend(records)

    def record(self, state: dict[str, Any], viewer_role: str) -> dict[str, Any]:
        phase = state.get("phase")
        if viewer_role != "clinician":
            return {"phase": phase, "happened": True}
        return {
            "phase": phase, "opened_at": state.get("opened_at"),
            "closed_at": state.get("closed_at"),
            "answers": [{"participant": pid, "name": a.get("name"), "role": a.get("role"),
                         "mood": a.get("mood"), "readiness": a.get("readiness"),
                         "at": a.get("at")}
                        for pid, a in state.get("answers", {}).items()],
            "waiting": sorted(pid for pid in state.get("expected", {})
                              if pid not in state.get("answers", {})),
        }


def _body(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """One record's check-in, kept raw (``state``) or as the clinician reads it (``record``)."""
    for key in ("state", "record"):
        body = record.get(key)
        if isinstance(body, Mapping):
            return body
    return {}


def _answers(record: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    answers = _body(record).get("answers")
    if isinstance(answers, Mapping):
        return [(str(pid), a) for pid, a in answers.items() if isinstance(a, Mapping)]
    if isinstance(answers, list):
        return [(str(a["participant"]), a) for a in answers
                if isinstance(a, Mapping) and a.get("participant")]
    return []


def _score(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and LOW <= value <= HIGH
    return value if ok else None


def trend(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A program's check-ins as one time series per participant, oldest point first.

    ``records`` are session records as the store keeps them (``{"tool", "at", "state"}``,
    other tools' records are ignored; the clinician's filtered form ``{"record": ...}`` is
    read too). Any other keys of a record (``session``, ``room``) are carried into its points.
    Malformed entries are skipped, never fatal.

    Returns ``[{"participant", "name", "role", "points": [{"at", "phase", "mood",
    "readiness", "session"}]}]``, participants in the order they first answered.
    """
    series: dict[str, dict[str, Any]] = {}
    for record in records:
        if not isinstance(record, Mapping) or record.get("tool") != "checkin":
            continue
        body = _body(record)
        phase = body.get("phase") if body.get("phase") in PHASES else None
        session = record.get("session", record.get("room"))
        for pid, answer in _answers(record):
            mood, readiness = _score(answer.get("mood")), _score(answer.get("readiness"))
            if mood is None or readiness is None:
                continue
            at = answer.get("at", record.get("at"))
            if not isinstance(at, (int, float)) or isinstance(at, bool):
                continue
            person = series.setdefault(pid, {"participant": pid, "name": None, "role": None,
                                             "points": []})
            person["name"] = answer.get("name") or person["name"]
            person["role"] = answer.get("role") or person["role"]
            person["points"].append({"at": float(at), "phase": phase, "mood": mood,
                                     "readiness": readiness, "session": session})
    for person in series.values():
        person["points"].sort(key=lambda p: p["at"])
    return list(series.values())


__all__ = ["CheckIn", "trend"]
