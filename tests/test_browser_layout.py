"""The session page's layout as people live it, in real Chromium against a real server with real
WebRTC media: on a 1280×800 laptop the clinician keeps the faces on screen while using a tool;
on a 390×844 phone the call controls are pinned; `End session` asks first, and only a confirmed
"End for everyone" ends the room.

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep screenshots of the screens checked here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize

from server.domain.room import RoomStatus
from server.store.rooms import Rooms
from tests.browser import PHONE, PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.test_browser_a11y import axe_violations, open_room

LAPTOP: ViewportSize = {"width": 1280, "height": 800}
WAIT_MS = 20_000
ROOM = "room-couples"
WEB = Path(__file__).resolve().parents[1] / "web"
REMOTE_VIDEOS_PLAYING = """(n) => {
    const vs = [...document.querySelectorAll("video:not([data-local])")];
    return vs.length === n && vs.every((v) => v.videoWidth > 0 && !v.paused && v.readyState >= 2);
}"""
SAID = """() => [...document.querySelectorAll("[data-message], [data-detail], [data-banner]")]
    .map((e) => e.textContent).filter(Boolean).join(" / ")"""


# --- helpers --------------------------------------------------------------------------------------

async def screen(page: Page, name: str) -> None:
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"layout-{name}.png"))


async def until(page: Page, script: str, log: PageLog, what: str, arg: Any = None) -> None:
    try:
        await page.wait_for_function(script, arg=arg, timeout=WAIT_MS)
    except Exception as exc:
        said = await page.evaluate(SAID)
        raise AssertionError(f"{what}: not within {WAIT_MS / 1000:.0f} s; the page says "
                             f"{said!r}\n{log}") from exc


async def see(where: Page | Locator, text: str, log: PageLog) -> None:
    try:
        await where.get_by_text(text).first.wait_for(timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def laptop(browser: Browser, base_url: str, axe: bool = False) -> BrowserContext:
    """A 1280×800 laptop; ``axe`` lets the tests inject axe-core (CSP bypassed)."""
    context = await browser.new_context(viewport=LAPTOP, bypass_csp=axe)
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    return context


async def couples_session(h: Harness, browser: Browser, log: PageLog,
                          laptops: bool = True) -> tuple[Page, Page, Page]:
    """Dr. Rivera, Sam and Alex in the couples room, each seeing the other two; on laptops the
    clinician's page takes axe-core."""
    make = laptop if laptops else person
    first = await laptop(browser, h.url, axe=True) if laptops else await person(browser, h.url)
    clinician = await open_room(first, h,
                                h.token("clinician", name="Dr. Rivera", room=ROOM), log,
                                "clinician")
    await join(clinician)
    await see(clinician, "The session is open.", log)
    pages = [clinician]
    for role, name in (("client", "Sam"), ("partner", "Alex")):
        page = await open_room(await make(browser, h.url), h, h.token(role, name=name, room=ROOM),
                               log, role)
        await join(page)
        await see(page, "You're in the waiting room.", log)
        await clinician.get_by_role("button", name=f"Admit {name}").click()
        await see(page, "You're in the session.", log)
        pages.append(page)
    for page in pages:
        await until(page, REMOTE_VIDEOS_PLAYING, log, "both others' videos playing", 2)
    return pages[0], pages[1], pages[2]


async def box(locator: Locator) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None, f"{locator} has no box (not shown)"
    return found


def inside(b: dict[str, float], viewport: ViewportSize) -> bool:
    """Wholly inside the viewport (a pixel's rounding allowed)."""
    return (b["x"] >= -1 and b["y"] >= -1 and b["x"] + b["width"] <= viewport["width"] + 1
            and b["y"] + b["height"] <= viewport["height"] + 1)


async def remote_videos_on_screen(page: Page) -> list[dict[str, float]]:
    viewport = page.viewport_size
    assert viewport is not None
    boxes = [await box(v) for v in await page.locator("video:not([data-local])").all()]
    return [b for b in boxes if inside(b, viewport)]


async def room_status(h: Harness) -> RoomStatus:
    room = await Rooms(h.store).get(ROOM)
    assert room is not None
    return room.status


# --- the laptop: faces and tools on one screen ------------------------------------------------------

async def test_laptop_clinician_sees_faces_beside_the_running_exercise(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, partner = await couples_session(alongside, browser, log)
    assert clinician.viewport_size == LAPTOP

    # The lobby and the room's controls stand beside the faces without any scrolling.
    viewport = LAPTOP
    assert await remote_videos_on_screen(clinician), "no remote video on the clinician's screen"
    assert inside(await box(clinician.get_by_role("heading", name="Waiting room")), viewport)
    assert inside(await box(clinician.get_by_role("button", name="End session")), viewport)

    # The private-answers exercise; both partners answer.
    tools = clinician.locator("[data-tools]")
    await tools.get_by_label("Exercise").select_option("i-statements")
    await tools.get_by_role("button", name="Start Exercises").click()
    for page, feel in ((client, "uneasy"), (partner, "tired")):
        mine = page.locator('[data-tool="exercises"]')
        await mine.get_by_label("I feel ...").fill(feel)
        await mine.get_by_label("when ...").fill("plans change")
        await mine.get_by_label("I need ...").fill("a text")
        await mine.get_by_role("button", name="Submit privately").click()
        await see(mine, "Your answer is in", log)
    release = clinician.locator('[data-tool="exercises"]').get_by_role("button",
                                                                       name="Release answers")
    await release.wait_for()

    # The clinician brings the tool's button into view, as a click would: the faces stay.
    await release.scroll_into_view_if_needed()
    await screen(clinician, "1-clinician-exercise-1280x800")
    assert inside(await box(release), viewport), "Release answers is not on screen"
    on_screen = await remote_videos_on_screen(clinician)
    assert on_screen, "scrolling to the tool took every face off the screen"
    # The page itself does not scroll: only the side panel does, so the faces cannot leave.
    assert await clinician.evaluate("document.scrollingElement.scrollTop") == 0
    # The lobby is within one screen of the faces: back to it, the faces still there.
    lobby = clinician.get_by_role("heading", name="Waiting room")
    await lobby.scroll_into_view_if_needed()
    assert inside(await box(lobby), viewport)
    assert await remote_videos_on_screen(clinician)

    problems = await axe_violations(clinician)
    assert not problems, "\n".join(problems)

    await release.click()
    await see(partner, "Your answers, shared", log)

    # Sam's and Alex's laptops: their exercise beside the faces too.
    for page in (client, partner):
        await page.locator('[data-tool="exercises"]').scroll_into_view_if_needed()
        assert await remote_videos_on_screen(page), "the exercise pushed the faces off screen"
        assert inside(await box(page.get_by_role("button", name="Mute", exact=True)), viewport)
    await screen(partner, "2-partner-exercise-1280x800")
    assert not log.problems(), str(log)


# --- End session asks first -------------------------------------------------------------------------

async def test_end_session_asks_and_only_a_confirmed_end_ends_the_room(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician = await open_room(await laptop(browser, alongside.url, axe=True), alongside,
                                alongside.token("clinician", name="Dr. Rivera", room=ROOM), log,
                                "clinician")
    await join(clinician)
    await see(clinician, "The session is open.", log)
    client = await open_room(await person(browser, alongside.url), alongside,
                             alongside.token("client", name="Sam", room=ROOM), log, "client")
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()
    await see(client, "You're in the session.", log)

    end = clinician.get_by_role("button", name="End session")
    dialog = clinician.get_by_role("dialog", name="End this session for everyone?")

    # Cancel: the dialog is labelled, starts on the safe choice, and closing it changes nothing.
    await end.click()
    await dialog.wait_for()
    assert await dialog.evaluate("(d) => d.open && d.matches(':modal')")
    await see(dialog, "no one can come back in with these links", log)
    keep = dialog.get_by_role("button", name="Keep the session open")
    assert await keep.evaluate("(b) => b === document.activeElement"), "focus is not on Cancel"
    await screen(clinician, "3-end-dialog")
    problems = await axe_violations(clinician)
    assert not problems, "\n".join(problems)
    await keep.click()
    await dialog.wait_for(state="hidden")
    # Focus goes back where it was, for a keyboard user.
    assert await end.evaluate("(b) => b === document.activeElement")

    # Escape, from the keyboard alone: Enter opens, Escape cancels.
    await end.focus()
    await clinician.keyboard.press("Enter")
    await dialog.wait_for()
    await clinician.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")

    # A stray Enter on the opened dialog presses the focused safe choice: still open.
    await clinician.keyboard.press("Enter")
    await dialog.wait_for()
    await clinician.keyboard.press("Enter")
    await dialog.wait_for(state="hidden")

    await clinician.wait_for_timeout(500)  # anything sent would have arrived by now
    assert await room_status(alongside) == RoomStatus.OPEN
    await see(client, "You're in the session.", log)
    assert await client.get_by_text("This session has ended.").count() == 0
    await until(clinician, REMOTE_VIDEOS_PLAYING, log, "Sam still on the clinician's page", 1)
    assert await end.is_enabled()

    # Confirmed: everyone is told.
    await end.click()
    await dialog.get_by_role("button", name="End for everyone").click()
    await see(clinician, "This session has ended.", log)
    await see(client, "This session has ended.", log)
    assert await room_status(alongside) == RoomStatus.ENDED
    assert not log.problems(), str(log)


async def test_end_session_question_closes_when_another_tab_takes_over(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    token = alongside.token("clinician", name="Dr. Rivera", room=ROOM)
    context = await laptop(browser, alongside.url)
    first = await open_room(context, alongside, token, log, "clinician-tab-1")
    await join(first)
    await see(first, "The session is open.", log)
    await first.get_by_role("button", name="End session").click()
    dialog = first.get_by_role("dialog", name="End this session for everyone?")
    await dialog.wait_for()

    # The clinician opens the session in another tab: the old tab's question is moot.
    second = await open_room(context, alongside, token, log, "clinician-tab-2")
    await join(second)
    await see(second, "The session is open.", log)
    await see(first, "This session is now open in another tab or window.", log)
    await dialog.wait_for(state="hidden")
    assert await room_status(alongside) == RoomStatus.OPEN
    assert not log.problems(), str(log)


# --- the phone: the call controls are pinned --------------------------------------------------------

async def test_phone_keeps_mute_camera_and_leave_on_screen(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, partner = await couples_session(alongside, browser, log, laptops=False)
    # A tool running makes the page long: the controls must not scroll away with it.
    tools = clinician.locator("[data-tools]")
    await tools.get_by_label("Exercise").select_option("i-statements")
    await tools.get_by_role("button", name="Start Exercises").click()
    await partner.locator('[data-tool="exercises"]').get_by_label("I feel ...").wait_for()
    for page in (client, partner, clinician):
        assert page.viewport_size == PHONE
        # As the page first shows (the clinician's clicks in the tools scrolled it).
        await page.evaluate("window.scrollTo(0, 0)")
        assert await page.evaluate("document.documentElement.scrollHeight") > PHONE["height"], \
            "the page is short enough that pinning would prove nothing"
        for name in ("Mute", "Camera off", "Leave"):
            control = page.get_by_role("button", name=name, exact=True)
            assert inside(await box(control), PHONE), f"{name} is not on screen without scrolling"
        # Read to the end of the page: the controls stay, and cover nothing that can't be seen.
        await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        assert inside(await box(page.get_by_role("button", name="Mute", exact=True)), PHONE)
        last = page.locator("[data-side-panel] > :not([hidden])").last
        bar = await box(page.locator("[data-call-bar]"))
        assert (await box(last))["y"] + (await box(last))["height"] <= bar["y"] + 1, \
            "the pinned bar hides the end of the page"
        wide = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], f"the page scrolls sideways ({wide})"
    await partner.evaluate("window.scrollTo(0, 0)")
    await screen(partner, "4-partner-phone")

    # The pinned Mute still works.
    await partner.get_by_role("button", name="Mute", exact=True).click()
    unmute = partner.get_by_role("button", name="Unmute", exact=True)
    assert await unmute.get_attribute("aria-pressed") == "true"
    assert inside(await box(unmute), PHONE)
    assert not log.problems(), str(log)


# --- the words of this page in both languages --------------------------------------------------------

async def test_call_bar_speaks_spanish_with_lang_es(alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    context = await person(browser, alongside.url)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, "client")
    await page.goto(f"{alongside.url}/room?lang=es#{alongside.token('client', name='Sam', room=ROOM)}")
    bar = page.locator("[data-call-bar]")
    for name in ("Silenciar", "Apagar cámara", "Entrar"):
        assert inside(await box(bar.get_by_role("button", name=name, exact=True)), PHONE), name
    assert await page.get_by_role("group", name="Su micrófono y su cámara").count() == 1
    assert await page.evaluate("document.documentElement.lang") == "es"
    assert await page.title() == "Sesión · Alongside"
    await bar.get_by_role("button", name="Silenciar", exact=True).click()
    await see(bar, "Su micrófono está silenciado: los demás no le oyen.", log)
    await bar.get_by_role("button", name="Activar micrófono", exact=True).wait_for()
    assert not log.problems(), str(log)


def test_layout_catalogue_is_complete_in_english_and_spanish() -> None:
    en = json.loads((WEB / "locales/en/layout.json").read_text("utf-8"))
    es = json.loads((WEB / "locales/es/layout.json").read_text("utf-8"))
    assert set(en) == set(es), set(en) ^ set(es)
    assert all(k.startswith(("layout.", "console.")) for k in en)
    assert all(isinstance(v, str) and v.strip() for v in es.values())
    for key, text in en.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", es[key])), key
    # Every key the page's markup, the call controls, the console and the dialog name is in the
    # catalogues (room.* keys are room.json's).
    known = set(en) | set(json.loads((WEB / "locales/en/room.json").read_text("utf-8")))
    html = (WEB / "room.html").read_text("utf-8")
    named = set(re.findall(r'data-i18n="([^"]+)"', html))
    named |= {pair.split(":")[1].strip() for attr in re.findall(r'data-i18n-attr="([^"]+)"', html)
              for pair in attr.split(";")}
    for name in ("controls.js", "console.js", "confirm.js"):
        named |= set(re.findall(r"""["'`]((?:layout|console)\.[a-z][\w.-]*[\w])["'`]""",
                                (WEB / name).read_text("utf-8")))
    # Keys built from a value: console.js's word() and the connection levels.
    named |= {f"console.{group}.{v}" for group, values in (
        ("role", ("clinician", "client", "partner")), ("kind", ("individual", "couples")),
        ("status", ("open", "ended")), ("mood", "12345"), ("readiness", "12345")) for v in values}
    named |= {f"layout.controls.level.{level}" for level in ("good", "fair", "poor")}
    assert named <= known, named - known
