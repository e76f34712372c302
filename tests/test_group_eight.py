"""Eight people in one group room through a real Janus: five on aiortc, three in Chromium.

The clinician and four members are Python participants (``tests/janus_fixtures.py``'s
``Member``: a real socket.io client and aiortc connections sending 160×120 frames); three
members are Chromium pages (the group page, its agreement, Chromium's fake camera narrowed to
160×120 at 10 frames a second, ``tests/test_browser_group.py``). In open mode each of the
eight receives the seven others; in focus mode (``group.focus``) members receive the
clinician only while the clinician keeps everyone. Meanwhile a second group room runs on the
same server and Janus, and one more member waits in the lobby: every payload a member
received (socket.io events and acks on the Python side, every WebSocket frame on the page
side) is searched for their ids and names, and none is there.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocket

from devtools.janus import JanusServer
from tests.browser import PageLog, browser_fixture  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.janus_fixtures import (  # noqa: F401  (fixtures: janus, members)
    GROUP,
    Member,
    everything_received,
    janus,
    knock,
    members,
)
from tests.test_browser_group import (  # noqa: F401  (fixtures: group, contexts)
    PLAYING_VIDEOS,
    agree,
    contexts,
    group,
    member_token,
    open_page,
)
from tests.test_group_controls import frames_from, until

OTHER = "room-group-other"
# What must never reach a member of GROUP: the other room's people and the one waiting.
OTHER_PEOPLE = {"otherroom-dr": "Octavia", "otherroom-m1": "Ottoline"}
WAITING = ("lobby-waiting", "Wilhelmina")
PAGES = {"sam": "Samuel Ortiz", "lee": "Lee Park", "kim": "Kim Alvarez"}
# Exactly ``n`` remote videos of the page are playing.
PLAYING_EXACTLY = PLAYING_VIDEOS.replace(").length >= n", ").length === n")


class Frames:
    """Every socket.io frame a page received over its WebSocket, and its events."""

    def __init__(self, page: Page) -> None:
        self.raw: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.raw.append(
            payload if isinstance(payload, str) else payload.decode(errors="replace")))

    def events(self, name: str) -> list[Any]:
        out = []
        for frame in self.raw:
            if frame.startswith("42"):  # an event: 42[name, data]
                body = json.loads(frame[2:])
                if body and body[0] == name:
                    out.append(body[1] if len(body) > 1 else None)
        return out

    def feeds(self) -> set[str]:
        """The feeds offered to this page and not gone since."""
        live: set[str] = set()
        for frame in self.raw:
            if frame.startswith("42"):
                event, *rest = json.loads(frame[2:])
                if event == "sfu.offer":
                    live.add(rest[0]["feed"])
                elif event == "sfu.gone":
                    live.discard(rest[0]["feed"])
        return live


def live_feeds(m: Member) -> list[str]:
    """The feeds offered to ``m`` and not gone since (``Member`` records both events)."""
    live: set[str] = set()
    for event, data in m.peer.received:
        if event == "sfu.offer":
            live.add(data["feed"])
        elif event == "sfu.gone":
            live.discard(data["feed"])
    return sorted(live)


def leaks(seen: str, forbidden: list[str]) -> list[str]:
    return [seen[max(0, seen.find(s) - 150):seen.find(s) + 40] for s in forbidden if s in seen]


@pytest.mark.timeout(240)
async def test_eight_in_a_group_receive_what_open_and_focus_mode_say_and_nothing_else(
        group: Harness, janus: JanusServer, browser: Browser,  # noqa: F811
        contexts: list[BrowserContext], members: list[Member]) -> None:  # noqa: F811
    log = PageLog()
    # A second group room at the same time, on the same server and the same Janus.
    await group.create_room(OTHER, "group")
    other_dr = await knock(group, members, "clinician", "otherroom-dr", "Octavia", OTHER)
    other_m = await knock(group, members, "client", "otherroom-m1", "Ottoline", OTHER)
    assert (await other_dr.peer.call("admit-all", {}))["ok"]
    await other_m.peer.wait_for("admitted")
    for m in (other_dr, other_m):
        assert (await m.publish())["ok"]
        assert (await m.peer.call("sfu.subscribe", {}))["ok"]

    clinician = await knock(group, members, "clinician", "dr-1")
    bots = [await knock(group, members, "client", f"member-{i}") for i in range(1, 5)]
    pages: dict[str, Page] = {}
    frames: dict[str, Frames] = {}
    for sub, name in PAGES.items():
        page = await open_page(browser, contexts, group, member_token(group, sub, name), log,
                               sub)
        frames[sub] = Frames(page)  # from before the socket opens (the page joins on a click)
        await agree(page)
        await page.get_by_text("You're in the waiting room.").first.wait_for()
        pages[sub] = page
    ack = await clinician.peer.call("admit-all", {})
    assert ack["ok"] and len(ack["room"]["participants"]) == 7
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in bots))
    # One more knocks after admit all, and stays in the lobby throughout.
    waiting = await knock(group, members, "client", WAITING[0], WAITING[1])
    assert waiting.peer.join_ack["you"]["state"] == "lobby"  # type: ignore[attr-defined]
    await clinician.peer.wait_for("room", lambda d: [p["id"] for p in d.get("lobby", [])]
                                  == [WAITING[0]])

    python = [clinician, *bots]
    for m in python:
        assert (await m.publish())["ok"]
        assert (await m.peer.call("sfu.subscribe", {}))["ok"]
    everyone = [m.id for m in python] + list(PAGES)

    # Open mode: each of the eight receives each of the seven others, through Janus.
    try:
        await asyncio.gather(*(frames_from(m, [o for o in everyone if o != m.id], 120)
                               for m in python))
        await asyncio.gather(*(p.wait_for_function(PLAYING_VIDEOS, arg=7, timeout=120_000)
                               for p in pages.values()))
    except Exception as exc:
        got = {m.id: sorted(f for f, v in m.frames.items() if v.done()) for m in python}
        raise AssertionError(f"not everyone receives everyone: {got}\n{log}") from exc
    for m in python:
        assert live_feeds(m) == sorted(o for o in everyone if o != m.id)
    for sub, f in frames.items():
        assert f.feeds() == {o for o in everyone if o != sub}, sub
    await other_m.frame_from("otherroom-dr")  # the other room really ran meanwhile

    # Focus mode: members receive the clinician only; the clinician keeps all seven.
    # The answer waits for Janus to close what members received of each other (42 feeds here):
    # seconds on a loaded two-core box, so more than the usual five to answer.
    assert (await clinician.peer.call("group.focus", {"on": True}, timeout=30))["ok"]
    for m in bots:
        assert await m.peer.wait_for("group.focus") == {"on": True}
    await until(lambda: all(live_feeds(m) == ["dr-1"] for m in bots),
                say=lambda: {m.id: live_feeds(m) for m in bots})
    await until(lambda: all(f.feeds() == {"dr-1"} for f in frames.values()),
                say=lambda: {s: sorted(f.feeds()) for s, f in frames.items()})
    for sub, page in pages.items():
        assert {"on": True} in frames[sub].events("group.focus"), sub
        await page.wait_for_function(PLAYING_EXACTLY, arg=1, timeout=30_000)
    assert live_feeds(clinician) == sorted(o for o in everyone if o != "dr-1")
    for m in bots:  # the clinician's video still arrives
        m.frames.pop("dr-1", None)
    await asyncio.gather(*(frames_from(m, ["dr-1"], 30) for m in bots))

    # Nothing of the other room or of the lobby reached any member of this one.
    forbidden = [*OTHER_PEOPLE, *OTHER_PEOPLE.values(), *WAITING]
    for m in bots:
        seen = everything_received(m)
        assert leaks(seen, forbidden) == [], m.id
    for sub, f in frames.items():
        seen = "\n".join(f.raw)
        assert "sfu.offer" in seen  # the capture really saw this page's traffic
        assert leaks(seen, forbidden) == [], sub
        text = await pages[sub].inner_text("body")
        assert not [w for w in forbidden if w in text], sub
    # The clinician saw the knock (theirs to see), but nothing of the other room.
    assert leaks(everything_received(clinician), list(OTHER_PEOPLE.values())
                 + list(OTHER_PEOPLE)) == []
    # And the other room saw nothing of this one.
    mine = ["dr-1", *(m.id for m in bots), *PAGES, "Samuel", WAITING[0]]
    for m in (other_dr, other_m):
        assert leaks(everything_received(m), mine) == [], m.id
    problems = [p for p in log.problems() if "/api/programs/prog-1" not in p
                and "status of 403" not in p]
    assert problems == [], str(log)
