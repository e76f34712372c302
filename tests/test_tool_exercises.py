"""Structured exercises through a real server: private answers revealed together,
speaker-listener floor control, bad input, the record, and a restart mid-exercise.

Every payload a person receives (server events and the acks of their own calls) is
captured, so "never received" is asserted over all of it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.exercises import Exercises, LibraryError
from plugins.exercises.library import BUILT_IN, EXTRA_DIRS_ENV, load, parse
from server.settings import Settings
from server.store.rooms import Rooms
from server.tokens import mint
from server.tools.api import Participant, ToolContext, ToolError
from tests import live_server
from tests.conftest import SECRET, Harness
from tests.peers import Peer, call_kept, tool_act

TOOL = "exercises"
CLIENT_SECRET = "Client-Feel-Zq81"
PARTNER_SECRET = "Partner-Need-Kx42"


async def call(peer: Peer, event: str, data: Any = None) -> dict[str, Any]:
    return await call_kept(peer, event, data)


async def act(peer: Peer, action: str, payload: Any = None) -> dict[str, Any]:
    return await tool_act(peer, TOOL, action, payload)


def view_of(ack_or_event: dict[str, Any]) -> dict[str, Any]:
    [entry] = [t for t in ack_or_event["tools"] if t["name"] == TOOL]
    return entry["view"]


async def latest_view(peer: Peer, predicate: Any = lambda v: True) -> dict[str, Any]:
    event = await peer.wait_for("tool", lambda d: any(
        t["name"] == TOOL and "view" in t and predicate(t["view"]) for t in d["tools"]))
    return view_of(event)


def seen(peer: Peer) -> str:
    return json.dumps(peer.received)


async def trio(alongside: Harness) -> tuple[Peer, Peer, Peer]:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)
    return clinician, client, partner


def i_statement(feel: str) -> dict[str, Any]:
    return {"fields": {"feel": feel, "when": "plans change without a text",
                       "need": "a message when you are late"}}


# -- the library ----------------------------------------------------------------------------
def test_the_library_validates_and_bad_data_is_refused(tmp_path: Path) -> None:
    library = load([BUILT_IN])
    assert {"speaker-listener", "i-statements", "appreciation-exchange",
            "daily-temperature-reading", "boundary-worksheet",
            "recovery-goal-alignment"} <= set(library)
    fields = [f.name for f in library["i-statements"].steps[0].fields]
    assert fields == ["feel", "when", "need"]
    good = json.loads((BUILT_IN / "i-statements.json").read_text())
    for broken in (
        {**good, "steps": []},
        {**good, "surprise": 1},
        {**good, "steps": [{**good["steps"][0], "mode": "secret"}]},
        {**good, "steps": [{**good["steps"][0], "who": "speaker"}]},  # private is for each
        {**good, "steps": [{**good["steps"][0], "template": "I feel {fear}"}]},
        {**good, "steps": [{**good["steps"][0], "timer": 0}]},
        {**good, "steps": [{"prompt": "x", "who": "listener", "mode": "floor"}]},
    ):
        with pytest.raises(LibraryError):
            parse(broken)
    (tmp_path / "other-name.json").write_text(json.dumps(good))
    with pytest.raises(LibraryError, match="file name"):
        load([tmp_path])
    (tmp_path / "other-name.json").write_text("{not json")
    with pytest.raises(LibraryError):
        Exercises([tmp_path])


# -- private, then revealed together --------------------------------------------------------
@pytest.mark.parametrize("partner_does", ["withhold", "answer"])
async def test_private_answers_are_revealed_together_only_after_release(
        alongside: Harness, partner_does: str) -> None:
    clinician, client, partner = await trio(alongside)
    listed = await call(client, "tools", {})
    assert {"answer", "withhold"} <= set(next(
        t for t in listed["available"] if t["name"] == TOOL)["actions"])
    started = await call(clinician, "tool:start",
                         {"tool": TOOL, "options": {"exercise": "i-statements"}})
    assert started["ok"], started
    assert [p["part"] for p in view_of(started)["people"]] == ["client", "partner"]

    answered = await act(client, "answer", i_statement(CLIENT_SECRET))
    assert answered["ok"], answered
    mine = view_of(answered)["answers"]["client-1"]
    assert mine["text"].startswith(f"I feel {CLIENT_SECRET} when")
    # The clinician sees it at once; the partner learns only that the client is done.
    await latest_view(clinician, lambda v: CLIENT_SECRET in json.dumps(v["answers"]))
    pv = await latest_view(partner, lambda v: v["done"] == ["client-1"])
    assert pv["answers"] == {} and pv["released"] is False
    assert CLIENT_SECRET not in seen(partner)

    # Wrong role, not in the exercise, malformed: each with its code, nothing disturbed.
    assert (await act(client, "release"))["error"]["code"] == "E_FORBIDDEN_ROLE"
    assert (await act(clinician, "answer", i_statement("x")))["error"]["code"] \
        == "E_TOOL_NOT_IN_EXERCISE"
    for bad in ({"fields": {"feel": "only this"}}, {"text": "no fields"},
                {"fields": {"feel": "", "when": "a", "need": "b"}},
                {"fields": {"feel": 3, "when": "a", "need": "b"}},
                {"fields": {"feel": "a" * 300, "when": "a", "need": "b"}}):
        assert (await act(partner, "answer", bad))["error"]["code"] == "E_TOOL_INVALID"
    assert (await act(partner, "answer", "not an object"))["error"]["code"] == "E_SCHEMA"
    assert (await act(partner, "withhold", {"why": 1}))["error"]["code"] == "E_TOOL_INVALID"
    assert (await act(partner, "paraphrase", {"text": "x"}))["error"]["code"] == "E_TOOL_STEP"
    assert (await call(clinician, "tool:start", {"tool": TOOL, "options": {
        "exercise": "i-statements"}}))["error"]["code"] == "E_TOOL_RUNNING"
    # Release is refused until both have answered or withheld.
    assert (await act(clinician, "release"))["error"]["code"] == "E_TOOL_NOT_READY"
    # The client may change the answer before release; the partner still sees nothing.
    assert (await act(client, "answer", i_statement(CLIENT_SECRET + "-v2")))["ok"]

    if partner_does == "withhold":
        assert (await act(partner, "withhold"))["ok"]
    else:
        assert (await act(partner, "answer", {"fields": {
            "feel": "lonely", "when": "you go to meetings every night",
            "need": PARTNER_SECRET}}))["ok"]
    cv = await latest_view(client, lambda v: v["done"] == ["client-1", "partner-1"])
    assert set(cv["answers"]) == {"client-1"}  # not even "withheld" before release
    await latest_view(partner, lambda v: v["done"] == ["client-1", "partner-1"])
    assert CLIENT_SECRET not in seen(partner)
    assert PARTNER_SECRET not in seen(client)
    if partner_does == "answer":
        await latest_view(clinician, lambda v: PARTNER_SECRET in json.dumps(v["answers"]))

    # Every view the partner got while only the client had answered is the same,
    # whatever the client wrote or rewrote: nothing of the answer, not its length.
    waiting = {json.dumps(view_of(d), sort_keys=True) for d in partner.events("tool")
               if view_of(d)["done"] == ["client-1"]}
    assert len(waiting) == 1

    released = await act(clinician, "release")
    assert released["ok"], released
    pv = await latest_view(partner, lambda v: v["released"])
    assert pv["answers"]["client-1"]["text"] == (
        f"I feel {CLIENT_SECRET}-v2 when plans change without a text. "
        "I need a message when you are late.")
    cv = await latest_view(client, lambda v: v["released"])
    if partner_does == "withhold":
        assert cv["answers"]["partner-1"] == {"withheld": True}
        assert "lonely" not in seen(client)
    else:
        assert cv["answers"]["partner-1"]["value"]["need"] == PARTNER_SECRET
    assert (await act(client, "answer", i_statement("late")))["error"]["code"] \
        == "E_TOOL_RELEASED"
    # The clinician's guidance never reaches the couple.
    guide = "judgments dressed as feelings"
    assert guide in seen(clinician)
    assert guide not in seen(client) and guide not in seen(partner)

    # A shared step: answers are seen at once by everyone.
    assert (await act(clinician, "next"))["ok"]
    assert (await act(partner, "answer", {"text": "I can text when I am late"}))["ok"]
    await latest_view(client, lambda v: "partner-1" in v.get("answers", {}))
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]

    room = await Rooms(alongside.store).get("room-couples")
    assert room is not None
    [entry] = [r for r in room.records if r["tool"] == TOOL]
    kept = entry["state"]["steps"][0]["answers"]
    assert kept["client-1"]["value"]["feel"] == f"{CLIENT_SECRET}-v2"
    assert kept["partner-1"]["withheld"] is (partner_does == "withhold")
    # The session record, as each role may read it.
    async with ClientSession() as http:
        async def record(role: str) -> dict[str, Any]:
            url = f"{alongside.url}/api/programs/prog-1/sessions/room-couples/record"
            headers = {"Authorization": f"Bearer {alongside.token(role)}"}
            async with http.get(url, headers=headers) as r:
                assert r.status == 200, await r.text()
                [rec] = [e["record"] for e in (await r.json())["entries"]
                         if e["tool"] == TOOL]
                return rec
        for role in ("clinician", "partner", "client"):
            first = (await record(role))["steps"][0]
            assert first["released"] and set(first["answers"]) == {"client-1", "partner-1"}
            assert "judgments" not in json.dumps(first)


async def test_answers_from_someone_not_in_the_exercise(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    started = await call(clinician, "tool:start", {"tool": TOOL, "options": {
        "exercise": "recovery-goal-alignment", "participants": ["client-1", "clinician-1"]}})
    assert started["ok"], started
    # The clinician stands in for the partner's part; the partner only watches.
    assert [p["part"] for p in view_of(started)["people"]] == ["client", "partner"]
    goals = {"fields": {"goal": "a", "support": "b", "worry": "c"}}
    assert (await act(partner, "answer", goals))["error"]["code"] == "E_TOOL_NOT_IN_EXERCISE"
    assert (await act(partner, "withhold"))["error"]["code"] == "E_TOOL_NOT_IN_EXERCISE"
    assert (await act(client, "answer", {"fields": {
        "goal": "90 days sober", "support": "ask me how group went",
        "worry": CLIENT_SECRET}}))["ok"]
    await latest_view(partner, lambda v: v["done"] == ["client-1"])
    assert CLIENT_SECRET not in seen(partner)
    for options in ({"exercise": "nope"}, {"exercise": "i-statements", "participants": ["x"]},
                    {"exercise": "i-statements", "participants": ["client-1", "client-1"]},
                    {"exercise": "i-statements", "speaker": "partner-1",
                     "participants": ["client-1", "clinician-1"]},
                    {"exercise": "i-statements", "speaker": ["client-1"]},
                    {"exercise": ["i-statements"]}, {"exercise": "i-statements", "participants":
                                                      [{"id": "client-1"}, "partner-1"]},
                    {"exercise": "i-statements", "colour": "blue"}):
        await call(clinician, "tool:stop", {"tool": TOOL})
        refused = await call(clinician, "tool:start", {"tool": TOOL, "options": options})
        assert refused["error"]["code"] == "E_TOOL_INVALID", options
    assert (await call(clinician, "tool:start", {"tool": TOOL, "options": [1]}))["error"][
        "code"] == "E_SCHEMA"
    assert (await act(clinician, "next"))["error"]["code"] == "E_TOOL_NOT_RUNNING"


# -- speaker-listener -----------------------------------------------------------------------
def mutes(peer: Peer) -> list[bool]:
    return [d["muted"] for d in peer.events("mute")]


async def test_speaker_listener_floor_paraphrase_confirm_swap(alongside: Harness) -> None:
    clinician, client, partner = await trio(alongside)
    assert (await call(clinician, "tool:start", {"tool": TOOL, "options": {
        "exercise": "speaker-listener", "speaker": "client-1"}}))["ok"]
    # Step 1 is the clinician's: the topic.
    assert (await act(client, "answer", {"fields": {"topic": "x"}}))["error"]["code"] \
        == "E_TOOL_NOT_YOUR_TURN"
    assert (await act(clinician, "answer", {"fields": {"topic": "evenings at home"}}))["ok"]
    assert (await act(client, "take-floor"))["error"]["code"] == "E_TOOL_STEP"
    assert (await act(clinician, "next"))["ok"]

    # The speaker holds the floor: the listener is asked to mute, the speaker to unmute.
    await partner.wait_for("mute", lambda d: d["muted"] is True)
    await client.wait_for("mute", lambda d: d["muted"] is False)
    pv = await latest_view(partner, lambda v: "floor" in v)
    assert pv["floor"]["holder"] == "client-1" and pv["floor"]["youMuted"] is True

    grab = await act(partner, "take-floor")
    assert grab["error"]["code"] == "E_TOOL_FLOOR"
    assert (await act(partner, "swap"))["error"]["code"] == "E_TOOL_FLOOR"  # not confirmed
    assert (await act(client, "paraphrase", {"text": "me"}))["error"]["code"] == "E_TOOL_FLOOR"
    assert (await act(partner, "confirm", {"ok": True}))["error"]["code"] == "E_TOOL_FLOOR"
    assert (await act(client, "confirm", {"ok": True}))["error"]["code"] == "E_TOOL_STEP"
    assert (await act(clinician, "take-floor"))["error"]["code"] == "E_TOOL_NOT_IN_EXERCISE"
    assert (await act(partner, "paraphrase", {"text": ""}))["error"]["code"] == "E_TOOL_INVALID"
    assert (await act(client, "take-floor"))["ok"]
    assert mutes(partner)[-1] is True and mutes(client)[-1] is False

    said = "You feel alone in the evenings"
    assert (await act(partner, "paraphrase", {"text": said}))["ok"]
    cv = await latest_view(client, lambda v: v.get("floor", {}).get("paraphrases"))
    assert cv["floor"]["paraphrases"][-1]["text"] == said  # paraphrases are shared
    assert (await act(client, "confirm", {"ok": "yes"}))["error"]["code"] == "E_TOOL_INVALID"
    assert (await act(client, "confirm", {"ok": False}))["ok"]  # try again
    assert (await act(partner, "swap"))["error"]["code"] == "E_TOOL_FLOOR"
    assert (await act(partner, "paraphrase", {"text": said + ", and unheard"}))["ok"]
    assert (await act(client, "confirm", {"ok": True}))["ok"]

    # After confirmation the listener may swap: the floor and the mutes move.
    before = len(partner.events("mute")), len(client.events("mute"))
    swapped = await act(partner, "swap")
    assert swapped["ok"], swapped
    assert view_of(swapped)["floor"]["holder"] == "partner-1"
    await partner.wait_for("mute", lambda d: d["muted"] is False)
    await client.wait_for("mute", lambda d: d["muted"] is True)
    assert len(partner.events("mute")) > before[0] and len(client.events("mute")) > before[1]
    assert mutes(partner)[-1] is False and mutes(client)[-1] is True
    assert (await act(client, "take-floor"))["error"]["code"] == "E_TOOL_FLOOR"
    assert (await act(partner, "take-floor"))["ok"]

    # The clinician may swap at any time.
    assert view_of(await act(clinician, "swap"))["floor"]["holder"] == "client-1"
    await partner.wait_for("mute", lambda d: d["muted"] is True)
    assert mutes(partner)[-1] is True and mutes(client)[-1] is False

    # Leaving the floor step unmutes everyone; the clinician was never muted.
    assert (await act(clinician, "next"))["ok"]
    await partner.wait_for("mute", lambda d: d["muted"] is False)
    assert mutes(partner)[-1] is False and mutes(client)[-1] is False
    assert clinician.events("mute") == []
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]


@pytest.fixture
async def with_extra_library(start_server: Any, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> Harness:
    """A server whose library has one more folder (as a clinician would add files)."""
    extra = tmp_path / "extra-exercises"
    extra.mkdir()
    (extra / "quick-check.json").write_text(json.dumps({
        "id": "quick-check", "title": "Quick check", "intro": "One private question.",
        "steps": [{"prompt": "One word for today?", "who": "each", "mode": "private-reveal",
                   "timer": 1}]}))
    (extra / "broken.json").write_text('{"id": "broken", "steps": []}')  # skipped, logged
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(extra))
    return await start_server()


async def test_an_added_exercise_and_its_step_timer(with_extra_library: Harness) -> None:
    clinician, client, partner = await trio(with_extra_library)
    started = await call(clinician, "tool:start",
                         {"tool": TOOL, "options": {"exercise": "quick-check"}})
    assert started["ok"], started
    assert view_of(started)["step"]["timeUp"] is False
    # The clock wakes the tool when the step's timer runs out; everyone sees it.
    for peer in (client, partner, clinician):
        view = await latest_view(peer, lambda v: v["step"]["timeUp"])
        assert view["step"]["deadline"] is not None
    assert (await act(client, "answer", {"text": "tired"}))["ok"]  # late answers still count
    # The broken file was skipped; the built-in library is all there.
    assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]
    for exercise in ("broken", "i-statements"):
        started = await call(clinician, "tool:start",
                             {"tool": TOOL, "options": {"exercise": exercise}})
        assert started["ok"] is (exercise != "broken"), started


# -- a restart in the middle of an exercise -------------------------------------------------
class LiveRoom:
    """Clinician and client in an ad hoc individual room of a server in a subprocess."""

    def __init__(self, url: str) -> None:
        self.url, self.settings = url, Settings(jwt_secret=SECRET)
        self.peers: list[Peer] = []

    async def person(self, role: str, sub: str) -> Peer:
        extra: dict[str, Any] = {"room_kind": "individual"} if role == "clinician" else {}
        token = mint(self.settings, sub=sub, name=sub.title(), role=role, program="tp",
                     room="practice", ttl=600, **extra)
        peer = Peer(self.url, token)
        self.peers.append(peer)
        await peer.connect()
        assert (await peer.call("join", {}))["ok"]
        return peer

    async def pair(self) -> tuple[Peer, Peer]:
        clinician = await self.person("clinician", "dr")
        client = await self.person("client", "cl")
        admitted = await clinician.call("admit", {"participant": "cl"})
        # After a restart the client may come straight back in (admitted before).
        assert admitted["ok"] or admitted["error"]["code"] == "E_INVALID_STATE", admitted
        if admitted["ok"]:
            await client.wait_for("admitted")
        return clinician, client

    async def close(self) -> None:
        for p in self.peers:
            await p.close()


async def test_state_and_answers_survive_a_restart_mid_exercise(tmp_path: Path) -> None:
    first = live_server.start(tmp_path)
    second = None
    try:
        room = LiveRoom(first.url)
        clinician, client = await room.pair()
        started = await call(clinician, "tool:start",
                             {"tool": TOOL, "options": {"exercise": "i-statements"}})
        assert started["ok"], started
        # Individual room: the clinician takes the partner's part.
        assert [(p["id"], p["part"]) for p in view_of(started)["people"]] == [
            ("cl", "client"), ("dr", "partner")]
        assert (await act(client, "answer", i_statement(CLIENT_SECRET)))["ok"]
        assert (await act(clinician, "answer", i_statement(PARTNER_SECRET)))["ok"]
        await room.close()
        first.process.kill()  # SIGKILL with answers submitted, not yet released
        first.process.wait()

        second = live_server.start(tmp_path)
        again = LiveRoom(second.url)
        clinician, client = await again.pair()
        [mine] = (await call(client, "tools", {}))["running"]
        assert mine["view"]["done"] == ["cl", "dr"]
        assert set(mine["view"]["answers"]) == {"cl"}
        assert PARTNER_SECRET not in seen(client)
        [theirs] = (await call(clinician, "tools", {}))["running"]
        assert theirs["view"]["answers"]["cl"]["value"]["feel"] == CLIENT_SECRET
        assert (await act(clinician, "release"))["ok"]
        cv = await latest_view(client, lambda v: v["released"])
        assert cv["answers"]["dr"]["value"]["feel"] == PARTNER_SECRET
        assert (await call(clinician, "tool:stop", {"tool": TOOL}))["ok"]
        await again.close()
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_the_record_keeps_an_unreleased_answer_from_the_other_partner() -> None:
    tool = Exercises()
    roster = (Participant("dr", "Dr", "clinician"), Participant("a", "A", "client"),
              Participant("b", "B", "partner"))
    ctx = ToolContext(roster=roster, now=1.0, room_kind="couples", actor=roster[0])
    state = tool.start(ctx, {"exercise": "i-statements"})
    state = tool.act(ctx, state, roster[1], "answer", i_statement(CLIENT_SECRET))
    assert CLIENT_SECRET in json.dumps(tool.record(state, "clinician"))
    assert CLIENT_SECRET in json.dumps(tool.record(state, "client"))
    assert CLIENT_SECRET not in json.dumps(tool.record(state, "partner"))
    assert tool.record(state, "partner")["steps"][0]["answers"] == {}


# -- any payload is answered with a code, never a crash ----------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["client-1", "partner-1", "clinician-1", "i-statements"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["text", "fields", "ok", "feel", "when", "need", "topic"]), inner,
        max_size=4), max_leaves=8)
ROSTER = (Participant("clinician-1", "Dr", "clinician"), Participant("client-1", "A", "client"),
          Participant("partner-1", "B", "partner"))


@settings(max_examples=120, deadline=None)
@given(exercise=st.sampled_from(["speaker-listener", "i-statements", "boundary-worksheet"]),
       steps=st.lists(st.tuples(
           st.sampled_from([a for a in Exercises.actions if a not in ("start", "stop")]),
           st.sampled_from(ROSTER),
           st.dictionaries(st.sampled_from(["text", "fields", "ok"]), JSON, max_size=2)),
           max_size=10))
def test_any_payload_is_refused_with_a_code_or_taken(
        exercise: str, steps: list[tuple[str, Participant, dict[str, Any]]]) -> None:
    tool = LIBRARY_TOOL
    ctx = ToolContext(roster=ROSTER, now=1.0, room_kind="couples", actor=ROSTER[0])
    state = tool.start(ctx, {"exercise": exercise})
    for action, actor, payload in steps:
        try:
            state = tool.act(ctx, copy.deepcopy(state), actor, action, payload)
        except ToolError as refused:
            assert refused.code.startswith("E_TOOL_")
            continue
        for viewer in ROSTER:
            json.dumps(tool.view(state, viewer))
        json.dumps(tool.record(state, actor.role))
        tool.wake_at(state)


LIBRARY_TOOL = Exercises()


async def test_stopping_mid_round_unmutes_everyone(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    client = await alongside.admitted("client", clinician)
    partner = await alongside.admitted("partner", clinician)
    ack = await clinician.call("tool:start", {"tool": "exercises",
                                              "options": {"exercise": "speaker-listener"}})
    assert ack["ok"], ack
    for _ in range(10):  # walk to the first floor step
        if client.events("mute") or partner.events("mute"):
            break
        await clinician.call("tool:act", {"tool": "exercises", "action": "next"})
    muted = partner if partner.events("mute") and partner.events("mute")[-1]["muted"] else client
    assert muted.events("mute")[-1] == {"muted": True}
    await clinician.call("tool:stop", {"tool": "exercises"})
    assert await muted.wait_for("mute", lambda d: d == {"muted": False})
