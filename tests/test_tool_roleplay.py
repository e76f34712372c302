"""Role-play end to end: a real server, real socket.io clients, every payload captured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from plugins.roleplay import RolePlay
from plugins.roleplay.library import SCENARIOS_ENV, builtin_files
from server.settings import Settings
from server.store.rooms import Rooms
from server.tokens import mint
from tests import live_server
from tests.conftest import SECRET, Harness
from tests.peers import Peer

# A clinic's own scenario, added without code: the third turn lasts one second.
PRACTICE = {
    "id": "practice-saying-no",
    "title": "Saying no to a drink at a party",
    "summary": "A friend offers you a drink; you practise a clear, friendly no.",
    "roles": {"speaker": {"label": "You", "about": "You are at a party, three months sober."},
              "partner": {"label": "Your friend", "about": "You mean well and push a bit."}},
    "turns": [
        {"who": "speaker", "prompt": "Greet your friend.", "seconds": 60,
         "suggested": ["Hey, good to see you!"], "cue": "CUE-ZERO watch their shoulders"},
        {"who": "partner", "prompt": "Offer a drink.", "seconds": 60,
         "suggested": ["Go on, have one with me."], "cue": "CUE-ONE push twice, gently"},
        {"who": "speaker", "prompt": "Say no, clearly.", "seconds": 1,
         "cue": "CUE-TWO listen for apologising"},
        {"who": "partner", "prompt": "Accept the no.", "seconds": 60},
    ],
    "reflection": "What made your no easier or harder to say?",
}
CUES = [t["cue"] for t in PRACTICE["turns"] if "cue" in t]


def builtin_cues() -> list[str]:
    cues = []
    for _, path in builtin_files():
        cues += [t["cue"] for t in json.loads(path.read_text())["turns"] if t.get("cue")]
    return cues


@pytest.fixture
async def alongside(start_server: Any, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """The server, with a clinic's scenarios directory (one good file, one broken)."""
    folder = tmp_path / "clinic-scenarios"
    folder.mkdir()
    (folder / "practice.json").write_text(json.dumps(PRACTICE))
    broken = {**PRACTICE, "id": "broken-one", "turns": [{"who": "narrator", "prompt": "x",
                                                         "seconds": 0}]}
    (folder / "broken.json").write_text(json.dumps(broken))
    (folder / "notjson.json").write_text("{ this is not json")
    monkeypatch.setenv(SCENARIOS_ENV, str(folder))
    yield await start_server()


async def act(peer: Peer, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return await peer.call("tool:act", {"tool": "roleplay", "action": action,
                                        "payload": payload or {}})


def view_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer.get("ok"), answer
    [item] = [t for t in answer["tools"] if t["name"] == "roleplay"]
    return item["view"]  # type: ignore[no-any-return]


def code(answer: dict[str, Any]) -> str:
    assert not answer.get("ok"), answer
    return answer["error"]["code"]  # type: ignore[no-any-return]


async def running(peer: Peer) -> dict[str, Any]:
    """The role-play as this peer sees it now (from the ``tools`` listing)."""
    [item] = [t for t in (await peer.call("tools", {}))["running"] if t["name"] == "roleplay"]
    return item["view"]  # type: ignore[no-any-return]


async def seen(peer: Peer, predicate: Any) -> dict[str, Any]:
    """The first role-play view this peer received that matches."""
    data = await peer.wait_for("tool", lambda d: any(
        t["name"] == "roleplay" and "view" in t and predicate(t["view"]) for t in d["tools"]))
    return next(t["view"] for t in data["tools"] if t["name"] == "roleplay")


async def stopped(*peers: Peer) -> None:
    for peer in peers:
        await peer.wait_for("tool", lambda d: not any(t["name"] == "roleplay"
                                                      for t in d["tools"]))


async def test_individual_room_clinician_plays_the_partner(alongside: Harness) -> None:
    room = "room-individual"
    clinician = await alongside.peer("clinician", room=room)
    client = await alongside.admitted("client", clinician, room=room)

    listed = await client.call("tools", {})
    [entry] = [t for t in listed["available"] if t["name"] == "roleplay"]
    assert entry["title"] == "Role-play" and "next" in entry["actions"]
    assert "swap" not in entry["actions"] and "start" not in entry["actions"]

    # Refusals at the start: an unknown scenario, a part for someone not in the room.
    start = {"tool": "roleplay", "options": {"scenario": "no-such-thing"}}
    assert code(await clinician.call("tool:start", start)) == "E_TOOL_SCENARIO"
    start["options"] = {"scenario": "practice-saying-no", "roles": {"speaker": "ghost-9"}}
    assert code(await clinician.call("tool:start", start)) == "E_TOOL_ROLES"
    start["options"] = {"scenario": "practice-saying-no",
                        "roles": {"speaker": "client-1", "partner": "client-1"}}
    assert code(await clinician.call("tool:start", start)) == "E_TOOL_ROLES"
    start["options"] = {"scenario": "practice-saying-no", "colour": "blue"}
    assert code(await clinician.call("tool:start", start)) == "E_TOOL_INVALID"
    assert code(await client.call("tool:start", {"tool": "roleplay", "options": {
        "scenario": "practice-saying-no"}})) == "E_FORBIDDEN_ROLE"

    # The clinic's scenario (added as a file) starts; the clinician plays the partner.
    mine = view_of(await clinician.call("tool:start", {
        "tool": "roleplay", "options": {"scenario": "practice-saying-no"}}))
    assert mine["scenario"]["title"] == PRACTICE["title"]
    assert mine["parts"]["speaker"]["participant"] == "client-1"
    assert mine["parts"]["partner"]["participant"] == "clinician-1"
    assert mine["you"] == "partner"
    assert mine["cues"]["current"] == CUES[0]
    assert [u["cue"] for u in mine["cues"]["upcoming"]] == [CUES[1], CUES[2], None]
    # The broken files are reported to the clinician, not fatal.
    skipped = {s["file"]: s["error"] for s in mine["skipped"]}
    assert set(skipped) == {"broken.json", "notjson.json"}
    assert "turns.0" in skipped["broken.json"] and "JSON" in skipped["notjson.json"]

    theirs = await seen(client, lambda v: v["stage"] == "playing")
    assert theirs["turn"]["yours"] and theirs["turn"]["prompt"] == "Greet your friend."
    assert theirs["turn"]["suggested"] == ["Hey, good to see you!"]
    assert theirs["turn"]["deadline"] > 0 and not theirs["paused"]
    assert "cues" not in theirs and "skipped" not in theirs and theirs["you"] == "speaker"

    # Turn 0 is the client's: they move on themselves.
    assert view_of(await act(client, "next"))["turn"]["index"] == 1
    # Turn 1 is the partner's (the clinician): the client cannot skip it.
    assert code(await act(client, "next")) == "E_TOOL_NOT_YOUR_TURN"
    assert code(await act(client, "redo")) == "E_FORBIDDEN_ROLE"
    assert code(await act(client, "next", {"skip": True})) == "E_TOOL_INVALID"

    # Redo: the same turn again, with a fresh timer.
    before = await running(clinician)
    redone = view_of(await act(clinician, "redo"))
    assert redone["turn"]["index"] == 1 and redone["turn"]["deadline"] >= before["turn"]["deadline"]

    # Swap: the client now plays the partner, so this turn is theirs.
    swapped = view_of(await act(clinician, "swap"))
    assert swapped["parts"]["speaker"]["participant"] == "clinician-1"
    assert swapped["parts"]["partner"]["participant"] == "client-1" and swapped["you"] == "speaker"
    theirs = await seen(client, lambda v: v.get("you") == "partner")
    assert theirs["turn"]["yours"] and theirs["turn"]["suggested"] == ["Go on, have one with me."]

    # Pause refuses next, for everyone; resume lets it through.
    paused = view_of(await act(clinician, "pause"))
    assert paused["paused"] and paused["turn"]["deadline"] is None
    assert 0 < paused["turn"]["seconds_left"] <= 60
    assert code(await act(client, "next")) == "E_TOOL_PAUSED"
    assert code(await act(clinician, "next")) == "E_TOOL_PAUSED"
    resumed = view_of(await act(clinician, "resume"))
    assert not resumed["paused"] and resumed["turn"]["deadline"] is not None
    assert view_of(await act(client, "next"))["turn"]["index"] == 2

    # Turn 2 lasts one second: the clock flags it, and does not move on by itself.
    flagged = await seen(client, lambda v: v["turn"] and v["turn"]["time_up"])
    assert flagged["turn"]["index"] == 2 and flagged["turn"]["deadline"] is None
    again = await running(clinician)
    assert again["turn"]["index"] == 2 and again["turn"]["time_up"]

    # To the end, then reflect.
    assert view_of(await act(clinician, "next"))["turn"]["index"] == 3
    done = view_of(await act(clinician, "next"))
    assert done["stage"] == "done" and done["turn"] is None
    assert code(await act(client, "next")) == "E_TOOL_FINISHED"
    assert code(await act(client, "reflect", {"text": "x" * 2001})) == "E_TOOL_INVALID"
    assert code(await act(client, "reflect", {"text": "   "})) == "E_TOOL_INVALID"
    assert code(await act(client, "reflect", {"words": "hi"})) == "E_TOOL_INVALID"
    text = "Saying no felt easier when I didn't explain myself."
    reflected = view_of(await act(client, "reflect", {"text": text}))
    assert reflected["reflection"] == {"question": PRACTICE["reflection"], "mine": text}
    clinician_view = await seen(clinician, lambda v: v.get("reflection", {}).get("all"))
    assert clinician_view["reflection"]["all"]["client-1"]["text"] == text

    assert (await clinician.call("tool:stop", {"tool": "roleplay"}))["ok"]
    await stopped(client, clinician)
    stored = await Rooms(alongside.store).get(room)
    assert stored is not None
    [record] = [r for r in stored.records if r["tool"] == "roleplay"]
    kept = RolePlay().record(record["state"], "clinician")
    assert kept["scenario"] == "practice-saying-no" and kept["turns_taken"] == 4
    assert kept["finished"] and kept["timed_out"] >= 1 and kept["redos"] == 1
    assert kept["swaps"] == 1
    assert [r["text"] for r in kept["reflections"]] == [text]
    assert RolePlay().record(record["state"], "client") == {
        "scenario": "practice-saying-no", "turns_taken": 4, "reflections": 1}

    # Over the whole session, no coaching cue ever reached the client.
    everything = repr(client.received)
    assert not [cue for cue in CUES if cue in everything]
    assert "CUE-" in repr(clinician.received)


async def test_couples_room_swap_cues_and_private_reflections(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)

    # Started without a scenario: the clinician picks from the library.
    picking = view_of(await clinician.call("tool:start", {"tool": "roleplay"}))
    ids = {s["id"] for s in picking["library"]}
    assert {"telling-about-a-slip", "asking-for-space", "boundary-alcohol-at-home",
            "answering-blame", "inviting-partner-to-therapy", "practice-saying-no"} <= ids
    waiting = await seen(partner, lambda v: v["stage"] == "picking")
    assert "library" not in waiting and "message" in waiting
    assert code(await act(clinician, "next")) == "E_TOOL_INVALID"
    assert code(await act(clinician, "pick", {"scenario": "nope"})) == "E_TOOL_SCENARIO"
    playing = view_of(await act(clinician, "pick", {"scenario": "telling-about-a-slip"}))
    # In a couples room the client and the partner are cast.
    assert playing["parts"]["speaker"]["participant"] == "client-1"
    assert playing["parts"]["partner"]["participant"] == "partner-1"
    assert playing["you"] is None and playing["cues"]["current"]

    turn0 = await seen(partner, lambda v: v["stage"] == "playing")
    assert turn0["you"] == "partner" and not turn0["turn"]["yours"]
    assert "suggested" not in turn0["turn"]  # suggested words go to the turn's speaker
    assert code(await act(partner, "next")) == "E_TOOL_NOT_YOUR_TURN"
    assert view_of(await act(client, "next"))["turn"]["who"] == "partner"
    assert view_of(await act(partner, "next"))["turn"]["index"] == 2

    # Swap: the partner now practises telling, the client answers.
    swapped = view_of(await act(clinician, "swap"))
    assert swapped["parts"]["speaker"]["participant"] == "partner-1"
    assert swapped["parts"]["partner"]["participant"] == "client-1"
    theirs = await seen(partner, lambda v: v.get("you") == "speaker")
    assert theirs["turn"]["index"] == 2 and theirs["turn"]["yours"]
    assert code(await act(client, "next")) == "E_TOOL_NOT_YOUR_TURN"
    assert view_of(await act(partner, "next"))["turn"]["participant"] == "client-1"
    assert code(await act(partner, "swap")) == "E_FORBIDDEN_ROLE"

    # Both reflect; each sees their own, the clinician sees both.
    client_text = "CLIENT-PRIVATE: I froze when they asked why I didn't say it sooner."
    partner_text = "PARTNER-PRIVATE: Hearing it plainly was easier than guessing."
    assert view_of(await act(client, "reflect", {"text": client_text}))[
        "reflection"]["mine"] == client_text
    mine = view_of(await act(partner, "reflect", {"text": partner_text}))
    assert mine["reflection"]["mine"] == partner_text and "all" not in mine["reflection"]
    everyone = await seen(clinician, lambda v: len(v.get("reflection", {}).get("all", {})) == 2)
    assert {r["text"] for r in everyone["reflection"]["all"].values()} == {client_text,
                                                                         partner_text}
    assert (await clinician.call("tool:stop", {"tool": "roleplay"}))["ok"]
    await stopped(client, partner, clinician)

    # Cues reached the clinician only; the partner never got the client's reflection.
    cues = builtin_cues()
    for peer in (client, partner):
        text = repr(peer.received)
        assert not [cue for cue in cues if cue in text]
    assert any(cue in repr(clinician.received) for cue in cues)
    assert client_text not in repr(partner.received)
    assert partner_text not in repr(client.received)
    stored = await Rooms(alongside.store).get("room-couples")
    assert stored is not None
    [record] = [r for r in stored.records if r["tool"] == "roleplay"]
    assert RolePlay().record(record["state"], "partner") == {
        "scenario": "telling-about-a-slip", "turns_taken": 3, "reflections": 2}


async def test_a_partner_with_no_part_and_a_late_partner(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    # Only the client is here: the clinician takes the partner's part.
    view = view_of(await clinician.call("tool:start", {
        "tool": "roleplay", "options": {"scenario": "asking-for-space"}}))
    assert view["parts"]["partner"]["participant"] == "clinician-1"
    partner = await alongside.admitted("partner", clinician)
    watching = await running(partner)
    assert watching["you"] is None
    assert code(await act(partner, "reflect", {"text": "me too"})) == "E_TOOL_NOT_PLAYING"
    # The partner arrives: the clinician recasts.
    assert code(await act(clinician, "assign", {"roles": {"partner": "nobody"}})) == "E_TOOL_ROLES"
    recast = view_of(await act(clinician, "assign", {"roles": {"partner": "partner-1"}}))
    assert recast["parts"]["partner"]["participant"] == "partner-1"
    assert view_of(await act(partner, "next"))["turn"]["index"] == 1
    assert view_of(await act(clinician, "reflect", {"text": "Note: good pacing."}))[
        "reflection"]["all"]["clinician-1"]["text"] == "Note: good pacing."
    assert client.sio.connected


def test_scenario_files_are_validated() -> None:
    from plugins.roleplay.library import ScenarioError, parse

    for _, path in builtin_files():
        scenario = parse(path.read_bytes())
        assert len(scenario.turns) >= 4 and any(t.cue for t in scenario.turns)
    bad = [
        {**PRACTICE, "id": "Has Spaces"},
        {**PRACTICE, "turns": []},
        {**PRACTICE, "turns": [{**PRACTICE["turns"][0], "seconds": "60"}]},
        {**PRACTICE, "turns": [{**PRACTICE["turns"][0], "cues": "typo"}]},
        {**PRACTICE, "turns": [{**PRACTICE["turns"][1]}]},  # the speaker never speaks
        {k: v for k, v in PRACTICE.items() if k != "reflection"},
        {**PRACTICE, "roles": {"speaker": PRACTICE["roles"]["speaker"]}},
    ]
    for data in bad:
        with pytest.raises(ScenarioError):
            parse(json.dumps(data))
    with pytest.raises(ScenarioError):
        parse("[1, 2]")


async def test_state_survives_a_restart_mid_roleplay(tmp_path: Path) -> None:
    settings = Settings(jwt_secret=SECRET)
    servers: list[live_server.LiveServer] = []
    peers: list[Peer] = []

    async def person(url: str, role: str, sub: str) -> Peer:
        token = mint(settings, sub=sub, name=sub.title(), role=role, program="tp",
                     room="rp-room", ttl=600,
                     **({"room_kind": "individual"} if role == "clinician" else {}))
        peer = Peer(url, token)
        peers.append(peer)
        await peer.connect()
        joined = await peer.call("join", {})
        assert joined["ok"], joined
        peer.admitted = joined["room"]["you"]["state"] == "admitted"  # type: ignore[attr-defined]
        return peer

    async def pair(url: str) -> tuple[Peer, Peer]:
        clinician = await person(url, "clinician", "dr")
        client = await person(url, "client", "cl")
        if not client.admitted:  # type: ignore[attr-defined]
            assert (await clinician.call("admit", {"participant": "cl"}))["ok"]
            await client.wait_for("admitted")
        return clinician, client

    try:
        servers.append(live_server.start(tmp_path))
        clinician, client = await pair(servers[0].url)
        await clinician.call("tool:start", {"tool": "roleplay",
                                            "options": {"scenario": "answering-blame"}})
        assert view_of(await act(clinician, "next"))["turn"]["index"] == 1
        assert view_of(await act(client, "reflect", {"text": "kept across a restart"}))
        await act(clinician, "pause")
        for p in peers:
            await p.close()
        servers[0].process.kill()  # SIGKILL mid-role-play
        servers[0].process.wait()
        servers.append(live_server.start(tmp_path))
        clinician, client = await pair(servers[1].url)
        view = await running(client)
        assert view["scenario"]["id"] == "answering-blame" and view["turn"]["index"] == 1
        assert view["paused"] and view["you"] == "speaker"
        assert view["reflection"]["mine"] == "kept across a restart"
        assert view_of(await act(clinician, "resume"))["turn"]["deadline"] is not None
    finally:
        for p in peers:
            await p.close()
        for s in servers:
            s.stop()


def test_a_clinic_scenario_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    from plugins.roleplay.library import Loader

    loader = Loader()  # the setting as the server passes it in the tool's context
    assert [s["file"] for s in loader.library(str(tmp_path / "missing")).skipped] \
        == [SCENARIOS_ENV]
    assert "practice-saying-no" not in loader.library(str(tmp_path)).scenarios
    (tmp_path / "practice.json").write_text(json.dumps(PRACTICE))
    assert "practice-saying-no" in loader.library(str(tmp_path)).scenarios
    # The same id twice: the first wins, the second is reported.
    (tmp_path / "z-copy.json").write_text(json.dumps(PRACTICE))
    library = loader.library(str(tmp_path))
    assert library.skipped == ({"file": "z-copy.json",
                                "error": "id 'practice-saying-no' is already used by another "
                                         "scenario"},)
