"""The pages as people use them, in real Chromium against a real server: accessible (axe-core
finds nothing serious or critical, in English and in Spanish), reachable by keyboard alone, usable on a 390×844 phone, the
device check and the person's own controls, the clinician's console, and a room embedded in
another site's page.

axe-core comes from ``tests/node_modules`` (``scripts/setup.sh --test`` runs ``npm ci --prefix
tests``) and is injected by these tests only (``page.add_script_tag``), into browser contexts
made with ``bypass_csp`` so the page's CSP lets it in; no page ever loads it.

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep phone-sized screenshots of the pages.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from playwright.async_api import Browser, BrowserContext, Frame, Page

from server.domain.audit import AuditEntry
from server.realtime.server import REALTIME
from server.store.rooms import Rooms
from tests.browser import PHONE, PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness, free_port
from tests.lifecycle import PROGRAM, Api
from tests.spanish_pages import converted

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ROOM = "room-a11y"
WAIT_MS = 20_000

REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll("video:not([data-local])")]
    .some((v) => v.videoWidth > 0 && !v.paused && !v.ended && v.readyState >= 2
        && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"))"""
LOCAL_VIDEO_PLAYING = """() => {
    const v = document.querySelector("video[data-local]");
    return v && v.videoWidth > 0 && !v.paused;
}"""
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
SAID = """() => [...document.querySelectorAll("[data-message], [data-detail], [data-banner]")]
    .map((e) => e.textContent).filter(Boolean).join(" / ")"""
# Keeps every RTCPeerConnection the page makes (window.__pcs), to read what it sends.
PC_HOOK = """(() => {
    window.__pcs = [];
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
        constructor(...args) { super(...args); window.__pcs.push(this); }
    };
})()"""
# What the page's open links send: per kind, the sender's track (label, enabled) or null.
SENDING = """() => window.__pcs.filter((pc) => pc.connectionState !== "closed").map((pc) => {
    const out = {};
    for (const s of pc.getSenders()) {
        const t = s.track;
        const kind = t ? t.kind : (pc.getTransceivers().find((x) => x.sender === s)?.receiver.track.kind);
        out[kind] = t ? {label: t.label, enabled: t.enabled, live: t.readyState === "live"} : null;
    }
    return out;
})"""
# The focused element, and whether its focus can be seen (an outline of 2px or more).
FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(),
        name: (el.getAttribute("aria-label") || el.labels?.[0]?.textContent || el.textContent || "")
            .replace(/\\s+/g, " ").trim(),
        visible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
        key: el.dataset.tabKey || (el.dataset.tabKey = String(Math.random())),
    };
}"""
# Every control a person can see and use right now.
CONTROLS = """() => [...document.querySelectorAll("button, select, input, textarea, summary, a[href]")]
    .filter((el) => !el.disabled && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== "hidden")
    .map((el) => el.dataset.tabKey || (el.dataset.tabKey = String(Math.random())))"""


# --- helpers --------------------------------------------------------------------------------------

async def until(page: Page | Frame, script: str, log: PageLog, what: str,
                ms: float = WAIT_MS) -> None:
    try:
        await page.wait_for_function(script, timeout=ms)
    except Exception as exc:
        said = await page.evaluate(SAID)
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s; the page says {said!r}\n"
                             f"{log}") from exc


async def see(where: Any, text: str | re.Pattern[str], log: PageLog, ms: float = WAIT_MS) -> None:
    try:
        await where.get_by_text(text).first.wait_for(timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"a11y-{name}.png"), full_page=True)


async def axe_person(browser: Browser, base_url: str) -> BrowserContext:
    """A phone-sized person whose pages accept the injected axe-core (CSP bypassed)."""
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    return context


async def open_room(context: BrowserContext, h: Harness, token: str, log: PageLog,
                    label: str) -> Page:
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    await page.goto(f"{h.url}/room#{token}")
    return page


async def axe_violations(page: Page) -> list[str]:
    """axe-core's violations of impact serious or critical, one line each."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + " :: " + (n.failureSummary || ""))}));
    }""")
    return [f"{v['impact']}: {v['id']} ({v['help']}): {v['nodes']}" for v in found
            if v["impact"] in ("serious", "critical")]


async def check_page(page: Page, name: str, log: PageLog) -> None:
    """No serious accessibility problem, no sideways scrolling at 390×844, no secret in the URL,
    nothing in localStorage."""
    assert page.viewport_size == PHONE
    await screenshot(page, name)
    problems = await axe_violations(page)
    assert not problems, f"{name}:\n" + "\n".join(problems)
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: the page scrolls sideways ({width})"
    assert await page.evaluate("location.hash") == "", f"{name}: a fragment is left in the URL"
    assert await page.evaluate("localStorage.length") == 0, f"{name}: localStorage was written"


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


@pytest.fixture(autouse=True)
def axe_installed() -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `scripts/setup.sh --test` (npm ci --prefix tests)")


# --- axe, phone width, URL and storage on each main screen -----------------------------------------

async def test_main_screens_have_no_serious_accessibility_problems(
        alongside: Harness, api: Api, browser: Browser) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()

    # Sam's page before joining: the camera preview, the device check, Join.
    client = await open_room(await axe_person(browser, alongside.url), alongside,
                             alongside.token("client", name="Sam", room=ROOM), log, "client")
    await until(client, LOCAL_VIDEO_PLAYING, log, "Sam's camera preview")
    await client.get_by_label("Microphone level").wait_for()
    await client.get_by_label("Camera", exact=True).wait_for()
    await check_page(client, "1-client-before-join", log)

    # The waiting room.
    await join(client)
    await see(client, "You're in the waiting room.", log)
    await check_page(client, "2-client-waiting", log)

    # The clinician's page, in the session, with Sam in the lobby and the console filled in.
    clinician = await open_room(
        await axe_person(browser, alongside.url), alongside,
        alongside.token("clinician", name="Dr. Rivera", room=ROOM), log, "clinician")
    await join(clinician)
    await clinician.get_by_role("button", name="Admit Sam").wait_for()
    await see(clinician, "Today's sessions", log)
    await clinician.locator("[data-console] .session-list").wait_for()
    await check_page(clinician, "3-clinician-lobby", log)

    # Both in the session.
    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    await clinician.locator("[data-console] .console-table").first.wait_for()
    await check_page(clinician, "4-clinician-in-session", log)
    await check_page(client, "5-client-in-session", log)

    # The partner's invite page.
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    url = (await api.invite(t["clinician"], room="p-c1"))["url"]
    invite = await (await axe_person(browser, alongside.url)).new_page()
    log.watch(invite, "invite")
    await invite.goto(url)
    await see(invite, "About couples sessions", log)
    await check_page(invite, "6-invite", log)
    await every_control_reached(invite, log, "the invite page")

    assert not log.problems(), str(log)


# --- the same screens in Spanish ---------------------------------------------------------------------

async def spanish_axe_person(browser: Browser, base_url: str) -> BrowserContext:
    """As axe_person, with a browser that prefers Spanish (US)."""
    context = await browser.new_context(viewport=PHONE, bypass_csp=True, locale="es-US")
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    return context


async def lang_is_spanish(page: Page, area: str, name: str) -> None:
    """``<html lang="es">`` once the page's words are Spanish: its area is in the catalogues,
    or (until it is) its tools section has loaded the Spanish catalogue."""
    tools = await page.locator("[data-tools]:not([hidden])").count() > 0
    if converted(area) or tools:
        assert await page.evaluate("document.documentElement.lang") == "es", name


async def test_spanish_screens_have_no_serious_accessibility_problems(
        alongside: Harness, api: Api, browser: Browser) -> None:
    """The main screens again, in Spanish: token ``locale`` claim ``es``, a Spanish browser,
    ``?lang=es`` on the invitation. Waits are structural (``data-*``), never English words."""
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    client = await open_room(await spanish_axe_person(browser, alongside.url), alongside,
                             alongside.token("client", name="Sam", room=ROOM, locale="es"),
                             log, "client-es")
    await until(client, LOCAL_VIDEO_PLAYING, log, "Sam's camera preview")
    await check_page(client, "es-1-client-before-join", log)
    await lang_is_spanish(client, "room", "before joining")

    await client.locator("[data-join]:not([disabled])").click()
    await client.wait_for_selector('body[data-phase="waiting"]')
    await check_page(client, "es-2-client-waiting", log)

    clinician = await open_room(
        await spanish_axe_person(browser, alongside.url), alongside,
        alongside.token("clinician", name="Dr. Rivera", room=ROOM, locale="es"), log,
        "clinician-es")
    await clinician.locator("[data-join]:not([disabled])").click()
    await clinician.wait_for_selector('body[data-phase="in"]')
    admit = clinician.locator("[data-lobby-list] li button").first
    await admit.wait_for()
    await check_page(clinician, "es-3-clinician-lobby", log)

    await admit.click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await client.wait_for_selector('body[data-phase="in"]')
    # A tool running, so the Spanish tools section is on both pages.
    row = clinician.locator(".tool-start", has=clinician.locator('[data-field="phase"]'))
    await row.locator('[data-control="start"]').click()
    await client.locator('[data-tool="checkin"] fieldset').first.wait_for()
    await clinician.locator('[data-tool="checkin"]').wait_for()
    for page, name in ((clinician, "es-4-clinician-in-session"), (client, "es-5-client-in-session")):
        await check_page(page, name, log)
        await lang_is_spanish(page, "room", name)
    assert "Chequeo" in await client.locator('[data-tool="checkin"] h3').inner_text()

    t = await api.setup_program()
    await api.step(t["client"], "agree")
    url = (await api.invite(t["clinician"], room="p-c1"))["url"]
    base, _, secret = url.partition("#")
    invite = await (await spanish_axe_person(browser, alongside.url)).new_page()
    log.watch(invite, "invite-es")
    await invite.goto(f"{base}?lang=es#{secret}")
    await invite.locator("[data-info]:not([hidden])").wait_for()
    await check_page(invite, "es-6-invite", log)
    await lang_is_spanish(invite, "invite", "the invitation")

    assert not log.problems(), str(log)


# --- keyboard only ------------------------------------------------------------------------------------

async def tab_to(page: Page, name: str | re.Pattern[str], log: PageLog,
                 seen: set[str] | None = None, limit: int = 60) -> None:
    """Presses Tab until the focused control's name matches; every stop must show its focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["visible"], f"focus can't be seen on {focused}"
        if seen is not None:
            seen.add(focused["key"])
        matches = (name.search(focused["name"]) if isinstance(name, re.Pattern)
                   else focused["name"] == name)
        if matches:
            return
    raise AssertionError(f"{name!r} not reached with Tab in {limit} presses; "
                         f"the page says {await page.evaluate(SAID)!r}\n{log}")


async def every_control_reached(page: Page, log: PageLog, what: str) -> None:
    """One full round of Tab presses visits every visible control."""
    wanted = set(await page.evaluate(CONTROLS))
    seen: set[str] = set()
    for _ in range(len(wanted) * 2 + 10):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is not None:
            assert focused["visible"], f"{what}: focus can't be seen on {focused}"
            seen.add(focused["key"])
        if wanted <= seen:
            return
    missing = await page.evaluate(
        """(keys) => [...document.querySelectorAll("[data-tab-key]")]
            .filter((el) => keys.includes(el.dataset.tabKey))
            .map((el) => el.outerHTML.slice(0, 120))""", sorted(wanted - seen))
    raise AssertionError(f"{what}: not reachable with Tab: {missing}\n{log}")


async def test_keyboard_alone_joins_and_admits(alongside: Harness, browser: Browser) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    clinician = await open_room(
        await person(browser, alongside.url), alongside,
        alongside.token("clinician", name="Dr. Rivera", room=ROOM), log, "clinician")
    client = await open_room(await person(browser, alongside.url), alongside,
                             alongside.token("client", name="Sam", room=ROOM), log, "client")
    for page in (clinician, client):
        await until(page, LOCAL_VIDEO_PLAYING, log, "the camera preview")
    await every_control_reached(client, log, "Sam's page before joining")

    await tab_to(clinician, "Join", log)
    await clinician.keyboard.press("Enter")
    await see(clinician, "The session is open.", log)

    await tab_to(client, "Join", log)
    await client.keyboard.press("Space")
    await see(client, "You're in the waiting room.", log)

    await clinician.get_by_role("button", name="Admit Sam").wait_for()
    await tab_to(clinician, re.compile(r"^Admit\b"), log)
    await clinician.keyboard.press("Space")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    await clinician.locator("[data-console] .console-table").first.wait_for()
    await every_control_reached(clinician, log, "the clinician's page in the session")
    await every_control_reached(client, log, "Sam's page in the session")
    for page in (clinician, client):
        assert await page.evaluate("localStorage.length") == 0
    assert not log.problems(), str(log)


# --- the device check and the person's own controls ------------------------------------------------

async def test_device_check_and_own_controls_carry_into_the_session(
        alongside: Harness, browser: Browser) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    contexts = [await person(browser, alongside.url) for _ in range(2)]
    for context in contexts:
        await context.add_init_script(PC_HOOK)
    clinician = await open_room(contexts[0], alongside,
                                alongside.token("clinician", name="Dr. Rivera", room=ROOM), log,
                                "clinician")
    client = await open_room(contexts[1], alongside,
                             alongside.token("client", name="Sam", room=ROOM), log, "client")
    await until(client, LOCAL_VIDEO_PLAYING, log, "Sam's camera preview")

    # Before joining: the level meter moves with the (fake) microphone's beeps, and the camera
    # and microphone can be chosen.
    meter = client.get_by_label("Microphone level")
    await until(client, """() => {
        const m = document.querySelector("meter#mic-level");
        window.__peak = Math.max(window.__peak || 0, m ? m.value : 0);
        return window.__peak > 0.05;
    }""", log, "the microphone level moving")
    assert await meter.evaluate("(m) => m.tagName") == "METER"
    cameras = client.get_by_label("Camera", exact=True)
    mics = client.get_by_label("Microphone", exact=True)
    assert await cameras.locator("option").count() >= 1
    mic_options = await mics.locator("option").all_text_contents()
    assert len(mic_options) >= 3, mic_options
    # A microphone chosen before joining is the one the session gets.
    current = await selected(mics)
    chosen = next(o for o in mic_options if o != current)
    await mics.select_option(label=chosen)
    await until(client, f"""() => document.querySelector("video[data-local]").srcObject
        .getAudioTracks().some((t) => t.label === {chosen!r})""", log, "the chosen microphone")
    await screenshot(client, "7-device-check")

    # Into the session.
    await join(clinician)
    await see(clinician, "The session is open.", log)
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    await until(client, f"""async () => (await ({SENDING})()).some(
        (s) => s.audio && s.audio.label === {chosen!r})""", log, "the chosen microphone sent")
    await see(client, re.compile(r"^Your connection: (good|fair|poor)$"), log)

    # Another microphone, chosen during the session, is what the link sends (no renegotiation).
    devices = client.get_by_role("button", name="Devices")
    assert await devices.get_attribute("aria-expanded") == "false"
    assert await mics.is_hidden()
    await devices.click()
    assert await devices.get_attribute("aria-expanded") == "true"
    current = await selected(mics)
    other = next(o for o in mic_options if o not in (chosen, current))
    await mics.select_option(label=other)
    await until(client, f"""async () => (await ({SENDING})()).some(
        (s) => s.audio && s.audio.label === {other!r} && s.audio.live)""", log,
                "the new microphone sent to the clinician")

    # Mute and unmute: a toggle button, and the track the link sends follows it.
    mute = client.get_by_role("button", name="Mute", exact=True)
    assert await mute.get_attribute("aria-pressed") == "false"
    await mute.click()
    unmute = client.get_by_role("button", name="Unmute", exact=True)
    assert await unmute.get_attribute("aria-pressed") == "true"
    await until(client, f"async () => (await ({SENDING})()).every((s) => s.audio && !s.audio.enabled)",
                log, "muted audio")
    # A tool's unmute (the end of a speaker-listener round) leaves a self-muted person muted;
    # they are told so only if the tool had muted them (an unmute that lifts nothing is silent).
    await tool_mute(alongside, True)
    await see(client, "Your microphone has been muted for this part", log)
    await tool_mute(alongside, False)
    await see(client, "You're still muted, as you chose", log)
    assert await client.evaluate(f"async () => (await ({SENDING})()).every((s) => !s.audio.enabled)")
    await unmute.click()
    await until(client, f"async () => (await ({SENDING})()).every((s) => s.audio && s.audio.enabled)",
                log, "audio back on")
    # A tool's mute shows on the button, and the person may still unmute themselves.
    await tool_mute(alongside, True)
    await until(client, "() => document.querySelector('[data-control=mute]').textContent === 'Unmute'",
                log, "the tool's mute shown on the button")
    await unmute.click()
    await until(client, f"async () => (await ({SENDING})()).every((s) => s.audio && s.audio.enabled)",
                log, "unmuted by the person during a tool's mute")
    await client.get_by_text("Your microphone has been muted for this part").wait_for(state="hidden")

    # Camera off stops sending video (and the camera itself); the clinician sees it said so.
    await client.get_by_role("button", name="Camera off").click()
    camera_on = client.get_by_role("button", name="Camera on")
    assert await camera_on.get_attribute("aria-pressed") == "true"
    await until(client, f"async () => (await ({SENDING})()).every((s) => s.video === null)", log,
                "no video sent")
    assert await client.evaluate(
        "document.querySelector('video[data-local]').srcObject.getVideoTracks().length") == 0
    await see(clinician, "Video paused (audio only or camera off)", log)
    await screenshot(client, "8-client-camera-off")
    await camera_on.click()
    await client.get_by_role("button", name="Camera off").wait_for()
    await until(client, f"async () => (await ({SENDING})()).every((s) => s.video && s.video.live)",
                log, "video sent again")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video back on the clinician's page")

    # Leaving turns everything off; no empty device panel or dead buttons are left behind.
    await client.get_by_role("button", name="Leave").click()
    await see(client, "You've left the session.", log)
    assert await client.locator("[data-devices]").is_hidden()
    assert await client.locator("[data-call-controls]").is_hidden()
    assert not log.problems(), str(log)


async def selected(select: Any) -> str:
    text = await select.evaluate("(s) => s.selectedOptions[0]?.textContent ?? ''")
    return str(text)


async def tool_mute(h: Harness, muted: bool, participant: str = "client-1") -> None:
    """What a tool's ``ctx.mute`` delivers: the ``mute`` event to that person's socket."""
    room = await Rooms(h.store).get(ROOM)
    assert room is not None and room.members[participant].sid
    await h.app[REALTIME].sio.emit("mute", {"muted": muted}, to=room.members[participant].sid)


async def test_plain_words_when_the_camera_is_refused(alongside: Harness, browser: Browser) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    context = await browser.new_context(viewport=PHONE)  # no permission granted: then refused
    await context.add_init_script("""
        navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    """)
    page = await open_room(context, alongside, alongside.token("client", name="Sam", room=ROOM),
                           log, "client")
    await see(page, "Your browser isn't letting this page use your camera and microphone.", log)
    await page.get_by_role("button", name="Try again").wait_for()
    await screenshot(page, "9-camera-refused")
    # Joining still works: they see and hear the others.
    await join(page)
    await see(page, "You're in the waiting room.", log)


# --- the clinician's console ----------------------------------------------------------------------

async def test_console_shows_todays_sessions_attendance_and_checkin_trends(
        alongside: Harness, api: Api, browser: Browser) -> None:
    await api.setup_program()
    # An earlier couples session with a stay and two check-ins, as the store keeps them.
    now = time.time()
    rooms = Rooms(alongside.store)
    earlier = await rooms.get("p-c1")
    assert earlier is not None
    earlier.attendance = {"cl-1": [{"role": "client", "in": now - 3600, "out": now - 3600 + 50 * 60}]}
    earlier.records = [
        {"tool": "checkin", "at": now - 3500, "state": {"phase": "start", "answers": {
            "cl-1": {"mood": 2, "readiness": 3, "at": now - 3500, "name": "Sam", "role": "client"}}}},
        {"tool": "checkin", "at": now - 700, "state": {"phase": "end", "answers": {
            "cl-1": {"mood": 4, "readiness": 4, "at": now - 700, "name": "Sam", "role": "client"}}}},
    ]
    await rooms.put(earlier, AuditEntry(actor="test", role="system", action="seed", room="p-c1",
                                        program=PROGRAM))
    log = PageLog()
    clinician = await open_room(
        await person(browser, alongside.url), alongside,
        alongside.token("clinician", sub="dr-1", name="Dr. Rivera", program=PROGRAM, room="p-ind"),
        log, "clinician")
    await join(clinician)
    console = clinician.locator("[data-console]")
    await see(console, "Today's sessions", log)
    sessions = console.locator(".session-list li")
    await sessions.first.wait_for()
    assert await sessions.count() == 3
    await see(sessions.filter(has_text="p-ind"), "(this session)", log)
    await see(sessions.filter(has_text="p-c1"), "Couples session · No set time", log)
    await see(sessions.filter(has_text="p-c1"), "Open", log)

    client = await open_room(
        await person(browser, alongside.url), alongside,
        alongside.token("client", sub="cl-1", name="Sam", program=PROGRAM, room="p-ind"),
        log, "client")
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video")

    per_session = console.get_by_role("table", name="Time in each session")
    await per_session.wait_for()
    row = per_session.get_by_role("row").filter(has_text="p-c1")
    await see(row, "Sam (client)", log)
    await see(row, "50 min", log)
    # The session under way appears (after a refresh that follows the room's changes).
    await see(per_session.get_by_role("row").filter(has_text="p-ind").filter(has_text="Sam"),
              "under a minute", log)
    weekly = console.get_by_role("table", name="Weekly totals")
    await see(weekly, re.compile(r"^Week of "), log)
    await see(weekly, "Sam (client)", log)

    trend = console.get_by_role("table", name="Sam (client)")
    await see(trend, "2 of 5 · Low", log)
    await see(trend, "4 of 5 · Good", log)
    await see(console, "Since the first check-in: mood higher, readiness higher.", log)
    assert await trend.get_by_role("columnheader").all_text_contents() == [
        "When", "Mood", "Readiness"]
    await screenshot(clinician, "10-clinician-console")

    # The console is the clinician's alone.
    assert await client.locator("[data-console]").is_hidden()
    assert not await client.get_by_text("Today's sessions").count()
    assert not log.problems(), str(log)


# --- embedded in another site -----------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A care platform</title></head>
<body><h1>Your session</h1>
<iframe src="{src}" allow="camera; microphone" title="Video session" width="380" height="800"></iframe>
</body></html>"""


async def host_site(port: int, pages: dict[str, str]) -> web.AppRunner:
    """A stand-in for the integrator's site on another loopback origin."""
    app = web.Application()
    for path, html in pages.items():
        async def serve(request: web.Request, html: str = html) -> web.Response:
            return web.Response(text=html, content_type="text/html")
        app.router.add_get(path, serve)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.2", port).start()
    return runner


async def test_room_embedded_in_an_iframe_from_an_allowed_origin_only(
        start_server: Any, browser: Browser) -> None:
    port = free_port()
    host = f"http://127.0.0.2:{port}"
    allowed = await start_server(frame_ancestors=(host,))
    refused = await start_server()
    for h in (allowed, refused):
        await h.create_room(ROOM, "individual")
    token = allowed.token("client", name="Sam", room=ROOM)
    runner = await host_site(port, {
        "/allowed": HOST_PAGE.format(src=f"{allowed.url}/room#{token}"),
        "/refused": HOST_PAGE.format(src=f"{refused.url}/room#{refused.token('client', room=ROOM)}"),
    })
    try:
        log = PageLog()
        clinician = await open_room(
            await person(browser, allowed.url), allowed,
            allowed.token("clinician", name="Dr. Rivera", room=ROOM), log, "clinician")
        await join(clinician)
        await see(clinician, "The session is open.", log)

        context = await person(browser, allowed.url)
        await context.grant_permissions(["camera", "microphone"], origin=host)
        page = await context.new_page()
        log.watch(page, "host")
        response = await page.goto(f"{host}/allowed")
        assert response is not None and response.ok
        frame = page.frame_locator("iframe")
        await frame.get_by_role("button", name="Join", exact=True).click()
        await see(frame, "You're in the waiting room.", log)
        inner = next(f for f in page.frames if f.url.startswith(allowed.url))
        assert await inner.evaluate("location.hash") == ""
        assert await inner.evaluate("localStorage.length") == 0
        await clinician.get_by_role("button", name="Admit Sam").click()
        await until(inner, REMOTE_VIDEO_PLAYING, log, "the clinician's video inside the frame")
        await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video from inside the frame")
        await screenshot(page, "11-embedded")

        # Without ALONGSIDE_FRAME_ANCESTORS, the browser refuses to show the page in the frame.
        other = await context.new_page()
        other_log = PageLog()
        other_log.watch(other, "host-refused")
        await other.goto(f"{host}/refused")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not other_log.csp_violations():
            await other.wait_for_timeout(100)
        assert any("frame-ancestors" in line for line in other_log.csp_violations()), str(other_log)
        assert await other.frame_locator("iframe").get_by_role("button", name="Join").count() == 0
        assert not [f for f in other.frames if f.url.startswith(refused.url)
                    and await f.evaluate("document.querySelector('[data-join]') !== null")]
        assert not log.csp_violations(), str(log)
    finally:
        await runner.cleanup()
