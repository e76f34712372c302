"""The invite page's and the program panels' words: every key the pages use is in the English
catalogue, and Spanish has every English key (no page falls back to English, none shows a key).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).parent.parent / "web"
PAGES = ["invite.js", "invite.html", "program.js", "program-base.js", "program-client.js",
         "program-clinician.js", "program-partner.js"]


def catalogue(locale: str, *areas: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for area in areas:
        found.update(json.loads((WEB / "locales" / locale / f"{area}.json").read_text("utf-8")))
    return found


def used_keys() -> set[str]:
    keys: set[str] = set()
    for page in PAGES:
        text = (WEB / page).read_text("utf-8")
        keys |= set(re.findall(r'\bt\("((?:invite|program)\.[^"]+)"', text))
        keys |= set(re.findall(r'data-i18n="((?:invite|program)\.[^"]+)"', text))
        # The clinician's panel shortens its keys: c("x") is t("program.clinician.x").
        keys |= {f"program.clinician.{k}" for k in re.findall(r'\bc\("([^"]+)"', text)}
    return keys


def test_every_key_the_pages_use_is_in_english() -> None:
    english = catalogue("en", "invite", "program")
    missing = sorted(k for k in used_keys() if k not in english)
    assert not missing, missing


def test_spanish_is_complete_and_keeps_placeholders_and_plural_forms() -> None:
    for area in ("invite", "program"):
        en, es = catalogue("en", area), catalogue("es", area)
        assert set(en) == set(es), set(en) ^ set(es)
        assert all(k.startswith(f"{area}.") for k in en)
        for key, message in en.items():
            other = es[key]
            assert type(other) is type(message), key
            forms = message.values() if isinstance(message, dict) else [message]
            spanish = other.values() if isinstance(other, dict) else [other]
            wanted = set().union(*(re.findall(r"\{(\w+)\}", str(f)) for f in forms))
            got = set().union(*(re.findall(r"\{(\w+)\}", str(f)) for f in spanish))
            # A plural's "one" form may leave out {count}; nothing else may go missing.
            assert got >= wanted - {"count"}, (key, wanted, got)
            if message != other:
                continue
            assert key.endswith(("dayTime", "fact.consentedValue", "historyLine")) \
                or not re.search(r"[a-z]{3}", re.sub(r"\{\w+\}", "", str(message))), \
                f"{key} is not translated"  # (placeholders alone, "{session} ({when})", need none)
