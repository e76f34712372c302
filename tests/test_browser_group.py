"""The group page in real Chromium, with a real Janus (Debian's ``janus``) and a real server.

A clinician's page and three members' pages: each member reads the group agreement, chooses
the name the group sees and accepts, knocks, and sees nobody while waiting; the clinician
selects "Admit all" and every page plays the three other videos, received through Janus.
Then the Spanish agreement (catalogue check and axe), "Not today", and the grid holding
seventeen faces on a 1280×800 screen.

Cameras are Chromium's fake device asked for at 160×120 and 10 frames a second (an init
script narrows the page's own request), so four pages fit on a shared two-core machine.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

from devtools.janus import JanusServer
from tests.browser import PHONE, PageLog, browser_fixture  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.janus_fixtures import janus  # noqa: F401  (the module's Janus fixture)
from tests.peers import Peer
from tests.test_browser_a11y import axe_violations
from tests.test_browser_spanish import Checker

GROUP = "room-group"
WAIT_MS = 30_000
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SMALL: ViewportSize = {"width": 800, "height": 600}
# The page's camera request, narrowed: low resolution and frame rate for a shared machine.
LOW_RESOLUTION = """(() => {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) return;
  const ask = md.getUserMedia.bind(md);
  md.getUserMedia = (c = {}) => ask({ ...c, video: c.video ? { width: 160, height: 120,
    frameRate: 10 } : c.video });
})();"""
PLAYING_VIDEOS = """(n) => [...document.querySelectorAll("figure[data-peer] video")]
    .filter((v) => v.videoWidth > 0 && !v.paused && v.readyState >= 2 && v.srcObject
        && v.srcObject.getVideoTracks().some((t) => t.readyState === "live")).length >= n"""


@pytest.fixture
async def group(start_server: Any, janus: JanusServer) -> Harness:  # noqa: F811
    h: Harness = await start_server(janus_urls=(janus.url,),
                                    janus_api_secret=janus.config.api_secret,
                                    janus_admin_key=janus.config.admin_key)
    await h.create_room(GROUP, "group")
    return h


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        await context.close()


async def open_page(browser: Browser, made: list[BrowserContext], h: Harness, token: str,
                    log: PageLog, label: str, viewport: ViewportSize = SMALL,
                    browser_locale: str = "en-US", bypass_csp: bool = False) -> Page:
    context = await browser.new_context(viewport=viewport, locale=browser_locale,
                                        bypass_csp=bypass_csp)
    await context.grant_permissions(["camera", "microphone"], origin=h.url)
    await context.add_init_script(LOW_RESOLUTION)
    made.append(context)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    await page.goto(f"{h.url}/room#{token}")
    return page


async def screenshot(page: Page, name: str) -> None:
    """Kept only with ``ALONGSIDE_SCREENSHOTS=<dir>``, as in the other browser tests."""
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"group-{name}.png"))


def member_token(h: Harness, sub: str, name: str, **extra: Any) -> str:
    return h.token("client", sub=sub, name=name, room=GROUP, **extra)


async def agree(page: Page, alias: str | None = None, accept: str = "Accept and join") -> None:
    """Join, read the agreement, keep or change the name, accept."""
    await page.get_by_role("button", name=re.compile(r"^(Join|Entrar)$")).click()
    field = page.get_by_role("textbox")
    await field.wait_for()
    if alias is not None:
        await field.fill(alias)
    await page.get_by_role("button", name=accept, exact=True).click()


@pytest.mark.timeout(180)
async def test_members_accept_the_agreement_and_admit_all_shows_everyone_through_janus(
        group: Harness, browser: Browser, contexts: list[BrowserContext]) -> None:
    log = PageLog()
    clinician = await open_page(browser, contexts, group,
                                group.token("clinician", name="Dr. Rivera", room=GROUP), log, "clinician", DESKTOP)
    await clinician.get_by_role("button", name="Join", exact=True).click()
    await clinician.wait_for_selector('body[data-phase="in"]')

    people = [("sam", "Samuel Ortiz", None), ("lee", "Lee Park", "Robin"),
              ("kim", "Kim Alvarez", None)]
    members: dict[str, Page] = {}
    for sub, name, alias in people:
        page = await open_page(browser, contexts, group, member_token(group, sub, name), log, sub)
        await page.get_by_role("button", name="Join", exact=True).click()
        agreement = page.get_by_role("region", name="Before you join the group")
        await agreement.wait_for()
        await page.get_by_text("What people share in the group stays in the group.",
                               exact=False).wait_for()
        field = page.get_by_role("textbox", name="The name the group sees")
        # Prefilled with the first word of the token's name; the member may change it.
        assert await field.input_value() == name.split()[0]
        if alias:
            await field.fill(alias)
        # Accept and Not today weigh the same: same size, same look.
        accept = page.get_by_role("button", name="Accept and join", exact=True)
        later = page.get_by_role("button", name="Not today", exact=True)
        a, b = await accept.bounding_box(), await later.bounding_box()
        assert a and b and abs(a["height"] - b["height"]) < 1
        assert await accept.get_attribute("class") == await later.get_attribute("class")
        if sub == "lee":
            await screenshot(page, "agreement")
        await accept.click()
        await page.get_by_text("You're in the waiting room.").first.wait_for()
        members[sub] = page

    # Waiting members see nobody: no tile, no other member's name.
    for sub, page in members.items():
        assert await page.locator("figure[data-peer]").count() == 0, sub
        text = await page.inner_text("body")
        others = {"sam": "Samuel", "lee": "Robin", "kim": "Kim"}
        for other, shown in others.items():
            if other != sub:
                assert shown not in text, f"{sub} sees {shown} while waiting"
        assert "Dr. Rivera" not in text

    lobby = clinician.get_by_role("region", name="Waiting room")
    for shown in ("Samuel", "Robin", "Kim"):
        await lobby.get_by_role("button", name=f"Admit {shown}", exact=True).wait_for()
    assert "Park" not in await lobby.inner_text()  # the alias, not the token's name
    await screenshot(clinician, "lobby")
    await clinician.get_by_role("button", name="Admit all", exact=True).click()

    pages = {"clinician": clinician, **members}
    try:
        await asyncio.gather(*(p.wait_for_function(PLAYING_VIDEOS, arg=3, timeout=90_000)
                               for p in pages.values()))
    except Exception as exc:
        raise AssertionError(f"not every page plays the three others\n{log}") from exc
    await screenshot(clinician, "admitted")
    captions = await clinician.locator("figure[data-peer] figcaption").all_inner_texts()
    assert sorted(c.split(" ")[0] for c in captions) == ["Kim", "Robin", "Samuel"]
    assert await clinician.get_by_role("button", name="Send back Robin").count() == 1
    sam_sees = await members["sam"].locator("figure[data-peer] figcaption").all_inner_texts()
    assert any("Dr. Rivera" in c for c in sam_sees) and any("Robin" in c for c in sam_sees)
    # No 403 for the program panel, no refused event, nothing thrown.
    assert not log.problems(), "\n".join(log.problems())


@pytest.mark.timeout(120)
async def test_the_spanish_agreement_speaks_spanish_passes_axe_and_not_today_is_a_choice(
        group: Harness, browser: Browser, contexts: list[BrowserContext]) -> None:
    log = PageLog()
    page = await open_page(browser, contexts, group,
                           member_token(group, "ana", "Ana María López", locale="es"), log,
                           "ana", PHONE, browser_locale="es-US", bypass_csp=True)
    await page.get_by_role("button", name="Entrar", exact=True).click()
    await page.get_by_role("region", name="Antes de unirse al grupo").wait_for()
    await page.get_by_text("Lo que se comparte en el grupo se queda en el grupo.",
                           exact=False).wait_for()
    assert await page.evaluate("document.documentElement.lang") == "es"
    # People's names are data: the seeded program's partner is "Partner", and the socket.io
    # co-facilitator below is "Clinician" (the harness's default names).
    checker = Checker(frozenset({"Ana", "Anita", "Partner", "Clinician"}))
    await checker.check(page, "room:group-agreement")
    await screenshot(page, "agreement-es")
    problems = await axe_violations(page)
    assert not problems, "\n".join(problems)
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the agreement scrolls sideways on a phone ({width})"

    # A name the server would refuse is explained in place, in Spanish.
    field = page.get_by_role("textbox", name="El nombre que verá el grupo")
    assert await field.input_value() == "Ana"
    await field.fill("   ")
    await page.get_by_role("button", name="Aceptar y entrar", exact=True).click()
    await page.get_by_role("alert").get_by_text("Por favor, escriba un nombre").wait_for()
    assert await field.get_attribute("aria-invalid") == "true"

    # Not today: no knock, a kind word, and Join again brings the agreement back.
    await page.get_by_role("button", name="Hoy no", exact=True).click()
    await page.get_by_text("Está bien. Usted no ha entrado al grupo.").wait_for()
    await checker.check(page, "room:not-today")
    clinician = Peer(group.url, group.token("clinician", sub="dr-1", room=GROUP))
    group.peers.append(clinician)
    await clinician.connect()
    snap = (await clinician.call("join", {}))["room"]
    assert snap["lobby"] == []
    await agree(page, "Anita", accept="Aceptar y entrar")
    await page.get_by_text("Usted está en la sala de espera.", exact=False).first.wait_for()
    lobby = await clinician.wait_for("room", lambda d: len(d.get("lobby", [])) == 1)
    assert lobby["lobby"][0]["name"] == "Anita"
    rows = [r for r in await group.store.audit_rows(room=GROUP) if r.action == "group-agreement"]
    assert [r.target for r in rows] == ["group-agreement-v1-es"]

    # A Spanish clinician's side of the group page: the lobby's "Admit all", in Spanish too.
    host = await open_page(browser, contexts, group,
                           group.token("clinician", name="Dra. Rivera", room=GROUP, locale="es"),
                           log, "host", DESKTOP, browser_locale="es-US", bypass_csp=True)
    await host.get_by_role("button", name="Entrar", exact=True).click()
    admit_all = host.get_by_role("button", name="Dar paso a todos", exact=True)
    await admit_all.wait_for()
    await checker.check(host, "room:group-lobby")
    problems = await axe_violations(host)
    assert not problems, "\n".join(problems)
    await admit_all.click()
    await page.wait_for_selector('body[data-phase="in"]')
    await host.get_by_text("Anita", exact=True).first.wait_for()
    await checker.check(page, "room:group-in")
    assert not [p for p in log.problems() if "E_AGREEMENT_REQUIRED" not in p], log


@pytest.mark.timeout(150)
async def test_seventeen_faces_fit_one_1280_by_800_screen(
        group: Harness, browser: Browser, contexts: list[BrowserContext]) -> None:
    """A clinician's page with a co-facilitator and fifteen members admitted: all sixteen
    tiles and the clinician's own image are on screen at once, none cut off."""
    log = PageLog()
    page = await open_page(browser, contexts, group,
                           group.token("clinician", name="Dr. Rivera", room=GROUP),
                           log, "clinician", DESKTOP)
    await page.get_by_role("button", name="Join", exact=True).click()
    await page.wait_for_selector('body[data-phase="in"]')
    co = await group.peer("clinician", sub="dr-2", name="Dr. Chen", room=GROUP)
    assert co.join_ack["you"]["state"] == "admitted"  # type: ignore[attr-defined]
    for n in range(1, 16):
        member = await group.peer("client", sub=f"m{n}", name=f"Member{n} Surname",
                                  room=GROUP, join=False)
        assert (await member.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                       "alias": f"Member{n}"}))["ok"]
        assert (await member.call("join", {}))["ok"]
    await page.get_by_role("button", name="Admit Member15", exact=True).wait_for()
    await page.get_by_role("button", name="Admit all", exact=True).click()
    await page.wait_for_function(
        "() => document.querySelectorAll('figure[data-peer]').length === 16")
    boxes = await page.evaluate("""() => [...document.querySelectorAll(
        "figure[data-peer] video, .tile-local video")].map((v) => {
            const r = v.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom];
        })""")
    await screenshot(page, "seventeen")
    assert len(boxes) == 17
    for left, top, right, bottom in boxes:
        assert left >= 0 and top >= 0 and right <= 1280 and bottom <= 800, boxes
        assert right - left >= 100 and bottom - top >= 60, boxes  # a face, not a stamp
    # The grid itself needs no scrolling within its column.
    column = await page.evaluate(
        "(() => { const c = document.querySelector('[data-stage-column]');"
        " return [c.scrollHeight, c.clientHeight]; })()")
    assert column[0] <= column[1] + 1, column
    # The lobby is empty again and "Admit all" is gone with it.
    assert await page.get_by_role("button", name="Admit all").count() == 0


@pytest.mark.timeout(120)
async def test_a_group_page_says_when_its_video_cannot_connect_and_recovers_by_itself(
        start_server: Any, browser: Browser, contexts: list[BrowserContext]) -> None:
    """Janus configured but down: the member's page (in Spanish) says the group's video cannot
    connect, rather than showing black tiles; once Janus is up, the page asks again by itself,
    the note goes and the clinician's video plays."""
    media = JanusServer()  # its config (URL, secrets) now, the process later
    try:
        h: Harness = await start_server(janus_urls=(media.url,),
                                        janus_api_secret=media.config.api_secret,
                                        janus_admin_key=media.config.admin_key)
        await h.create_room(GROUP, "group")
        log = PageLog()
        clinician = await open_page(browser, contexts, h,
                                    h.token("clinician", name="Dr. Rivera", room=GROUP), log,
                                    "clinician", DESKTOP)
        await clinician.get_by_role("button", name="Join", exact=True).click()
        await clinician.wait_for_selector('body[data-phase="in"]')
        member = await open_page(browser, contexts, h,
                                 member_token(h, "ana", "Ana Ruiz", locale="es"), log, "ana")
        await agree(member, accept="Aceptar y entrar")
        await clinician.get_by_role("button", name="Admit all", exact=True).click()
        await member.wait_for_selector('body[data-phase="in"]')
        note = member.get_by_text("El video del grupo no puede conectarse en este momento",
                                  exact=False)
        await note.wait_for()
        await asyncio.to_thread(media.start)
        await note.wait_for(state="hidden", timeout=45_000)
        await member.wait_for_function(PLAYING_VIDEOS, arg=1, timeout=45_000)
    finally:
        media.close()
