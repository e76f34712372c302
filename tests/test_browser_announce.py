"""Announcements, truthful headings and the microphone note, in real Chromium pages.

The clinician's page hears a knock, an admission, a drop and a return in its polite live region,
shows the waiting count in the tab title and plays a soft sound it can turn off; the others hear
only what their own snapshot shows (never a name from the lobby). During a time-out the
clinician's heading says who is where instead of "the session is open". A tool's unmuting says
"Your microphone is on again." only to someone it had muted.

The other people are real socket.io clients (``tests/peers.py``): their pages are not under test
here, and the browser's links to them simply stay unanswered.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.browser import PageLog, browser_fixture, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.peers import Peer
from tests.test_presence import network_drop, rejoin

WEB = Path(__file__).resolve().parent.parent / "web"
ROOM = "room-couples"
WAIT_MS = 10_000

# Every text the live region was given, and every tone the page started (a wrapper around the
# browser's own OscillatorNode.start, counting; the sound itself still plays).
WATCH = """
window.__announced = [];
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args); };
document.addEventListener("DOMContentLoaded", () => {
  const region = document.querySelector("[data-announce]");
  new MutationObserver(() => {
    const text = region.textContent.trim();
    if (text) window.__announced.push(text);
  }).observe(region, { childList: true, characterData: true, subtree: true });
});
"""
# Null-safe: the local preview gets its stream a moment after the page draws (under load, after
# the first check), and a predicate that throws fails wait_for_function instead of waiting.
MIC_ON = ("() => !!document.querySelector('video[data-local]')?.srcObject"
          " && document.querySelector('video[data-local]').srcObject"
          ".getAudioTracks().every((t) => t.enabled)")


async def open_room(alongside: Harness, browser: Browser, log: PageLog, label: str, token: str,
                    lang: str = "") -> Page:
    context = await person(browser, alongside.url)
    await context.add_init_script(WATCH)
    page = await context.new_page()
    log.watch(page, label)
    await page.goto(f"{alongside.url}/room{'?lang=' + lang if lang else ''}#{token}")
    return page


async def join(page: Page) -> None:
    # By its data attribute: the button's words depend on the language.
    await page.locator("[data-join]").click()


async def announced(page: Page, text: str | re.Pattern[str], log: PageLog) -> None:
    """Waits until the live region says ``text`` (its current words, as a screen reader reads)."""
    region = page.locator("[data-announce]")
    try:
        await region.filter(has_text=text).wait_for(state="attached", timeout=WAIT_MS)
    except Exception as exc:
        said = await page.evaluate("window.__announced")
        raise AssertionError(f"{text!r} not announced; said {said}\n{log}") from exc


async def titled(page: Page, pattern: str, log: PageLog) -> None:
    try:
        await page.wait_for_function("(p) => new RegExp(p).test(document.title)", arg=pattern,
                                     timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"title {await page.title()!r} !~ {pattern}\n{log}") from exc


async def knock(alongside: Harness, role: str, name: str) -> Peer:
    return await alongside.peer(role, name=name, room=ROOM)


async def test_the_clinician_hears_a_knock_an_admission_a_drop_and_a_return(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician = await open_room(alongside, browser, log, "clinician",
                                alongside.token("clinician", name="Dr. Rivera", room=ROOM))
    await join(clinician)
    await clinician.get_by_text("The session is open.").wait_for(timeout=WAIT_MS)
    assert await clinician.title() == "Session · Alongside"
    sound = clinician.get_by_role("checkbox", name="Sound when someone knocks")
    assert await sound.is_checked()  # on until the clinician turns it off

    sam = await knock(alongside, "client", "Sam")
    await announced(clinician, "Sam is waiting in the waiting room.", log)
    await titled(clinician, r"^\(1\) waiting · Session · Alongside$", log)
    assert await clinician.evaluate("window.__tones") == 1  # one soft chime

    # Turned off, and remembered as a boolean only.
    await sound.uncheck()
    assert await clinician.evaluate("localStorage.getItem('alongside.knockSound')") == "false"
    await knock(alongside, "partner", "Alex")
    await announced(clinician, "Alex is waiting in the waiting room.", log)
    await titled(clinician, r"^\(2\) waiting · ", log)
    assert await clinician.evaluate("window.__tones") == 1

    await clinician.get_by_role("button", name="Admit Sam").click()
    await announced(clinician, "Sam is in the session now.", log)
    await titled(clinician, r"^\(1\) waiting · ", log)

    await network_drop(sam)
    await announced(clinician, re.compile(r"^Sam's connection dropped\."), log)
    await rejoin(alongside, "client", name="Sam", room=ROOM)
    await announced(clinician, "Sam is back.", log)

    # After a reload the choice holds, and whoever is still waiting is announced at once.
    await clinician.reload()
    await join(clinician)
    await announced(clinician, "Alex is waiting in the waiting room.", log)
    assert not await sound.is_checked()
    await titled(clinician, r"^\(1\) waiting · ", log)
    assert await clinician.evaluate("window.__tones") == 0  # a new page, and the sound is off
    assert not log.errors, str(log)


async def test_the_others_hear_arrivals_but_never_a_knock(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    doctor = await alongside.peer("clinician", name="Dr. Rivera", room=ROOM)
    client = await open_room(alongside, browser, log, "client",
                             alongside.token("client", name="Sam", room=ROOM))
    await join(client)
    await doctor.wait_for("room", lambda r: any(p["id"] == "client-1" for p in r.get("lobby", [])))
    assert (await doctor.call("admit", {"participant": "client-1"}))["ok"]
    await client.get_by_text("You're in the session.").wait_for(timeout=WAIT_MS)

    partner = await knock(alongside, "partner", "Alex")
    await doctor.wait_for("room", lambda r: any(p["id"] == "partner-1" for p in r.get("lobby", [])))
    assert (await doctor.call("admit", {"participant": "partner-1"}))["ok"]
    await announced(client, "Alex has joined the session.", log)
    said: list[str] = await client.evaluate("window.__announced")
    # Alex's knock was the clinician's to know: the client's page heard only the arrival.
    assert not any("waiting" in s for s in said), said
    assert [s for s in said if "Alex" in s] == ["Alex has joined the session."], said
    assert await client.title() == "Session · Alongside"  # no waiting count for a client

    await network_drop(partner)
    await announced(client, re.compile(r"^Alex's connection dropped\."), log)
    back, _ = await rejoin(alongside, "partner", name="Alex", room=ROOM)
    await announced(client, "Alex is back.", log)
    assert (await back.call("leave", {}))["ok"]
    await announced(client, "Alex has left the session.", log)
    assert not log.errors, str(log)


async def test_with_a_spanish_token_a_knock_is_announced_and_counted_in_spanish(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    # The token's `locale` claim picks the language (the browser itself asks for English).
    token = alongside.token("clinician", name="Dr. Rivera", room=ROOM, locale="es")
    clinician = await open_room(alongside, browser, log, "clinician", token)
    await join(clinician)
    await clinician.get_by_text("La sesión está abierta.").wait_for(timeout=WAIT_MS)
    await knock(alongside, "client", "Sam")
    await announced(clinician, "Sam está esperando en la sala de espera.", log)
    await titled(clinician, r"^\(1\) en espera · ", log)
    await clinician.get_by_role("checkbox", name="Sonido cuando alguien toca para entrar").wait_for()
    assert await clinician.evaluate("document.documentElement.lang") == "es"
    # And ?lang= outranks it, surviving the token's removal from the address.
    await clinician.goto(f"{alongside.url}/room?lang=en#{token}")
    await clinician.get_by_text("When you're ready, select Join to open the session.").wait_for(
        timeout=WAIT_MS)
    assert await clinician.evaluate("location.search + location.hash") == "?lang=en"
    assert not log.errors, str(log)


@pytest.mark.timeout(90)
async def test_during_a_time_out_the_clinician_is_told_who_is_where(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician = await open_room(alongside, browser, log, "clinician",
                                alongside.token("clinician", name="Dr. Rivera", room=ROOM))
    await join(clinician)
    await clinician.get_by_text("The session is open.").wait_for(timeout=WAIT_MS)
    sam = await knock(alongside, "client", "Sam")
    await clinician.get_by_role("button", name="Admit Sam").click()
    await knock(alongside, "partner", "Alex")
    await clinician.get_by_role("button", name="Admit Alex").click()
    await clinician.get_by_text("You're in the session.").wait_for(timeout=WAIT_MS)

    # Sam calls a time-out: each partner goes to a side room of their own.
    started = await sam.call("tool:start", {"tool": "timeout", "options": {"minutes": 5}})
    assert started["ok"], started
    message, detail = clinician.locator("[data-message]"), clinician.locator("[data-detail]")
    await message.filter(has_text="A time-out is going on.").wait_for(timeout=WAIT_MS)
    await detail.filter(has_text=re.compile(
        r"(Sam and Alex|Alex and Sam) are each in a time-out room of their own\. "
        r"The time-out ends at \d{1,2}:\d\d")).wait_for(timeout=WAIT_MS)
    notice = await clinician.locator(".notice").inner_text()
    assert "The session is open." not in notice and "People who knock" not in notice, notice

    # The clinician visits Sam: the heading says with whom, and where the other is.
    await clinician.get_by_role("button", name="Go to Sam's side room").click()
    await message.filter(has_text="You're in a time-out room with Sam.").wait_for(timeout=WAIT_MS)
    await detail.filter(has_text="Alex is in a time-out room of their own.").wait_for(
        timeout=WAIT_MS)

    # Back together: the plain heading again, and no one was announced as leaving.
    await clinician.get_by_role("button", name="End time-out").click()
    await message.filter(has_text="You're in the session.").wait_for(timeout=WAIT_MS)
    said: list[str] = await clinician.evaluate("window.__announced")
    assert not any("left" in s for s in said), said
    assert not log.errors, str(log)


@pytest.mark.timeout(90)
async def test_the_microphone_note_is_only_for_someone_a_tool_muted(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    doctor = await alongside.peer("clinician", name="Dr. Rivera", room=ROOM)
    client = await open_room(alongside, browser, log, "client",
                             alongside.token("client", name="Sam", room=ROOM))
    await join(client)
    await doctor.wait_for("room", lambda r: any(p["id"] == "client-1" for p in r.get("lobby", [])))
    assert (await doctor.call("admit", {"participant": "client-1"}))["ok"]
    await alongside.admitted("partner", doctor, name="Alex", room=ROOM)
    await client.get_by_text("You're in the session.").wait_for(timeout=WAIT_MS)
    await client.wait_for_function(MIC_ON, timeout=WAIT_MS)
    notes = client.locator("[data-media-notes]")

    # A tool that muted nobody stops: the server unmutes everyone, and Sam is told nothing.
    assert (await doctor.call("tool:start", {"tool": "checkin"}))["ok"]
    await client.locator('[data-tool="checkin"]').wait_for(timeout=WAIT_MS)
    assert (await doctor.call("tool:stop", {"tool": "checkin"}))["ok"]
    # Speaker-listener with Alex speaking first: its first step mutes nobody either. Sam's
    # page shows it after the earlier unmute (one socket's events arrive in order).
    options = {"exercise": "speaker-listener", "speaker": "partner-1"}
    assert (await doctor.call("tool:start", {"tool": "exercises", "options": options}))["ok"]
    await client.locator('[data-tool="exercises"]').wait_for(timeout=WAIT_MS)
    assert "microphone" not in (await notes.inner_text()).lower()
    assert await client.evaluate(MIC_ON)

    # The floor: Alex speaks, Sam is muted and told so.
    assert (await doctor.call("tool:act", {"tool": "exercises", "action": "next"}))["ok"]
    await notes.get_by_text("Your microphone has been muted for this part of the session.").wait_for(
        timeout=WAIT_MS)
    assert not await client.evaluate(MIC_ON)

    # The tool stops: Sam, who was muted, hears that the microphone is on again.
    assert (await doctor.call("tool:stop", {"tool": "exercises"}))["ok"]
    await notes.get_by_text("Your microphone is on again.").wait_for(timeout=WAIT_MS)
    assert await client.evaluate(MIC_ON)
    assert not log.errors, str(log)


def test_the_room_pages_catalogues_are_complete_in_english_and_spanish() -> None:
    """Every key room.js, announce.js, precall.js and devices.js name is in English, and Spanish
    has each English key with the same placeholders (and plural forms where English has them)."""
    for area in ("room", "devices"):
        en = json.loads((WEB / "locales" / "en" / f"{area}.json").read_text("utf-8"))
        es = json.loads((WEB / "locales" / "es" / f"{area}.json").read_text("utf-8"))
        assert set(en) == set(es), set(en) ^ set(es)
        for key, message in en.items():
            assert key.startswith(f"{area}."), key
            forms = message if isinstance(message, dict) else {"other": message}
            theirs = es[key] if isinstance(es[key], dict) else {"other": es[key]}
            assert set(forms) == set(theirs), key
            for form, text in forms.items():
                assert set(re.findall(r"\{(\w+)\}", text)) == set(
                    re.findall(r"\{(\w+)\}", theirs[form])), (key, form)
                assert theirs[form] != text or "{" in text or text.startswith("("), (key, text)
    keys = {**json.loads((WEB / "locales/en/room.json").read_text("utf-8")),
            **json.loads((WEB / "locales/en/devices.json").read_text("utf-8"))}
    for name in ("room.js", "announce.js", "precall.js", "devices.js"):
        used = set(re.findall(r"""["']((?:room|devices)\.[A-Za-z_.]+)["']""",
                              (WEB / name).read_text("utf-8")))
        assert used and not used - set(keys), (name, used - set(keys))
    # The keys room.js and precall.js build from a code or a level.
    built = [f"room.role.{r}" for r in ("clinician", "client", "partner")] + [
        f"room.away.{k}" for k in ("timeout", "alone", "together", "main", "other")] + [
        f"devices.{k}.{level}" for k in ("level", "advice") for level in ("good", "fair", "poor")] + [
        f"devices.problem.{k}" for k in ("denied", "none", "busy", "unsupported", "failed")]
    assert not [k for k in built if k not in keys]
