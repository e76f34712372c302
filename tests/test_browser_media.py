"""Media end to end in real Chromium: the pre-call test against the aiortc echo peer, a browser
with the Python participant, relay-only sessions through a real coturn, and connection quality.

Every page gets ``PC_HOOK`` as an init script: it keeps each ``RTCPeerConnection`` the page
makes (``window.__pcs``) and each ICE candidate error code (``window.__iceErrors``), so a test
can read ``getStats`` without any hook in the product. See docs/media.md for the one test hook
the product does read (``window.__alongsideQualityOverride``).

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep phone-sized screenshots of the pages.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page

from server.media.participant import Participant
from server.realtime.server import REALTIME
from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness, free_port
from tests.coturn import TURN_SECRET, Coturn

ROOM = "room-individual"
WAIT_MS = 20_000

PC_HOOK = """(() => {
    window.__pcs = [];
    window.__iceErrors = [];
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
            this.addEventListener("icecandidateerror", (e) => window.__iceErrors.push(e.errorCode));
        }
    };
})()"""
LOCAL_VIDEO_PLAYING = """() => {
    const v = document.querySelector("video[data-local]");
    return v && v.videoWidth > 0 && !v.paused;
}"""
REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll("figure[data-peer] video")]
    .some((v) => v.videoWidth > 0 && !v.paused && !v.ended && v.readyState >= 2
        && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"))"""
PRECALL_VIDEO_SHOWS_FRAMES = """() => {
    const v = document.querySelector("video[data-precall]");
    return Boolean(v && v.videoWidth > 0 && v.srcObject);
}"""
# The page's open links (a pre-call test closes its own when done).
ROOM_PCS = "window.__pcs.filter((pc) => pc.connectionState !== 'closed')"
SELECTED_PAIRS = f"""async () => {{
    const out = [];
    for (const pc of {ROOM_PCS}) {{
        const stats = await pc.getStats();
        let pairId = null;
        stats.forEach((s) => {{ if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; }});
        const pair = pairId ? stats.get(pairId) : null;
        const local = pair ? stats.get(pair.localCandidateId) : null;
        const remote = pair ? stats.get(pair.remoteCandidateId) : null;
        const localTypes = [];
        stats.forEach((s) => {{ if (s.type === "local-candidate") localTypes.push(s.candidateType); }});
        out.push({{state: pc.connectionState,
                   negotiated: Boolean(pc.remoteDescription) && pc.signalingState === "stable",
                   local: local && local.candidateType,
                   remote: remote && remote.candidateType, localTypes}});
    }}
    return out;
}}"""
INBOUND = f"""async () => {{
    const out = {{video: 0, audio: 0, states: []}};
    for (const pc of {ROOM_PCS}) {{
        out.states.push(pc.connectionState);
        (await pc.getStats()).forEach((s) => {{
            if (s.type !== "inbound-rtp") return;
            if (s.kind === "video") out.video += s.framesDecoded || 0;
            if (s.kind === "audio") out.audio += s.packetsReceived || 0;
        }});
    }}
    return out;
}}"""
POOR_LINK = "window.__alongsideQualityOverride = {rtt: 800, loss: 0.2, jitter: 120, bitrate: 50}"


async def until(page: Page, script: str, log: PageLog, what: str, ms: float = WAIT_MS) -> None:
    """Waits for ``script`` to be true in ``page``; fails with the pages' console output."""
    try:
        await page.wait_for_function(script, timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s\n{log}") from exc


async def see(page: Page, text: str | re.Pattern[str], log: PageLog,
              ms: float = WAIT_MS) -> None:
    try:
        await page.get_by_text(text).first.wait_for(timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"media-{name}.png"), full_page=True)


async def open_room(browser: Browser, h: Harness, token: str, log: PageLog, label: str,
                    query: str = "") -> Page:
    context = await person(browser, h.url)
    await context.add_init_script(PC_HOOK)
    page = await context.new_page()
    log.watch(page, label)
    await page.goto(f"{h.url}/room{query}#{token}")
    return page


async def session(browser: Browser, h: Harness, log: PageLog,
                  query: str = "") -> tuple[Page, Page]:
    """Dr. Rivera (clinician) and Sam (client), both pages joined; Sam admitted."""
    clinician = await open_room(browser, h, h.token("clinician", name="Dr. Rivera", room=ROOM),
                                log, "clinician", query)
    await join(clinician)
    await see(clinician, "The session is open.", log)
    client = await open_room(browser, h, h.token("client", name="Sam", room=ROOM), log,
                             "client", query)
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()
    return clinician, client


async def echo_tests_left(h: Harness) -> int:
    echo = h.app[REALTIME].echo
    for _ in range(50):
        if echo.active == 0:
            break
        await asyncio.sleep(0.1)
    return int(echo.active)


# --- the pre-call test ------------------------------------------------------------------------

@pytest.mark.timeout(60)
async def test_precall_test_loops_video_back_and_gives_a_verdict_with_rtt(
        start_server: Any, browser: Browser) -> None:
    # TURN configured but not answering: the test runs before joining all the same, and once
    # joined the page says calmly that strict networks may fail.
    h: Harness = await start_server(turn_urls=(f"turn:127.0.0.1:{free_port()}?transport=udp",),
                                    turn_secret="unused")
    log = PageLog()
    page = await open_room(browser, h, h.token("client", name="Sam", room=ROOM), log, "client")
    await until(page, LOCAL_VIDEO_PLAYING, log, "the camera preview")
    started = time.monotonic()
    await page.get_by_role("button", name="Test my connection").click()

    await until(page, PRECALL_VIDEO_SHOWS_FRAMES, log, "the looped-back video")
    status = page.locator(".precall-status")
    await see(page, re.compile(r"^Result: (good|fair|poor)\. "), log)
    text = await status.text_content() or ""
    figures = await page.locator(".precall-figures").text_content() or ""
    assert re.search(r"Round trip \d+ ms", figures), figures
    await screenshot(page, "1-precall-verdict")
    level = await status.get_attribute("data-level")
    assert level in ("good", "fair", "poor") and level in text
    print(f"pre-call test: {time.monotonic() - started:.1f} s; {text} / {figures}")

    # The test let go of everything: no video, no echo peer left on the server.
    assert await page.locator("video[data-precall]").count() == 0
    assert await echo_tests_left(h) == 0
    rtts = await page.evaluate("window.__pcs.map((pc) => pc.connectionState)")
    assert rtts == ["closed"], rtts

    # Joining afterwards works as ever; the TURN note is shown once in the waiting room.
    await join(page)
    await see(page, "You're in the waiting room.", log)
    await see(page, "isn't answering right now", log)
    await screenshot(page, "2-waiting-turn-down")
    await page.locator("[data-precall-test]").get_by_role(
        "button", name="Test again").wait_for()
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


@pytest.mark.timeout(60)
async def test_precall_busy_says_try_again_and_join_still_works(
        start_server: Any, browser: Browser) -> None:
    h: Harness = await start_server(precall_limit=0)
    log = PageLog()
    page = await open_room(browser, h, h.token("client", name="Sam", room=ROOM), log, "client")
    await until(page, LOCAL_VIDEO_PLAYING, log, "the camera preview")
    await page.get_by_role("button", name="Test my connection").click()
    await see(page, "Many people are testing right now; try again in a minute", log)
    assert await page.evaluate("window.__pcs.every((pc) => pc.connectionState === 'closed')")
    await join(page)
    await see(page, "You're in the waiting room.", log)
    assert not log.problems(), str(log)


# --- the browser with the Python participant --------------------------------------------------

@pytest.mark.timeout(60)
async def test_browser_and_python_participant_see_each_other(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician = Participant()
    try:
        await clinician.connect(alongside.url, alongside.token("clinician", name="Dr. Bot",
                                                               room=ROOM))
        ack = await clinician.join()
        assert ack["ok"], ack
        page = await open_room(browser, alongside,
                               alongside.token("client", name="Sam", room=ROOM), log, "client")
        await until(page, LOCAL_VIDEO_PLAYING, log, "the camera preview")
        await join(page)
        await see(page, "You're in the waiting room.", log)
        admitted = await clinician.call("admit", {"participant": "client-1"})
        assert admitted["ok"], admitted

        # The participant cannot renegotiate, so the server made the browser the offerer.
        [peer] = clinician.participants
        assert peer["id"] == "client-1" and peer["initiator"] is False
        await until(page, REMOTE_VIDEO_PLAYING, log, "the participant's video in the browser")
        frame = await clinician.first_frame("client-1", timeout=20)
        assert frame.width > 0 and frame.height > 0
        await page.get_by_label("Dr. Bot, Clinician").wait_for()
        assert not log.problems(), str(log)
    finally:
        await clinician.close()


# --- TURN: relay only, through a real coturn --------------------------------------------------

@pytest.mark.timeout(60)
async def test_relay_only_session_through_coturn(
        start_server: Any, coturn: Coturn, browser: Browser) -> None:
    h: Harness = await start_server(turn_urls=(coturn.url,), turn_secret=TURN_SECRET)
    log = PageLog()
    clinician, client = await session(browser, h, log, query="?relay")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video, relayed")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video, relayed")

    for page in (clinician, client):
        pairs = await page.evaluate(SELECTED_PAIRS)
        print("selected pairs:", pairs)
        connected = [p for p in pairs if p["state"] == "connected"]
        assert connected, pairs
        for pair in connected:
            assert pair["local"] == "relay", pairs
            assert set(pair["localTypes"]) == {"relay"}, pairs  # nothing else was gathered
    assert not log.problems(), str(log)


@pytest.mark.timeout(60)
async def test_expired_turn_credentials_are_refused(
        start_server: Any, coturn: Coturn, browser: Browser) -> None:
    # Credentials that expired an hour ago, as a page would hold after a long suspend.
    h: Harness = await start_server(turn_urls=(coturn.url,), turn_secret=TURN_SECRET,
                                    turn_ttl=-3600)
    log = PageLog()
    clinician = await open_room(browser, h, h.token("clinician", name="Dr. Rivera", room=ROOM),
                                log, "clinician")
    await join(clinician)
    await see(clinician, "The session is open.", log)
    client = await open_room(browser, h, h.token("client", name="Sam", room=ROOM), log,
                             "client", query="?relay")
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()

    # coturn answers the allocation with 401 Unauthorized; with relay only there is no other way.
    await until(client, "() => window.__iceErrors.includes(401)", log, "coturn's 401")
    await until(client, f"() => {ROOM_PCS}.length > 0", log, "the client's link")
    await asyncio.sleep(3)
    pairs = await client.evaluate(SELECTED_PAIRS)
    print("with expired credentials:", pairs, await client.evaluate("window.__iceErrors"))
    assert pairs and all(p["state"] != "connected" for p in pairs), pairs
    assert any(p["negotiated"] for p in pairs), pairs  # offer and answer went through
    assert all("relay" not in p["localTypes"] for p in pairs), pairs
    assert await clinician.evaluate(REMOTE_VIDEO_PLAYING) is False


# --- connection quality and audio only --------------------------------------------------------

@pytest.mark.timeout(60)
async def test_quality_reaches_the_clinician_and_audio_only_keeps_the_session(
        alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client = await session(browser, alongside, log)
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")

    # A real report first: the clinician sees Sam's link in words on Sam's tile.
    tile = clinician.locator('figure[data-peer="client-1"]')
    await tile.get_by_text(re.compile(r"^Connection: (good|fair|poor)$")).wait_for(timeout=WAIT_MS)

    await client.evaluate(POOR_LINK)
    await tile.get_by_text("Connection: poor", exact=True).wait_for(timeout=WAIT_MS)
    await see(client, "Your connection is weak. Switch to audio only?", log)
    await screenshot(clinician, "3-clinician-sees-poor")
    await screenshot(client, "4-client-offered-audio-only")
    await client.get_by_role("button", name="Audio only").click()
    await see(client, "You're on audio only", log)
    await screenshot(client, "5-client-audio-only")

    # Sam's video stops on the clinician's side; the link and the sound go on.
    await asyncio.sleep(1.5)
    before = await clinician.evaluate(INBOUND)
    await asyncio.sleep(2.5)
    after = await clinician.evaluate(INBOUND)
    assert after["states"] == ["connected"], after
    assert after["video"] - before["video"] <= 1, (before, after)
    assert after["audio"] > before["audio"], (before, after)

    # The clinician is told why Sam's picture is still, rather than left with a frozen frame.
    paused = tile.get_by_text("Video paused", exact=False)
    await paused.wait_for(timeout=WAIT_MS)
    await screenshot(clinician, "6-clinician-sees-video-paused")

    # And back: video flows again, and the sign goes.
    await client.evaluate("delete window.__alongsideQualityOverride")
    await client.get_by_role("button", name="Turn video back on").click()
    await asyncio.sleep(2)
    again = await clinician.evaluate(INBOUND)
    assert again["video"] - after["video"] > 5, (after, again)
    await paused.wait_for(state="detached", timeout=WAIT_MS)

    # A tool's request to mute reaches the page, which turns its microphone off and says so.
    realtime = alongside.app[REALTIME]
    [sid] = [c.sid for c in realtime.connections.values() if c.identity.id == "client-1"]
    await realtime.sio.emit("mute", {"muted": True}, to=sid)
    await see(client, "Your microphone has been muted", log)
    mic = "() => document.querySelector('video[data-local]').srcObject.getAudioTracks()[0].enabled"
    assert await client.evaluate(mic) is False
    await realtime.sio.emit("mute", {"muted": False}, to=sid)
    await see(client, "Your microphone is on again.", log)
    assert await client.evaluate(mic) is True
    assert not log.problems(), str(log)
