"""A family member's invitation link, and the partner's group link made from the clinician's
panel, through a real server, real socket.io peers and real Chromium (docs/groups.md "Family
sessions", docs/partner-lifecycle.md "The other door").

A clinician makes a link for one family session (a first name or none); the family member
opens it once, gets a ``role: "family"`` token for that room only, knocks and is admitted.
Nothing the client or the partner reads changes; bad, spent, withdrawn and expired links
answer their documented codes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser

from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the fixture)
from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, connect, secret_of
from tests.redis_server import RedisServer, redis_server  # noqa: F401  (the fixture)
from tests.test_family_rooms import _views

FAMILY = "p-fam"
PATH = f"/api/programs/{PROGRAM}/family-invites"


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def _family_program(api: Api) -> dict[str, str]:
    t = await api.setup_program()
    await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                   {"id": FAMILY, "kind": "family"}, expect=201)
    return t


def _split(url: str) -> tuple[str, str]:
    """The invite id and the secret of a family link."""
    assert "/family-invite?invite=" in url and "#" in url
    query, secret = url.split("?", 1)[1].split("#", 1)
    return query.removeprefix("invite="), secret


async def _open(api: Api, invite: str, secret: str, expect: int) -> Any:
    return await api.call("POST", "/api/family-invite/open", None,
                          {"invite": invite, "secret": secret}, expect=expect)


async def test_a_family_member_opens_their_link_knocks_and_is_admitted(api: Api) -> None:
    h = api.h
    t = await _family_program(api)
    partner = h.token("partner", sub="pa-1", program=PROGRAM, room="p-c1")
    client_peer = await connect(h, t["client"])
    assert (await client_peer.call("join", {}))["ok"]
    before = await _views(api, t, partner)
    seen_before = len(client_peer.received)

    made = await api.call("POST", PATH, t["clinician"], {"room": FAMILY, "name": "María"},
                          expect=201)
    invite, secret = _split(made["url"])
    assert made["id"] == invite and made["room"] == FAMILY and made["name"] == "María"
    listed = await api.call("GET", PATH, t["clinician"], expect=200)
    assert [(i["id"], i["name"], i["status"]) for i in listed] == [(invite, "María", "open")]
    assert secret not in json.dumps(listed) and "secret" not in json.dumps(listed)

    opened = await _open(api, invite, secret, 200)
    assert opened["room"] == FAMILY
    claims = jwt.decode(opened["token"], options={"verify_signature": False})
    assert (claims["role"], claims["room"], claims["name"]) == ("family", FAMILY, "María")
    assert claims["exp"] - claims["iat"] <= 4 * 3600
    # The link opens once: a second open (another device, a forwarded message) is refused.
    again = await _open(api, invite, secret, 410)
    assert again["error"]["code"] == "E_INVITE_EXHAUSTED"
    assert (await api.call("GET", PATH, t["clinician"]))[0]["status"] == "opened"

    clinician = await h.peer("clinician", sub="dr-1", program=PROGRAM, room=FAMILY)
    guest = await connect(h, opened["token"])
    assert (await guest.call("join", {}))["ok"]
    lobby = await clinician.wait_for("room", lambda d: len(d.get("lobby", [])) == 1)
    assert lobby["lobby"][0]["name"] == "María"
    assert lobby["lobby"][0]["role"] == "family"
    assert (await clinician.call("admit", {"participant": lobby["lobby"][0]["id"]}))["ok"]
    await guest.wait_for("admitted")
    snap = (await guest.call("snapshot", {}))["room"]
    assert snap["id"] == FAMILY and snap["media"] == "sfu" and snap["you"]["role"] == "family"
    assert (await api.call("GET", PATH, t["clinician"]))[0]["status"] == "attended"

    # Nothing reached the client's or the partner's reads, nor the client's socket.
    assert await _views(api, t, partner) == before
    assert client_peer.received[seen_before:] == []
    # The audit rows: one per write, naming the link, never the name or the secret.
    async with api.http.get(h.url + f"/api/audit?program={PROGRAM}", headers={
            "Authorization": f"Bearer {t['clinician']}"}) as r:
        rows = [json.loads(line) for line in (await r.text()).splitlines()]
    mine = [r for r in rows if r["action"].startswith("family-invite")]
    assert [(r["action"], r["outcome"]) for r in mine] == [
        ("family-invite", "ok"), ("family-invite-open", "ok"),
        ("family-invite-open", "refused:E_INVITE_EXHAUSTED")]
    assert all(r["room"] == FAMILY for r in mine)
    assert "María" not in json.dumps(rows) and secret not in json.dumps(rows)


async def test_bad_spent_withdrawn_and_expired_family_links_answer_their_codes(
        api: Api) -> None:
    h = api.h
    t = await _family_program(api)
    # Wrong secret, unknown link: the same answer.
    made = await api.call("POST", PATH, t["clinician"], {"room": FAMILY}, expect=201)
    invite, secret = _split(made["url"])
    assert made["name"] == ""
    assert (await _open(api, invite, "x" * 43, 404))["error"]["code"] == "E_INVITE_INVALID"
    assert (await _open(api, "nope", secret, 404))["error"]["code"] == "E_INVITE_INVALID"
    # Withdrawn: it no longer opens.
    gone = await api.call("DELETE", f"{PATH}/{invite}", t["clinician"], expect=200)
    assert gone["status"] == "withdrawn"
    assert (await _open(api, invite, secret, 410))["error"]["code"] == "E_INVITE_REVOKED"
    missing = await api.call("DELETE", f"{PATH}/nope", t["clinician"], expect=404)
    assert missing["error"]["code"] == "E_NOT_FOUND"
    # Expired.
    brief = await api.call("POST", PATH, t["clinician"],
                           {"room": FAMILY, "expiresInHours": 0.0003}, expect=201)
    await asyncio.sleep(1.3)
    late = await _open(api, *_split(brief["url"]), 410)
    assert late["error"]["code"] == "E_INVITE_EXPIRED"
    assert [i["status"] for i in await api.call("GET", PATH, t["clinician"])][0] == "expired"
    # Only a family session of this program; only its clinicians; a first name's shape.
    for room, status, code in (("p-c1", 409, "E_INVALID_STATE"),
                               ("nope", 404, "E_ROOM_NOT_FOUND")):
        wrong = await api.call("POST", PATH, t["clinician"], {"room": room}, expect=status)
        assert wrong["error"]["code"] == code
    await h.create_room("other-fam", "family", program="prog-1")
    other = await api.call("POST", PATH, t["clinician"], {"room": "other-fam"}, expect=404)
    assert other["error"]["code"] == "E_ROOM_NOT_FOUND"
    for method, path, body in (("POST", PATH, {"room": FAMILY}), ("GET", PATH, None),
                               ("DELETE", f"{PATH}/{invite}", None)):
        denied = await api.call(method, path, t["client"], body, expect=403)
        assert denied["error"]["code"] == "E_FORBIDDEN_ROLE"
    bad = await api.call("POST", PATH, t["clinician"], {"room": FAMILY, "name": "a\u202eb"},
                         expect=422)
    assert bad["error"]["code"] == "E_SCHEMA"
    # An ended session: refused, and the link is not spent by the attempt.
    live = await api.call("POST", PATH, t["clinician"], {"room": FAMILY}, expect=201)
    clinician = await h.peer("clinician", sub="dr-1", program=PROGRAM, room=FAMILY)
    assert (await clinician.call("end", {}))["ok"]
    ended = await _open(api, *_split(live["url"]), 409)
    assert ended["error"]["code"] == "E_ROOM_ENDED"
    statuses = {i["id"]: i["status"] for i in await api.call("GET", PATH, t["clinician"])}
    assert statuses[live["id"]] == "open"
    made_late = await api.call("POST", PATH, t["clinician"], {"room": FAMILY}, expect=409)
    assert made_late["error"]["code"] == "E_ROOM_ENDED"


async def test_family_link_look_ups_share_the_invite_links_rate_limit(
        start_server: Any) -> None:
    h: Harness = await start_server(invite_rate_burst=3, invite_rate_per_minute=0.001)
    async with ClientSession() as http:
        answers = []
        for i in range(5):
            async with http.post(h.url + "/api/family-invite/open", json={
                    "invite": f"guess-{i}", "secret": "s" * 43}) as r:
                answers.append((r.status, (await r.json())["error"]["code"]))
    assert answers[:3] == [(404, "E_INVITE_INVALID")] * 3
    assert answers[3:] == [(429, "E_RATE_LIMITED")] * 2


async def test_family_links_are_kept_and_listed_the_same_on_a_redis_store(
        start_server: Any, redis_server: RedisServer) -> None:  # noqa: F811
    h: Harness = await start_server(store=redis_server.url)
    assert h.store.backend == "redis"  # type: ignore[attr-defined]  (MeteredStore)
    async with ClientSession() as http:
        api = Api(h, http)
        t = await _family_program(api)
        first = await api.call("POST", PATH, t["clinician"], {"room": FAMILY, "name": "Ana"},
                               expect=201)
        second = await api.call("POST", PATH, t["clinician"], {"room": FAMILY}, expect=201)
        assert (await _open(api, *_split(first["url"]), 200))["room"] == FAMILY
        await api.call("DELETE", f"{PATH}/{second['id']}", t["clinician"], expect=200)
        listed = {i["id"]: i["status"] for i in await api.call("GET", PATH, t["clinician"])}
        assert listed == {first["id"]: "opened", second["id"]: "withdrawn"}
        assert (await _open(api, *_split(first["url"]), 410))["error"]["code"] == \
            "E_INVITE_EXHAUSTED"


async def test_the_panel_offers_only_the_programs_open_partners_and_family_groups(
        api: Api) -> None:
    t = await api.setup_program()
    for sid, extra in (("p-pf", {"audience": "partners-family"}), ("p-grp", {}),
                       ("p-pf-done", {"audience": "partners-family"})):
        await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                       {"id": sid, "kind": "group", **extra}, expect=201)
    done = await api.h.peer("clinician", sub="dr-1", program=PROGRAM, room="p-pf-done")
    assert (await done.call("end", {}))["ok"]
    path = f"/api/programs/{PROGRAM}/partner/group-rooms"
    rooms = await api.call("GET", path, t["clinician"], expect=200)
    assert [r["id"] for r in rooms] == ["p-pf"]
    denied = await api.call("GET", path, t["client"], expect=403)
    assert denied["error"]["code"] == "E_FORBIDDEN_ROLE"


async def test_the_clinician_makes_the_partners_group_link_from_the_panel(
        api: Api, browser: Browser) -> None:
    h = api.h
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    await api.respond(secret_of((await api.invite(t["clinician"]))["url"]), "decline",
                      expect=200)
    await api.call("POST", f"/api/programs/{PROGRAM}/sessions", t["clinician"],
                   {"id": "p-pf", "kind": "group", "audience": "partners-family"}, expect=201)
    client_before = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"])
    log = PageLog()
    page = await (await person(browser, h.url)).new_page()
    log.watch(page, "clinician")
    await page.goto(f"{h.url}/room#" + h.token("clinician", sub="dr-1", name="Dr. Rivera",
                                               program=PROGRAM, room="p-c1"))
    await join(page)
    block = page.locator("[data-block=partners-group]")
    await block.get_by_label("Group session").wait_for(timeout=15_000)
    await block.get_by_role("button", name="Make group link").click()
    link = block.get_by_label("Group link")
    await link.wait_for(timeout=10_000)
    url = await link.input_value()
    assert "/partner-group?" in url and "#" in url
    await block.get_by_role("button", name="Copy link").wait_for()
    await block.get_by_text("Invited.").wait_for(timeout=10_000)
    await block.get_by_text("Partners & family group: invited 1 / accepted 0 / attended 0"
                            ).wait_for()
    # The link the panel showed opens the group.
    query = url.split("?", 1)[1].split("#", 1)[0]
    params = dict(p.split("=", 1) for p in query.split("&"))
    opened = await api.call("POST", "/api/partner-group/open", None, {
        "program": params["program"], "invite": params["invite"],
        "secret": url.split("#", 1)[1]}, expect=200)
    assert opened["room"] == "p-pf"
    assert await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"]) == \
        client_before
    assert not log.problems(), str(log)


async def test_a_family_member_opens_the_link_from_the_panel_in_a_browser_and_is_admitted(
        api: Api, browser: Browser) -> None:
    h = api.h
    await _family_program(api)
    log = PageLog()
    staff = await (await person(browser, h.url)).new_page()
    log.watch(staff, "clinician")
    await staff.goto(f"{h.url}/room#" + h.token("clinician", sub="dr-1", name="Dr. Rivera",
                                                program=PROGRAM, room=FAMILY))
    await join(staff)
    block = staff.locator("[data-block=family-links]")
    await block.get_by_label("Their first name").fill("Rosa", timeout=15_000)
    await block.get_by_role("button", name="Make family link").click()
    field = block.get_by_label("Family link")
    await field.wait_for(timeout=10_000)
    url = await field.input_value()
    assert "/family-invite?invite=" in url
    await block.get_by_text("Not opened yet").wait_for(timeout=10_000)

    family = await (await person(browser, h.url)).new_page()
    log.watch(family, "family")
    await family.goto(url)
    heading = family.get_by_role("heading", name="An invitation to a family session")
    await heading.wait_for(timeout=15_000)
    assert "#" not in family.url and "invite=" not in family.url  # out of the address bar
    assert "Taking part is your choice" in await family.locator("main").inner_text()
    await family.get_by_role("button", name="Continue to the session").click()
    await family.wait_for_url("**/room", timeout=15_000)
    await join(family)
    await staff.get_by_role("button", name="Admit Rosa").click(timeout=15_000)
    await family.get_by_text("You're in the session.").first.wait_for(timeout=15_000)
    await block.get_by_text("Attended.").wait_for(timeout=15_000)
    assert not await field.count()  # the link shown once left when it was spent

    # The same link again, in Spanish: the page explains, and "Continuar" says it was used.
    again = await (await person(browser, h.url)).new_page()
    refused = PageLog()  # its 410 is the point; only thrown errors would be problems
    refused.watch(again, "family-again")
    await again.goto(url.replace("/family-invite?", "/family-invite?lang=es&"))
    await again.get_by_role("heading", name="Una invitación a una sesión familiar").wait_for(
        timeout=15_000)
    await again.get_by_role("button", name="Hoy no").click()
    await again.get_by_text("Está bien. No se ha enviado nada").wait_for()
    await again.get_by_role("button", name="Continuar a la sesión").click()
    await again.get_by_text("Este enlace de invitación ya se usó.").wait_for(timeout=10_000)
    assert not refused.errors, str(refused)
    assert not log.problems(), str(log)
