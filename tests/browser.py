"""Real headless Chromium for browser tests, through Playwright's async API.

A test module gets the ``browser`` fixture by importing ``browser_fixture`` from here (pytest
finds a fixture by the name it was given, so the import does not shadow the argument).
The browser is Debian's ``/usr/bin/chromium``: never ``playwright install`` (it downloads one).
Camera and microphone are Chromium's fake devices (a test pattern and a beep), granted without
a prompt.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Response,
    ViewportSize,
    async_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # Host candidates as plain addresses: no mDNS names, so no multicast leaves the machine.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class PageLog:
    """What a page said on its console and which errors it threw, for failure messages."""

    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page, label: str) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            self.lines.append(f"[{label}] {msg.type}: {msg.text}")

        def on_error(err: Error) -> None:
            self.errors.append(f"[{label}] {err}")
            self.lines.append(f"[{label}] pageerror: {err}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                self.lines.append(f"[{label}] HTTP {response.status} {response.url}")

        page.on("console", on_console)
        page.on("pageerror", on_error)
        page.on("response", on_response)

    def csp_violations(self) -> list[str]:
        return [line for line in self.lines if "Content Security Policy" in line]

    def problems(self) -> list[str]:
        """Errors thrown, console errors and failed requests, on any watched page."""
        return [line for line in self.lines
                if "] error: " in line or "] pageerror: " in line or "] HTTP " in line]

    def __str__(self) -> str:
        return "\n".join(self.lines) or "(no console output)"


@pytest.fixture(name="browser")
async def browser_fixture() -> AsyncIterator[Browser]:
    """One headless Chromium per test."""
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def person(browser: Browser, base_url: str) -> BrowserContext:
    """A separate browser profile (no shared storage) with camera and microphone allowed."""
    context = await browser.new_context(viewport=PHONE)
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    return context


async def join(page: Page) -> None:
    """Presses Join, as a person would (by its English accessible name)."""
    await page.get_by_role("button", name="Join", exact=True).click()
