"""The round's panel in real Chromium: a clinician's group page (no media needed for tools)
starts a round, sees who answered but no text, closes, holds one back and shares; the
members (real socket.io peers) get the nameless shuffled list, and the page never held a
name next to an answer. Set ``ALONGSIDE_SCREENSHOTS=<dir>`` to keep a screenshot."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser import PageLog, browser_fixture, join  # noqa: F401  (the browser fixture)
from tests.conftest import Harness
from tests.test_browser_tools import room_page, screenshot, shown
from tests.test_tool_round import ANSWERS, NAMES, member

GROUP = "room-group"


async def test_the_clinician_runs_a_round_from_the_group_page(alongside: Harness,
                                                              browser: Browser) -> None:
    log = PageLog()
    await alongside.create_room(GROUP, "group")
    page, frames = await room_page(alongside, browser, alongside.token(
        "clinician", name="Dr. Rivera", room=GROUP), log, "clinician")
    await join(page)
    helper = await alongside.peer("clinician", sub="dr-2", name="Dr. Chen", room=GROUP)
    members = {s: await member(alongside, helper, s) for s in NAMES}

    tools = page.locator("[data-tools]")
    await tools.get_by_label("Question for the round").fill("One good thing this week?")
    await tools.get_by_role("button", name="Start Round").click()
    panel = page.locator('[data-tool="round"]')
    await shown(panel, "One good thing this week?", log)
    for sub in ("ana", "ben", "cy", "dee"):
        ack = await members[sub].call("tool:act", {"tool": "round", "action": "answer",
                                                   "payload": {"text": ANSWERS[sub]}})
        assert ack["ok"], ack
    await shown(panel, "4 answered: Ana, Ben, Cy, Dee", log)
    assert not any(frames.contain(text) for text in ANSWERS.values())

    await panel.get_by_role("button", name="Close the round").click()
    answers = panel.get_by_role("list", name="Answers, without names")
    await shown(answers, ANSWERS["ben"], log)
    await answers.get_by_role("listitem").filter(has_text=ANSWERS["ben"]).get_by_role(
        "button", name="Hold back").click()
    await shown(answers.get_by_role("listitem").filter(has_text=ANSWERS["ben"]),
                "Share this one", log)
    await panel.get_by_role("button", name="Share with the group").click()
    shared = panel.get_by_role("list", name="The group's answers, without names")
    await shown(shared, ANSWERS["ana"], log)
    assert ANSWERS["ben"] not in await shared.inner_text()
    got = await members["dee"].wait_for("tool", lambda d: any(
        t.get("view", {}).get("stage") == "revealed" for t in d["tools"]))
    [view] = [t["view"] for t in got["tools"] if t["name"] == "round"]
    assert sorted(view["shared"]) == sorted([ANSWERS["ana"], ANSWERS["cy"], ANSWERS["dee"]])
    # No shared answer is shown next to a name, and no frame tied an answer to its writer.
    for item in await shared.get_by_role("listitem").all_inner_texts():
        assert not any(name in item for name in NAMES.values()), item
    assert not any(frames.contain(f'"by": "{sub}"') or frames.contain(f'"by":"{sub}"')
                   for sub in NAMES)
    await screenshot(page, "round-clinician", '[data-tool="round"]')
    assert not log.csp_violations(), str(log)
