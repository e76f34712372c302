"""In-session tools in real Chromium against a real server, with real WebRTC media: an exercise
with private answers released together, a conflict time-out with side rooms (and a private
check-in), and a role-play whose coaching cues reach the clinician only.

What a partner may not see is checked twice: in the page and in every websocket frame the
partner's browser received.

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep phone-sized (390×844) screenshots of the pages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, WebSocket

from plugins.checkin import CheckIn
from plugins.timeout import PROMPTS
from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness

WAIT_MS = 15_000
PEER_PLAYING = """(id) => {
    const v = document.querySelector(`figure[data-peer="${id}"] video`);
    return Boolean(v && v.videoWidth > 0 && !v.paused && v.readyState >= 2 && v.srcObject
        && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"));
}"""
PEER_GONE = """(id) => {
    const v = document.querySelector(`figure[data-peer="${id}"] video`);
    return !v || !v.srcObject || v.srcObject.getVideoTracks().every((t) => t.readyState !== "live");
}"""
PAGE_TEXT = """() => document.body.innerText + "\\n" + document.documentElement.outerHTML + "\\n"
    + [...document.querySelectorAll("input, textarea")].map((e) => e.value).join("\\n")"""

# Sam's private I-statement, and Alex's: distinctive words, to look for in what Alex received.
SAM = {"feel": "uneasy-sam-4821", "when": "plans change at the last minute",
       "need": "a text when you are running late"}
ALEX = {"feel": "tired-alex-7390", "when": "the evenings are all about logistics",
        "need": "one quiet evening a week together"}
SAM_SAYS = f"I feel {SAM['feel']} when {SAM['when']}. I need {SAM['need']}."
ALEX_SAYS = f"I feel {ALEX['feel']} when {ALEX['when']}. I need {ALEX['need']}."
GUIDE = "Watch for judgments dressed as feelings"


class Frames:
    """Every websocket frame a page received, as text."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        page.on("websocket", self._socket)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.seen.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    def contain(self, text: str) -> bool:
        return any(text in frame for frame in self.seen)


async def until(page: Page, script: str, log: PageLog, what: str, arg: object = None,
                ms: float = WAIT_MS) -> None:
    try:
        await page.wait_for_function(script, arg=arg, timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s\n{log}") from exc


async def shown(where: Page | Locator, text: str, log: PageLog, ms: float = WAIT_MS) -> None:
    try:
        await where.get_by_text(text).first.wait_for(timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def screenshot(page: Page, name: str, at: str = "[data-tools]") -> None:
    """The phone's screen (390×844) scrolled to ``at``, and the whole page."""
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.evaluate("(at) => document.querySelector(at)?.scrollIntoView()", at)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"))
        await page.screenshot(path=str(Path(folder) / f"{name}-full.png"), full_page=True)
        await page.locator(at).screenshot(path=str(Path(folder) / f"{name}-section.png"))
        await page.evaluate("() => window.scrollTo(0, 0)")


async def room_page(h: Harness, browser: Browser, token: str, log: PageLog,
                    label: str) -> tuple[Page, Frames]:
    page = await (await person(browser, h.url)).new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    frames = Frames(page)  # before the page opens its socket
    await page.goto(f"{h.url}/room#{token}")
    return page, frames


async def clinician_opens(h: Harness, browser: Browser, room: str,
                          log: PageLog) -> Page:
    page, _ = await room_page(h, browser, h.token("clinician", name="Dr. Rivera", room=room),
                              log, "clinician")
    await join(page)
    await shown(page, "The session is open.", log)
    return page


async def let_in(h: Harness, browser: Browser, clinician: Page, role: str, name: str,
                 room: str, log: PageLog) -> tuple[Page, Frames]:
    page, frames = await room_page(h, browser, h.token(role, name=name, room=room), log, role)
    await join(page)
    await clinician.get_by_role("button", name=f"Admit {name}").click()
    await shown(page, "You're in the session.", log)
    return page, frames


async def couples_session(h: Harness, browser: Browser,
                          log: PageLog) -> tuple[Page, Page, Page, Frames]:
    """Dr. Rivera, Sam (client) and Alex (partner) in the couples room."""
    clinician = await clinician_opens(h, browser, "room-couples", log)
    client, _ = await let_in(h, browser, clinician, "client", "Sam", "room-couples", log)
    partner, partner_frames = await let_in(h, browser, clinician, "partner", "Alex",
                                           "room-couples", log)
    return clinician, client, partner, partner_frames


async def page_text(page: Page) -> str:
    return str(await page.evaluate(PAGE_TEXT))


async def test_exercise_private_answers_are_revealed_together(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, partner, partner_frames = await couples_session(alongside, browser, log)

    # Dr. Rivera starts the I-statement builder; its first step is the private one.
    launcher = clinician.locator("[data-tools]")
    await launcher.get_by_label("Exercise").select_option("i-statements")
    await launcher.get_by_role("button", name="Start Exercises").click()
    on_clinician = clinician.locator('[data-tool="exercises"]')
    on_client = client.locator('[data-tool="exercises"]')
    on_partner = partner.locator('[data-tool="exercises"]')
    await shown(on_clinician, "Step 1 of 2", log)
    await shown(on_clinician, "Only you see this", log)
    await shown(on_clinician, GUIDE, log)
    await shown(on_client, "Each of you answers privately.", log)
    await shown(on_partner, "sees it only after you have both answered", log)

    # Sam answers privately.
    await on_client.get_by_label("I feel ...").fill(SAM["feel"])
    await on_client.get_by_label("when ...").fill(SAM["when"])
    await on_client.get_by_label("I need ...").fill(SAM["need"])
    await on_client.get_by_role("button", name="Submit privately").click()
    await shown(on_client, "Your answer is in", log)
    await shown(on_clinician, SAM_SAYS, log)  # the clinician sees answers as they arrive

    # Alex learns only that Sam is done: nothing of the answer, in the page or on the wire.
    await shown(on_partner, "Sam is done with this step.", log)
    text = await page_text(partner)
    assert SAM["feel"] not in text and SAM["when"] not in text and GUIDE not in text
    assert not partner_frames.contain(SAM["feel"]) and not partner_frames.contain(SAM["need"])
    assert not partner_frames.contain(GUIDE)
    assert partner_frames.seen, "the partner's frames were not captured"

    # Alex answers; still nothing of Sam's before the release.
    await on_partner.get_by_label("I feel ...").fill(ALEX["feel"])
    await on_partner.get_by_label("when ...").fill(ALEX["when"])
    await on_partner.get_by_label("I need ...").fill(ALEX["need"])
    await on_partner.get_by_role("button", name="Submit privately").click()
    await shown(on_partner, "Your answer is in", log)
    await shown(on_clinician, ALEX_SAYS, log)
    await screenshot(clinician, "tools-1-clinician-exercise")
    await screenshot(partner, "tools-2-partner-exercise")
    assert SAM["feel"] not in await page_text(partner)
    assert not partner_frames.contain(SAM["feel"])
    assert ALEX["feel"] not in await page_text(client)

    # The release: each now sees the other's answer.
    await on_clinician.get_by_role("button", name="Release answers").click()
    await shown(on_partner, SAM_SAYS, log)
    await shown(on_client, ALEX_SAYS, log)
    await shown(on_partner, "Your answers, shared", log)
    await screenshot(partner, "tools-3-partner-released")
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


async def test_time_out_separates_the_partners_and_brings_them_back(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, partner, _ = await couples_session(alongside, browser, log)
    await until(client, PEER_PLAYING, log, "Alex's video on Sam's page", "partner-1")
    await until(partner, PEER_PLAYING, log, "Sam's video on Alex's page", "client-1")

    # Alex calls a time-out: each partner alone with a countdown and a calming prompt.
    await partner.locator("[data-tools]").get_by_role("button", name="Time-out",
                                                      exact=True).click()
    for page in (client, partner):
        panel = page.locator('[data-tool="timeout"]')
        await shown(panel, "left in this time-out", log)
        await shown(panel, PROMPTS[0], log)
        await shown(panel, "You're in a quiet room of your own.", log)
    await until(client, PEER_GONE, log, "Alex's video gone from Sam's page", "partner-1")
    await until(partner, PEER_GONE, log, "Sam's video gone from Alex's page", "client-1")
    for page in (client, partner):  # one time-out at a time
        assert await page.get_by_role("button", name="Time-out", exact=True).is_disabled()
    await screenshot(partner, "tools-4-partner-time-out")

    # Dr. Rivera visits Sam's side room, then comes back to the main room.
    on_clinician = clinician.locator('[data-tool="timeout"]')
    await on_clinician.get_by_role("button", name="Go to Sam's side room").click()
    await until(clinician, PEER_PLAYING, log, "Sam's video in the side room", "client-1")
    await shown(client.locator('[data-tool="timeout"]'), "Your clinician is here with you.", log)
    assert await partner.evaluate(PEER_GONE, "client-1")
    await on_clinician.get_by_role("button", name="Back to the main room").click()
    await screenshot(clinician, "tools-5-clinician-time-out")

    # The clinician ends it: both come back and see each other again.
    await on_clinician.get_by_role("button", name="End time-out").click()
    for page in (client, partner):
        await shown(page.locator('[data-tool="timeout"]'), "The time-out is over.", log)
    await until(client, PEER_PLAYING, log, "Alex's video back on Sam's page", "partner-1")
    await until(partner, PEER_PLAYING, log, "Sam's video back on Alex's page", "client-1")

    # A private check-in with Sam: Alex is told only where the clinician is.
    await on_clinician.get_by_role("button", name="Private check-in with Sam").click()
    await shown(partner.locator('[data-tool="timeout"]'), "The clinician is with Sam.", log)
    await shown(client.locator('[data-tool="timeout"]'), "Your clinician is with you", log)
    await on_clinician.get_by_role("button", name="End check-in").click()
    await shown(partner.locator('[data-tool="timeout"]'), "The time-out is over.", log)

    # Another time-out, called by Sam this time (the tool is still running: it is `call`ed).
    await client.get_by_role("button", name="Time-out", exact=True).click()
    await shown(partner.locator('[data-tool="timeout"]'), "left in this time-out", log)
    await on_clinician.get_by_role("button", name="End time-out").click()
    await shown(client.locator('[data-tool="timeout"]'), "The time-out is over.", log)
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


async def test_role_play_cues_reach_the_clinician_only(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    room = "room-individual"
    clinician = await clinician_opens(alongside, browser, room, log)
    client, client_frames = await let_in(alongside, browser, clinician, "client", "Sam", room,
                                         log)

    tools = clinician.locator("[data-tools]")
    await tools.get_by_role("button", name="Start Role-play").click()
    on_clinician = clinician.locator('[data-tool="roleplay"]')
    on_client = client.locator('[data-tool="roleplay"]')
    await shown(on_client, "Your clinician is choosing a role-play.", log)
    await on_clinician.get_by_label("Scenario").select_option("asking-for-space")
    await on_clinician.get_by_role("button", name="Play this scenario").click()

    # The clinician plays the partner and opens; Sam sees the prompt, never the cue.
    first_prompt = "Press the point about money; you want an answer now."
    first_cue = "Press firmly enough that the client feels some pressure"
    await shown(on_client, first_prompt, log)
    await shown(on_client, "You are practising.", log)
    await shown(on_clinician, "Only you see this", log)
    await shown(on_clinician, first_cue, log)
    assert first_cue not in await page_text(client)
    assert not client_frames.contain(first_cue)

    # Sam's turn: suggested words for Sam, and Sam moves on when done.
    await on_clinician.get_by_role("button", name="Next turn").click()
    await shown(on_client, "Your turn", log)
    await shown(on_client, "I can feel myself getting overwhelmed", log)
    second_cue = "The three parts to listen for"
    await shown(on_clinician, second_cue, log)
    await screenshot(client, "tools-6-client-role-play")
    await screenshot(clinician, "tools-7-clinician-role-play")
    await on_client.get_by_role("button", name="Next turn").click()
    await shown(on_client, "Push back: it feels like they are avoiding", log)
    text = await page_text(client)
    assert first_cue not in text and second_cue not in text and "Only you see this" not in text
    assert not client_frames.contain(second_cue)

    # The last turns, then Sam's reflection, which the clinician reads.
    for _ in range(3):
        await on_clinician.get_by_role("button", name="Next turn").click()
    await shown(on_client, "All the turns are done. Time to reflect.", log)
    await on_client.get_by_label("What signals in your body told you").fill(
        "My jaw got tight; I could ask sooner.")
    await on_client.get_by_role("button", name="Save reflection").click()
    await shown(on_client, "Saved with the session record.", log)
    await shown(on_clinician, "My jaw got tight; I could ask sooner.", log)
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


async def test_check_in_and_a_speaker_listener_round(alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, partner, partner_frames = await couples_session(alongside, browser, log)

    # A check-in: Sam's answers reach the clinician only.
    await clinician.locator("[data-tools]").get_by_role("button", name="Start Check-in").click()
    on_client = client.locator('[data-tool="checkin"]')
    await shown(on_client, "Only your clinician sees your answers.", log)
    await on_client.get_by_role("group", name="How is your mood right now?").get_by_label(
        "2 · Low").check()
    await on_client.get_by_role("group", name="How ready do you feel for today's session?"
                                ).get_by_label("4 · Mostly").check()
    await on_client.get_by_role("button", name="Send").click()
    on_clinician = clinician.locator('[data-tool="checkin"]')
    await shown(on_clinician, "mood 2 · Low; readiness 4 · Mostly", log)
    await shown(on_clinician, "Waiting for Alex.", log)
    await shown(on_client, "Sent.", log)
    seen_by_partner = await page_text(partner)
    assert "mood 2" not in seen_by_partner and "Sent." not in seen_by_partner
    # What only the clinician's view carries (everyone's answers, who is still to answer).
    assert not partner_frames.contain('"changes"') and not partner_frames.contain('"waiting"')
    await screenshot(client, "tools-10-client-check-in")
    await on_clinician.get_by_role("button", name="Finish and save").click()
    await on_client.wait_for(state="detached")

    # Speaker-listener: the clinician writes down the topic; Sam holds the floor; Alex is muted,
    # paraphrases, Sam confirms, and they swap.
    tools = clinician.locator("[data-tools]")
    await tools.get_by_label("Exercise").select_option("speaker-listener")
    await tools.get_by_role("button", name="Start Exercises").click()
    on_clinician = clinician.locator('[data-tool="exercises"]')
    on_client = client.locator('[data-tool="exercises"]')
    on_partner = partner.locator('[data-tool="exercises"]')
    await on_clinician.get_by_label("Today's topic").fill("Weekend plans")
    await on_clinician.get_by_role("button", name="Share my answer").click()
    await shown(on_partner, "Weekend plans", log)
    await on_clinician.get_by_role("button", name="Next step").click()
    await shown(on_client, "You have the floor.", log)
    await shown(on_partner, "Your microphone is muted while Sam has the floor.", log)
    await shown(partner, "Your microphone has been muted for this part of the session.", log)
    await on_partner.get_by_label("What I heard you say").fill("You'd like one free Saturday.")
    await on_partner.get_by_role("button", name="Paraphrase").click()
    await shown(on_client, "You'd like one free Saturday.", log)
    await screenshot(partner, "tools-8-partner-floor")
    await on_client.get_by_role("button", name="Confirm").click()
    await on_client.get_by_role("button", name="Swap: Alex speaks next").click()
    await shown(on_partner, "You have the floor.", log)
    await shown(on_client, "Your microphone is muted while Alex has the floor.", log)
    await shown(partner, "Your microphone is on again.", log)
    await screenshot(clinician, "tools-9-clinician-floor")
    await on_clinician.get_by_role("button", name="Stop exercise").click()
    await on_partner.wait_for(state="detached")
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


async def test_a_failing_tool_is_reported_and_the_session_goes_on(
        alongside: Harness, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("a bug in the check-in")

    monkeypatch.setattr(CheckIn, "act", broken)
    log = PageLog()
    room = "room-individual"
    clinician = await clinician_opens(alongside, browser, room, log)
    client, _ = await let_in(alongside, browser, clinician, "client", "Sam", room, log)
    await clinician.locator("[data-tools]").get_by_role("button", name="Start Check-in").click()
    on_client = client.locator('[data-tool="checkin"]')
    await on_client.get_by_label("3 · Okay").first.check()
    await on_client.get_by_label("3 · Somewhat").check()
    await on_client.get_by_role("button", name="Send").click()

    # The clinician is told, with the code; for Sam the check-in simply goes away.
    on_clinician = clinician.locator('[data-tool="checkin"]')
    await shown(on_clinician, "This tool stopped working; the session goes on.", log)
    await shown(on_clinician, "E_TOOL_FAILED", log)
    await on_client.wait_for(state="detached")
    await until(client, PEER_PLAYING, log, "the clinician's video on Sam's page", "clinician-1")
    await on_clinician.get_by_role("button", name="Hide this note").click()
    await on_clinician.wait_for(state="detached")
    await clinician.locator("[data-tools]").get_by_role("button", name="Start Check-in").wait_for()
    assert not log.csp_violations(), str(log)
