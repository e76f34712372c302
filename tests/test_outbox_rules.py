"""The outbox rules without a server: numbering, the lease, retries, parking and replay."""

from __future__ import annotations

import copy

import pytest

from server.domain import outbox
from server.domain.outbox import Event
from server.domain.room import Change

BASE = "ab" * 16


def queued(*types: str) -> outbox.Doc:
    return outbox.append(None, "p1", [Event(t, participant="pa-1") for t in types],
                         at=100.0, base=BASE)


def test_events_are_numbered_in_order_with_ids_that_a_rerun_repeats() -> None:
    box = queued("partner.consented", "approval.requested")
    again = queued("partner.consented", "approval.requested")
    assert box == again  # a backend running the change twice queues the same events
    assert [e["event"]["seq"] for e in box["pending"]] == [1, 2]
    assert len({e["event"]["id"] for e in box["pending"]}) == 2
    more = outbox.append(box, "p1", [Event("session.started", room="r")], at=101.0, base="cd" * 16)
    assert [e["event"]["seq"] for e in more["pending"]] == [1, 2, 3]
    assert more["program"] == outbox.EVERY and more["id"] == "p1"
    with pytest.raises(ValueError):
        Event("partner.named")


def test_a_session_starts_before_anyone_joins_and_ends_after_they_left() -> None:
    change = Change(presence=[("dr-1", "joined"), ("cl-1", "reconnecting"), ("dr-1", "left")],
                    events=["session.ended", "session.started"])
    assert [e.type for e in outbox.room_events("r", change)] == [
        "session.started", "participant.joined", "participant.left", "session.ended"]
    assert outbox.room_events("r", None) == []


def test_one_lease_at_a_time_and_another_worker_after_it_runs_out() -> None:
    box = queued("partner.consented")
    assert outbox.claim(box, "a", now=10.0, lease=30.0).kind == "go"
    busy = outbox.claim(box, "b", now=20.0, lease=30.0)
    assert busy.kind == "busy" and busy.wait == pytest.approx(20.0)
    assert outbox.claim(box, "a", now=20.0, lease=30.0).kind == "go"  # renewed to 50
    assert outbox.claim(box, "b", now=45.0, lease=30.0).kind == "busy"
    assert outbox.claim(box, "b", now=50.5, lease=30.0).kind == "go"  # a died: b takes over
    assert box["lease"] == {"by": "b", "until": 80.5}


def test_retries_back_off_then_the_event_is_parked_and_the_queue_moves_on() -> None:
    box = queued("partner.consented", "approval.requested")
    first = box["pending"][0]["event"]["id"]
    outcome, record = outbox.settle(box, None, first, delivered=False, status=500, now=10.0,
                                    attempts=2, backoff=0.5)
    assert (outcome, record) == ("retry", None)
    later = outbox.claim(box, "a", now=10.2, lease=30.0)
    assert later.kind == "later" and later.wait == pytest.approx(0.3)
    outcome, record = outbox.settle(box, None, first, delivered=False, status=None, now=11.0,
                                    attempts=2, backoff=0.5)
    assert outcome == "parked" and record is not None
    assert (record["status"], record["attempts"], record["event"]["id"]) == ("parked", 2, first)
    head = outbox.claim(box, "a", now=11.0, lease=30.0)
    assert head.kind == "go" and head.entry is not None
    assert head.entry["event"]["type"] == "approval.requested"
    # A late second settle of the parked event changes nothing.
    assert outbox.settle(box, None, first, delivered=True, status=204, now=12.0, attempts=2,
                         backoff=0.5) == ("gone", None)


def test_the_wait_between_attempts_is_capped() -> None:
    box = queued("partner.consented")
    first = box["pending"][0]["event"]["id"]
    box["pending"][0]["attempts"] = 60
    outbox.settle(box, None, first, delivered=False, status=503, now=0.0, attempts=1000,
                  backoff=0.5)
    assert box["pending"][0]["next"] == outbox.MAX_WAIT


def test_a_replay_queues_the_same_event_at_the_end_once() -> None:
    box = queued("partner.consented", "approval.requested")
    first = box["pending"][0]["event"]["id"]
    _, record = outbox.settle(box, None, first, delivered=False, status=500, now=1.0,
                              attempts=1, backoff=0.0)
    assert record is not None
    with pytest.raises(LookupError):
        outbox.replay(box, copy.deepcopy(record), "p2")
    outbox.replay(box, record, "p1")
    assert [e["event"]["seq"] for e in box["pending"]] == [2, 1]
    assert box["pending"][1]["event"]["id"] == first and box["pending"][1]["attempts"] == 0
    assert (record["status"], record["replays"]) == ("pending", 1)
    with pytest.raises(ValueError):
        outbox.replay(box, record, "p1")  # already queued
    rows = outbox.listing(box, [record])
    assert [(r["seq"], r["status"], r["replays"]) for r in rows] == [
        (1, "pending", 1), (2, "pending", 0)]


def test_a_worker_with_nothing_left_lets_go_of_its_lease() -> None:
    box = queued("partner.consented")
    assert outbox.claim(box, "a", now=1.0, lease=30.0).kind == "go"
    outbox.settle(box, None, box["pending"][0]["event"]["id"], delivered=True, status=204,
                  now=2.0, attempts=6, backoff=0.5)
    assert outbox.claim(box, "a", now=2.0, lease=30.0).kind == "idle"
    assert box["lease"] is None
