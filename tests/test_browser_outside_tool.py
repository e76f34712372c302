"""An outside tool in real Chromium: a package installed by pip (``tests/outside_plugin``)
brings its own browser panel; the server serves it from the package, the page loads it by
dynamic import, a clinician starts the tool and a client and a partner take part through
its controls. Each person's note stays theirs (the clinician sees all of them). The partner's
browser prefers Spanish: the panel speaks it from the package's own catalogue
(``locales/es.json``, docs/plugins.md "Panels")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, Locator, Page

from tests.browser import PHONE, PageLog, browser_fixture
from tests.conftest import Harness
from tests.outside_tool import Serve, plugin_path, served

__all__ = ["browser_fixture", "plugin_path", "served"]  # fixtures, found by pytest by name

WAIT_MS = 15_000
SAM_NOTE, ALEX_NOTE = "sam-note-3318", "alex-note-5521"


async def open_room(browser: Browser, url: str, token: str, log: PageLog, label: str,
                    locale: str = "en-US") -> Page:
    context = await browser.new_context(viewport=PHONE, locale=locale)
    await context.grant_permissions(["camera", "microphone"], origin=url)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    await page.goto(f"{url}/room#{token}")
    await page.locator("[data-join]:not([disabled])").click()
    return page


async def shown(where: Page | Locator, text: str, log: PageLog) -> None:
    try:
        await where.get_by_text(text).first.wait_for(timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


def tally(page: Page) -> Locator:
    return page.locator('section[data-tool="tally"]')


async def test_the_panel_is_served_from_the_package_and_nothing_else(served: Serve) -> None:
    server = served()
    async with ClientSession() as http:
        async with http.get(f"{server.url}/static/tools/tally/panel.js") as r:
            assert r.status == 200
            assert r.content_type == "text/javascript"
            assert "export function mount" in await r.text()
            assert "'self'" in r.headers["Content-Security-Policy"]
        async with http.get(f"{server.url}/static/tools/checkin/panel.js") as r:
            assert r.status == 200 and r.content_type == "text/javascript"
        for name in ("nope", "..%2F..%2Fserver", "tally%2F..%2Fcheckin", "%2E%2E"):
            async with http.get(f"{server.url}/static/tools/{name}/panel.js") as r:
                assert r.status == 404, name


@pytest.fixture
async def with_tally(start_server: Any, plugin_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Harness:
    """The server in this process, with the installed package on its path (as pip would put
    it on a deployment's): discovery finds it by its entry point like any other tool."""
    monkeypatch.syspath_prepend(str(plugin_path))
    return await start_server()  # type: ignore[no-any-return]


async def test_a_clinician_starts_the_outside_tool_and_the_couple_take_part(
        with_tally: Harness, browser: Browser) -> None:
    h, log = with_tally, PageLog()
    clinician = await open_room(browser, h.url, h.token("clinician", name="Dr. Rivera"),
                                log, "clinician")
    await shown(clinician, "The session is open.", log)
    pages = {}
    for role, name, locale in (("client", "Sam", "en-US"), ("partner", "Alex", "es-US")):
        pages[role] = await open_room(browser, h.url, h.token(role, name=name), log, role, locale)
        await clinician.get_by_role("button", name=f"Admit {name}").click()
        await pages[role].wait_for_selector('body[data-phase="in"]')
    client, partner = pages["client"], pages["partner"]

    await clinician.get_by_role("button", name="Start Tally").click()
    for page in (clinician, client):
        await shown(tally(page), "The count is 0.", log)
        await page.get_by_role("heading", name="Tally: 0").wait_for()
    await shown(tally(partner), "La cuenta es 0.", log)
    await partner.get_by_role("heading", name="Conteo: 0").wait_for()

    await client.get_by_role("button", name="Add one").click()
    for page in (clinician, client):
        await shown(tally(page), "The count is 1.", log)
    await shown(tally(partner), "La cuenta es 1.", log)
    await partner.get_by_role("button", name="Sumar uno").click()
    for page in (clinician, client):
        await shown(tally(page), "The count is 2.", log)
    await shown(tally(partner), "La cuenta es 2.", log)

    for page, text, label, save, you in ((client, SAM_NOTE, "Your note", "Save note", "you"),
                                         (partner, ALEX_NOTE, "Su nota", "Guardar la nota",
                                          "usted")):
        await page.get_by_label(label).fill(text)
        await page.get_by_role("button", name=save).click()
        await shown(tally(page), f"{you}: {text}", log)
    await shown(tally(clinician), f"Sam: {SAM_NOTE}", log)
    await shown(tally(clinician), f"Alex: {ALEX_NOTE}", log)
    assert ALEX_NOTE not in await client.locator("body").inner_text()
    assert SAM_NOTE not in await partner.locator("body").inner_text()

    await clinician.get_by_role("button", name="Stop the tally").click()
    for page in (client, partner):
        await tally(page).wait_for(state="detached")
    assert not log.problems(), str(log)
    assert not log.csp_violations(), str(log)

