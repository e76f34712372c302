"""The clinician makes the breakout pairs by hand and visits a breakout, from the page, with a
real Janus (docs/groups.md, "Clinician controls"; web/group-pairs.js).

A clinician's page and four members' pages (cameras at 160×120): the clinician opens "Choose
the pairs" from the keyboard, makes pairs other than the listed order (Samuel with Kim, Robin
with Ana; a pair of one is explained and not sent), starts them, and each member's page plays
only the partner chosen. Visiting Samuel and Kim: the clinician's page plays those two, theirs
play each other and the clinician, and Robin's and Ana's never play the clinician; leaving the
visit takes the clinician back alone; "Bring everyone back": every page plays everyone. Then
the room's Lock (a new knock is refused) and End session (every member's page says it ended).
A Spanish clinician's chooser and breakout list speak Spanish and pass axe.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser import PageLog, browser_fixture  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.test_browser_a11y import axe_violations
from tests.test_browser_group import (  # noqa: F401  (fixtures: janus, group, contexts)
    DESKTOP,
    GROUP,
    contexts,
    group,
    janus,
    open_page,
    screenshot,
)
from tests.test_browser_group_flow import (
    VISIBLE_PLAYING,
    _all_play,
    clinician_and_four,
    notes,
)
from tests.test_browser_spanish import Checker
from tests.test_group_sfu import Member, knock, members  # noqa: F401  (the members fixture)

STEP_MS = 30_000


async def _plays(page: Page, count: int, hidden: list[str], log: PageLog, step: str) -> None:
    await _all_play([page], count, hidden, log, step)


async def _still_plays(page: Page, count: int, hidden: list[str], step: str) -> None:
    """``page`` plays exactly ``count`` others, none of ``hidden``, now and a second later."""
    for _ in range(2):
        assert await page.evaluate(VISIBLE_PLAYING, [count, hidden]), step
        await asyncio.sleep(1.0)


@pytest.mark.timeout(120)
async def test_the_clinician_makes_pairs_by_hand_visits_one_and_brings_everyone_back(
        group: Harness, browser: Browser, contexts: list[BrowserContext]) -> None:  # noqa: F811
    log = PageLog()
    clinician, by_name = await clinician_and_four(group, browser, contexts, log)
    sam, robin, kim, ana = by_name.values()
    lobby = clinician.get_by_role("region", name="Waiting room")
    await lobby.get_by_role("button", name="Admit Ana", exact=True).wait_for()
    await clinician.get_by_role("button", name="Admit all", exact=True).click()
    await _all_play([clinician, *by_name.values()], 4, [], log, "admit all")

    strip = clinician.get_by_role("region", name="Group controls")
    preview = strip.locator("#group-controls-pairs")
    start = strip.get_by_role("button", name="Practice in pairs", exact=True)
    # The quick default is still the listed order, shown before starting.
    assert await preview.inner_text() == "Pairs: Samuel and Robin; Kim and Ana."
    # "Choose the pairs" opens one selector per member, from the keyboard.
    choose = strip.get_by_role("button", name="Choose the pairs", exact=True)
    assert await choose.get_attribute("aria-expanded") == "false"
    chooser = strip.get_by_role("group", name="Who practices with whom")
    assert not await chooser.is_visible()
    await choose.focus()
    await clinician.keyboard.press("Enter")
    await chooser.wait_for()
    assert await choose.get_attribute("aria-expanded") == "true"
    await clinician.keyboard.press("Tab")  # the first selector comes next
    assert await clinician.evaluate("document.activeElement.id") == "group-pair-sam"
    assert await chooser.get_by_role("combobox", name="Samuel").input_value() == "1"
    assert await chooser.get_by_role("combobox", name="Ana").input_value() == "2"

    # Robin to pair 2 first: Samuel would be alone, which is said and not sent.
    await chooser.get_by_role("combobox", name="Robin").select_option(label="Pair 2")
    alone = "Pair 1 has only Samuel: each pair needs two or three people."
    await preview.get_by_text(alone, exact=True).wait_for()
    assert await start.get_attribute("aria-disabled") == "true"
    await start.focus()  # still focusable (aria-disabled), and it says why it will not start
    await clinician.keyboard.press("Enter")
    await strip.get_by_role("status").get_by_text(alone, exact=True).wait_for()
    await asyncio.sleep(0.5)
    assert await notes(sam).get_by_text("You're in a breakout", exact=False).count() == 0
    # Kim to pair 1: Samuel with Kim, Robin with Ana.
    kim_select = chooser.get_by_role("combobox", name="Kim")
    await kim_select.focus()
    await kim_select.select_option(label="Pair 1")
    await preview.get_by_text("Pairs: Samuel and Kim; Robin and Ana.", exact=True).wait_for()
    assert await start.get_attribute("aria-disabled") is None
    assert await kim_select.evaluate("(s) => s === document.activeElement")  # kept over the redraw
    await strip.get_by_role("button", name="Back to the listed order", exact=True).wait_for()
    await screenshot(clinician, "pairs-chooser")
    problems = await axe_violations(clinician)
    assert not problems, "\n".join(problems)

    await start.click()
    for page, partner in ((sam, "Kim"), (kim, "Samuel"), (robin, "Ana"), (ana, "Robin")):
        await notes(page).get_by_text(f"You're in a breakout with {partner}",
                                      exact=False).wait_for()
    pairs = {"Samuel": "Kim", "Kim": "Samuel", "Robin": "Ana", "Ana": "Robin"}
    for name, page in by_name.items():
        await _plays(page, 1, [n for n in [*by_name, "Dr. Rivera"] if n != pairs[name]], log,
                     f"breakout ({name})")
    await _plays(clinician, 0, [], log, "breakout (the clinician, in the main room)")
    running = strip.get_by_role("list", name="Breakouts")
    await running.get_by_text("Pair 1: Samuel and Kim.", exact=True).wait_for()
    await running.get_by_text("Pair 2: Robin and Ana.", exact=True).wait_for()

    # Visit Samuel and Kim: the clinician sees and hears them, they the clinician; the other
    # pair does not.
    await running.get_by_role("button", name="Visit Samuel and Kim", exact=True).click()
    leave = running.get_by_role("button", name="Leave the visit", exact=True)
    await leave.wait_for()
    await running.get_by_text("Pair 1: Samuel and Kim. You're visiting them", exact=False).wait_for()
    await _plays(clinician, 2, ["Robin", "Ana"], log, "visit (the clinician)")
    await _plays(sam, 2, ["Robin", "Ana"], log, "visit (Samuel)")
    await _plays(kim, 2, ["Robin", "Ana"], log, "visit (Kim)")
    for page, shown in ((sam, "Dr. Rivera"), (kim, "Dr. Rivera"), (clinician, "Samuel"),
                        (clinician, "Kim")):  # each tile named, as a person would check
        await page.locator("figure[data-peer] figcaption", has_text=shown).wait_for()
    assert await clinician.get_by_role("button", name="Send back Samuel").count() == 1
    # The visited pair is told who came in; the other pair is told nothing.
    for page in (sam, kim):
        note = page.locator("[data-note=visit]")
        await note.filter(has_text="Visiting your pair now: Dr. Rivera.").wait_for()
    for page in (robin, ana):
        assert await page.locator("[data-note=visit]").count() == 0
    await _still_plays(robin, 1, ["Dr. Rivera", "Samuel", "Kim"], "visit (Robin)")
    await _still_plays(ana, 1, ["Dr. Rivera", "Samuel", "Kim"], "visit (Ana)")
    await screenshot(clinician, "pairs-visit")
    problems = await axe_violations(clinician)
    assert not problems, "\n".join(problems)

    # Leave the visit: the clinician is back in the main room alone, nobody else moved.
    await leave.click()
    await running.get_by_role("button", name="Visit Samuel and Kim", exact=True).wait_for()
    await _plays(clinician, 0, [], log, "visit left (the clinician)")
    await _plays(sam, 1, ["Dr. Rivera", "Robin", "Ana"], log, "visit left (Samuel)")
    await _plays(kim, 1, ["Dr. Rivera", "Robin", "Ana"], log, "visit left (Kim)")
    await sam.locator("[data-note=visit]").wait_for(state="detached")
    await _still_plays(robin, 1, ["Dr. Rivera", "Samuel", "Kim"], "visit left (Robin)")

    await strip.get_by_role("button", name="Bring everyone back", exact=True).click()
    await _all_play([clinician, *by_name.values()], 4, [], log, "everyone back")
    # The pairs made by hand are kept for the next breakout.
    await preview.get_by_text("Pairs: Samuel and Kim; Robin and Ana.", exact=True).wait_for()

    # The room's Lock and End session, on the clinician's group page too.
    room_panel = clinician.get_by_role("region", name="Room")
    await room_panel.get_by_role("button", name="Lock", exact=True).click()
    await room_panel.get_by_text("The room is locked: no one new can knock.").wait_for()
    late = await group.peer("client", sub="late", room=GROUP, name="Late", join=False)
    assert (await late.call("agreement.accept", {"version": "group-agreement-v1-en",
                                                 "alias": "Late"}))["ok"]
    refused = await late.call("join", {})
    assert refused["error"]["code"] == "E_ROOM_LOCKED", refused
    await room_panel.get_by_role("button", name="End session", exact=True).click()
    await clinician.get_by_role("dialog").get_by_role("button", name="End for everyone").click()
    for page in by_name.values():
        await page.get_by_text("This session has ended.").first.wait_for()
    assert not log.problems(), "\n".join(log.problems())


@pytest.mark.timeout(90)
async def test_a_spanish_clinicians_pairs_and_breakouts_speak_spanish(
        group: Harness, browser: Browser, contexts: list[BrowserContext],  # noqa: F811
        members: list[Member]) -> None:  # noqa: F811
    """Three members on socket.io (no media needed for the words): the chooser, a pair of one
    explained, the breakout list with Visit and Leave the visit, in Spanish and axe-clean."""
    log = PageLog()
    page = await open_page(browser, contexts, group,
                           group.token("clinician", name="Dra. Rivera", room=GROUP, locale="es"),
                           log, "clinician", DESKTOP, browser_locale="es-US", bypass_csp=True)
    await page.get_by_role("button", name="Entrar", exact=True).click()
    await page.wait_for_selector('body[data-phase="in"]')
    for i in (1, 2, 3):
        await knock(group, members, "client", f"member-{i}")
    await page.get_by_role("button", name="Dar paso a todos", exact=True).click()
    strip = page.get_by_role("region", name="Controles del grupo")
    preview = strip.locator("#group-controls-pairs")
    await preview.get_by_text("Parejas: Member-1, Member-2 y Member-3.", exact=True).wait_for()
    await strip.get_by_role("button", name="Elegir las parejas", exact=True).click()
    chooser = strip.get_by_role("group", name="Quién practica con quién")
    await chooser.get_by_role("combobox", name="Member-3").select_option(
        label="Se queda en la sala principal")
    await chooser.get_by_role("combobox", name="Member-2").select_option(
        label="Se queda en la sala principal")
    await preview.get_by_text("En la pareja 1 solo está Member-1", exact=False).wait_for()
    checker = Checker(frozenset({"Member-1", "Member-2", "Member-3", "Dra. Rivera", "Partner",
                                 "Clinician"}))
    await checker.check(page, "room:group-pairs")
    problems = await axe_violations(page)
    assert not problems, "\n".join(problems)

    await chooser.get_by_role("combobox", name="Member-2").select_option(label="Pareja 1")
    await preview.get_by_text("Parejas: Member-1 y Member-2.", exact=True).wait_for()
    await strip.get_by_role("button", name="Practicar en parejas", exact=True).click()
    assert await members[0].peer.wait_for("group.breakout") == {"breakout": 0,
                                                               "with": ["member-2"]}
    running = strip.get_by_role("list", name="Salas aparte")
    await running.get_by_role("button", name="Visitar a Member-1 y Member-2", exact=True).click()
    await running.get_by_role("button", name="Salir de la visita", exact=True).wait_for()
    await running.get_by_text("Usted está de visita aquí", exact=False).wait_for()
    await checker.check(page, "room:group-visit")
    problems = await axe_violations(page)
    assert not problems, "\n".join(problems)
    await strip.get_by_role("button", name="Volver todos al grupo", exact=True).click()
    await members[0].peer.wait_for("group.breakout", lambda d: d["breakout"] is None)
    assert not log.problems(), "\n".join(log.problems())
