"""The round (a tool written for groups) and the check-in in a group room, end to end.

Real server, real socket.io members; no media (tools need no SFU). Every payload each member
receives (events and acks) is kept and scanned: no member ever receives another member's
answer before the reveal, and the reveal carries no names, in a shuffled order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import Harness
from tests.peers import Peer, call_kept, tool_act

GROUP = "room-group"
VERSION = "group-agreement-v1-en"
NAMES = {"ana": "Ana", "ben": "Ben", "cy": "Cy", "dee": "Dee"}
ANSWERS = {"ana": "I slept well for once", "ben": "Work was hard this week",
           "cy": "I called my sister", "dee": "Seven days without a drink"}


async def member(h: Harness, clinician: Peer, sub: str) -> Peer:
    """A group member who accepted the agreement, knocked under an alias and was admitted."""
    p = await h.peer("client", sub=sub, name=NAMES[sub] + " Surname", room=GROUP, join=False)
    assert (await p.call("agreement.accept", {"version": VERSION, "alias": NAMES[sub]}))["ok"]
    assert (await p.call("join", {}))["ok"]
    assert (await clinician.call("admit", {"participant": sub}))["ok"]
    await p.wait_for("admitted")
    return p


async def group(h: Harness, subs: list[str]) -> tuple[Peer, Peer, dict[str, Peer]]:
    await h.create_room(GROUP, "group")
    lead = await h.peer("clinician", sub="clinician-1", name="Dr. Rivera", room=GROUP)
    co = await h.peer("clinician", sub="dr-2", name="Dr. Chen", room=GROUP)
    members = {s: await member(h, lead, s) for s in subs}
    return lead, co, members


def view(reply: dict[str, Any], tool: str = "round") -> dict[str, Any]:
    assert reply.get("ok"), reply
    [item] = [t for t in reply["tools"] if t["name"] == tool]
    return item["view"]  # type: ignore[no-any-return]


def code(reply: dict[str, Any]) -> str:
    assert not reply.get("ok"), reply
    return reply["error"]["code"]  # type: ignore[no-any-return]


def seen(peer: Peer) -> str:
    return json.dumps([d for _, d in peer.received])


async def settle() -> None:
    await asyncio.sleep(0.3)  # deliveries after an ack are sent right after it


async def test_members_answer_privately_and_the_reveal_is_nameless_and_shuffled(
        alongside: Harness) -> None:
    lead, co, members = await group(alongside, list(NAMES))
    listed = await lead.call("tools", {})
    assert "round" in {t["name"] for t in listed["available"]}
    started = view(await call_kept(lead, "tool:start", {"tool": "round", "options": {
        "prompt": "One good thing this week?"}}))
    assert started["stage"] == "open" and started["answered"] == []
    assert started["waiting"] == sorted(NAMES.values())

    for sub in ("ana", "ben", "cy"):
        mine = view(await tool_act(members[sub], "round", "answer", {"text": ANSWERS[sub]}))
        assert mine == {"prompt": "One good thing this week?", "stage": "open",
                        "min_to_reveal": 3, "mine": ANSWERS[sub]}
    # Ana changes hers; only she sees it.
    changed = "I slept well, twice"
    assert view(await tool_act(members["ana"], "round", "answer",
                               {"text": changed}))["mine"] == changed
    await settle()
    # While open, the clinicians see who has answered, but no text at all.
    for clinician in (lead, co):
        [running] = (await call_kept(clinician, "tools", {}))["running"]
        v = running["view"]
        assert v["answered"] == ["Ana", "Ben", "Cy"] and v["waiting"] == ["Dee"]
        assert "answers" not in v and "shared" not in v
    for clinician in (lead, co):
        text = seen(clinician)
        assert not any(a in text for a in ANSWERS.values()) and changed not in text
    # No member has received anybody else's answer; Dee, who did not answer, got nothing new.
    for sub, peer in members.items():
        text = seen(peer)
        own = {ANSWERS[sub], changed} if sub == "ana" else {ANSWERS[sub]}
        for other in set(ANSWERS.values()) | {changed}:
            assert (other in text) == (other in own and sub != "dee"), (sub, other)

    closed = view(await call_kept(lead, "tool:act", {"tool": "round", "action": "close",
                                                     "payload": {}}))
    assert closed["stage"] == "closed"
    texts = sorted(a["text"] for a in closed["answers"])
    assert texts == sorted([changed, ANSWERS["ben"], ANSWERS["cy"]])
    assert all(set(a) == {"index", "text", "held"} for a in closed["answers"])
    assert code(await tool_act(members["dee"], "round", "answer", {"text": "late"})) == \
        "E_TOOL_CLOSED"
    # Still nothing of the others for any member after closing.
    await settle()
    assert ANSWERS["ben"] not in seen(members["ana"]) and changed not in seen(members["cy"])

    shared = view(await call_kept(lead, "tool:act", {"tool": "round", "action": "reveal",
                                                     "payload": {}}))["shared"]
    assert sorted(shared) == texts
    for sub, peer in members.items():
        got = await peer.wait_for("tool", lambda d: any(
            t["name"] == "round" and t.get("view", {}).get("stage") == "revealed"
            for t in d["tools"]))
        [v] = [t["view"] for t in got["tools"] if t["name"] == "round"]
        assert v["shared"] == shared  # the same shuffled order for everyone
        assert set(v) <= {"prompt", "stage", "min_to_reveal", "mine", "shared", "mine_shared"}
        assert v["mine_shared"] is (sub != "dee")
        # Nameless: no id or alias of anyone else in any round view this member received.
        views = json.dumps([t for d in peer.events("tool") for t in d["tools"]
                            if t["name"] == "round"])
        for other, name in NAMES.items():
            if other != sub:
                assert other not in views and name not in views, (sub, other)
        assert "by" not in v
    record = (await call_kept(lead, "tool:stop", {"tool": "round"}))
    assert record["ok"]


async def test_the_reveal_order_is_shuffled(alongside: Harness) -> None:
    lead, _, members = await group(alongside, list(NAMES))
    orders = set()
    for attempt in range(6):
        assert (await lead.call("tool:start", {"tool": "round", "options": {
            "prompt": f"Round {attempt}"}}))["ok"]
        for sub in NAMES:  # always answered in the same order
            assert (await tool_act(members[sub], "round", "answer", {"text": ANSWERS[sub]}))["ok"]
        v = view(await lead.call("tool:act", {"tool": "round", "action": "close",
                                              "payload": {}}))
        orders.add(tuple(a["text"] for a in v["answers"]))
        assert (await lead.call("tool:stop", {"tool": "round"}))["ok"]
    # 24 orders possible: six rounds all in arrival order would happen 1 time in 24^5.
    assert len(orders) > 1


async def test_holding_back_too_few_answers_and_bad_input(alongside: Harness) -> None:
    lead, _, members = await group(alongside, list(NAMES))
    bad = await lead.call("tool:start", {"tool": "round", "options": {"prompt": " "}})
    assert code(bad) == "E_TOOL_INVALID"
    assert (await lead.call("tool:start", {"tool": "round", "options": {
        "prompt": "A word for today?"}}))["ok"]
    assert code(await tool_act(members["ana"], "round", "answer", {"text": "x" * 501})) == \
        "E_TOOL_INVALID"
    assert code(await tool_act(members["ana"], "round", "reveal", {})) == "E_FORBIDDEN_ROLE"
    assert code(await lead.call("tool:act", {"tool": "round", "action": "reveal",
                                             "payload": {}})) == "E_TOOL_STAGE"
    for sub in ("ana", "ben"):
        assert (await tool_act(members[sub], "round", "answer", {"text": ANSWERS[sub]}))["ok"]
    assert (await lead.call("tool:act", {"tool": "round", "action": "close",
                                         "payload": {}}))["ok"]
    # Two answers: each of the two would know who wrote the other.
    assert code(await lead.call("tool:act", {"tool": "round", "action": "reveal",
                                             "payload": {}})) == "E_TOOL_TOO_FEW"
    assert (await lead.call("tool:stop", {"tool": "round"}))["ok"]

    assert (await lead.call("tool:start", {"tool": "round", "options": {
        "prompt": "Again?"}}))["ok"]
    for sub in ("ana", "ben", "cy", "dee"):
        assert (await tool_act(members[sub], "round", "answer", {"text": ANSWERS[sub]}))["ok"]
    closed = view(await lead.call("tool:act", {"tool": "round", "action": "close",
                                               "payload": {}}))
    [ben] = [a["index"] for a in closed["answers"] if a["text"] == ANSWERS["ben"]]
    held = view(await lead.call("tool:act", {"tool": "round", "action": "hold",
                                             "payload": {"index": ben}}))
    assert [a["held"] for a in held["answers"]] == [a["index"] == ben for a in held["answers"]]
    [cy] = [a["index"] for a in closed["answers"] if a["text"] == ANSWERS["cy"]]
    assert (await lead.call("tool:act", {"tool": "round", "action": "hold",
                                         "payload": {"index": cy}}))["ok"]
    # Two left to share: too few, whatever was answered.
    assert code(await lead.call("tool:act", {"tool": "round", "action": "reveal",
                                             "payload": {}})) == "E_TOOL_TOO_FEW"
    assert (await lead.call("tool:act", {"tool": "round", "action": "hold",
                                         "payload": {"index": cy, "held": False}}))["ok"]
    revealed = view(await lead.call("tool:act", {"tool": "round", "action": "reveal",
                                                 "payload": {}}))
    assert sorted(revealed["shared"]) == sorted([ANSWERS["ana"], ANSWERS["cy"], ANSWERS["dee"]])
    got = await members["ben"].wait_for("tool", lambda d: any(
        t.get("view", {}).get("stage") == "revealed" for t in d["tools"]))
    [v] = [t["view"] for t in got["tools"] if t["name"] == "round"]
    assert v["mine_shared"] is False and v["mine"] == ANSWERS["ben"]
    assert ANSWERS["ben"] not in json.dumps([d for _, d in members["ana"].received])
    # The record keeps the shared texts, nameless; members read only that it happened.
    assert (await lead.call("tool:stop", {"tool": "round"}))["ok"]
    [entry] = [e for e in await alongside_record(alongside, "clinician-1")
               if e["record"].get("prompt") == "Again?"]
    assert entry["record"]["held"] == 1 and sorted(entry["record"]["shared"]) == \
        sorted([ANSWERS["ana"], ANSWERS["cy"], ANSWERS["dee"]])
    assert "ana" not in json.dumps(entry) and "Ana" not in json.dumps(entry)


async def alongside_record(h: Harness, clinician: str) -> list[dict[str, Any]]:
    import aiohttp

    token = h.token("clinician", sub=clinician, room=GROUP)
    async with aiohttp.ClientSession() as s, s.get(
            f"{h.url}/api/programs/prog-1/sessions/{GROUP}/record",
            headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    return body["entries"]  # type: ignore[no-any-return]


async def test_a_checkin_in_a_group_room_is_private_to_the_clinicians(
        alongside: Harness) -> None:
    lead, co, members = await group(alongside, ["ana", "ben", "cy"])
    assert "checkin" in {t["name"] for t in (await lead.call("tools", {}))["available"]}
    started = view(await lead.call("tool:start", {"tool": "checkin",
                                                  "options": {"phase": "start"}}), "checkin")
    assert sorted(w["name"] for w in started["waiting"]) == ["Ana", "Ben", "Cy"]
    scores = {"ana": (2, 3), "ben": (4, 4), "cy": (5, 1)}
    for sub, (mood, readiness) in scores.items():
        mine = view(await tool_act(members[sub], "checkin", "answer",
                                   {"mood": mood, "readiness": readiness}), "checkin")
        assert mine["answered"] and mine["mine"]["mood"] == mood
    await settle()
    [running] = (await co.call("tools", {}))["running"]
    answers = running["view"]["answers"]
    assert {pid: (a["name"], a["mood"], a["readiness"]) for pid, a in answers.items()} == {
        s: (NAMES[s], m, r) for s, (m, r) in scores.items()}
    for sub, peer in members.items():
        for _, payload in peer.received:
            text = json.dumps(payload)
            assert '"answers"' not in text and '"waiting"' not in text
        views = [t["view"] for d in peer.events("tool") for t in d["tools"]
                 if t["name"] == "checkin" and "view" in t]
        assert views
        assert all(v["mine"] is None or (v["mine"]["mood"], v["mine"]["readiness"])
                   == scores[sub] for v in views)
    assert (await lead.call("tool:stop", {"tool": "checkin"}))["ok"]
