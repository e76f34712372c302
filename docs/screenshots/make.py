"""Screenshots of what each person sees, for the README: the clinician on a 1280×800 laptop
(the video stage beside the side panel), the client and the partner on a 390×844 phone.

Run from the repository root: ``.venv/bin/python docs/screenshots/make.py``. It starts
``alongside serve --demo`` on a free port with a throwaway store, reads the printed links, drives
headless Chromium (fake camera and microphone) through a couples session and writes PNGs next to
this file.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize, async_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from devtools import processes  # noqa: E402
from devtools.ports import free_port  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402

OUT = Path(__file__).resolve().parent
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
WAIT_MS = 20_000
TWO_REMOTE_VIDEOS_PLAYING = """() => {
    const vs = [...document.querySelectorAll("video:not([data-local])")];
    return vs.length === 2 && vs.every((v) => v.videoWidth > 0 && !v.paused && v.readyState >= 2);
}"""
LOCAL_VIDEO_PLAYING = """() => {
    const v = document.querySelector("video[data-local]");
    return v && v.videoWidth > 0 && !v.paused;
}"""


def start_server(var_dir: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    port = free_port()
    env = {**os.environ, "ALONGSIDE_JWT_SECRET": secrets.token_urlsafe(32),
           "ALONGSIDE_VAR_DIR": var_dir, "ALONGSIDE_HOST": "127.0.0.1",
           "ALONGSIDE_PORT": str(port), "ALONGSIDE_LOG_LEVEL": "WARNING"}
    env.pop("ALONGSIDE_PUBLIC_URL", None)
    proc = processes.start([str(ROOT / ".venv/bin/alongside"), "serve", "--demo"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           cwd=var_dir)
    links: dict[str, str] = {}
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while time.monotonic() < deadline and len(links) < 3:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.match(r"^(clinician|client|partner invite): (\S+)$", line.strip())
        if m:
            links[m.group(1)] = m.group(2)
    if len(links) < 3:
        processes.stop(proc)
        raise SystemExit(f"the demo server printed no links (got {links})")
    return proc, links


async def shot(page: Page, name: str, top: str | None = "body", block: str = "start") -> None:
    """A viewport-sized picture with the element ``top`` scrolled to ``block`` (top of the page
    by default); ``top=None`` keeps the scroll position."""
    if top:
        await page.locator(top).first.evaluate(f"(e) => e.scrollIntoView({{block: '{block}'}})")
    await page.wait_for_timeout(400)  # let transitions settle
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
    print("wrote", OUT / f"{name}.png")


async def open_page(browser: Browser, base: str, url: str,
                    viewport: ViewportSize = PHONE) -> Page:
    context = await browser.new_context(viewport=viewport)
    await context.grant_permissions(["camera", "microphone"], origin=base)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(url)
    return page


async def join(page: Page) -> None:
    await page.get_by_role("button", name="Join", exact=True).click()


async def run(links: dict[str, str]) -> None:
    base = re.match(r"^https?://[^/]+", links["clinician"]).group(0)  # type: ignore[union-attr]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            clinician = await open_page(browser, base, links["clinician"], LAPTOP)
            await join(clinician)
            await clinician.get_by_text("The session is open.").wait_for()

            # Sam checks camera and connection before joining, then waits to be let in.
            client = await open_page(browser, base, links["client"])
            await client.wait_for_function(LOCAL_VIDEO_PLAYING, timeout=WAIT_MS)
            await client.get_by_role("button", name="Test my connection").click()
            await client.get_by_text(re.compile(r"^Result: (good|fair|poor)\. ")).wait_for()
            await shot(client, "1-client-device-check", ".precall-figures", "end")
            await join(client)
            await client.get_by_text("You're in the waiting room.").wait_for()
            await shot(client, "2-client-waiting-room")

            admit = clinician.get_by_role("button", name="Admit Sam")
            await admit.wait_for()
            await shot(clinician, "3-clinician-lobby")

            # Alex reads the invite and consents, then knocks.
            partner = await open_page(browser, base, links["partner invite"])
            await partner.get_by_text("About couples sessions").wait_for()
            await shot(partner, "4-partner-invite")
            await partner.get_by_label("What should we call you?").fill("Alex")
            await partner.get_by_role("button", name="I consent").click()
            await partner.get_by_text("Alex · Partner").wait_for()
            await join(partner)
            await partner.get_by_text("You're in the waiting room.").wait_for()

            await admit.click()
            await clinician.get_by_role("button", name="Admit Alex").click()
            for page in (clinician, client, partner):
                await page.wait_for_function(TWO_REMOTE_VIDEOS_PLAYING, timeout=WAIT_MS)
            await shot(client, "5-couples-session-client")
            await shot(clinician, "5-couples-session-clinician")

            # Dr. Rivera starts the I-statement exercise from the tools; Alex answers privately.
            launcher = clinician.locator("[data-tools]")
            await launcher.get_by_label("Exercise").select_option("i-statements")
            await launcher.get_by_role("button", name="Start Exercises").click()
            on_partner = partner.locator('[data-tool="exercises"]')
            await on_partner.get_by_label("I feel ...").wait_for()
            await shot(partner, "6-partner-exercise", '[data-tool="exercises"]')

            # Both answer; the clinician releases the answers with both faces still on screen.
            for page, feel, when, need in (
                    (client, "uneasy", "plans change at the last minute", "a text when you're late"),
                    (partner, "tired", "evenings are all logistics", "one quiet evening a week")):
                mine = page.locator('[data-tool="exercises"]')
                await mine.get_by_label("I feel ...").fill(feel)
                await mine.get_by_label("when ...").fill(when)
                await mine.get_by_label("I need ...").fill(need)
                await mine.get_by_role("button", name="Submit privately").click()
                await mine.get_by_text("Your answer is in").wait_for()
            release = clinician.get_by_role("button", name="Release answers")
            await release.wait_for()
            await release.scroll_into_view_if_needed()
            await shot(clinician, "7-clinician-exercise", None)

            # End session asks first.
            await clinician.get_by_role("button", name="End session").click()
            await clinician.get_by_role("dialog").wait_for()
            await shot(clinician, "8-clinician-end-session", None)
            await clinician.keyboard.press("Escape")
        finally:
            await browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="alongside-shots-") as var_dir:
        proc, links = start_server(var_dir)
        try:
            asyncio.run(run(links))
        finally:
            processes.stop(proc, grace=15)


if __name__ == "__main__":
    main()
