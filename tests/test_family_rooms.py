"""Family sessions and the partner's other door, through a real server and real socket.io
peers (docs/groups.md, docs/partner-lifecycle.md "The other door").

A ``family`` room seats the clinician(s), the client, the approved partner and the family
members the host platform mints ``role: "family"`` tokens for; its media goes through the
SFU (``media: "sfu"``, peer-to-peer refused). A partner who declined couples therapy can be
invited to a partners-and-family group by link; they read and accept that group's own
agreement, knock and are admitted, and neither the couples lifecycle nor anything the
client can read changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser

from server.domain.room import FAMILY_MEMBERS
from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the fixture)
from tests.conftest import Harness

# The Janus server and the aiortc members of the group tests, reused as they are.
from tests.janus_fixtures import JanusServer, Member, janus, members  # noqa: F401
from tests.lifecycle import PROGRAM, Api, connect, refused_at_handshake, secret_of

FAMILY = "room-family"
GROUP_PROGRAM = "pf"  # the clinic's program that holds the partners-and-family group
GROUP = "pf-group-1"


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


def clinician_token(h: Harness, room: str = FAMILY) -> str:
    return h.token("clinician", sub="clinician-1", room=room)


async def test_a_family_session_seats_client_partner_and_family_through_the_sfu(
        alongside: Harness, api: Api) -> None:
    h = alongside
    made = await api.call("POST", "/api/programs/prog-1/sessions", clinician_token(h),
                          {"id": FAMILY, "kind": "family"}, expect=201)
    assert made["kind"] == "family"
    clinician = await h.peer("clinician", sub="clinician-1", name="Dr. Rivera", room=FAMILY)
    snap = (await clinician.call("snapshot", {}))["room"]
    assert snap["kind"] == "family" and snap["media"] == "sfu"

    client = await h.admitted("client", clinician, sub="client-1", name="Sam", room=FAMILY)
    partner = await h.admitted("partner", clinician, sub="partner-1", name="Alex",
                               room=FAMILY)
    family = [await h.admitted("family", clinician, sub=f"fam-{i}", name=f"Kin {i}",
                               room=FAMILY) for i in range(FAMILY_MEMBERS)]
    # Everyone else: the clinician, the client, the partner and the other family members.
    seen = await family[0].wait_for("room", lambda d: len(d["participants"]) ==
                                    3 + FAMILY_MEMBERS - 1)
    assert {p["role"] for p in seen["participants"]} == {"clinician", "client", "partner",
                                                         "family"}
    assert seen["media"] == "sfu" and "lobby" not in seen
    # One more family member than the room seats: refused, and nobody else is moved.
    extra = await h.peer("family", sub="fam-extra", room=FAMILY, join=False)
    full = await extra.call("join", {})
    assert full["error"]["code"] == "E_ROOM_FULL"
    # Media goes through the SFU: a peer-to-peer offer is refused like in a group.
    p2p = await client.call("offer", {"to": "partner-1", "sdp": "v=0\r\n"})
    assert p2p["error"]["code"] == "E_SFU_ONLY"
    assert (await partner.call("snapshot", {}))["room"]["you"]["state"] == "admitted"


async def test_family_tokens_open_only_family_rooms_and_partners_need_approval(
        start_server: Any, api: Api) -> None:
    h: Harness = api.h
    await h.create_room(FAMILY, "family")
    # A family member's token on a couples or individual session: not their kind of room.
    for room in ("room-couples", "room-individual"):
        code = await refused_at_handshake(h, h.token("family", sub="fam-1", room=room))
        assert code == "E_ROLE_NOT_IN_ROOM_KIND"
    # Individual and couples rooms stay peer to peer (no media key in their snapshot).
    couples = await h.peer("clinician", sub="clinician-1", room="room-couples")
    assert "media" not in (await couples.call("snapshot", {}))["room"]
    # A partner who consented but was not approved: a family session is not a trial.
    other = await start_server()
    await other.create_program("prog-1", partner_state="consented")
    await other.create_room(FAMILY, "family")
    code = await refused_at_handshake(other, other.token("partner", sub="partner-1",
                                                         room=FAMILY))
    assert code == "E_APPROVAL_REQUIRED"
    # A group has no partner's seat: one code whatever the partner's state (not a couples
    # code suggesting approval would let them in).
    await other.create_room("grp-x", "group")
    code = await refused_at_handshake(other, other.token("partner", sub="partner-1",
                                                         room="grp-x"))
    assert code == "E_ROLE_NOT_IN_ROOM_KIND"
    # Family members have no REST reads of the program.
    family = h.token("family", sub="fam-1", room=FAMILY)
    denied = await api.call("GET", "/api/programs/prog-1", family, expect=403)
    assert denied["error"]["code"] == "E_FORBIDDEN_ROLE"


async def _group_program(api: Api) -> str:
    """The clinic's partners-and-family group program, with the same clinician as p-life,
    and one open group session for that audience; the clinician's token for it."""
    host = api.tokens()["integrator"]
    await api.call("POST", "/api/programs", host, {
        "id": GROUP_PROGRAM, "client": {"id": "nobody", "name": "Group"},
        "clinicians": [{"id": "dr-1", "name": "Dr. Rivera"}]}, expect=201)
    staff = api.h.token("clinician", sub="dr-1", program=GROUP_PROGRAM, room=GROUP)
    made = await api.call("POST", f"/api/programs/{GROUP_PROGRAM}/sessions", staff,
                          {"id": GROUP, "kind": "group", "audience": "partners-family"},
                          expect=201)
    assert made["audience"] == "partners-family"
    return staff


async def _views(api: Api, t: dict[str, str], partner: str) -> list[str]:
    """Everything the client can read, and the partner's and couples state, as raw bytes."""
    reads = [("GET", f"/api/programs/{PROGRAM}", t["client"]),
             ("GET", f"/api/programs/{PROGRAM}/partner", t["client"]),
             ("GET", f"/api/programs/{PROGRAM}/sessions", t["client"]),
             ("GET", f"/api/programs/{PROGRAM}/partner", partner),
             ("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"]),
             ("GET", f"/api/programs/{PROGRAM}/approvals", t["clinician"])]
    out = []
    for method, path, token in reads:
        async with api.http.request(method, api.h.url + path,
                                    headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200, path
            out.append(await r.text())
    return out


async def test_the_partners_other_door_after_a_decline_changes_nothing_of_couples(
        api: Api) -> None:
    h = api.h
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    link = await api.invite(t["clinician"])
    await api.respond(secret_of(link["url"]), "decline", expect=200)
    partner = h.token("partner", sub="pa-1", program=PROGRAM, room="p-c1")
    await _group_program(api)
    client_peer = await connect(h, t["client"])
    assert (await client_peer.call("join", {}))["ok"]
    before = await _views(api, t, partner)
    seen_before = len(client_peer.received)

    made = await api.call("POST", f"/api/programs/{PROGRAM}/partner/group-invites",
                          t["clinician"], {"room": GROUP, "locale": "en"}, expect=201)
    assert made["room"] == GROUP and "#" in made["url"]
    assert "/partner-group?" in made["url"] and f"invite={made['id']}" in made["url"]
    listed = await api.call("GET", f"/api/programs/{PROGRAM}/partner/group-invites",
                            t["clinician"], expect=200)
    assert [(i["id"], i["status"]) for i in listed] == [(made["id"], "invited")]
    assert "secret" not in str(listed) and made["url"].split("#")[1] not in str(listed)

    # The partner opens the link: a group member's token for that room only.
    opened = await api.call("POST", "/api/partner-group/open", None, {
        "program": PROGRAM, "invite": made["id"], "secret": made["url"].split("#", 1)[1]},
        expect=200)
    assert opened["room"] == GROUP
    clinician = await h.peer("clinician", sub="dr-1", program=GROUP_PROGRAM, room=GROUP)
    guest = await connect(h, opened["token"])
    refused = await guest.call("join", {})
    assert refused["error"]["code"] == "E_AGREEMENT_REQUIRED"
    read = await guest.call("agreement", {})
    # Its own agreement text, which says couples sessions are not touched.
    assert read["required"] and read["agreement"]["version"] == "partners-group-agreement-v1-en"
    assert any("couples" in p for p in read["agreement"]["paragraphs"])
    assert read["programPanel"] is False
    spanish = await guest.call("agreement", {"locale": "es"})
    assert spanish["agreement"]["version"] == "partners-group-agreement-v1-es"
    # The ordinary group's version is not this group's.
    wrong = await guest.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                  "alias": "Alex"})
    assert wrong["error"]["code"] == "E_AGREEMENT_VERSION"
    assert (await guest.call("agreement.accept", {"version": "partners-group-agreement-v1-en",
                                                  "alias": "Alex"}))["ok"]
    status = await api.call("GET", f"/api/programs/{PROGRAM}/partner/group-invites",
                            t["clinician"], expect=200)
    assert status[0]["status"] == "accepted"
    assert (await guest.call("join", {}))["ok"]
    lobby = await clinician.wait_for("room", lambda d: len(d.get("lobby", [])) == 1)
    assert lobby["lobby"][0]["name"] == "Alex"
    assert (await clinician.call("admit", {"participant": lobby["lobby"][0]["id"]}))["ok"]
    await guest.wait_for("admitted")
    status = await api.call("GET", f"/api/programs/{PROGRAM}/partner/group-invites",
                            t["clinician"], expect=200)
    assert status[0]["status"] == "attended"

    # Nothing of it reached the couples lifecycle or anything the client can read.
    assert await _views(api, t, partner) == before
    assert client_peer.received[seen_before:] == []
    assert (await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"]))[
        "state"] == "declined"


async def test_the_other_door_refuses_bad_input_with_documented_codes(api: Api) -> None:
    h = api.h
    t = await api.setup_program()
    await _group_program(api)
    path = f"/api/programs/{PROGRAM}/partner/group-invites"
    # Not invited yet to couples (so nothing declined): the door is not open.
    early = await api.call("POST", path, t["clinician"], {"room": GROUP}, expect=409)
    assert early["error"]["code"] == "E_TRANSITION_NOT_ALLOWED"
    await api.step(t["client"], "agree")
    link = await api.invite(t["clinician"])
    await api.respond(secret_of(link["url"]), "not-now", expect=200)
    # A couples room, or a group not held for partners and family: refused.
    for room in ("p-c1",):
        wrong = await api.call("POST", path, t["clinician"], {"room": room}, expect=409)
        assert wrong["error"]["code"] == "E_INVALID_STATE"
    missing = await api.call("POST", path, t["clinician"], {"room": "nope"}, expect=404)
    assert missing["error"]["code"] == "E_ROOM_NOT_FOUND"
    # Only a clinician invites; the client learns nothing, not even that the route exists.
    for who in ("client",):
        denied = await api.call("POST", path, t[who], {"room": GROUP}, expect=403)
        assert denied["error"]["code"] == "E_FORBIDDEN_ROLE"
        assert (await api.call("GET", path, t[who], expect=403))["error"]["code"] == \
            "E_FORBIDDEN_ROLE"
    shape = await api.call("POST", path, t["clinician"], {"room": GROUP, "locale": "fr"},
                           expect=422)
    assert shape["error"]["code"] == "E_SCHEMA"
    made = await api.call("POST", path, t["clinician"], {"room": GROUP}, expect=201)
    bad = await api.call("POST", "/api/partner-group/open", None, {
        "program": PROGRAM, "invite": made["id"], "secret": "x" * 43}, expect=404)
    assert bad["error"]["code"] == "E_INVITE_INVALID"
    # An audience only on a group; a client never lists a partners-family session.
    odd = await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                         {"id": "p-x", "kind": "couples", "audience": "partners-family"},
                         expect=409)
    assert odd["error"]["code"] == "E_INVALID_STATE"
    await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                   {"id": "p-pf", "kind": "group", "audience": "partners-family"}, expect=201)
    own = await api.call("GET", f"/api/programs/{PROGRAM}/sessions", t["client"], expect=200)
    assert "p-pf" not in [s["id"] for s in own]
    staff = await api.call("GET", f"/api/programs/{PROGRAM}/sessions", t["clinician"])
    assert "p-pf" in [s["id"] for s in staff]
    assert h.url  # the server answered every refusal; it still serves


async def test_the_clinicians_partner_panel_shows_the_group_and_the_clients_page_does_not(
        api: Api, browser: Browser) -> None:
    h = api.h
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    await api.respond(secret_of((await api.invite(t["clinician"]))["url"]), "decline",
                      expect=200)
    await _group_program(api)
    await api.call("POST", f"/api/programs/{PROGRAM}/partner/group-invites", t["clinician"],
                   {"room": GROUP}, expect=201)
    log = PageLog()
    page = await (await person(browser, h.url)).new_page()
    log.watch(page, "clinician")
    await page.goto(f"{h.url}/room#" + h.token("clinician", sub="dr-1", name="Dr. Rivera",
                                               program=PROGRAM, room="p-c1"))
    await join(page)
    line = "Partners & family group: invited 1 / accepted 0 / attended 0"
    await page.get_by_text(line).first.wait_for(timeout=15_000)
    client = await (await person(browser, h.url)).new_page()
    log.watch(client, "client")
    await client.goto(f"{h.url}/room#" + h.token("client", sub="cl-1", name="Sam",
                                                 program=PROGRAM, room="p-ind"))
    await join(client)
    await client.locator("[data-program]").get_by_text("couples sessions").first.wait_for(
        timeout=15_000)
    assert "Partners & family" not in await client.content()
    assert not log.problems(), str(log)


async def test_the_partner_opens_the_group_link_in_a_browser_agrees_and_is_admitted(
        api: Api, browser: Browser) -> None:
    h = api.h
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    await api.respond(secret_of((await api.invite(t["clinician"]))["url"]), "not-now",
                      expect=200)
    await _group_program(api)
    made = await api.call("POST", f"/api/programs/{PROGRAM}/partner/group-invites",
                          t["clinician"], {"room": GROUP}, expect=201)
    clinician = await h.peer("clinician", sub="dr-1", program=GROUP_PROGRAM, room=GROUP)
    log = PageLog()
    page = await (await person(browser, h.url)).new_page()
    log.watch(page, "partner")
    await page.goto(h.url + "/partner-group?" + made["url"].split("?", 1)[1])
    await page.wait_for_url("**/room", timeout=15_000)  # the secret left the address bar
    assert "#" not in page.url or made["url"].split("#")[1] not in page.url
    await page.locator("[data-who]", has_text="· Group member").wait_for()
    await page.get_by_role("button", name="Join", exact=True).click()
    agreement = page.get_by_role("region", name="Before you join the partners and family group")
    await agreement.wait_for(timeout=15_000)
    assert "couples sessions" in await agreement.inner_text()
    await page.get_by_role("textbox").fill("Alex")
    await page.get_by_role("button", name="Accept and join", exact=True).click()
    lobby = await clinician.wait_for("room", lambda d: len(d.get("lobby", [])) == 1, 15)
    assert lobby["lobby"][0]["name"] == "Alex"
    assert (await clinician.call("admit", {"participant": lobby["lobby"][0]["id"]}))["ok"]
    await page.get_by_text("You're in the session.").first.wait_for(timeout=15_000)
    # Named as what they are there, from the first screen on: never "Client".
    assert await page.locator("[data-who]").inner_text() == "Alex · Group member"
    status = await api.call("GET", f"/api/programs/{PROGRAM}/partner/group-invites",
                            t["clinician"], expect=200)
    assert status[0]["status"] == "attended"
    assert (await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"]))[
        "state"] == "deferred"


@pytest.mark.timeout(90)
async def test_a_family_session_sees_and_hears_each_other_through_janus(
        start_server: Any, janus: JanusServer,  # noqa: F811 (the imported fixtures)
        members: list[Member]) -> None:  # noqa: F811
    h: Harness = await start_server(janus_urls=(janus.url,),
                                    janus_api_secret=janus.config.api_secret,
                                    janus_admin_key=janus.config.admin_key)
    await h.create_room(FAMILY, "family")
    people = [("clinician", "clinician-1"), ("client", "client-1"), ("partner", "partner-1"),
              ("family", "fam-1")]
    for role, pid in people:
        peer = await h.peer(role, sub=pid, name=pid.title(), room=FAMILY)
        members.append(Member(peer, pid))
    clinician, *others = members
    for m in others:
        # Waiting: no media server for them yet.
        assert (await m.publish())["error"]["code"] == "E_NOT_ADMITTED"
    # Admit all leaves the partner waiting: their consent is checked as they are admitted.
    ack = await clinician.peer.call("admit-all", {})
    assert [p["id"] for p in ack["room"]["lobby"]] == ["partner-1"]
    assert (await clinician.peer.call("admit", {"participant": "partner-1"}))["ok"]
    await asyncio.gather(*(m.peer.wait_for("admitted") for m in others))
    for m in members:
        assert (await m.publish())["ok"]
        assert (await m.peer.call("sfu.subscribe", {}))["ok"]
    frames = await asyncio.wait_for(asyncio.gather(*(
        m.frame_from(o.id) for m in members for o in members if o is not m)), 45)
    assert len(frames) == 12 and all((f.width, f.height) == (160, 120) for f in frames)
