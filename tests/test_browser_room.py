"""The session page end to end: real Chromium pages, a real server, real WebRTC media.

Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep phone-sized screenshots of the first test's pages.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

from tests.browser import PageLog, browser_fixture, join, person  # noqa: F401  (the browser fixture)
from tests.cluster import route_for
from tests.conftest import Harness

ROOM = "room-browser"
# A remote video showing live frames (a closed link's stream has only ended tracks).
REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll("video:not([data-local])")]
    .some((v) => v.videoWidth > 0 && !v.paused && !v.ended && v.readyState >= 2
        && v.srcObject && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"))"""
NO_REMOTE_VIDEO = """() => document.querySelectorAll("video:not([data-local])").length === 0"""
CAMERA_OFF = """() => {
    const v = document.querySelector("video[data-local]");
    return !v.srcObject && v.closest("figure").hidden;
}"""
LOCAL_VIDEO_PLAYING = """() => {
    const v = document.querySelector("video[data-local]");
    return v && v.videoWidth > 0 && !v.paused;
}"""


async def until(page: Page, script: str, log: PageLog, what: str, ms: float = 15_000) -> None:
    """Waits for ``script`` to return true in ``page``; fails with the pages' console output."""
    try:
        await page.wait_for_function(script, timeout=ms)
    except Exception as exc:
        raise AssertionError(f"{what}: not within {ms / 1000:.0f} s\n{log}") from exc


async def see(page: Page, text: str, log: PageLog) -> None:
    try:
        await page.get_by_text(text).wait_for(timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        # Playwright creates the folder.
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def open_page(alongside: Harness, context: BrowserContext, token: str, log: PageLog,
                    label: str) -> Page:
    page = await context.new_page()
    log.watch(page, label)
    await page.goto(f"{alongside.url}/room#{token}")
    return page


async def in_session(alongside: Harness, browser: Browser,
                     log: PageLog) -> tuple[Page, Page, str]:
    """Dr. Rivera (clinician) and Sam (client) in one room, each seeing the other."""
    await alongside.create_room(ROOM, "individual")
    client_token = alongside.token("client", name="Sam", room=ROOM)
    clinician = await open_page(
        alongside, await person(browser, alongside.url),
        alongside.token("clinician", name="Dr. Rivera", room=ROOM), log, "clinician")
    await join(clinician)
    await see(clinician, "The session is open.", log)
    client = await open_page(alongside, await person(browser, alongside.url), client_token, log,
                             "client")
    await join(client)
    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    return clinician, client, client_token


async def test_clinician_admits_client_and_both_see_each_other(
    alongside: Harness, browser: Browser
) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    clinician = await (await person(browser, alongside.url)).new_page()
    client = await (await person(browser, alongside.url)).new_page()
    log.watch(clinician, "clinician")
    log.watch(client, "client")
    clinician_token = alongside.token("clinician", name="Dr. Rivera", room=ROOM)
    client_token = alongside.token("client", name="Sam", room=ROOM)
    sockets: list[str] = []
    clinician.on("websocket", lambda ws: sockets.append(ws.url))

    # The page comes with a strict CSP, and the token leaves the URL as soon as it is read.
    response = await clinician.goto(f"{alongside.url}/room#{clinician_token}")
    assert response is not None and response.ok
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    await until(clinician, "() => location.hash === ''", log, "token left the URL")
    assert clinician_token not in await clinician.evaluate("location.href")
    assert clinician_token not in clinician.url
    await see(clinician, "Dr. Rivera · Clinician", log)
    await until(clinician, LOCAL_VIDEO_PLAYING, log, "clinician's camera preview")
    await screenshot(clinician, "1-clinician-before-join")

    await join(clinician)
    await see(clinician, "The session is open.", log)
    # Its websocket carries the room's routing key (a load balancer keeps the room on one
    # replica by it, see tests/test_cluster.py), never the room id or the token.
    [socket_url] = sockets
    assert f"r={route_for(ROOM)}" in socket_url, socket_url
    assert ROOM not in socket_url and clinician_token not in socket_url

    await client.goto(f"{alongside.url}/room#{client_token}")
    await until(client, "() => location.hash === ''", log, "token left the client's URL")
    assert client_token not in client.url
    await join(client)
    await see(client, "You're in the waiting room.", log)
    await screenshot(client, "2-client-waiting")

    admit = clinician.get_by_role("button", name=re.compile(r"^Admit"))
    await admit.wait_for()
    await clinician.get_by_role("button", name="Deny Sam").wait_for()
    await screenshot(clinician, "3-clinician-lobby")
    await admit.click()

    await until(clinician, REMOTE_VIDEO_PLAYING, log, "client's video on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "clinician's video on the client's page")
    # Each remote video is labelled with who it is.
    await clinician.get_by_label("Sam, Client").wait_for()
    await client.get_by_label("Dr. Rivera, Clinician").wait_for()
    await clinician.get_by_role("button", name="Send back Sam").wait_for()
    await clinician.get_by_role("button", name="Remove Sam").wait_for()
    await screenshot(clinician, "4-clinician-in-session")
    await screenshot(client, "5-client-in-session")

    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)
    assert await client.evaluate("localStorage.length") == 0


async def test_send_back_then_admit_again(alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, _ = await in_session(alongside, browser, log)

    await clinician.get_by_role("button", name="Send back Sam").click()
    await see(client, "You're back in the waiting room for now.", log)
    await until(client, NO_REMOTE_VIDEO, log, "media stopped for the person sent back")
    await until(clinician, NO_REMOTE_VIDEO, log, "Sam's tile gone from the clinician's page")

    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video back on the clinician's page")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video back on Sam's page")
    assert not log.problems(), str(log)


async def test_denied_person_is_told_gently_and_may_knock_again(
    alongside: Harness, browser: Browser
) -> None:
    await alongside.create_room(ROOM, "individual")
    log = PageLog()
    clinician = await open_page(
        alongside, await person(browser, alongside.url),
        alongside.token("clinician", name="Dr. Rivera", room=ROOM), log, "clinician")
    await join(clinician)
    client = await open_page(alongside, await person(browser, alongside.url),
                             alongside.token("client", name="Sam", room=ROOM), log, "client")
    await join(client)

    await clinician.get_by_role("button", name="Deny Sam").click()
    await see(client, "The clinician can't let you in right now.", log)
    await see(client, "You can select Join to knock again whenever you're ready.", log)
    await see(clinician, "No one is waiting.", log)

    await join(client)
    await see(client, "You're in the waiting room.", log)
    await clinician.get_by_role("button", name="Admit Sam").click()
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video on Sam's page")
    assert not log.problems(), str(log)


async def test_reload_keeps_the_seat_and_the_video_comes_back(
    alongside: Harness, browser: Browser
) -> None:
    log = PageLog()
    clinician, client, client_token = await in_session(alongside, browser, log)

    # The token is out of the URL but kept for this tab, so a reload is not a lockout; back
    # within the grace period, Sam needs no new knock.
    await client.reload()
    assert client_token not in client.url
    await see(client, "Sam · Client", log)
    await join(client)
    await see(client, "You're in the session.", log)
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video after Sam's reload")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video after Sam's reload")
    assert not log.problems(), str(log)


async def test_second_tab_takes_over_from_the_first(alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, client_token = await in_session(alongside, browser, log)

    second = await open_page(alongside, client.context, client_token, log, "client-tab-2")
    await join(second)
    await see(client, "This session is now open in another tab or window.", log)
    await until(client, NO_REMOTE_VIDEO, log, "the first tab let go of its video")
    await see(second, "You're in the session.", log)
    await until(second, REMOTE_VIDEO_PLAYING, log, "the clinician's video in the second tab")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video from the second tab")
    assert not log.problems(), str(log)


async def test_network_drop_says_reconnecting_and_recovers(
    start_server: Any, browser: Browser
) -> None:
    alongside = await start_server(ping_interval=1.0, ping_timeout=1.0)
    log = PageLog()
    clinician, client, _ = await in_session(alongside, browser, log)

    await client.context.set_offline(True)
    banner = client.locator("[data-banner]")
    await banner.get_by_text("Reconnecting…").wait_for()
    # The clinician sees a note on Sam's tile, not a vanished Sam.
    await clinician.locator("figure[data-peer]").get_by_text("Reconnecting…").wait_for()

    await client.context.set_offline(False)
    await banner.wait_for(state="hidden")
    await until(client, REMOTE_VIDEO_PLAYING, log, "the clinician's video after the drop")
    await until(clinician, REMOTE_VIDEO_PLAYING, log, "Sam's video after the drop")
    await clinician.locator("figure[data-peer] .tile-note").wait_for(state="hidden")
    # Requests made while offline fail, as they should; nothing else may.
    assert not [p for p in log.problems() if "ERR_INTERNET_DISCONNECTED" not in p], str(log)


async def test_end_session_tells_everyone(alongside: Harness, browser: Browser) -> None:
    log = PageLog()
    clinician, client, _ = await in_session(alongside, browser, log)

    await clinician.get_by_role("button", name="End session").click()
    await clinician.get_by_role("dialog").get_by_role("button", name="End for everyone").click()
    await see(clinician, "This session has ended.", log)
    await see(client, "This session has ended.", log)
    await until(client, NO_REMOTE_VIDEO, log, "no video after the end")
    await until(clinician, NO_REMOTE_VIDEO, log, "no video after the end")
    assert await client.get_by_role("button", name="Join", exact=True).is_hidden()
    # Nobody is left wondering whether their camera is still on.
    for page in (client, clinician):
        await until(page, CAMERA_OFF, log, "camera off after the end")
    assert not log.problems(), str(log)


async def test_end_missed_while_offline_is_still_reported_as_the_end(
    start_server: Any, browser: Browser
) -> None:
    alongside = await start_server(ping_interval=1.0, ping_timeout=1.0)
    log = PageLog()
    clinician, client, _ = await in_session(alongside, browser, log)

    await client.context.set_offline(True)
    await client.locator("[data-banner]").get_by_text("Reconnecting…").wait_for()
    await clinician.get_by_role("button", name="End session").click()
    await clinician.get_by_role("dialog").get_by_role("button", name="End for everyone").click()
    await see(clinician, "This session has ended.", log)
    await client.context.set_offline(False)
    await see(client, "This session has ended.", log)
    await client.locator("[data-banner]").wait_for(state="hidden")
    assert await client.get_by_role("button", name="Join", exact=True).is_hidden()
    await until(client, CAMERA_OFF, log, "camera off after the end")
