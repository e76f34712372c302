"""The partner's way in, in real Chromium against a real server: the invite page, the program
panel on the session page, and real WebRTC media between the pages.

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep phone-sized screenshots of the pages.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Locator, Page

from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api, secret_of

WAIT_MS = 15_000
# A remote video showing live frames (a closed link's stream has only ended tracks).
REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll("video:not([data-local])")]
    .some((v) => v.videoWidth > 0 && !v.paused && !v.ended && v.readyState >= 2
        && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"))"""
SAID = """() => [...document.querySelectorAll("[data-message], [data-detail], [data-banner]")]
    .map((e) => e.textContent).filter(Boolean).join(" / ")"""
JOIN_READY = """() => {
    const b = document.querySelector("[data-join]");
    return b && !b.hidden && !b.disabled;
}"""


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def until(page: Page, script: str, log: PageLog, what: str, ms: float = WAIT_MS) -> None:
    try:
        await page.wait_for_function(script, timeout=ms)
    except Exception as exc:
        said = await page.evaluate(SAID)
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s; the page says "
                             f"{said!r}\n{log}") from exc


async def shown(where: Page | Locator, text: str, log: PageLog, ms: float = WAIT_MS) -> None:
    try:
        await where.get_by_text(text).first.wait_for(timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def ready(where: Locator, log: PageLog, what: str, ms: float = WAIT_MS) -> Locator:
    try:
        await where.wait_for(timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s\n{log}") from exc
    return where


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def new_page(context: BrowserContext, log: PageLog, label: str) -> Page:
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    return page


async def session_page(h: Harness, browser: Browser, token: str, log: PageLog,
                       label: str) -> Page:
    page = await new_page(await person(browser, h.url), log, label)
    await page.goto(f"{h.url}/room#{token}")
    return page


def clinician_token(h: Harness, room: str) -> str:
    return h.token("clinician", sub="dr-1", name="Dr. Rivera", program=PROGRAM, room=room)


async def open_session(h: Harness, browser: Browser, room: str, log: PageLog) -> Page:
    """Dr. Rivera's page with the session open."""
    page = await session_page(h, browser, clinician_token(h, room), log, f"clinician-{room}")
    await join(page)
    await shown(page, "The session is open.", log)
    return page


async def test_invite_consent_trial_approval_and_a_later_session(
        alongside: Harness, api: Api, browser: Browser) -> None:
    started = time.monotonic()
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()

    # Dr. Rivera opens the couples session and makes an invite link from the panel.
    clinician = await open_session(alongside, browser, "p-c1", log)
    await clinician.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                              origin=alongside.url)
    panel = clinician.locator("[data-program]")
    await panel.get_by_label("Trial sessions this link opens").select_option("1")
    await panel.get_by_role("button", name="Create invite link").click()
    link = await ready(panel.get_by_label("Invite link"), log, "the invite link")
    url = await link.input_value()
    assert url.startswith(f"{alongside.url}/invite#"), url
    await panel.get_by_role("button", name="Copy link").click()
    await shown(panel, "Link copied.", log)
    assert await clinician.evaluate("navigator.clipboard.readText()") == url
    await shown(panel, "Send this link to the partner privately", log)
    await ready(panel.get_by_role("button", name="Revoke"), log, "the new link in the list")
    await screenshot(clinician, "partner-1-clinician-invite-link")

    # The partner opens the link, reads, and consents.
    partner = await new_page(await person(browser, alongside.url), log, "partner")
    await partner.goto(url)
    await shown(partner, "About couples sessions", log)
    await shown(partner, "Dr. Rivera", log)
    await shown(partner, "Taking part is voluntary. You can stop at any time", log)
    await partner.get_by_label("What should we call you?").fill("Alex")
    share = partner.get_by_label("Let Sam know my answer")
    assert not await share.is_checked()
    await partner.get_by_role("button", name="I consent").click()

    # The room page takes over: camera preview, Join, the waiting room, then the admission.
    await shown(partner, "Alex · Partner", log)
    await until(partner, "() => location.pathname === '/room' && location.hash === ''", log,
                "the token left the room page's URL")
    await join(partner)
    await shown(partner, "You're in the waiting room.", log)
    await clinician.get_by_role("button", name="Admit Alex").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Alex's video on the clinician's page")
    await until(partner, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Alex's page")

    # During the first trial session: a self check-in, and no asking to continue yet.
    mine = partner.locator("[data-program]")
    await mine.get_by_label("How ready do you feel?").select_option("4")
    await mine.get_by_role("button", name="Send").click()
    await shown(mine, "Thank you. Only the clinician sees this.", log)
    assert await mine.get_by_role("button", name="I'd like to continue").count() == 0

    # After it (Alex leaves and knocks again): asking to continue is offered.
    await partner.get_by_role("button", name="Leave").click()
    await shown(partner, "You've left the session.", log)
    await join(partner)
    await shown(partner, "You're in the waiting room.", log)
    await mine.get_by_role("button", name="I'd like to continue").click()
    await shown(mine, "You've asked to keep joining couples sessions.", log)
    await screenshot(partner, "partner-2-partner-asked")

    # The request reaches the clinician's approval queue (live, from the `program` event).
    approve = await ready(panel.get_by_role("button", name="Approve…"), log, "the request")
    await shown(panel, "Last check-in: 4 of 5", log)
    await approve.click()
    await shown(panel, "Please write a short note first.", log)
    await panel.get_by_label("Note").fill("The trial went well; both want to continue.")
    await screenshot(clinician, "partner-3-clinician-approval")
    await approve.click()
    await shown(panel, "Approved, with your note.", log)

    # The partner is offered the other couples session and goes there.
    go = await ready(mine.get_by_role("button", name="Join p-c2"), log, "Join p-c2 offered")
    clinician2 = await open_session(alongside, browser, "p-c2", log)
    await go.click()
    await until(partner, JOIN_READY, log, "the room page for p-c2")
    assert await partner.evaluate("location.hash") == ""
    await join(partner)
    await shown(partner, "You're in the waiting room.", log)
    await clinician2.get_by_role("button", name="Admit Alex").click()
    await until(clinician2, REMOTE_VIDEO_PLAYING, log, "Alex's video in p-c2")
    await until(partner, REMOTE_VIDEO_PLAYING, log, "the clinician's video in p-c2 for Alex")
    await shown(clinician2.locator("[data-program]"), "Taking part in couples sessions.", log)

    # Every step is in the audit log, content-free.
    text = await api.call("GET", f"/api/audit?program={PROGRAM}", t["clinician"], expect=200)
    rows = [json.loads(line) for line in text.splitlines()]
    done = {r["action"] for r in rows if r["outcome"] == "ok"}
    for action in ("partner-agree", "create-invite", "invite-consent", "checkin", "admit",
                   "partner-request", "partner-approve"):
        assert action in done, (action, sorted(done))
    assert secret_of(url) not in text and "went well" not in text
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)
    assert time.monotonic() - started < 50


async def test_decline_leaves_the_lobby_empty_and_the_client_session_goes_on(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    log = PageLog()

    # Sam's individual session is under way; Sam agrees, from the panel, to invite their partner.
    individual = await open_session(alongside, browser, "p-ind", log)
    client = await session_page(
        alongside, browser,
        alongside.token("client", sub="cl-1", name="Sam", program=PROGRAM, room="p-ind"),
        log, "client")
    await join(client)
    await individual.get_by_role("button", name="Admit Sam").click()
    await until(individual, REMOTE_VIDEO_PLAYING, log, "Sam's video")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    sams = client.locator("[data-program]")
    await sams.get_by_role("button", name="Agree to invite my partner").click()
    await shown(sams, "You've agreed that your clinician may invite your partner.", log)
    await screenshot(client, "partner-4-client-panel")

    couples = await open_session(alongside, browser, "p-c1", log)
    url = (await api.invite(t["clinician"], room="p-c1"))["url"]

    partner = await new_page(await person(browser, alongside.url), log, "partner")
    await partner.goto(url)
    await shown(partner, "About couples sessions", log)
    await partner.get_by_role("button", name="Decline").click()
    await shown(partner, "Thank you for letting us know.", log)
    await shown(partner, "Other kinds of support", log)
    await shown(partner, "Family support groups", log)
    await shown(partner, "Ask the program's front desk for this week's schedule.", log)
    assert await partner.get_by_role("button", name="I consent").is_hidden()
    await screenshot(partner, "partner-5-declined")

    # No one knocks on the couples session; Sam learns nothing that wasn't shared.
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "declined"
    await shown(sams, "Nothing has been shared with you.", log)
    await shown(couples, "No one is waiting.", log)
    assert await couples.locator("[data-lobby-list] li").count() == 0
    # ... and the individual session goes on, video and all.
    await until(individual, REMOTE_VIDEO_PLAYING, log, "Sam's video after the decline")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video after the decline")
    assert await client.get_by_text("You're in the session.").is_visible()
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


async def test_invite_page_forgets_the_secret_and_stays_on_its_origin(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    context = await person(browser, alongside.url)
    page = await new_page(context, log, "invite")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    url = (await api.invite(t["clinician"], room="p-c1"))["url"]
    secret = secret_of(url)
    response = await page.goto(url)
    assert response is not None and response.ok
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    await shown(page, "About couples sessions", log)
    assert await page.evaluate("location.hash") == ""
    assert secret not in page.url and secret not in await page.evaluate("location.href")
    assert await page.evaluate("localStorage.length + sessionStorage.length") == 0
    await screenshot(page, "partner-0-invite")

    # Not now consumes nothing and asks nothing more.
    await page.get_by_role("button", name="Not now").click()
    await shown(page, "Nothing more is needed from you.", log)
    await shown(page, "Family support groups", log)
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "deferred" and view["invites"][0]["used"] == 0

    # A revoked link and a broken one are said so plainly, with the support options.
    invite = view["invites"][0]["id"]
    await api.call("DELETE", f"/api/programs/{PROGRAM}/invites/{invite}", t["clinician"],
                   expect=200)
    await page.goto("about:blank")  # a fresh load (a fragment alone would not reload)
    await page.goto(url)
    await shown(page, "This invitation link has been withdrawn", log)
    await shown(page, "Family support groups", log)
    assert await page.get_by_role("button", name="I consent").is_hidden()
    # Opened again in the same tab, a link changes only the fragment; the page reads it anyway.
    await page.goto(f"{alongside.url}/invite#{'x' * 43}")
    await shown(page, "This invitation link isn't working.", log)
    await shown(page, "Family support groups", log)
    await screenshot(page, "partner-6-broken-link")
    assert await page.evaluate("location.hash") == ""

    origin = alongside.url + "/"
    requests = [u for u in requests if u != "about:blank"]
    assert requests and all(u.startswith(origin) for u in requests), requests
    assert not any(secret in u for u in requests), "the secret went into a URL"
    assert not log.csp_violations(), str(log)
    assert not log.errors, str(log)
    assert re.search(r"HTTP 404 .*/api/invites/preview", str(log))  # the broken link only


async def test_partner_stops_taking_part_after_a_calm_confirmation(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    secret = secret_of((await api.invite(t["clinician"], room="p-c1"))["url"])
    token = (await api.respond(secret, "consent", expect=200, name="Alex"))["token"]
    log = PageLog()
    clinician = await open_session(alongside, browser, "p-c1", log)
    partner = await session_page(alongside, browser, token, log, "partner")
    await join(partner)
    await clinician.get_by_role("button", name="Admit Alex").click()
    await shown(partner, "You're in the session.", log)
    mine = partner.locator("[data-program]")

    # One calm line to confirm; going back changes nothing.
    await mine.get_by_role("button", name="Stop taking part").click()
    await shown(mine, "This ends your part in couples sessions now, including this one.", log)
    await mine.get_by_role("button", name="Cancel").click()
    await mine.get_by_role("button", name="Stop taking part").click()
    await screenshot(partner, "partner-7-stop-confirm")
    await mine.get_by_role("button", name="Yes, stop taking part").click()

    await shown(mine, "You've stopped taking part in couples sessions.", log)
    await until(partner, "() => document.querySelectorAll('video:not([data-local])').length === 0",
                log, "the partner out of the room")
    await shown(clinician, "The session is open.", log)
    await shown(clinician.locator("[data-program]"), "Withdrew their consent.", log)
    assert await mine.get_by_role("button", name="I'd like to continue").count() == 0
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "withdrawn"
    assert not log.csp_violations(), str(log)


BUTTON_STYLE = """(b) => { const s = getComputedStyle(b);
    return [s.backgroundColor, s.color, s.borderTopColor, s.borderTopWidth, s.fontWeight,
            s.fontSize, s.paddingTop, s.paddingLeft, s.boxShadow].join("|"); }"""


async def test_a_decline_stays_private_the_partner_can_ask_and_the_clinician_sees_it_live(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    clinician = await open_session(alongside, browser, "p-c1", log)
    panel = clinician.locator("[data-program]")
    # Two links: one sent earlier (over REST), one made here and still shown with Copy.
    first = (await api.invite(t["clinician"], room="p-c1"))["url"]
    await shown(panel, "Used 0 of 1.", log)
    await panel.get_by_role("button", name="Create invite link").click()
    await ready(panel.get_by_role("button", name="Copy link"), log, "the new link")
    gets: list[str] = []
    clinician.on("request", lambda r: gets.append(r.url) if r.method == "GET"
                 and f"/api/programs/{PROGRAM}" in r.url else None)

    # The three answers weigh the same: none is filled as the expected one.
    partner = await new_page(await person(browser, alongside.url), log, "partner")
    await partner.goto(first)
    await shown(partner, "About couples sessions", log)
    styles = {await partner.get_by_role("button", name=n, exact=True).evaluate(BUTTON_STYLE)
              for n in ("I consent", "Not now", "Decline")}
    assert len(styles) == 1, styles
    await shown(partner, "We won't send another invitation unless you ask.", log)
    assert await partner.get_by_text("for a while").count() == 0

    # Decline, unshared: the page says Sam was not told, and offers to ask again.
    await partner.get_by_role("button", name="Decline").click()
    await shown(partner, "Thank you for letting us know.", log)
    await shown(partner, "Sam hasn't been told what you chose.", log)
    # The clinician's list says what the link was answered, live (no reload, no polling).
    await shown(panel, "Declined.", log, ms=2000)
    await shown(panel.locator("[data-link-state=declined]"), "Declined", log, ms=2000)

    # A refused new invitation (the cool-down) leaves no earlier link to copy on screen.
    await panel.get_by_role("button", name="Create invite link").click()
    await shown(panel, "no new invitation until the cool-down ends", log)
    assert await panel.get_by_role("button", name="Copy link").count() == 0
    assert await panel.get_by_label("Invite link").count() == 0

    # The partner asks to hear again; the clinician's panel shows it within two seconds.
    await partner.get_by_role("button", name="Ask the clinician to get in touch").click()
    await shown(partner, "The clinician will see your request. Sam isn't told.", log)
    await shown(panel, "The partner asked to hear from you again", log, ms=2000)
    assert not [u for u in gets if u.endswith("/partner") or u.endswith("/approvals")], gets

    # The link opened again says what was answered and what is still possible.
    await partner.goto("about:blank")
    await partner.goto(first)
    await shown(partner, "You've opened this invitation before.", log)
    await shown(partner, "You declined on", log)
    await shown(partner, "If you change your mind, you can still say yes below.", log)
    await shown(partner, "You've asked the clinician to get in touch.", log)
    assert await partner.get_by_role("button", name="I consent").is_visible()

    # Sam's panel never moved.
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["client"], expect=200)
    assert view["shared"] is None
    await screenshot(partner, "partner-8-answered-link")
    assert not log.csp_violations(), str(log)


async def test_the_clinicians_panel_follows_a_consent_live_without_polling(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    clinician = await open_session(alongside, browser, "p-c1", log)
    panel = clinician.locator("[data-program]")
    secret = secret_of((await api.invite(t["clinician"], room="p-c1"))["url"])
    await shown(panel, "Invited. No answer yet.", log)
    gets: list[float] = []
    clinician.on("request", lambda r: gets.append(time.monotonic()) if r.method == "GET"
                 and r.url.endswith(f"/api/programs/{PROGRAM}/partner") else None)
    await clinician.wait_for_timeout(6000)  # longer than the old 5 s poll
    assert gets == [], "the panel polls"

    started = time.monotonic()
    await api.respond(secret, "consent", expect=200)
    await shown(panel, "Consented to trial sessions.", log, ms=2000)
    await shown(panel.locator("[data-link-state=consentedUsed]"), "Consented", log, ms=2000)
    assert time.monotonic() - started < 2
    assert gets == [], "the update came from a GET, not the event"
    assert not log.problems(), str(log)


async def test_a_spanish_invitation_reads_and_consents_in_spanish(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    url = (await api.invite(t["clinician"], room="p-c1", locale="es"))["url"]
    partner = await new_page(await person(browser, alongside.url), log, "partner")
    await partner.goto(url)  # an English browser: the invitation's language wins
    await shown(partner, "Sobre las sesiones de pareja", log)
    await shown(partner, "Le invitamos a una sesión de pareja.", log)
    assert await partner.evaluate("document.documentElement.lang") == "es"
    assert await partner.title() == "Una invitación · Alongside"
    styles = {await partner.get_by_role("button", name=n, exact=True).evaluate(BUTTON_STYLE)
              for n in ("Doy mi consentimiento", "Ahora no", "No acepto")}
    assert len(styles) == 1, styles
    # No English left among the page's words (the catalogue's English, checked word for word).
    text = await partner.evaluate("document.body.innerText")
    english = json.loads((Path(__file__).parent.parent / "web/locales/en/invite.json")
                         .read_text("utf-8"))
    for key in ("invite.consent", "invite.notNow", "invite.decline", "invite.answer.title",
                "invite.info.voluntary", "invite.support.title", "invite.answer.nameLabel"):
        assert english[key] not in text, key
    assert "About couples sessions" not in text and "Family support" not in text

    await partner.get_by_label("¿Cómo quiere que le llamemos?").fill("Alex")
    await partner.get_by_role("button", name="Doy mi consentimiento").click()
    await until(partner, "() => location.pathname === '/room'", log, "the room page")
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "consented" and view["consentVersion"] == "couples-info-v1-es"

    # ?lang=en wins over the invitation's language.
    other = (await api.invite(t["clinician"], room="p-c1", locale="es"))["url"]
    page = await new_page(await person(browser, alongside.url), log, "partner-en")
    await page.goto(other.replace("/invite#", "/invite?lang=en#"))
    await shown(page, "About couples sessions", log)
    assert await page.evaluate("location.search") == "?lang=en"
    assert await page.evaluate("location.hash") == ""
    assert not log.csp_violations(), str(log)


async def end_session(page: Page) -> None:
    """The clinician ends the session (confirming, if the page asks)."""
    await page.locator("[data-end]").click()
    dialog = page.get_by_role("dialog")
    try:
        await dialog.wait_for(timeout=1500)
    except Exception:
        return  # ended on one click
    await dialog.get_by_role("button", name=re.compile("end", re.I)).last.click()


async def test_asking_to_continue_is_offered_after_the_first_trial_session_not_during_it(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t, secret, token = await api.consented_partner()
    log = PageLog()
    clinician = await open_session(alongside, browser, "p-c1", log)
    partner = await session_page(alongside, browser, token, log, "partner")
    mine = partner.locator("[data-program]")
    await join(partner)
    # Before the first trial session (waiting for it): nothing to ask yet.
    await shown(mine, "You've said yes to trying couples sessions.", log)
    assert await mine.get_by_role("button", name="I'd like to continue").count() == 0
    await clinician.get_by_role("button", name="Admit Partner").click()
    await shown(partner, "You're in the session.", log)
    await shown(clinician.locator("[data-program]"), "Trial sessions attended", log)
    await partner.wait_for_timeout(1000)  # the admission's program event has arrived
    # During it: still nothing.
    assert await mine.get_by_role("button", name="I'd like to continue").count() == 0
    # After it ends: offered, with no hurry.
    await end_session(clinician)
    await shown(partner, "This session has ended.", log)
    ask = await ready(mine.get_by_role("button", name="I'd like to continue"), log,
                      "asking to continue after the session")
    await shown(mine, "There's no need to decide now.", log)
    await ask.click()
    await shown(mine, "You've asked to keep joining couples sessions.", log)
    view = await api.call("GET", f"/api/programs/{PROGRAM}/partner", t["clinician"], expect=200)
    assert view["state"] == "requested" and view["trialsAttended"] == 1


AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


async def serious_axe_violations(page: Page) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("""async () => (await axe.run(document,
        {resultTypes: ["violations"]})).violations.map((v) => `${v.impact}: ${v.id}: ` +
        v.nodes.map((n) => n.target.join(" ")).join(", "))""")
    return [v for v in found if v.startswith(("serious", "critical"))]


async def test_the_spanish_invite_page_has_no_serious_accessibility_problem(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    url = (await api.invite(t["clinician"], room="p-c1", locale="es"))["url"]
    context = await browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = await new_page(context, log, "partner-es")
    await page.goto(url)
    await shown(page, "Sobre las sesiones de pareja", log)
    assert await serious_axe_violations(page) == []
    await page.get_by_role("button", name="No acepto").click()
    await shown(page, "Gracias por avisarnos.", log)
    await shown(page, "No le dijimos a Sam lo que usted eligió.", log)
    await ready(page.get_by_role("button", name="Pedir que el equipo clínico me contacte"), log,
                "asking again, in Spanish")
    await screenshot(page, "partner-9-declined-es")
    assert await serious_axe_violations(page) == []


async def test_the_program_panels_speak_the_browsers_spanish(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    log = PageLog()
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="es-US")
    await context.grant_permissions(["camera", "microphone"], origin=alongside.url)
    clinician = await new_page(context, log, "clinician-es")
    await clinician.goto(f"{alongside.url}/room#{clinician_token(alongside, 'p-c1')}")
    # The page's own buttons speak Spanish too (web/locales/es/layout.json): Join is "Entrar".
    await clinician.get_by_role("button", name="Entrar", exact=True).click()
    panel = clinician.locator("[data-program]")
    await shown(panel, "Pareja y sesiones de pareja", log)
    await shown(panel, "Todavía sin invitar.", log)
    await shown(panel, "Todavía no", log)  # the client hasn't agreed to an invitation yet
    await api.step(t["client"], "agree")
    await panel.get_by_role("button", name="Crear enlace de invitación").click()
    await ready(panel.get_by_role("button", name="Copiar enlace"), log, "the link, in Spanish")
    await shown(panel, "Usado 0 de 1.", log)
    text = await panel.inner_text()
    english = json.loads((Path(__file__).parent.parent / "web/locales/en/program.json")
                         .read_text("utf-8"))
    left = [m for k, m in english.items() if k.startswith("program.clinician.")
            and isinstance(m, str) and "{" not in m and len(m) > 8 and m in text]
    assert not left, left
    assert "program." not in text  # no key shown bare
