"""What a Spanish page is told by code: the pre-call advice, a denial, a removal.

The server sends codes (``verdict.advice``, ``denied.code``, ``removed.code``), never English
sentences; the page words them from its catalogue. A real server, a clinician on a real
socket.io client, and Sam's session page in real Chromium preferring Spanish, with a token
whose ``locale`` is ``es`` (as tests/test_browser_spanish.py). A reason the clinician typed is
shown as typed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.browser import PageLog, browser_fixture  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.peers import Peer
from tests.test_browser_spanish import Checker, open_page, phase

ROOM = "room-es"
WAIT_MS = 30_000
LOCALES = Path(__file__).resolve().parent.parent / "web" / "locales"


def words(locale: str, area: str) -> dict[str, str]:
    return json.loads((LOCALES / locale / f"{area}.json").read_text("utf-8"))  # type: ignore[no-any-return]


async def shown(page: Page, text: str, log: PageLog) -> None:
    try:
        await page.get_by_text(text, exact=False).first.wait_for(timeout=WAIT_MS)
    except Exception as exc:
        raise AssertionError(f"{text!r} not shown\n{log}") from exc


async def knock(page: Page, clinician: Peer) -> None:
    """Sam selects Entrar and waits; the clinician's lobby lists them."""
    await page.locator("[data-join]:not([disabled])").click()
    await phase(page, "waiting")
    for _ in range(100):
        room = (await clinician.call("snapshot", {}))["room"]
        if any(p["id"] == "sam" for p in room["lobby"]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"Sam is not in the lobby: {room['lobby']}")


@pytest.mark.timeout(120)
async def test_a_spanish_page_words_the_advice_the_denial_and_the_removal_in_spanish(
        alongside: Harness, browser: Browser) -> None:
    h = alongside
    await h.create_room(ROOM, "individual")
    es, en = words("es", "room"), words("en", "room")
    es_devices, en_devices = words("es", "devices"), words("en", "devices")
    clinician = await h.peer("clinician", sub="dr-1", name="Dr. Rivera", room=ROOM)
    log = PageLog()
    checker = Checker(names=frozenset({"Sam", "Dr. Rivera"}))
    token = h.token("client", sub="sam", name="Sam", room=ROOM, locale="es")
    page = await open_page(browser, h, f"{h.url}/room#{token}", log, "sam")

    # The pre-call test's advice: the server answered a code, the page says it in Spanish.
    await page.get_by_role("button", name=es_devices["devices.precall.test"]).click()
    status = page.locator(".precall-status[data-level]")
    await status.wait_for(timeout=WAIT_MS)
    level = await status.get_attribute("data-level")
    assert level in ("good", "fair", "poor"), level
    text = await status.text_content() or ""
    assert text.startswith(f"Resultado: {es_devices[f'devices.level.{level}']}. "), text
    assert es_devices[f"devices.advice.{level}"] in text, text
    assert en_devices[f"devices.advice.{level}"] not in text, text
    await checker.check(page, "room (client): pre-call result")

    # Denied without a reason: the code, worded in Spanish.
    await knock(page, clinician)
    assert (await clinician.call("deny", {"participant": "sam"}))["ok"]
    await shown(page, es["room.denied"], log)
    await shown(page, es["room.denied.detail"], log)
    assert en["room.denied"] not in (await page.locator("body").inner_text())
    await checker.check(page, "room (client): denied")

    # Denied with a reason the clinician typed: shown as typed.
    typed = "Su sesión es a las 3 pm; le esperamos entonces."
    await knock(page, clinician)
    assert (await clinician.call("deny", {"participant": "sam", "reason": typed}))["ok"]
    await shown(page, typed, log)

    # Admitted, then removed without a reason: the Spanish words for E_REMOVED.
    await knock(page, clinician)
    assert (await clinician.call("admit", {"participant": "sam"}))["ok"]
    await phase(page, "in")
    assert (await clinician.call("remove", {"participant": "sam"}))["ok"]
    await shown(page, es["room.removed"], log)
    body = await page.locator("body").inner_text()
    assert en["room.removed"] not in body and es["room.removed.detail"] in body
    await checker.check(page, "room (client): removed")
    await page.context.close()
