"""What a page shows a Spanish reader that is still English, judged against the catalogues.

A text is English left behind when it equals (or, with its ``{placeholders}`` filled, matches)
an English catalogue message whose Spanish differs, or an English line of a built-in exercise
or role-play. Only words the catalogues know count, and a word written in a page module that does not use
the catalogues yet (``not_converted_words``) is reported, not failed: that module's owner
converts it, and from then on the test judges it (``likely_english`` and ``pending`` list such
words for a person to read).

What is read: every text node a person can see or a screen reader reads (visually hidden text
included, ``hidden``/``display: none`` subtrees not), the options of visible selects, the
page title, and the accessible names and hints people meet (``aria-label``, ``title``,
``placeholder``, ``alt``, a button's ``value``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Page

from server.catalogues import Catalogues
from server.tools.registry import discover
from tests.test_catalogues import library_text

WEB = Path(__file__).resolve().parents[1] / "web"
PLACEHOLDER = re.compile(r"\{\w+\}")
# Common English words: a hint for the report of unconverted areas, never a failure.
ENGLISH_WORDS = re.compile(r"\b(the|you|your|is|are|to|and|of|session|waiting|join|leave|"
                           r"camera|microphone|partner|clinician)\b", re.IGNORECASE)

# What a placeholder can be filled with, where it is known (a count is a number).
FILLED = {"count": r"\d+", "n": r"\d+", "time": r"\d+:\d\d"}

READ = """(scope) => {
    const out = [];
    const roots = [...document.querySelectorAll(scope)];
    const inScope = (el) => roots.some((r) => r.contains(el));
    const shown = (el) => {
        for (let e = el; e; e = e.parentElement) {
            if (e.hidden || e.getAttribute("aria-hidden") === "true") return false;
            const style = getComputedStyle(e);
            if (style.display === "none" || style.visibility === "hidden") return false;
        }
        return true;
    };
    for (const root of roots) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const text = n.textContent.replace(/\\s+/g, " ").trim();
            const parent = n.parentElement;
            if (!text || !parent || ["SCRIPT", "STYLE", "OPTION"].includes(parent.tagName)) continue;
            if (shown(parent)) out.push(text);
        }
    }
    for (const select of document.querySelectorAll("select")) {
        if (inScope(select) && shown(select)) for (const o of select.options) out.push(o.textContent.trim());
    }
    for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt], input[type=button], input[type=submit]")) {
        if (!inScope(el) || !shown(el)) continue;
        for (const a of ["aria-label", "title", "placeholder", "alt"]) {
            const v = el.getAttribute(a);
            if (v && v.trim()) out.push(v.trim());
        }
        if (el.tagName === "INPUT" && ["button", "submit"].includes(el.type) && el.value) out.push(el.value);
    }
    if (document.title && scope === "body") out.push(document.title.trim());
    return out.filter(Boolean);
}"""


def _forms(message: object) -> list[str]:
    return list(message.values()) if isinstance(message, dict) else [str(message)]


def _pattern(message: str) -> re.Pattern[str] | None:
    """A message as a full-match pattern, or None when too little of it is fixed text."""
    fixed = PLACEHOLDER.sub("", message)
    if len(re.sub(r"[^A-Za-z]", "", fixed)) < 4:
        return None  # "{part}: {who}" would match anything
    out = []
    for piece in re.split(r"(\{\w+\})", message):
        name = piece[1:-1] if PLACEHOLDER.fullmatch(piece) else None
        out.append(re.escape(piece) if name is None else FILLED.get(name, ".+?"))
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class EnglishLeft:
    """The English that must not be left on a Spanish page."""

    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    spanish: frozenset[str]

    @classmethod
    def load(cls) -> EnglishLeft:
        loaded = Catalogues.load(WEB, discover())
        en = json.loads(loaded.by_locale["en"])
        es = json.loads(loaded.by_locale["es"])
        english: set[str] = set()
        for key, message in en.items():
            if key in es and es[key] != message:
                english.update(_forms(message))
        english.update(library_text().values())
        spanish = {form for message in es.values() for form in _forms(message)}
        english -= spanish  # a word both languages write alike ("Error: {code}") is no leftover
        exact = frozenset(m for m in english if not PLACEHOLDER.search(m))
        patterns = tuple(p for m in english if PLACEHOLDER.search(m)
                         if (p := _pattern(m)) is not None)
        return cls(exact=exact, patterns=patterns, spanish=frozenset(spanish))

    def english(self, texts: list[str], names: frozenset[str] = frozenset()) -> list[str]:
        """The texts that are English a catalogue has in Spanish (people's `names` aside)."""
        return sorted({t for t in texts if t not in names and (
            t in self.exact or any(p.fullmatch(t) for p in self.patterns))})

    def found(self, texts: list[str], names: frozenset[str] = frozenset()) -> list[str]:
        """English left behind, but for words written in a module not converted yet."""
        pending = not_converted_words()
        return [t for t in self.english(texts, names) if t not in pending]

    def pending(self, texts: list[str], names: frozenset[str] = frozenset()) -> list[str]:
        """English a catalogue has, shown by a module not converted yet: for the report."""
        pending = not_converted_words()
        return [t for t in self.english(texts, names) if t in pending]

    def likely_english(self, texts: list[str]) -> list[str]:
        """Texts no catalogue knows that read as English (areas not converted yet): a report."""
        return sorted({t for t in texts if t not in self.spanish and ENGLISH_WORDS.search(t)
                       and not any(ch in t for ch in "áéíóúñ¿¡")})


JS_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\]|\\.)*`'
                      r"|//[^\n]*|/\*[\s\S]*?\*/")


def not_converted_words() -> frozenset[str]:
    """Every literal written in a page module that does not use the catalogues yet.

    A ``web/*.js`` that never imports ``i18n.js``, or a ``web/*.html`` with no ``data-i18n``,
    has not been converted: its words are its own (reported, not failed). Once it is
    converted, the same words on a Spanish page fail the test.
    """
    words: set[str] = set()
    for path in sorted(WEB.glob("*.js")):
        source = path.read_text("utf-8")
        if "i18n.js" not in source:
            for m in JS_TOKEN.finditer(source):  # left to right: "don't" is one string
                token = m.group(0)
                if token[0] in "\"'`":
                    words.update(re.split(r"\$\{[^}]*\}", token[1:-1]))
    for path in sorted(WEB.glob("*.html")):
        source = path.read_text("utf-8")
        if "data-i18n" not in source:
            words.update(" ".join(m.group(1).split()) for m in re.finditer(r">([^<>]+)<", source))
            words.update(m.group(1) for m in re.finditer(
                r'(?:aria-label|title|placeholder|alt)="([^"]+)"', source))
    return frozenset(w.strip() for w in words if w.strip())


def converted(area: str) -> bool:
    """Whether an area's words are in the catalogues yet (web/locales/en/<area>.json)."""
    return (WEB / "locales" / "en" / f"{area}.json").is_file()


async def page_words(page: Page, scope: str = "body") -> list[str]:
    """What a person reads under the elements `scope` selects (the whole page by default)."""
    words: list[str] = await page.evaluate(READ, scope)
    return words
