"""A whole couples session in Spanish, in real Chromium against a real server: the partner's
invitation (``?lang=es``), consent, the waiting room, admission, and an exercise running to the
release of the answers; the client and the clinician come with a token whose ``locale`` claim
is ``es``, and every browser prefers Spanish. On each page, at each step, no English string a
catalogue has in Spanish is left (tests/spanish_pages.py), ``<html lang>`` is ``es``, and the
exercise's own words (its title, prompt, field labels, the answers' sentence) are Spanish.

Note: pages whose area has no catalogue yet are not judged; their English words are printed
(`pytest -s`) as a list for whoever converts them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser import PHONE, PageLog, browser_fixture  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.lifecycle import PROGRAM, Api
from tests.spanish_pages import EnglishLeft, converted, page_words

WAIT_MS = 20_000
ROOM = "p-c1"
SAM = {"feel": "preocupación", "when": "llegas tarde sin avisar", "need": "un mensaje"}
ALEX = {"feel": "cansancio", "when": "no hablamos de dinero", "need": "un plan juntos"}


@pytest.fixture
async def api(alongside: Harness) -> AsyncIterator[Api]:
    async with ClientSession() as http:
        yield Api(alongside, http)


async def spanish_person(browser: Browser, base_url: str) -> BrowserContext:
    """A profile whose browser prefers Spanish (US), with camera and microphone allowed."""
    context = await browser.new_context(viewport=PHONE, locale="es-US")
    await context.grant_permissions(["camera", "microphone"], origin=base_url)
    return context


async def open_page(browser: Browser, h: Harness, url: str, log: PageLog, label: str) -> Page:
    page = await (await spanish_person(browser, h.url)).new_page()
    page.set_default_timeout(WAIT_MS)
    log.watch(page, label)
    await page.goto(url)
    return page


class Checker:
    """Reads every page at each step; fails on English left, keeps the rest for the report.

    A page is judged whole once its area is in the catalogues (``room`` for the session page,
    ``invite`` for the invitation); until then only the parts that are, the tools section
    (``[data-tools]``), and ``<html lang>`` only once the tools have loaded the catalogue.
    """

    def __init__(self, names: frozenset[str] = frozenset()) -> None:
        self.english = EnglishLeft.load()
        self.names = names  # people's names are data, even one that reads "Partner"
        self.elsewhere: dict[str, set[str]] = {}

    async def check(self, page: Page, where: str) -> None:
        area = "invite" if where.startswith("invite") else "room"
        whole = converted(area)
        scope = "body" if whole else "[data-tools]" if area == "room" else ""
        tools_shown = await page.locator("[data-tools]:not([hidden])").count() > 0
        if whole or (scope and tools_shown):
            assert await page.evaluate("document.documentElement.lang") == "es", where
        words = await page_words(page, scope) if scope else []
        left = self.english.found(words, self.names)
        assert not left, f"{where}: English left on a Spanish page: {left}"
        report = self.elsewhere.setdefault(where.split(":")[0], set())
        report.update(self.english.pending(words, self.names))
        if not whole:
            report.update(self.english.likely_english(await page_words(page)))

    def report(self) -> None:
        for page, words in sorted(self.elsewhere.items()):
            if words:
                print(f"\n[not converted yet] {page}: {sorted(words)}")


async def screenshot(page: Page, name: str) -> None:
    """The tools section, kept only with ``ALONGSIDE_SCREENSHOTS=<dir>`` (as the other tests)."""
    folder = os.environ.get("ALONGSIDE_SCREENSHOTS")
    if folder:
        await page.locator("[data-tools]").screenshot(path=str(Path(folder) / f"es-{name}.png"))


async def phase(page: Page, name: str) -> None:
    await page.wait_for_selector(f'body[data-phase="{name}"]', timeout=WAIT_MS)


async def test_a_couples_session_in_spanish_leaves_no_english(
        alongside: Harness, api: Api, browser: Browser) -> None:
    t = await api.setup_program()
    await api.step(t["client"], "agree")
    log = PageLog()
    # setup_program names the partner "Partner" until they give a name on the invitation.
    checker = Checker(names=frozenset({"Partner", "Partner, Partner", "Partner (partner)"}))

    def room_url(role: str, sub: str, name: str) -> str:
        token = alongside.token(role, sub=sub, name=name, program=PROGRAM, room=ROOM,
                                locale="es")
        return f"{alongside.url}/room#{token}"

    # Dr. Rivera opens the session.
    clinician = await open_page(browser, alongside, room_url("clinician", "dr-1", "Dr. Rivera"),
                                log, "clinician")
    await clinician.locator("[data-join]:not([disabled])").click()
    await phase(clinician, "in")
    await checker.check(clinician, "room (clinician): open")

    # Alex reads the invitation in Spanish and consents.
    url = (await api.invite(t["clinician"], room=ROOM))["url"]
    base, _, secret = url.partition("#")
    partner = await open_page(browser, alongside, f"{base}?lang=es#{secret}", log, "partner")
    await partner.locator("[data-info]:not([hidden])").wait_for()
    await checker.check(partner, "invite: reading")
    await partner.locator("[data-name]").fill("Alex")
    await partner.locator('[data-decision="consent"]').click()
    await partner.locator("[data-join]:not([disabled])").wait_for()  # the page is set up
    await checker.check(partner, "room (partner): before joining")
    await partner.locator("[data-join]:not([disabled])").click()
    await phase(partner, "waiting")
    await checker.check(partner, "room (partner): waiting room")

    # Sam knocks too; both wait in the lobby, and the clinician's lobby lists them.
    client = await open_page(browser, alongside, room_url("client", "cl-1", "Sam"), log, "client")
    await client.locator("[data-join]:not([disabled])").click()
    await phase(client, "waiting")
    await checker.check(client, "room (client): waiting room")
    lobby = clinician.locator("[data-lobby-list] li")
    await lobby.nth(1).wait_for()
    await checker.check(clinician, "room (clinician): two knocking")

    # Admitted, one after the other (the first button of a lobby row admits).
    for _ in range(2):
        await lobby.first.locator("button").first.click()
        await clinician.wait_for_timeout(300)
    await phase(partner, "in")
    await phase(client, "in")
    launcher = clinician.locator("[data-tools] .tool-launcher")
    await launcher.locator('[data-field="exercise"]').wait_for()
    for page, who in ((clinician, "clinician"), (client, "client"), (partner, "partner")):
        await checker.check(page, f"room ({who}): in the session")

    # The I-statement builder, in Spanish from its title to the answers' sentence.
    await launcher.locator('[data-field="exercise"]').select_option("i-statements")
    assert "Frases en primera persona" in await launcher.locator(
        '[data-field="exercise"] option:checked').inner_text()
    row = launcher.locator(".tool-start", has=clinician.locator('[data-field="exercise"]'))
    await row.locator('[data-control="start"]').click()
    on = {who: page.locator('[data-tool="exercises"]')
          for who, page in (("clinician", clinician), ("client", client), ("partner", partner))}
    await on["clinician"].get_by_text("Paso 1 de 2").wait_for()
    await on["clinician"].get_by_text("Ejercicio: Frases en primera persona").wait_for()
    await on["client"].get_by_text("Cada uno responde en privado.").wait_for()
    await on["partner"].get_by_label("Siento ...", exact=True).wait_for()
    for page, who in ((clinician, "clinician"), (client, "client"), (partner, "partner")):
        await checker.check(page, f"room ({who}): exercise, private step")

    for who, said in (("client", SAM), ("partner", ALEX)):
        panel = on[who]
        await panel.get_by_label("Siento ...", exact=True).fill(said["feel"])
        await panel.get_by_label("cuando ...").fill(said["when"])
        await panel.get_by_label("Necesito ...").fill(said["need"])
        await panel.get_by_role("button", name="Enviar en privado").click()
        await panel.get_by_text("Recibimos su respuesta").wait_for()
    sam_says = f"Siento {SAM['feel']} cuando {SAM['when']}. Necesito {SAM['need']}."
    await on["clinician"].get_by_text(sam_says).wait_for()
    await checker.check(clinician, "room (clinician): both answered")
    await screenshot(clinician, "1-clinician-exercise")
    await screenshot(partner, "2-partner-exercise")

    await on["clinician"].get_by_role("button", name="Mostrar las respuestas").click()
    await on["partner"].get_by_text(sam_says).wait_for()
    await on["partner"].get_by_text("Sus respuestas, compartidas").wait_for()
    await screenshot(partner, "3-partner-released")
    for page, who in ((clinician, "clinician"), (client, "client"), (partner, "partner")):
        await checker.check(page, f"room ({who}): answers released")

    checker.report()
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)


def test_the_checker_flags_english_that_has_spanish_and_nothing_else() -> None:
    english = EnglishLeft.load()
    assert english.found(["Submit privately", "Step 2 of 3", "4:59 left for this step",
                          "I-statement builder"]) == [
        "4:59 left for this step", "I-statement builder", "Step 2 of 3", "Submit privately"]
    # Spanish, names, numbers and words both languages write alike are not English left.
    assert english.found(["Enviar en privado", "Paso 2 de 3", "Sam", "Alongside", "4:59",
                          "Video", "E_TOOL_FAILED"]) == []


async def test_the_other_tools_speak_spanish_too(alongside: Harness, browser: Browser) -> None:
    """A time-out, a private check-in, a check-in scale and a role-play, each page in Spanish:
    the tools' own words, the calming prompt, the scale's labels and the scenario's script."""
    log = PageLog()
    checker = Checker(names=frozenset({"Partner"}))  # create_program's partner is "Partner"
    room = "room-couples"
    await alongside.create_program()
    pages = {}
    for role, sub, name in (("clinician", "clinician-1", "Dr. Rivera"),
                            ("client", "client-1", "Sam"), ("partner", "partner-1", "Alex")):
        token = alongside.token(role, sub=sub, name=name, room=room, locale="es")
        pages[role] = await open_page(browser, alongside, f"{alongside.url}/room#{token}",
                                      log, role)
        await pages[role].locator("[data-join]:not([disabled])").click()
        if role == "clinician":
            await phase(pages[role], "in")
        else:
            await pages["clinician"].locator("[data-lobby-list] li button").first.click()
            await phase(pages[role], "in")
    clinician, client, partner = pages["clinician"], pages["client"], pages["partner"]

    async def all_checked(what: str) -> None:
        for who, page in pages.items():
            await checker.check(page, f"room ({who}): {what}")

    # Alex asks for a time-out: each has the Spanish countdown and calming prompt.
    await partner.locator('[data-control="call-timeout"]').click()
    for page in (client, partner):
        panel = page.locator('[data-tool="timeout"]')
        await panel.get_by_text("Inhale despacio por la nariz").wait_for()
        await panel.get_by_text("de este tiempo fuera").wait_for()
    timeout = clinician.locator('[data-tool="timeout"]')
    await timeout.get_by_role("button", name="Ir a la sala de Sam").wait_for()
    await all_checked("time-out")
    await timeout.get_by_role("button", name="Terminar el tiempo fuera").click()
    await client.locator('[data-tool="timeout"]').get_by_text("Terminó el tiempo fuera.").wait_for()
    await timeout.get_by_role("button", name="Conversación privada con Sam").click()
    await partner.get_by_text("Su terapeuta está con Sam.").first.wait_for()
    await client.get_by_text("Su terapeuta está con usted, solo ustedes dos.").wait_for()
    await all_checked("private check-in")
    await timeout.get_by_role("button", name="Terminar la conversación privada").click()
    await partner.get_by_text("Terminó el tiempo fuera.").first.wait_for()
    await timeout.get_by_role("button", name="Cerrar la herramienta de tiempo fuera").click()
    await timeout.wait_for(state="detached")

    # The check-in: the Spanish questions and scale.
    launcher = clinician.locator("[data-tools] .tool-launcher")
    await launcher.locator('[data-field="phase"]').wait_for()
    await launcher.get_by_role("button", name="Iniciar Chequeo").click()
    scale = client.locator('[data-tool="checkin"]').get_by_role(
        "group", name="¿Cómo está su ánimo en este momento?")
    await scale.get_by_label("4 · Bien").check()
    await client.locator('[data-tool="checkin"]').get_by_role(
        "group", name="¿Qué tanta disposición tiene para la sesión de hoy?").get_by_label(
        "5 · Totalmente").check()
    await client.get_by_role("button", name="Enviar", exact=True).click()
    checkin = clinician.locator('[data-tool="checkin"]')
    await checkin.get_by_text("ánimo 4 · Bien; disposición 5 · Totalmente").wait_for()
    await checkin.get_by_text("Esperando a Alex.").wait_for()
    await all_checked("check-in")
    await checkin.get_by_role("button", name="Terminar y guardar").click()
    await checkin.wait_for(state="detached")

    # A role-play: the scenario's title, parts, prompts and cue in Spanish.
    await launcher.get_by_role("button", name="Iniciar Juego de roles").click()
    roleplay = clinician.locator('[data-tool="roleplay"]')
    await roleplay.locator('[data-field="scenario"]').select_option("asking-for-space")
    await roleplay.get_by_text("Una conversación se está calentando").first.wait_for()
    await all_checked("choosing a scenario")
    await roleplay.get_by_role("button", name="Usar esta situación").click()
    await client.get_by_text("Insista en el tema del dinero").first.wait_for()
    await roleplay.get_by_text("Solo usted ve esto · Sugerencia para guiar").wait_for()
    await all_checked("role-play, first turn")
    await roleplay.get_by_role("button", name="Siguiente turno").click()
    await client.get_by_text("Siento que me estoy agobiando").wait_for()
    await all_checked("role-play, the client's turn")

    checker.report()
    assert not log.csp_violations(), str(log)
    assert not log.problems(), str(log)
