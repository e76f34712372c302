"""The webhook outbox of a program: its undelivered events in commit order, and who delivers.

One document per program, ``("outbox", <program id>)``, is written in the same commit as
the change that made its events (and that change's audit row), so a crash loses neither
or both. Its shape::

    {"id": <program>, "program": "*", "seq": <last event number>,
     "pending": [{"event": <body>, "attempts": n, "next": <unix s>, "last": <status>}, ...],
     "lease": {"by": <worker>, "until": <unix s>} | null}

A delivered or parked event leaves ``pending`` and is kept as a ``("webhook", <event id>)``
record of its program, with its body (what ``GET /api/programs/{p}/webhooks`` lists and
``POST .../webhooks/{id}/replay`` queues again).

Note: every outbox is filed under the pseudo-program ``"*"`` (no program id can be ``*``),
so ``store.list("outbox", "*")`` finds all of them after a restart without an index
document every commit would contend on.
Note: the functions here edit the private copies ``Store.transact`` hands out and are
pure functions of their arguments (a backend may run a change more than once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from server.domain.program import Program
from server.domain.room import Change

KIND = "outbox"
EVERY = "*"
RECORD = "webhook"

EVENTS = frozenset({
    "partner.consented", "partner.declined", "partner.deferred", "partner.withdrew",
    "approval.requested", "approval.decided", "session.started", "session.ended",
    "participant.joined", "participant.left",
})
STEP_EVENTS = {"consent": "partner.consented", "decline": "partner.declined",
               "defer": "partner.deferred", "withdraw": "partner.withdrew",
               "request": "approval.requested", "approve": "approval.decided",
               "decline-request": "approval.decided"}

Doc = dict[str, Any]
MAX_WAIT = 3600.0  # seconds between two attempts at most, however many are allowed


@dataclass(frozen=True, slots=True)
class Event:
    """One event before it is numbered: ids and states only, never names or words."""

    type: str
    room: str = ""
    participant: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENTS:
            raise ValueError(f"unknown webhook event {self.type!r}")


def key(program_id: str) -> tuple[str, str]:
    return (KIND, program_id)


def record_key(event_id: str) -> tuple[str, str]:
    return (RECORD, event_id)


# -- which events a change makes ------------------------------------------------------------
def step_events(program: Program, step: str, actor: str = "partner") -> list[Event]:
    """The event of a partner's step, from the program as the step left it.

    A client's ``request`` is the client's own wish and moves no one: its event names
    the client and carries no partner state (see ``client_steps.py``).
    """
    if step not in STEP_EVENTS:
        return []
    if step == "request" and actor == "client":
        return [Event(STEP_EVENTS[step], participant=program.client.id, data={"by": "client"})]
    data: dict[str, Any] = {"state": program.partner.state}
    if step == "request":
        data["by"] = "partner"
    if step in ("approve", "decline-request"):
        data["decision"] = "approved" if step == "approve" else "declined"
    return [Event(STEP_EVENTS[step], participant=program.partner.id, data=data)]


def room_events(room_id: str, result: object) -> list[Event]:
    """The events of a room rule's :class:`Change`: arrivals, departures, start and end."""
    if not isinstance(result, Change):
        return []
    started = [Event(n, room=room_id) for n in result.events if n == "session.started"]
    people = [Event(f"participant.{status}", room=room_id, participant=who)
              for who, status in result.presence if status in ("joined", "left")]
    ended = [Event(n, room=room_id) for n in result.events if n != "session.started"]
    return started + people + ended  # a session starts before anyone is in it


# -- writing ------------------------------------------------------------------------------
def append(doc: Doc | None, program_id: str, events: list[Event], *, at: float,
           base: str) -> Doc:
    """The outbox with ``events`` queued at its end, numbered after the last one.

    ``base`` (32 hex digits, drawn once per write outside the change) makes the ids:
    stable when a backend runs the change again, unique across writes.
    """
    box = doc if doc is not None else {"id": program_id, "program": EVERY, "seq": 0,
                                       "pending": [], "lease": None}
    for i, event in enumerate(events):
        box["seq"] += 1
        body = {"id": f"{base[:28]}{i:04x}", "seq": box["seq"], "type": event.type, "at": at,
                "program": program_id, "room": event.room or None,
                "participant": event.participant or None, "data": dict(event.data)}
        box["pending"].append({"event": body, "attempts": 0, "next": 0.0, "last": None})
    return box


# -- delivering ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Claim:
    """What a worker may do with a program's outbox now.

    ``go``: deliver ``entry`` (the lease is the worker's); ``busy``: another worker's
    lease is live; ``later``: the head waits for its next attempt in ``wait`` seconds;
    ``idle``: nothing pending.
    """

    kind: Literal["go", "busy", "later", "idle"]
    entry: Doc | None = None
    wait: float = 0.0


def claim(doc: Doc | None, owner: str, now: float, lease: float) -> Claim:
    """Take (or renew) the lease on the head of the queue, if it is due and free.

    Note: releases the worker's own lease once nothing is pending, so that the
    next event's writer need not wait for it to run out.
    """
    if doc is None or not doc["pending"]:
        if doc is not None and doc.get("lease") and doc["lease"]["by"] == owner:
            doc["lease"] = None
        return Claim("idle")
    held = doc.get("lease")
    if held and held["by"] != owner and held["until"] > now:
        return Claim("busy", wait=held["until"] - now)
    head = doc["pending"][0]
    if head["next"] > now:
        return Claim("later", wait=head["next"] - now)
    doc["lease"] = {"by": owner, "until": now + lease}
    return Claim("go", entry=head)


def settle(doc: Doc | None, record: Doc | None, event_id: str, *, delivered: bool,
           status: int | None, now: float, attempts: int,
           backoff: float) -> tuple[str, Doc | None]:
    """Account for one attempt at the head: ``delivered``, ``retry``, ``parked``, or
    ``gone`` (the head is another event: someone settled it already).

    Returns the outcome and the event's record to write (None: none to write).
    A failed attempt waits ``backoff * 2 ** (n - 1)`` (at most an hour) before the next;
    after ``attempts`` of them the event is parked: it leaves the queue (its record keeps
    the body for a replay) and later events go on, so one bad event cannot stall them.
    """
    if doc is None or not doc["pending"] or doc["pending"][0]["event"]["id"] != event_id:
        return "gone", None
    head = doc["pending"][0]
    head["attempts"] += 1
    head["last"] = status
    if not delivered and head["attempts"] < attempts:
        head["next"] = now + min(MAX_WAIT, backoff * 2 ** (head["attempts"] - 1))
        return "retry", None
    doc["pending"].pop(0)
    body = head["event"]
    outcome = "delivered" if delivered else "parked"
    written = {"id": body["id"], "program": body["program"], "seq": body["seq"],
               "type": body["type"], "at": body["at"], "status": outcome,
               "attempts": head["attempts"], "lastStatus": status, "settledAt": now,
               "replays": (record or {}).get("replays", 0), "event": body}
    return outcome, written


def release(doc: Doc | None, owner: str) -> None:
    """Give up the worker's lease (stopping), so another can start at once."""
    if doc is not None and doc.get("lease") and doc["lease"]["by"] == owner:
        doc["lease"] = None


# -- the integrator's view -------------------------------------------------------------------
def replay(doc: Doc | None, record: Doc | None, program_id: str) -> Doc:
    """Queue a settled event again, same id and number, at the end of the queue.

    Raises ``LookupError`` when the program has no such event, ``ValueError`` when
    it is still queued (or was recorded before bodies were kept).
    """
    if record is None or record.get("program") != program_id:
        raise LookupError(program_id)
    if record.get("status") == "pending" or "event" not in record:
        raise ValueError(record.get("status"))
    body = record["event"]
    box = doc if doc is not None else {"id": program_id, "program": EVERY, "seq": body["seq"],
                                       "pending": [], "lease": None}
    box["pending"].append({"event": body, "attempts": 0, "next": 0.0, "last": None})
    record["status"] = "pending"
    record["replays"] = int(record.get("replays", 0)) + 1
    return box


def listing(doc: Doc | None, records: list[Doc]) -> list[Doc]:
    """Every event of the program by number: the records, and the queue as ``pending``."""
    seen: dict[str, Doc] = {}
    for r in records:
        seen[r["id"]] = {k: v for k, v in r.items() if k != "version"}
    for entry in (doc or {}).get("pending", []):
        body = entry["event"]
        seen[body["id"]] = {"id": body["id"], "program": body["program"], "seq": body["seq"],
                            "type": body["type"], "at": body["at"], "status": "pending",
                            "attempts": entry["attempts"], "lastStatus": entry["last"],
                            "nextAttemptAt": entry["next"] or None,
                            "replays": seen.get(body["id"], {}).get("replays", 0),
                            "event": body}
    return sorted(seen.values(), key=lambda r: (r.get("seq", 0), r["at"]))
