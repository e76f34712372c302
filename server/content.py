"""Deployment-configured words, per locale: what couples sessions involve, and other support.

Kept as data (``ALONGSIDE_CONTENT_DIR``, default ``web/content``), one folder per locale of
:data:`server.catalogues.LOCALES` (``en/couples-info.json``, ``en/support.json``, ``es/...``),
so each program provider can word them for its people without code. Each locale's
description has its own ``version`` (e.g. ``couples-info-v1-es``): a consent records the
version of the text the partner read, and so which locale's words they read.

Note: English is required; a locale whose folder lacks a file uses English's. A directory
laid out the old way (``couples-info.json`` at its top) is read as English.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.catalogues import LOCALES

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class LocaleContent:
    """One locale's words: the couples-session description and the other support."""

    locale: str
    couples_info: dict[str, Any]
    support: list[dict[str, str]]

    @property
    def version(self) -> str:
        return str(self.couples_info["version"])


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _check(info: Any, support: Any, where: str) -> None:
    if not isinstance(info, dict) or not isinstance(info.get("version"), str) \
            or not isinstance(info.get("paragraphs"), list):
        raise ValueError(f"{where}/couples-info.json needs a version and paragraphs")
    if not isinstance(support, list) or \
            not all(isinstance(s, dict) and "title" in s for s in support):
        raise ValueError(f"{where}/support.json is a list of {{title, description, contact}}")


@dataclass(frozen=True)
class Content:
    by_locale: Mapping[str, LocaleContent]

    def for_locale(self, locale: str | None) -> LocaleContent:
        """The words of ``locale``, or English's for a locale not offered."""
        return self.by_locale.get(locale or DEFAULT_LOCALE) or self.by_locale[DEFAULT_LOCALE]

    def read_version(self, version: str) -> LocaleContent | None:
        """The locale whose current description has ``version``, if any (a consent names
        the version read, and so the locale)."""
        for words in self.by_locale.values():
            if words.version == version:
                return words
        return None

    @property
    def default(self) -> LocaleContent:
        return self.by_locale[DEFAULT_LOCALE]

    # The English words, for callers that name no locale.
    @property
    def version(self) -> str:
        return self.default.version

    @property
    def couples_info(self) -> dict[str, Any]:
        return self.default.couples_info

    @property
    def support(self) -> list[dict[str, str]]:
        return self.default.support

    @classmethod
    def load(cls, directory: Path) -> Content:
        base = directory / DEFAULT_LOCALE
        if not (base / "couples-info.json").is_file():
            base = directory  # the old, single-locale layout
        english = (_read(base / "couples-info.json"), _read(base / "support.json"))
        _check(*english, str(base))
        found: dict[str, LocaleContent] = {}
        versions: set[str] = set()
        for locale in LOCALES:
            folder = directory / locale
            info = _read(folder / "couples-info.json") \
                if (folder / "couples-info.json").is_file() else english[0]
            support = _read(folder / "support.json") \
                if (folder / "support.json").is_file() else english[1]
            _check(info, support, str(folder))
            found[locale] = LocaleContent(locale, info, support)
            if info is not english[0]:
                # Two locales' texts under one version would make a consent ambiguous.
                if info["version"] in versions:
                    raise ValueError(f"{folder}: version {info['version']} is used twice")
                versions.add(info["version"])
        return cls(by_locale=found)
