"""What an operator can watch: one node's metrics, in a registry of its own.

Every metric is named ``alongside_*`` and carries a ``node`` label (the node id), added
when the registry is read, so the node id may be known only after the objects are made
(``server/app.py`` sets :attr:`Metrics.node` once the realtime server chose it).

Content-free by construction: label values are roles, room kinds, error codes, step
names, tool names, backend and operation names, never an id, a name or free text.
An outcome is ``ok`` or a documented error code (``E_...``), so no label can grow with
what a caller sends.

Where each number comes from (the few places that already know the outcome):

* socket answers (joins, answers to knocks, relay latency): the event guard
  (:meth:`Metrics.observer`, ``server/realtime/guard.py``);
* lobby waits: the admission (``room_events.py``), knock to admit;
* committed state changes from any transport (partner steps, tool failures): the audit
  rows the store commits (:meth:`Metrics.audited`, ``server/store/metered.py``), so these
  counters never disagree with the audit trail;
* store operations: ``server/store/metered.py``; webhooks: ``server/webhooks.py``;
* rooms, participants and the outbox depth: computed when scraped
  (:meth:`Metrics.before_scrape`) from what the node holds;
* event-loop lag: :func:`watch_loop`, a task measuring how late a short sleep wakes.

Note: one registry per app (never prometheus_client's global one), so several apps in
one test process do not collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from server.domain.audit import AuditEntry
from server.domain.partner import STEPS
from server.domain.room import Member, Room
from server.store.protocol import StoreUnavailable

# ``*_created`` series double the count of series for a timestamp nobody graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]

SIGNALS = frozenset({"offer", "answer", "candidate"})
KNOCK_ANSWERS = {"admit": "admitted", "deny": "denied"}
# Audit actions of partner steps other than ``partner-<step>`` (the REST step route):
# the partner's own answers through their invite link, and a clinician's new invite.
ACTION_STEPS = {"invite-consent": "consent", "invite-not-now": "defer",
                "invite-decline": "decline", "create-invite": "invite"}

LOBBY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
RELAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                 0.25, 1.0)
STORE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                 0.05, 0.1, 0.25, 1.0, 2.5)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LAG_EVERY = 0.25  # seconds between two probes of the event loop

# (role of the caller, the ack, seconds from the event's arrival to its answer)
Observer = Callable[[str, dict[str, Any], float], None]


def outcome_of(reply: dict[str, Any]) -> str:
    """``ok``, or the error code of a refused ack."""
    if reply.get("ok"):
        return "ok"
    error = reply.get("error")
    return str(error.get("code", "E_INTERNAL")) if isinstance(error, dict) else "E_INTERNAL"


def step_of(action: str) -> str | None:
    """The partner step an audit action records, if it records one."""
    if action.startswith("partner-") and action.removeprefix("partner-") in STEPS:
        return action.removeprefix("partner-")
    return ACTION_STEPS.get(action)


class _WithNode(Collector):
    """Reads an inner registry and adds ``node`` to every sample."""

    def __init__(self, inner: CollectorRegistry, node: Callable[[], str]) -> None:
        self._inner = inner
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node()
        for family in self._inner.collect():
            out = Metric(family.name, family.documentation, family.type, family.unit)
            out.samples = [s._replace(labels={"node": node, **s.labels})
                           for s in family.samples]
            yield out


class Metrics:
    """One node's metric objects; :attr:`registry` is what ``/metrics`` serves."""

    def __init__(self, node: str = "solo") -> None:
        self.node = node
        inner = CollectorRegistry()
        self.registry = CollectorRegistry()
        self.registry.register(_WithNode(inner, lambda: self.node))
        ProcessCollector(registry=inner)  # process_cpu_seconds_total, memory, open fds
        self._sources: list[Callable[[], Awaitable[None]]] = []

        self.rooms = Gauge("alongside_rooms", "Rooms with people on this node, by kind and "
                           "status (live: a clinician is in; waiting: not yet)",
                           ["kind", "status"], registry=inner)
        self.participants = Gauge("alongside_participants", "People whose socket this node "
                                  "holds, by role, state (lobby, admitted) and presence",
                                  ["role", "state", "presence"], registry=inner)
        self.joins = Counter("alongside_joins", "join events answered, by role and outcome "
                             "(ok or the error code)", ["role", "outcome"], registry=inner)
        self.knocks = Counter("alongside_knocks", "Answers to knocks (admit, deny) by "
                              "outcome: admitted, denied or the error code",
                              ["outcome"], registry=inner)
        self.lobby_wait = Histogram("alongside_lobby_wait_seconds", "From a knock to its "
                                    "admission", buckets=LOBBY_BUCKETS, registry=inner)
        self.relay = Histogram("alongside_signal_relay_seconds", "A relayed signal inside "
                               "the server: its event's arrival to its emit, by event",
                               ["event"], buckets=RELAY_BUCKETS, registry=inner)
        self.store_seconds = Histogram("alongside_store_operation_seconds", "Store "
                                       "operations by backend and operation",
                                       ["backend", "operation"], buckets=STORE_BUCKETS,
                                       registry=inner)
        self.store_errors = Counter("alongside_store_errors", "Store operations that failed "
                                    "(unavailable, or a bug), by backend and operation",
                                    ["backend", "operation"], registry=inner)
        self.webhooks = Counter("alongside_webhook_deliveries", "Webhook delivery attempts "
                                "by outcome: delivered, retry (failed, tried again), parked "
                                "(gave up), gone (settled elsewhere)", ["outcome"],
                                registry=inner)
        self.outbox_depth = Gauge("alongside_webhook_outbox_depth", "Webhook events queued "
                                  "and not yet delivered, every program's (the store's, so "
                                  "the same on every node)", registry=inner)
        self.partner_steps = Counter("alongside_partner_transitions", "Partner lifecycle "
                                     "steps committed or refused, by step and outcome",
                                     ["step", "outcome"], registry=inner)
        self.tool_failures = Counter("alongside_tool_failures", "Tools marked failed in a "
                                     "room, by tool and code", ["tool", "code"],
                                     registry=inner)
        self.loop_lag = Histogram("alongside_event_loop_lag_seconds", "How late a "
                                  f"{LAG_EVERY} s sleep on the event loop wakes",
                                  buckets=LAG_BUCKETS, registry=inner)

    # -- where outcomes are known ---------------------------------------------------------
    def observer(self, event: str) -> Observer | None:
        """What the guard of socket event ``event`` reports, or None (nothing to count)."""
        if event == "join":
            return lambda role, reply, _: self.joins.labels(role, outcome_of(reply)).inc()
        if event in KNOCK_ANSWERS:
            done = KNOCK_ANSWERS[event]

            def answered(role: str, reply: dict[str, Any], _: float) -> None:
                code = outcome_of(reply)
                self.knocks.labels(done if code == "ok" else code).inc()
            return answered
        if event in SIGNALS:
            relayed = self.relay.labels(event)  # bound once: this is the hot path
            return lambda role, reply, seconds: relayed.observe(seconds) \
                if reply.get("ok") else None
        return None

    def admitted(self, member: Member | None) -> None:
        """``member`` was just admitted: how long they waited since they knocked."""
        if member is not None:
            self.lobby_wait.observe(max(0.0, time.time() - member.since))

    def audited(self, rows: Sequence[AuditEntry]) -> None:
        """Count the committed audit rows that record a partner step or a tool failure."""
        for row in rows:
            code = "ok" if row.outcome == "ok" else row.outcome.removeprefix("refused:")
            step = step_of(row.action)
            if step is not None:
                self.partner_steps.labels(step, code).inc()
            elif row.action == "tool-failed":
                self.tool_failures.labels(row.target, code).inc()

    # -- computed when scraped ------------------------------------------------------------
    def before_scrape(self, source: Callable[[], Awaitable[None]]) -> None:
        """Run ``source`` (it sets gauges) before each scrape."""
        self._sources.append(source)

    async def refresh(self) -> None:
        """Run every source; one whose store is unreachable keeps its last values (the
        store's error counter shows why)."""
        for source in self._sources:
            with contextlib.suppress(StoreUnavailable):
                await source()

    def held(self, rooms: Iterable[Room]) -> None:
        """Set the room and participant gauges from the rooms this node serves.

        A room counts on one node only, its clinician's (or, without one, the first
        of its members' nodes), so a sum over nodes counts each room once; a person
        counts on the node holding their socket.
        """
        kinds: Tally[tuple[str, str]] = Tally()
        people: Tally[tuple[str, str, str]] = Tally()
        for room in rooms:
            nodes = sorted(m.node for m in room.members.values() if m.node)
            clinicians = [m.node for m in room.members.values()
                          if m.role.value == "clinician" and m.node]
            if (clinicians or nodes or [""])[0] == self.node:
                status = "live" if room.clinician_present() else "waiting"
                kinds[(room.kind.value, status)] += 1
            for m in room.members.values():
                if m.node == self.node:
                    people[(m.role.value, m.state.value, m.presence.value)] += 1
        self.rooms.clear()
        for labels, count in kinds.items():
            self.rooms.labels(*labels).set(count)
        self.participants.clear()
        for person, count in people.items():
            self.participants.labels(*person).set(count)


async def watch_loop(metrics: Metrics, every: float = LAG_EVERY) -> None:
    """Forever: sleep ``every`` seconds and record how much later than that it woke.

    Note: a lag here is felt by every socket of the node (acks, relays, pings).
    """
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(every)
        metrics.loop_lag.observe(max(0.0, loop.time() - started - every))
