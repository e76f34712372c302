"""A couples session with three people, in real Chromium against a real server: the client, the
partner (through the invite page) and the clinician, each seeing the other two on video."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser

from tests.browser import PageLog, browser_fixture, person  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api
from tests.test_browser_partner import (
    join,
    new_page,
    open_session,
    session_page,
    shown,
    until,
)

WAIT_MS = 20_000
# Two remote videos, both showing live frames.
TWO_REMOTE_VIDEOS_PLAYING = """() => {
    const vs = [...document.querySelectorAll("video:not([data-local])")];
    return vs.length === 2 && vs.every((v) => v.videoWidth > 0 && !v.paused && !v.ended
        && v.readyState >= 2 && v.srcObject
        && v.srcObject.getVideoTracks().some((t) => t.readyState === "live"));
}"""


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def test_clinician_client_and_partner_all_see_each_other(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()

    clinician = await open_session(alongside, browser, "p-c1", log)
    url = (await api.invite(t["clinician"], room="p-c1"))["url"]

    # The partner consents on the invite page, then knocks from the room page.
    partner = await new_page(await person(browser, alongside.url), log, "partner")
    await partner.goto(url)
    await shown(partner, "About couples sessions", log, WAIT_MS)
    await partner.get_by_label("What should we call you?").fill("Alex")
    await partner.get_by_role("button", name="I consent").click()
    await shown(partner, "Alex · Partner", log, WAIT_MS)
    await join(partner)
    await shown(partner, "You're in the waiting room.", log, WAIT_MS)

    # Sam knocks on the same session.
    client = await session_page(
        alongside, browser,
        alongside.token("client", sub="cl-1", name="Sam", program=PROGRAM, room="p-c1"),
        log, "client")
    await join(client)
    await shown(client, "You're in the waiting room.", log, WAIT_MS)

    await clinician.get_by_role("button", name="Admit Alex").click(timeout=WAIT_MS)
    await clinician.get_by_role("button", name="Admit Sam").click(timeout=WAIT_MS)

    for page, who in ((clinician, "the clinician"), (client, "Sam"), (partner, "Alex")):
        await until(page, TWO_REMOTE_VIDEOS_PLAYING, log,
                    f"both other people's videos on {who}'s page", WAIT_MS)
    await clinician.get_by_label("Sam, Client").wait_for(timeout=WAIT_MS)
    await clinician.get_by_label("Alex, Partner").wait_for(timeout=WAIT_MS)
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)
