"""Group rooms through a real Janus (Debian's ``janus``), with real aiortc members.

Janus runs natively on a generated config (``devtools/janus.py``); the members are real
socket.io clients (``tests/peers.py``) with aiortc connections (``devtools/sfu_member.py``)
that send small video frames to Janus and receive everyone else's from it, signaled only
through Alongside's ``sfu.*`` events. Nothing here is skipped: without ``janus`` the fixture
installs it (``scripts/setup.sh --test``) or fails. The fixtures and helpers live in
``tests/janus_fixtures.py``; they are imported here by name too, so that
``from tests.test_group_sfu import janus, Member, ...`` keeps working.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser

from devtools import janus as janus_tools
from devtools import processes
from devtools.ports import free_port, wait_listening
from server.domain import room as rules
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role, RoomKind
from server.domain.room import Room
from server.errors import Code, Refused
from server.realtime.server import REALTIME
from server.sfu.api import SfuRefused, SfuUnavailable
from server.sfu.janus import PLUGIN, JanusSfu
from server.sfu.janus_session import JanusSession
from server.store.rooms import Rooms
from tests.browser import PageLog, browser_fixture, person  # noqa: F401  (the browser fixture)
from tests.cluster import load_compose, service, service_command
from tests.conftest import Harness
from tests.janus_fixtures import (  # noqa: F401  (fixtures, and names others import from here)
    GROUP,
    PLAYING_VIDEOS,
    ROOT,
    JanusServer,
    Member,
    SmallVideo,
    everything_received,
    group,
    janus,
    knock,
    members,
)
from tests.lifecycle import PROGRAM, Api


@pytest.mark.timeout(90)
async def test_a_group_receives_each_other_through_janus_and_only_once_admitted(
        group: Harness, janus: JanusServer, members: list[Member]) -> None:  # noqa: F811
    clinician = await knock(group, members, "clinician", "dr-1")
    assert clinician.peer.join_ack["room"]["media"] == "sfu"  # type: ignore[attr-defined]
    waiting = [await knock(group, members, "client", f"member-{i}") for i in range(1, 5)]

    # Waiting members see nobody, and cannot reach the media server.
    for m in waiting:
        ack = m.peer.join_ack  # type: ignore[attr-defined]
        assert ack["you"]["state"] == "lobby" and ack["room"]["participants"] == []
        assert "lobby" not in ack["room"]
        refused = await m.publish()
        assert refused["error"]["code"] == "E_NOT_ADMITTED"
        assert (await m.peer.call("sfu.subscribe", {}))["error"]["code"] == "E_NOT_ADMITTED"
    assert (await clinician.publish())["ok"]
    assert (await clinician.peer.call("sfu.subscribe", {}))["ok"]
    snapshot = (await clinician.peer.call("snapshot", {}))["room"]
    assert [p["id"] for p in snapshot["lobby"]] == [m.id for m in waiting]
    for m in waiting:
        assert m.peer.events("sfu.offer") == []  # the clinician's feed went to nobody waiting
        assert not any(e == "room" and d["participants"] for e, d in m.peer.received)

    # Admit all: everyone waiting comes in at once.
    ack = await clinician.peer.call("admit-all", {})
    assert ack["ok"] and ack["room"]["lobby"] == []
    assert sorted(p["id"] for p in ack["room"]["participants"]) == [m.id for m in waiting]
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in waiting))

    for m in waiting:
        assert (await m.publish())["ok"]
        subscribed = await m.peer.call("sfu.subscribe", {})
        assert subscribed["ok"], subscribed
    everyone = [clinician, *waiting]
    # Each one receives a video frame from each of the others, through Janus.
    frames = await asyncio.wait_for(asyncio.gather(*(
        m.frame_from(o.id) for m in everyone for o in everyone if o is not m)), 45)
    assert len(frames) == 20 and all((f.width, f.height) == (160, 120) for f in frames)
    for m in everyone:
        assert sorted(m.subscriptions) == sorted(o.id for o in everyone if o is not m)
        assert all(a == {"ok": True} for a in m.answers)

    # Peer to peer is closed in a group room: every signal goes through the server's SFU path.
    p2p = await waiting[0].peer.call("offer", {"to": "member-2", "sdp": "v=0\r\n"})
    assert p2p["error"]["code"] == "E_SFU_ONLY"

    # Nobody received the media server's secrets, its room id, or anyone's token.
    sfu = group.app[REALTIME].sfu_events.sfu
    state = sfu._rooms[GROUP]
    secrets_ = [janus.config.api_secret, janus.config.admin_key, state.janus_id, state.secret,
                state.pin, *(s.token for s in state.members.values()),
                *(s.feed_id for s in state.members.values())]
    for m in everyone:
        seen = everything_received(m)
        leaked = [s for s in secrets_ if s in seen]
        assert leaked == [], [seen[max(0, seen.find(s) - 200):seen.find(s) + 40] for s in leaked]
        for _, offer in m.peer.received:
            if isinstance(offer, dict) and "feed" in offer:
                assert set(offer) <= {"feed", "sdp"}

    # Removed: their feed goes from everyone's view, and their SFU token is withdrawn.
    token = state.members["member-4"].token
    assert (await clinician.peer.call("remove", {"participant": "member-4"}))["ok"]
    for m in (clinician, *waiting[:3]):
        gone = await m.peer.wait_for("sfu.gone", lambda d: d == {"feed": "member-4"},
                                     timeout=10)
        assert gone == {"feed": "member-4"}
    assert "member-4" not in state.members and token not in [
        s.token for s in state.members.values()]
    assert "member-4" not in sfu.feeds(GROUP)

    # Dropped without a goodbye (their seat kept for the grace period): their feed goes too.
    await waiting[2].peer.sio.eio.ws.close()  # type: ignore[union-attr]
    for m in (clinician, *waiting[:2]):
        await m.peer.wait_for("sfu.gone", lambda d: d == {"feed": "member-3"}, timeout=10)
    # Leaving the media on purpose: the same for the others.
    assert (await waiting[1].peer.call("sfu.leave", {}))["ok"]
    for m in (clinician, waiting[0]):
        await m.peer.wait_for("sfu.gone", lambda d: d == {"feed": "member-2"}, timeout=10)
    assert sorted(sfu.feeds(GROUP)) == ["dr-1", "member-1"]

    # Ending the session closes its Janus room too.
    assert (await clinician.peer.call("end", {}))["ok"]
    for _ in range(50):
        if GROUP not in sfu.rooms():
            break
        await asyncio.sleep(0.1)
    assert GROUP not in sfu.rooms()
    probe = await JanusSession.open(janus.url, janus.config.api_secret)
    try:
        exists, _ = await probe.message(await probe.attach(PLUGIN),
                                        {"request": "exists", "room": state.janus_id})
        assert exists["exists"] is False
    finally:
        await probe.close()


@pytest.mark.timeout(30)
async def test_a_group_without_a_media_server_answers_sfu_unavailable(
        start_server: Any, members: list[Member]) -> None:  # noqa: F811
    plain: Harness = await start_server()
    await plain.create_room(GROUP, "group")
    clinician = await knock(plain, members, "clinician", "dr-1")
    ack = await clinician.publish()
    assert ack["error"] == {"code": "E_SFU_UNAVAILABLE",
                            "message": "Group video is unavailable right now; try again in a "
                                       "moment."}
    assert (await clinician.peer.call("sfu.subscribe", {}))["error"]["code"] == \
        "E_SFU_UNAVAILABLE"

    # Configured but not running (nothing listens there): the same answer, not a crash.
    gone: Harness = await start_server(janus_urls=(f"ws://127.0.0.1:{free_port()}",),
                                       janus_api_secret="x" * 24)
    await gone.create_room(GROUP, "group")
    other = await knock(gone, members, "clinician", "dr-1")
    assert (await other.publish())["error"]["code"] == "E_SFU_UNAVAILABLE"
    # Individual and couples rooms are untouched: their media is peer to peer.
    solo = Member(await gone.peer("clinician", sub="dr-2", room="room-individual"), "dr-2")
    members.append(solo)
    assert (await solo.peer.call("sfu.subscribe", {}))["error"]["code"] == "E_INVALID_STATE"


async def test_group_sessions_are_created_over_rest_and_validated(alongside: Harness) -> None:
    async with ClientSession() as http:
        api = Api(alongside, http)
        t = await api.setup_program()
        made = await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                              {"id": "p-group", "kind": "group"}, expect=201)
        assert made["kind"] == "group"
        bad = await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                             {"id": "p-trio", "kind": "trio"}, expect=422)
        assert bad["error"]["code"] == "E_SCHEMA"
        listed = await api.call("GET", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                                expect=200)
        assert {"id": "p-group", "kind": "group"}.items() <= next(
            s for s in listed if s["id"] == "p-group").items()


def who(role: Role, pid: str) -> Identity:
    return Identity(id=pid, name=pid, role=role, program="prog-1", room=GROUP,
                    expires_at=1e12)


def test_a_group_seats_two_clinicians_and_fifteen_members_and_no_partner() -> None:
    room = Room(id=GROUP, program="prog-1", kind=RoomKind.GROUP)
    for i in range(2):
        rules.join(room, who(Role.CLINICIAN, f"dr-{i}"), f"s-dr-{i}", True, 1.0)
    for i in range(15):
        rules.join(room, who(Role.CLIENT, f"m-{i}"), f"s-m-{i}", True, 1.0 + i)
    with pytest.raises(Refused) as full:
        rules.join(room, who(Role.CLIENT, "m-15"), "s-m-15", True, 20.0)
    assert full.value.code is Code.ROOM_FULL
    with pytest.raises(Refused) as third:
        rules.join(room, who(Role.CLINICIAN, "dr-2"), "s-dr-2", True, 20.0)
    assert third.value.code is Code.ROOM_FULL
    # An approved partner may knock on an individual session, never on a group.
    with pytest.raises(Refused) as partner:
        rules.check_entry(room, who(Role.PARTNER, "pa-1"), partner_approved=True)
    assert partner.value.code is Code.ROLE_NOT_IN_ROOM_KIND
    # Admit all lets everyone in, in the order they knocked; the room stays a group.
    change = rules.admit_all(room, who(Role.CLINICIAN, "dr-0"), 30.0)
    assert [p for p, _ in change.presence] == [f"m-{i}" for i in range(15)]
    assert room.lobby() == [] and room.kind is RoomKind.GROUP
    with pytest.raises(Refused) as member_admits:
        rules.admit_all(room, who(Role.CLIENT, "m-0"), 31.0)
    assert member_admits.value.code is Code.FORBIDDEN_ROLE


def test_the_generated_janus_config_has_no_default_secrets_and_listens_on_loopback(
        tmp_path: Path) -> None:
    config = janus_tools.JanusConfig()
    config.write(tmp_path)
    text = "\n".join(p.read_text() for p in sorted(tmp_path.glob("*.jcfg")))
    for default in ("janusoverlord", "adminpwd", "room-1234", "janusrocks", "admin_secret"):
        assert default not in text
    assert 'ws_ip = "127.0.0.1"' in text and "admin_ws = false" in text
    assert "full_trickle = false" in text and "string_ids = true" in text
    assert f'api_secret = "{config.api_secret}"' in text
    assert "libjanus_http.so" in text and "libjanus_audiobridge.so" in text  # disabled
    assert sorted(p.name for p in tmp_path.glob("*.jcfg")) == [
        "janus.jcfg", "janus.plugin.videoroom.jcfg", "janus.transport.websockets.jcfg"]


async def test_the_compose_command_serves_janus_with_the_secrets_from_its_environment(
        tmp_path: Path) -> None:
    """The compose file's janus service (its image's entry point and the service's command),
    run natively; only the config directory and the WebSocket port differ (later flags win)."""
    compose = load_compose()
    assert service(compose, "janus")["build"]["dockerfile"] == "deploy/janus.Dockerfile"
    command = service_command(compose, "janus")
    assert "--ws-ip=0.0.0.0" in command and "--rtp=20000-20199" in command
    port = free_port()
    env = {**os.environ, "JANUS_API_SECRET": "a" * 24, "JANUS_ADMIN_KEY": "k" * 24}
    proc = processes.start([sys.executable, "-m", "devtools.janus", "serve", *command,
                            "--config-dir", str(tmp_path / "cfg"), f"--ws-port={port}",
                            "--ws-ip=127.0.0.1"], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc, timeout=20, what="janus")
        right = JanusSfu([f"ws://127.0.0.1:{port}"], "a" * 24, "k" * 24)
        await right.create_room("r", 4)
        assert right.rooms() == ["r"]
        await right.destroy_room("r")
        await right.close()
        wrong = JanusSfu([f"ws://127.0.0.1:{port}"], "not-the-secret")
        with pytest.raises(SfuUnavailable, match="refused"):  # 403: unauthorized
            await wrong.create_room("r", 4)
        await wrong.close()
    finally:
        processes.stop(proc, grace=5)


@pytest.mark.timeout(60)
async def test_janus_killed_answers_sfu_unavailable_and_the_group_publishes_again_once_back(
        start_server: Any, members: list[Member]) -> None:  # noqa: F811
    with JanusServer() as janus:  # noqa: F811
        h: Harness = await start_server(janus_urls=(janus.url,),
                                        janus_api_secret=janus.config.api_secret,
                                        janus_admin_key=janus.config.admin_key)
        await h.create_room(GROUP, "group")
        clinician = await knock(h, members, "clinician", "dr-1")
        member = await knock(h, members, "client", "member-1")
        assert (await clinician.peer.call("admit", {"participant": "member-1"}))["ok"]
        await member.peer.wait_for("admitted")
        assert (await clinician.publish())["ok"]
        assert (await member.peer.call("sfu.subscribe", {}))["ok"]
        await asyncio.wait_for(member.frame_from("dr-1"), 20)

        janus.kill()  # as in a crash: no goodbye to anyone
        refused = await clinician.publish()
        assert refused["error"]["code"] == "E_SFU_UNAVAILABLE"
        assert (await member.peer.call("sfu.subscribe", {}))["error"]["code"] == \
            "E_SFU_UNAVAILABLE"

        janus.start()  # same port and secrets; it remembers no room
        member.frames.clear()
        offered = len(member.peer.events("sfu.offer"))
        assert (await clinician.publish())["ok"]  # the room is made again on the new Janus
        assert (await member.peer.call("sfu.subscribe", {}))["ok"]
        frame = await asyncio.wait_for(member.frame_from("dr-1"), 20)
        assert (frame.width, frame.height) == (160, 120)
        assert len(member.peer.events("sfu.offer")) > offered  # on a new connection
        # Still in the room throughout: nobody was admitted again.
        assert (await member.peer.call("snapshot", {}))["room"]["you"]["state"] == "admitted"


@pytest.mark.timeout(40)
async def test_the_session_is_kept_alive_and_janus_refuses_a_withdrawn_token() -> None:
    with JanusServer(janus_tools.JanusConfig(session_timeout=3)) as short:
        secret, key = short.config.api_secret, short.config.admin_key
        kept = JanusSfu([short.url], secret, key, keepalive=1.0)
        idle = await JanusSession.open(short.url, secret, keepalive=3600)  # never keeps alive
        try:
            await kept.create_room("r", 4)
            await kept.join("r", "m1")
            first = kept._session
            await asyncio.sleep(7)  # past the timeout, and Janus's 2 s watchdog
            with pytest.raises(SfuRefused):  # 458: Janus destroyed the idle session
                await idle.attach(PLUGIN)
            await kept.join("r", "m2")  # the kept one still works, on the same session
            assert kept._session is first and not first.closed

            room = kept._rooms["r"]
            withdrawn = room.members["m1"].token
            await kept.kick("r", "m1")
            probe = await JanusSession.open(short.url, secret)
            try:
                for token in (withdrawn, "never-allowed", None):
                    handle = await probe.attach(PLUGIN)
                    body = {"request": "join", "ptype": "publisher", "room": room.janus_id,
                            "pin": room.pin, "id": "intruder"}
                    if token:
                        body["token"] = token
                    with pytest.raises(SfuRefused) as refused:
                        await probe.message(handle, body)
                    assert refused.value.code == 433  # "Unauthorized (not in the allowed list)"
            finally:
                await probe.close()
        finally:
            await idle.close()
            await kept.close()


@pytest.mark.timeout(90)
async def test_the_room_page_in_chromium_sends_and_receives_through_janus(
        group: Harness, members: list[Member], browser: Browser) -> None:  # noqa: F811
    """The session page, unchanged, in a group: the SDK sends through the SFU (sdk/sfu.js)."""
    log = PageLog()
    clinician = await knock(group, members, "clinician", "dr-1")
    assert (await clinician.publish())["ok"]
    assert (await clinician.peer.call("sfu.subscribe", {}))["ok"]
    bot = await knock(group, members, "client", "member-1")

    context = await person(browser, group.url)
    page = await context.new_page()
    log.watch(page, "sam")
    await page.goto(f"{group.url}/room#{group.token('client', sub='sam', name='Sam', room=GROUP)}")
    await page.get_by_role("button", name="Join", exact=True).click()
    # The group agreement first (group.js): Sam keeps the name offered and accepts.
    await page.get_by_role("button", name="Accept and join", exact=True).click(timeout=20_000)
    await page.get_by_text("You're in the waiting room.").first.wait_for(timeout=20_000)
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    await bot.peer.wait_for("admitted")
    assert (await bot.publish())["ok"]
    assert (await bot.peer.call("sfu.subscribe", {}))["ok"]

    try:  # Sam sees and hears both, through Janus ...
        await page.wait_for_function(PLAYING_VIDEOS, arg=2, timeout=40_000)
    except Exception as exc:
        raise AssertionError(f"the two videos did not play in Chromium\n{log}") from exc
    # ... and both receive Sam's camera (Chromium's fake device), through Janus too.
    try:
        frames = await asyncio.wait_for(asyncio.gather(clinician.frame_from("sam"),
                                                       bot.frame_from("sam")), 40)
    except TimeoutError as exc:
        feeds = group.app[REALTIME].sfu_events.sfu.feeds(GROUP)
        raise AssertionError(f"no frame of Sam's; feeds {feeds}\n{log}") from exc
    assert all(f.width > 0 and f.height > 0 for f in frames)
    # No refused offer, no E_SFU_ONLY, no error; but the page still asks for the program panel
    # of a member who is not the program's client (a 403): the group page is next (groups.md).
    problems = [p for p in log.problems() if "/api/programs/prog-1" not in p
                and "status of 403" not in p]
    assert problems == [], str(log)
    await context.close()


async def move(h: Harness, member: str, side: str) -> None:
    """Move ``member`` to side room ``side`` ("" = main) in the store, as a tool's move would."""
    def rule(room: Room) -> None:
        room.members[member].side = side

    await Rooms(h.store).update(GROUP, rule, AuditEntry(
        actor="test", role="system", action="move", target=member, room=GROUP,
        program="prog-1"))


@pytest.mark.timeout(60)
async def test_who_receives_whom_follows_the_room_a_side_room_closes_and_reopens_feeds(
        group: Harness, members: list[Member]) -> None:  # noqa: F811
    clinician = await knock(group, members, "clinician", "dr-1")
    pair = [await knock(group, members, "client", f"member-{i}") for i in (1, 2)]
    assert (await clinician.peer.call("admit-all", {}))["ok"]
    everyone = [clinician, *pair]
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in pair))
    for m in everyone:
        assert (await m.publish())["ok"]
        assert (await m.peer.call("sfu.subscribe", {}))["ok"]
    await asyncio.wait_for(asyncio.gather(*(
        m.frame_from(o.id) for m in everyone for o in everyone if o is not m)), 30)

    await move(group, "member-2", "pair")  # member-2 alone in a side room
    away = pair[1]
    for m in (clinician, pair[0]):
        await m.peer.wait_for("sfu.gone", lambda d: d == {"feed": "member-2"}, timeout=10)
    for feed in ("dr-1", "member-1"):
        await away.peer.wait_for("sfu.gone", lambda d, f=feed: d == {"feed": f}, timeout=10)
    sfu = group.app[REALTIME].sfu_events.sfu
    assert sfu.subscriptions(GROUP, "member-2") == []
    assert "member-2" not in sfu.subscriptions(GROUP, "dr-1")

    for m in everyone:
        m.frames.clear()
    await move(group, "member-2", "")  # back: the feeds are offered again, and flow
    await asyncio.wait_for(asyncio.gather(*(
        m.frame_from(o.id) for m in everyone for o in everyone if o is not m)), 30)
    assert sorted(sfu.subscriptions(GROUP, "member-2")) == ["dr-1", "member-1"]
