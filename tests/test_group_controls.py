"""A group's clinician controls through a real Janus, with real aiortc members.

Mute, focus mode and breakouts are enforced at the SFU and by the server's who-receives-whom
rule, so each test measures what arrives at the members' own connections: audio frames that
stop and start, feeds that go (``sfu.gone``) and come (``sfu.offer`` and frames). Janus runs
natively on a generated config (``tests/janus_fixtures.py``); nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import socketio
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
)
from playwright.async_api import Browser, Page

from server.domain import group as group_rules
from server.domain import room as room_rules
from server.domain.identity import Identity, Role, RoomKind
from server.domain.room import Room
from server.errors import Code, Refused
from server.realtime.server import REALTIME
from tests.browser import PageLog, browser_fixture, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.janus_fixtures import (  # noqa: F401  (fixtures: janus, group, members)
    GROUP,
    PLAYING_VIDEOS,
    Member,
    SmallVideo,
    everything_received,
    group,
    janus,
    knock,
    members,
)
from tests.peers import Peer


class Person(Member):
    """A member who publishes audio as well as video, counts the frames of each kind it
    receives from each feed, closes a feed on ``sfu.gone`` and publishes again on
    ``sfu.republish`` (the client step of a breakout, docs/groups.md)."""

    def __init__(self, peer: Peer, pid: str, audio: bool = False) -> None:
        super().__init__(peer, pid)
        self.audio = audio
        self.counts: dict[str, Counter[str]] = {}
        peer.sio.on("sfu.gone", self._on_gone)
        peer.sio.on("sfu.republish", self._on_republish)
        self.republished = 0

    def tracks(self) -> list[MediaStreamTrack]:
        return [*([AudioStreamTrack()] if self.audio else []), *super().tracks()]

    def reads(self, kind: str) -> bool:
        return True  # audio too: muting is measured by the audio frames that still arrive

    async def _read(self, track: MediaStreamTrack, feed: str) -> None:
        try:
            while True:
                frame = await track.recv()
                self.counts.setdefault(feed, Counter())[track.kind] += 1
                if track.kind == "video":
                    first = self.frame_from(feed)
                    if not first.done():
                        first.set_result(frame)
        except Exception:  # the connection closed (sfu.gone, a move): stop counting
            return

    async def _on_gone(self, data: dict[str, Any]) -> None:
        self.peer.received.append(("sfu.gone", data))  # a handler of its own skips "*"
        pc = self.subscriptions.pop(data["feed"], None)
        self.frames.pop(data["feed"], None)
        if pc is not None:
            await pc.close()

    async def _on_republish(self, data: dict[str, Any]) -> None:
        self.peer.received.append(("sfu.republish", data))
        self.republished += 1
        self.frames.clear()
        ack = await self.publish()
        assert ack["ok"], ack

    def heard(self, feed: str) -> int:
        return self.counts.get(feed, Counter())["audio"]


async def seat(h: Harness, made: list[Member], role: str, pid: str,
               audio: bool = False) -> Person:
    """Join (a clinician) or knock (a member), as test_group_sfu.py's ``knock`` does it."""
    base = await knock(h, made, role, pid)
    made.remove(base)
    person = Person(base.peer, pid, audio)  # its handlers replace the base's
    made.append(person)
    return person


async def knock_from_page(page: Page) -> None:
    """Click Join, and accept the group agreement if the page asks for it first."""
    await page.get_by_role("button", name="Join", exact=True).click()
    waiting = page.get_by_text("You're in the waiting room.").first
    accept = page.get_by_role("button", name="Accept and join", exact=True)
    await accept.or_(waiting).first.wait_for(timeout=20_000)
    if await accept.count():
        await accept.click()
    await waiting.wait_for(timeout=20_000)


async def a_group(h: Harness, made: list[Member], n: int,
                  audio: bool = False) -> tuple[Person, list[Person]]:
    """A clinician and ``n`` members, all admitted, publishing and subscribed."""
    clinician = await seat(h, made, "clinician", "dr-1", audio)
    people = [await seat(h, made, "client", f"member-{i}", audio) for i in range(1, n + 1)]
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in people))
    for p in (clinician, *people):
        assert (await p.publish())["ok"]
        assert (await p.peer.call("sfu.subscribe", {}))["ok"]
    return clinician, people


async def until(check: Any, timeout: float = 20, say: Any = lambda: "") -> None:
    for _ in range(int(timeout * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check(), say()


async def frames_from(person: Person, feeds: list[str], timeout: float = 30) -> None:
    await asyncio.wait_for(asyncio.gather(*(person.frame_from(f) for f in feeds)), timeout)


async def audio_in(listener: Person, feed: str, seconds: float = 2.0) -> int:
    """How many audio frames of ``feed`` reach ``listener`` in ``seconds``."""
    before = listener.heard(feed)
    await asyncio.sleep(seconds)
    return listener.heard(feed) - before


@pytest.mark.timeout(120)
async def test_mute_all_stops_members_audio_at_the_sfu_and_ask_unmute_leaves_it_to_them(
        group: Harness, members: list[Member]) -> None:  # noqa: F811
    clinician, (one, two) = await a_group(group, members, 2, audio=True)
    await frames_from(clinician, ["member-1", "member-2"])
    await frames_from(two, ["member-1", "dr-1"])
    await until(lambda: two.heard("member-1") > 0 and clinician.heard("member-2") > 0)
    assert await audio_in(two, "member-1") > 20  # ~50 Opus frames a second

    ack = await clinician.peer.call("group.mute", {"all": True})
    assert ack["ok"] and sorted(ack["room"]["group"]["muted"]) == ["member-1", "member-2"]
    assert await one.peer.wait_for("group.muted") == {"audio": True}
    await asyncio.sleep(1.0)  # what was in flight drains
    # The members' audio no longer reaches anyone; their video and the clinician's audio do.
    assert await audio_in(two, "member-1") <= 2
    assert await audio_in(clinician, "member-2") <= 2
    assert await audio_in(one, "dr-1") > 20
    video = two.counts["member-1"]["video"]
    await asyncio.sleep(1.0)
    assert two.counts["member-1"]["video"] > video

    # A muted member may not lift the block by themselves...
    refused = await one.peer.call("group.unmute", {})
    assert refused["error"]["code"] == "E_MUTED_BY_CLINICIAN"
    # ...and asking them changes nothing at the SFU: they decide.
    assert (await clinician.peer.call("group.ask-unmute", {"participant": "member-1"}))["ok"]
    assert await one.peer.wait_for("group.ask-unmute") == {}
    assert await audio_in(two, "member-1") <= 2
    snap = await one.peer.wait_for("room", lambda d: d["group"]["asked"])
    # A member sees only what concerns them: never the others' state.
    assert snap["group"] == {"focus": False, "spotlight": None, "muted": True, "asked": True,
                             "videoOff": False, "videoAllowed": False, "breakout": None,
                             "visitors": []}
    accepted = await one.peer.call("group.unmute", {})
    assert accepted["ok"] and accepted["room"]["group"]["muted"] is False
    await asyncio.sleep(0.5)
    assert await audio_in(two, "member-1") > 20
    assert await audio_in(clinician, "member-2") <= 2  # still muted

    # Video off for one: their video stops, their audio (now unmuted) goes on.
    assert (await clinician.peer.call("group.video-off", {"participant": "member-1"}))["ok"]
    assert await one.peer.wait_for("group.video") == {"off": True}
    await asyncio.sleep(1.0)
    video = two.counts["member-1"]["video"]
    await asyncio.sleep(1.5)
    assert two.counts["member-1"]["video"] - video <= 2
    assert await audio_in(two, "member-1") > 20

    # Spotlight: everyone told who.
    assert (await clinician.peer.call("group.spotlight", {"participant": "member-2"}))["ok"]
    for p in (one, two):
        assert await p.peer.wait_for("group.spotlight") == {"participant": "member-2"}


@pytest.mark.timeout(120)
async def test_focus_mode_members_receive_the_clinician_only_until_one_is_allowed(
        group: Harness, members: list[Member]) -> None:  # noqa: F811
    clinician, people = await a_group(group, members, 3)
    one, two, three = people
    await frames_from(two, ["dr-1", "member-1", "member-3"])

    assert (await clinician.peer.call("group.focus", {"on": True}))["ok"]
    for p in people:
        assert await p.peer.wait_for("group.focus") == {"on": True}
    # The server closes what members received of each other; the clinician keeps all.
    await until(lambda: all(sorted(p.subscriptions) == ["dr-1"] for p in people))
    assert sorted(clinician.subscriptions) == ["member-1", "member-2", "member-3"]
    # A modified client asking again gets nothing more.
    again = await two.peer.call("sfu.subscribe", {})
    assert again["ok"] and again["feeds"] == []
    assert sorted(two.subscriptions) == ["dr-1"]

    # The clinician lets member-1 be seen: the others receive them again.
    ack = await clinician.peer.call("group.allow-video", {"participant": "member-1",
                                                          "allowed": True})
    assert ack["ok"] and ack["room"]["group"]["videoAllowed"] == ["member-1"]
    assert await one.peer.wait_for("group.allow-video") == {"allowed": True}
    await frames_from(two, ["member-1"])
    await frames_from(three, ["member-1"])
    assert sorted(two.subscriptions) == ["dr-1", "member-1"]
    assert sorted(one.subscriptions) == ["dr-1"]  # member-1 still sees only the clinician
    snap = (await two.peer.call("snapshot", {}))["room"]
    assert snap["group"]["focus"] is True and snap["group"]["videoAllowed"] is False

    # Focus off: everyone receives everyone again.
    assert (await clinician.peer.call("group.focus", {"on": False}))["ok"]
    await frames_from(one, ["member-2", "member-3"])
    await until(lambda: sorted(three.subscriptions) == ["dr-1", "member-1", "member-2"])


@pytest.mark.timeout(150)
async def test_a_breakout_in_pairs_and_everybody_back(
        group: Harness, members: list[Member]) -> None:  # noqa: F811
    clinician, people = await a_group(group, members, 4)
    one, two, three, four = people
    await frames_from(one, ["dr-1", "member-2", "member-3", "member-4"])

    ack = await clinician.peer.call("group.breakout", {"pairs": [["member-1", "member-2"],
                                                                 ["member-3", "member-4"]]})
    assert ack["ok"] and ack["room"]["group"]["breakouts"] == [["member-1", "member-2"],
                                                                ["member-3", "member-4"]]
    assert await one.peer.wait_for("group.breakout") == {"breakout": 0, "with": ["member-2"]}
    # Each member publishes again into the pair's own Janus room and receives only the other.
    await until(lambda: all(p.republished == 1 for p in people))
    await frames_from(one, ["member-2"])
    await frames_from(two, ["member-1"])
    await frames_from(three, ["member-4"])
    await frames_from(four, ["member-3"])
    await until(lambda: [sorted(p.subscriptions) for p in people] == [
        ["member-2"], ["member-1"], ["member-4"], ["member-3"]],
        say=lambda: [sorted(p.subscriptions) for p in people])
    sfu = group.app[REALTIME].sfu_events.sfu
    assert sorted(sfu.feeds(GROUP)) == ["dr-1"]
    rooms = {k for k in sfu.rooms() if k != GROUP}
    assert len(rooms) == 2  # two separate Janus rooms
    assert len({sfu._rooms[k].janus_id for k in rooms | {GROUP}}) == 3
    # Nothing of the breakouts' Janus rooms reaches anyone: ids, secrets, pins, tokens.
    held = [sfu._rooms[k] for k in rooms | {GROUP}]
    secrets_ = [*(r.janus_id for r in held), *(r.secret for r in held), *(r.pin for r in held),
                *(m.token for r in held for m in r.members.values()),
                *(m.feed_id for r in held for m in r.members.values())]
    for p in (clinician, *people):
        seen = everything_received(p)
        assert [x for x in secrets_ if x in seen] == []
        assert "|" not in "".join(str(d.get("feed", "")) for e, d in p.peer.received
                                  if isinstance(d, dict))
    snap = (await one.peer.call("snapshot", {}))["room"]
    assert [p["id"] for p in snap["participants"]] == ["member-2"]
    assert snap["group"]["breakout"] == ["member-2"]
    mine = (await clinician.peer.call("snapshot", {}))["room"]
    assert mine["participants"] == [] and {(a["id"], tuple(a["with"])) for a in mine["away"]} == {
        ("member-1", ("Member-2",)), ("member-2", ("Member-1",)),
        ("member-3", ("Member-4",)), ("member-4", ("Member-3",))}

    # The clinician visits the second pair: they receive it, and it receives them.
    assert (await clinician.peer.call("group.visit", {"breakout": 1}))["ok"]
    assert (await clinician.peer.wait_for("sfu.republish")) == {}
    await frames_from(clinician, ["member-3", "member-4"])
    await frames_from(three, ["dr-1"])
    assert "dr-1" not in one.subscriptions
    # The visited pair is told who visits; the other pair is not.
    assert (await three.peer.call("snapshot", {}))["room"]["group"]["visitors"] == ["dr-1"]
    assert (await one.peer.call("snapshot", {}))["room"]["group"]["visitors"] == []

    # Everybody back with one action: everyone receives everyone again.
    assert (await clinician.peer.call("group.breakout-end", {}))["ok"]
    await until(lambda: all(p.republished == 2 for p in people))
    await frames_from(one, ["dr-1", "member-2", "member-3", "member-4"], 45)
    await frames_from(four, ["dr-1", "member-1", "member-2", "member-3"], 45)
    await until(lambda: sorted(clinician.subscriptions) == [p.id for p in people])
    await until(lambda: set(sfu.rooms()) == {GROUP})  # the breakouts' rooms are gone


@pytest.mark.timeout(60)
async def test_a_removed_member_cannot_rejoin_and_members_cannot_use_controls(
        group: Harness, members: list[Member]) -> None:  # noqa: F811
    clinician = await seat(group, members, "clinician", "dr-1")
    one = await seat(group, members, "client", "member-1")
    two = await seat(group, members, "client", "member-2")
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await one.peer.wait_for("admitted")

    # Only clinicians may send the controls; a wrong shape is E_SCHEMA.
    for event, body in [("group.mute", {"all": True}), ("group.focus", {"on": True}),
                        ("group.mute", {"participant": "member-2"}),
                        ("group.ask-unmute", {"participant": "member-2"}),
                        ("group.video-off", {"participant": "member-2"}),
                        ("group.allow-video", {"participant": "member-1", "allowed": True}),
                        ("group.spotlight", {"participant": "member-1"}),
                        ("group.breakout", {"pairs": [["member-1", "member-2"]]}),
                        ("group.breakout-end", {}), ("group.visit", {"breakout": 0})]:
        refused = await one.peer.call(event, body)
        assert refused["error"]["code"] == "E_FORBIDDEN_ROLE", (event, refused)
    for event, body in [("group.mute", {}), ("group.mute", {"all": True, "participant": "x"}),
                        ("group.focus", {"on": "yes"}), ("group.breakout", {"pairs": [["a"]]}),
                        ("group.spotlight", {}), ("group.visit", {"breakout": -1}),
                        ("group.allow-video", {"participant": "member-1"})]:
        bad = await clinician.peer.call(event, body)
        assert bad["error"]["code"] == "E_SCHEMA", (event, bad)
    unknown = await clinician.peer.call("group.mute", {"participant": "nobody"})
    assert unknown["error"]["code"] == "E_UNKNOWN_PARTICIPANT"
    twice = await clinician.peer.call("group.breakout", {"pairs": [["member-1", "member-1"]]})
    assert twice["error"]["code"] == "E_SCHEMA"
    snap = (await two.peer.call("snapshot", {}))["room"]
    assert snap["group"]["focus"] is False and snap["group"]["muted"] is False

    # Removed: the ban sticks across a reconnect with the same token and sub.
    assert (await clinician.peer.call("remove", {"participant": "member-2"}))["ok"]
    await two.peer.wait_for("removed")
    for _ in range(2):
        again = Peer(group.url, group.token("client", sub="member-2", room=GROUP))
        group.peers.append(again)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await again.connect()
        assert again.connect_error["code"] == "E_REMOVED"
    # The audit rows name the action and its target, nothing else.
    def done() -> list[Any]:
        return [r for r in rows if r.action.startswith("group.") and r.outcome == "ok"]

    rows = await group.store.audit_rows(room=GROUP)
    assert done() == []  # every control above was refused
    assert (await clinician.peer.call("group.mute", {"participant": "member-1"}))["ok"]
    rows = await group.store.audit_rows(room=GROUP)
    rows = done()
    assert [(r.actor, r.role, r.action, r.target) for r in rows] == [
        ("dr-1", "clinician", "group.mute", "member-1")]


@pytest.mark.timeout(120)
async def test_the_session_page_follows_a_breakout_and_comes_back(
        group: Harness, members: list[Member], browser: Browser) -> None:  # noqa: F811
    """The session page's SDK (web/sdk/sfu.js) publishes again on ``sfu.republish``."""
    log = PageLog()
    clinician = await seat(group, members, "clinician", "dr-1")
    assert (await clinician.publish())["ok"]
    assert (await clinician.peer.call("sfu.subscribe", {}))["ok"]
    bot = await seat(group, members, "client", "member-1")
    context = await person(browser, group.url)
    page = await context.new_page()
    log.watch(page, "sam")
    await page.goto(f"{group.url}/room#{group.token('client', sub='sam', name='Sam', room=GROUP)}")
    await knock_from_page(page)
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await bot.peer.wait_for("admitted")
    assert (await bot.publish())["ok"]
    assert (await bot.peer.call("sfu.subscribe", {}))["ok"]
    await page.wait_for_function(PLAYING_VIDEOS, arg=2, timeout=40_000)
    await frames_from(bot, ["sam"], 40)
    # A member's page has no control strip.
    assert await page.get_by_role("region", name="Group controls").count() == 0

    # A breakout of Sam and the bot: the page publishes into the pair's own Janus room.
    assert (await clinician.peer.call("group.breakout", {"pairs": [["sam", "member-1"]]}))["ok"]
    await until(lambda: bot.republished == 1)
    try:
        await frames_from(bot, ["sam"], 40)  # a fresh frame: frames were cleared on the move
    except TimeoutError as exc:
        raise AssertionError(f"no frame of Sam's in the breakout\n{log}") from exc
    await until(lambda: sorted(bot.subscriptions) == ["sam"])
    await until(lambda: clinician.subscriptions == {})
    await page.wait_for_function(
        "() => document.querySelectorAll('figure[data-peer] video').length === 1",
        timeout=20_000)
    await page.wait_for_function(PLAYING_VIDEOS, arg=1, timeout=20_000)

    # Everybody back: the page publishes in the main room again; both receive it.
    clinician.frames.clear()
    assert (await clinician.peer.call("group.breakout-end", {}))["ok"]
    await frames_from(clinician, ["sam", "member-1"], 40)
    await page.wait_for_function(PLAYING_VIDEOS, arg=2, timeout=40_000)
    problems = [p for p in log.problems() if "/api/programs/prog-1" not in p
                and "status of 403" not in p]
    assert problems == [], str(log)
    await context.close()


@pytest.mark.timeout(120)
async def test_the_clinicians_control_strip_sends_the_controls(
        group: Harness, members: list[Member], browser: Browser) -> None:  # noqa: F811
    """web/group-controls.js on the clinician's session page: buttons send ``group.*``."""
    log = PageLog()
    cofacilitator = await seat(group, members, "clinician", "dr-2")
    people = [await seat(group, members, "client", f"member-{i}") for i in (1, 2)]
    context = await person(browser, group.url)
    page = await context.new_page()
    log.watch(page, "dr")
    token = group.token("clinician", sub="dr-1", name="Dr. Rivera", room=GROUP)
    await page.goto(f"{group.url}/room#{token}")
    await page.get_by_role("button", name="Join", exact=True).click()
    strip = page.get_by_role("region", name="Group controls")
    await strip.wait_for(timeout=20_000)
    assert (await cofacilitator.peer.call("admit-all", {}))["ok"]
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in people))

    await strip.get_by_role("button", name="Mute all").click()
    for m in people:
        assert await m.peer.wait_for("group.muted") == {"audio": True}
    await strip.get_by_role("button", name="Ask Member-1 to unmute").click()
    assert await people[0].peer.wait_for("group.ask-unmute") == {}
    focus = strip.get_by_role("button", name="Focus mode")
    await focus.click()
    await page.wait_for_function(
        "() => document.querySelector('.group-controls button[aria-pressed=true]')"
        "?.textContent === 'Focus mode'", timeout=10_000)
    for m in people:
        assert await m.peer.wait_for("group.focus") == {"on": True}
    await strip.get_by_role("button", name="Let the group see Member-2").click()
    assert await people[1].peer.wait_for("group.allow-video") == {"allowed": True}
    await strip.get_by_role("button", name="Practice in pairs").click()
    assert await people[0].peer.wait_for("group.breakout") == {"breakout": 0,
                                                              "with": ["member-2"]}
    await strip.get_by_role("button", name="Bring everyone back").click()
    await people[0].peer.wait_for("group.breakout", lambda d: d["breakout"] is None)
    snap = (await cofacilitator.peer.call("snapshot", {}))["room"]["group"]
    assert snap["muted"] == ["member-1", "member-2"] and snap["asked"] == ["member-1"]
    assert snap["focus"] is True and snap["videoAllowed"] == ["member-2"]
    assert snap["breakouts"] == []
    problems = [p for p in log.problems() if "/api/programs/prog-1" not in p
                and "status of 403" not in p]
    assert problems == [], str(log)
    await context.close()


def test_the_group_rules_who_receives_whom_and_what_each_role_is_shown() -> None:
    rules = group_rules
    def who(role: Role, pid: str) -> Identity:
        return Identity(id=pid, name=pid, role=role, program="prog-1", room=GROUP,
                        expires_at=1e12)

    room = Room(id=GROUP, program="prog-1", kind=RoomKind.GROUP)
    dr = who(Role.CLINICIAN, "dr")
    room_rules.join(room, dr, "s-dr", True, 1.0)
    for i in range(1, 5):
        room_rules.join(room, who(Role.CLIENT, f"m{i}"), f"s-m{i}", True, 1.0 + i)
    room_rules.admit_all(room, dr, 10.0)
    m = room.members
    assert all(rules.sees(room, m["m1"], m[o]) for o in ("dr", "m2", "m3"))

    with pytest.raises(Refused) as forbidden:
        rules.mute(room, who(Role.CLIENT, "m1"), None)
    assert forbidden.value.code is Code.FORBIDDEN_ROLE
    with pytest.raises(Refused) as not_muted:
        rules.ask_unmute(room, dr, "m1")
    assert not_muted.value.code is Code.INVALID_STATE
    rules.mute(room, dr, None)
    assert rules.blocked(room, "m1") == (True, False) and rules.blocked(room, "dr") == (False,
                                                                                       False)
    with pytest.raises(Refused) as early:
        rules.unmute_self(room, who(Role.CLIENT, "m1"))
    assert early.value.code is Code.MUTED_BY_CLINICIAN
    rules.ask_unmute(room, dr, "m1")
    assert rules.blocked(room, "m1") == (True, False)  # asking unmutes nobody
    rules.unmute_self(room, who(Role.CLIENT, "m1"))
    assert rules.blocked(room, "m1") == (False, False)

    rules.focus(room, dr, True)
    assert rules.sees(room, m["m1"], m["dr"]) and not rules.sees(room, m["m1"], m["m2"])
    assert rules.sees(room, m["dr"], m["m2"])  # clinicians receive everyone
    rules.allow_video(room, dr, "m2", True)
    assert rules.sees(room, m["m1"], m["m2"]) and not rules.sees(room, m["m2"], m["m3"])
    # A member's view: their own state only; the clinician's: everyone's.
    assert rules.view(room, m["m3"]) == {
        "focus": True, "spotlight": None, "muted": True, "asked": False, "videoOff": False,
        "videoAllowed": False, "breakout": None, "visitors": []}
    assert rules.view(room, m["dr"])["videoAllowed"] == ["m2"]

    rules.focus(room, dr, False)
    with pytest.raises(Refused) as twice:
        rules.breakout(room, dr, [["m1", "m2"], ["m2", "m3"]])
    assert twice.value.code is Code.SCHEMA and room.group["breakouts"] == []
    rules.breakout(room, dr, [["m1", "m2"], ["m3", "m4"]])
    assert rules.sees(room, m["m1"], m["m2"]) and not rules.sees(room, m["m1"], m["m3"])
    assert not rules.sees(room, m["dr"], m["m1"])  # the clinician is in the main room
    assert rules.sfu_room(room, "m1") != rules.sfu_room(room, "m3") != GROUP
    assert rules.parent(rules.sfu_room(room, "m3")) == GROUP
    rules.visit(room, dr, 1)
    assert rules.sees(room, m["dr"], m["m3"]) and rules.sees(room, m["m4"], m["dr"])
    rules.breakout_end(room, dr)
    assert all(rules.sfu_room(room, p) == GROUP for p in m)
    # Outside a group room the controls do not apply.
    solo = Room(id="solo", program="prog-1", kind=RoomKind.INDIVIDUAL)
    with pytest.raises(Refused) as kind:
        rules.focus(solo, dr, True)
    assert kind.value.code is Code.INVALID_STATE
