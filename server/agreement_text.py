"""The group agreement's words, per locale: what a member accepts before a group's lobby.

Kept as data beside the couples description (``<content dir>/<locale>/group-agreement.json``,
default ``web/content``), each locale with its own ``version`` (``group-agreement-v1-es``),
so an acceptance records which text, and so which language, the member read.

Note: a content directory without the file (an older deployment's own words) falls back
to the shipped text in ``web/content``, so a deployment that never heard of groups still
starts; a locale without the file uses English's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.catalogues import LOCALES

FILE = "group-agreement.json"
PARTNERS_AGREEMENT = "partners-group-agreement.json"  # a partners-and-family group's own
DEFAULT_LOCALE = "en"
SHIPPED = Path(__file__).resolve().parent.parent / "web" / "content"


@dataclass(frozen=True)
class AgreementText:
    """One locale's agreement: its version, title and paragraphs."""

    locale: str
    version: str
    title: str
    paragraphs: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"locale": self.locale, "version": self.version, "title": self.title,
                "paragraphs": list(self.paragraphs)}


def _read(path: Path, locale: str) -> AgreementText:
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("version"), str) \
            or not isinstance(data.get("title"), str) \
            or not isinstance(data.get("paragraphs"), list) \
            or not all(isinstance(p, str) for p in data["paragraphs"]):
        raise ValueError(f"{path} needs a version, a title and paragraphs")
    return AgreementText(locale, data["version"], data["title"], tuple(data["paragraphs"]))


@dataclass(frozen=True)
class GroupAgreements:
    by_locale: Mapping[str, AgreementText]

    def for_locale(self, locale: str | None) -> AgreementText:
        """The text of ``locale``, or English's for a locale not offered."""
        return self.by_locale.get(locale or DEFAULT_LOCALE) or self.by_locale[DEFAULT_LOCALE]

    def read_version(self, version: str) -> AgreementText | None:
        """The current text whose version is ``version``, if any."""
        for text in self.by_locale.values():
            if text.version == version:
                return text
        return None

    @classmethod
    def load(cls, directory: Path, file: str = FILE) -> GroupAgreements:
        """The texts of ``file`` (also ``partners-group-agreement.json``, the partners-and-
        family group's own agreement) in every locale."""
        base = directory if (directory / DEFAULT_LOCALE / file).is_file() else SHIPPED
        english = _read(base / DEFAULT_LOCALE / file, DEFAULT_LOCALE)
        found: dict[str, AgreementText] = {}
        versions: set[str] = set()
        for locale in LOCALES:
            path = base / locale / file
            text = _read(path, locale) if path.is_file() else \
                AgreementText(locale, english.version, english.title, english.paragraphs)
            if path.is_file():
                # Two locales' texts under one version would make an acceptance ambiguous.
                if text.version in versions:
                    raise ValueError(f"{path}: version {text.version} is used twice")
                versions.add(text.version)
            found[locale] = text
        return cls(by_locale=found)
