"""The message catalogues are complete: every key a page or a panel asks for exists in English
and Spanish, with the same placeholders and the plural forms Spanish needs, and every error
code a person can meet has words in both (docs/i18n.md). Fast: no server, no browser.

Keys are read from the source as written: ``t("key")``, ``t(cond ? "a" : "b")``, template
literals (``t(`label.${scale}`)``, which must match at least one key), ``data-i18n="key"`` and
``data-i18n-attr="attr:key; ..."``. In a tool's ``panel.js`` keys are relative to the tool
(``api.t("title")`` reads ``tools.<name>.title``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from server.catalogues import LOCALES, Catalogues
from server.errors import Code
from server.tools.registry import discover

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
PLUGINS = ROOT / "plugins"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
CALL = re.compile(r"(?<![\w$.])(?:(?:this\.)?api\.)?t\(")
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`')
DATA_I18N = re.compile(r'data-i18n(-attr)?(?:=|["\']\s*:\s*)["\']([^"\']+)["\']')
COMPARED = re.compile(r"[=!]==?\s*$")  # `v.phase === "end" ? ...`: a value, not a key
KEY = re.compile(r"[\w.${}-]+")
CONTENT = re.compile(r"^tools\.(exercises|roleplay)\.content\.")


def merged() -> dict[str, dict[str, object]]:
    loaded = Catalogues.load(WEB, discover())
    return {locale: json.loads(loaded.by_locale[locale]) for locale in LOCALES}


CATALOGUES = merged()


def strip_comments(source: str) -> str:
    source = re.sub(r"/\*[\s\S]*?\*/", "", source)
    return re.sub(r"(?m)(^|[^:\"'`\w])//.*$", r"\1", source)


def first_argument(source: str, start: int) -> str:
    """The text of a call's first argument, from just after its "(" (depth-aware)."""
    depth, i = 0, start
    while i < len(source):
        ch = source[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            break
        elif ch in "\"'`":
            end = source.index(ch, i + 1)
            while source[end - 1] == "\\":
                end = source.index(ch, end + 1)
            i = end
        i += 1
    return source[start:i]


def scan(source: str) -> list[str]:
    """Every key (or ``${}`` pattern) a page's source asks the catalogue for, in order."""
    source = strip_comments(source)
    keys = []
    for call in CALL.finditer(source):
        argument = first_argument(source, call.end())
        while re.search(r"\([^()]*\)", argument):  # t(f("x")): "x" is f's, not a key
            argument = re.sub(r"\([^()]*\)", "", argument)
        for match in STRING.finditer(argument):
            literal = match.group(1) if match.group(1) is not None else match.group(2)
            compared = COMPARED.search(argument[:match.start()]) \
                or re.match(r"\s*[=!]==?", argument[match.end():])
            if literal and KEY.fullmatch(literal) and not compared:
                keys.append(literal)
    for match in DATA_I18N.finditer(source):
        if match.group(1):  # data-i18n-attr="aria-label:key; title:key2"
            keys += [p.partition(":")[2].strip() for p in match.group(2).split(";")
                     if p.partition(":")[2].strip()]
        else:
            keys.append(match.group(2))
    return keys


def used_keys(path: Path, prefix: str = "") -> list[tuple[str, str]]:
    """(key or pattern, file) for every key `path` uses; `prefix` for a panel's relative keys."""
    where = str(path.relative_to(ROOT))
    return [(prefix + key, where) for key in scan(path.read_text("utf-8"))]


def all_used() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted([*WEB.glob("**/*.js"), *WEB.glob("*.html")]):
        if "vendor" in path.parts:
            continue
        found += used_keys(path)
    for panel in sorted(PLUGINS.glob("*/panel.js")):
        found += used_keys(panel, f"tools.{panel.parent.name}.")
    return found


def pattern(key: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]*\}", key)
    return re.compile("[^.]+(?:\\.[^.]+)*".join(re.escape(p) for p in parts))


def placeholders(message: object) -> set[str]:
    texts = message.values() if isinstance(message, dict) else [message]
    return {name for text in texts for name in PLACEHOLDER.findall(str(text))}


def test_the_scanner_finds_keys_in_every_shape_a_page_writes_them() -> None:
    sample = (
        '// t("in.a.comment") is not a use\n'
        'h("p", {}, t("a.plain", { n: 1 }));\n'
        'api.t(busy ? "b.one" : "b.two");\n'
        'api.t(v.phase === "end" ? "b.end" : "b.start");\n'
        't(node.getAttribute("data-i18n"));\n'
        'this.api.t(`c.${scale}.${n}`);\n'
        'note.textContent = at("not.a.call") + x.t("nor.this");\n'
        '<p data-i18n="d.text" data-i18n-attr="aria-label:e.label; title:f.title"></p>\n')
    assert scan(sample) == ["a.plain", "b.one", "b.two", "b.end", "b.start", "c.${scale}.${n}",
                            "d.text",
                            "e.label", "f.title"]
    assert pattern("c.${scale}.${n}").fullmatch("c.mood.1")
    assert not pattern("c.${scale}.${n}").fullmatch("c.mood")


def test_every_key_the_pages_and_panels_use_is_in_english_and_spanish() -> None:
    used = all_used()
    assert len(used) > 100, "the scanner found too few keys: is it still reading the panels?"
    missing = []
    for key, where in used:
        for locale, catalogue in CATALOGUES.items():
            if "${" in key:
                if not any(pattern(key).fullmatch(k) for k in catalogue):
                    missing.append(f"{where}: no {locale} key matches {key}")
            elif key not in catalogue:
                missing.append(f"{where}: {key} missing in {locale}")
    assert not missing, "\n".join(missing)


def test_spanish_has_every_english_key_and_no_other() -> None:
    en, es = CATALOGUES["en"], CATALOGUES["es"]
    assert sorted(set(en) - set(es)) == []
    # A library's own text is translated under content.* (English is the library file).
    assert sorted(k for k in set(es) - set(en) if not CONTENT.match(k)) == []


def test_each_message_keeps_its_placeholders_and_spanish_plural_forms() -> None:
    en, es = CATALOGUES["en"], CATALOGUES["es"]
    wrong = []
    for key, message in en.items():
        theirs = es[key]
        if placeholders(message) != placeholders(theirs):
            wrong.append(f"{key}: {sorted(placeholders(message))} vs {sorted(placeholders(theirs))}")
        if isinstance(message, dict) or isinstance(theirs, dict):
            for locale, form in (("en", message), ("es", theirs)):
                # (A form may leave the number unsaid: "your clinician" / "your clinicians".)
                if not isinstance(form, dict) or not {"one", "other"} <= set(form):
                    wrong.append(f"{key}: {locale} needs the plural forms one and other")
    assert not wrong, "\n".join(wrong)


def test_every_error_code_has_words_in_both_languages() -> None:
    for locale, catalogue in CATALOGUES.items():
        missing = [c.value for c in Code if f"errors.{c.value}" not in catalogue]
        assert missing == [], f"{locale}: {missing}"
        assert "errors.unknown" in catalogue
        # The sentence stands alone: no placeholders the page could not fill.
        assert not [k for k, v in catalogue.items() if k.startswith("errors.") and placeholders(v)]


def library_text() -> dict[str, str]:
    """Every person-facing string of the built-in exercise and role-play libraries, by key."""
    out: dict[str, str] = {}
    for path in sorted((PLUGINS / "exercises" / "library").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        base = f"tools.exercises.content.{data['id']}."
        out[base + "title"], out[base + "intro"] = data["title"], data["intro"]
        for n, step in enumerate(data["steps"]):
            at = f"{base}step.{n}."
            out[at + "prompt"] = step["prompt"]
            for name in ("guide", "template"):
                if step.get(name):
                    out[at + name] = step[name]
            for f in step.get("fields", []):
                out[f"{at}field.{f['name']}.label"] = f["label"]
                if f.get("placeholder"):
                    out[f"{at}field.{f['name']}.placeholder"] = f["placeholder"]
    for path in sorted((PLUGINS / "roleplay" / "scenarios").glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        base = f"tools.roleplay.content.{data['id']}."
        out[base + "title"], out[base + "summary"] = data["title"], data["summary"]
        out[base + "reflection"] = data["reflection"]
        for part, role in data["roles"].items():
            out[f"{base}role.{part}.label"], out[f"{base}role.{part}.about"] = \
                role["label"], role["about"]
        for n, turn in enumerate(data["turns"]):
            out[f"{base}turn.{n}.prompt"] = turn["prompt"]
            if turn.get("cue"):
                out[f"{base}turn.{n}.cue"] = turn["cue"]
            for j, words in enumerate(turn.get("suggested", [])):
                out[f"{base}turn.{n}.suggested.{j}"] = words
    return out


def test_the_built_in_libraries_are_all_in_spanish_and_nothing_else_is_stale() -> None:
    english = library_text()
    spanish = {k: v for k, v in CATALOGUES["es"].items() if CONTENT.match(k)}
    assert sorted(set(english) - set(spanish)) == [], "library text with no Spanish"
    assert sorted(set(spanish) - set(english)) == [], "Spanish for library text that is gone"
    for key, text in english.items():
        assert placeholders(text) == placeholders(spanish[key]), key  # templates' {fields}
        assert spanish[key] != text or len(text) < 4, f"{key} is not translated"


def test_spanish_speaks_to_the_reader_as_usted() -> None:
    """The second person in Spanish is usted: no tú forms in what the product says to people.

    Words that characters say to each other inside a role-play or an exercise's example
    (``content.*``) are speech between partners and may use tú.
    """
    informal = re.compile(r"\b(tú|tienes|puedes|quieres|necesitas|estás|eres|haz|dime)\b",
                          re.IGNORECASE)
    found = [f"{k}: {v}" for k, v in CATALOGUES["es"].items()
             if not CONTENT.match(k) and informal.search(json.dumps(v, ensure_ascii=False))]
    assert found == []


def test_each_tool_title_in_english_is_the_title_the_server_gives() -> None:
    """The launcher's `Start <title>` reads the catalogue; English must say what it said before."""
    for name, tool in discover().items():
        assert CATALOGUES["en"].get(f"tools.{name}.title") == tool.title, name
        assert CATALOGUES["es"].get(f"tools.{name}.title"), name
