"""The deployment's words per locale (server/content.py): each locale's own text and version,
English beneath a locale without its files, the old single-folder layout, and no version shared
by two languages (a consent must name the language read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.content import Content
from server.settings import WEB_DIR

INFO = {"title": "About", "paragraphs": ["One."]}
SUPPORT = [{"title": "Groups"}]


def write(folder: Path, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "couples-info.json").write_text(json.dumps({**INFO, "version": version}))
    (folder / "support.json").write_text(json.dumps(SUPPORT))


def test_the_shipped_words_have_one_version_per_locale() -> None:
    content = Content.load(WEB_DIR / "content")
    assert content.for_locale("en").version == "couples-info-v1-en"
    assert content.for_locale("es").version == "couples-info-v1-es"
    assert content.for_locale("es").couples_info["title"] == "Sobre las sesiones de pareja"
    assert content.for_locale("fr").locale == "en"  # not offered: English
    found = content.read_version("couples-info-v1-es")
    assert found is not None and found.locale == "es"
    assert content.read_version("couples-info-v0") is None


def test_a_locale_without_its_files_reads_english(tmp_path: Path) -> None:
    write(tmp_path / "en", "v1-en")
    content = Content.load(tmp_path)
    assert content.for_locale("es").version == "v1-en"
    assert content.read_version("v1-en") is not None


def test_the_old_single_folder_layout_is_english(tmp_path: Path) -> None:
    write(tmp_path, "v1")
    assert Content.load(tmp_path).for_locale("en").version == "v1"


def test_two_languages_under_one_version_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "en", "v1")
    write(tmp_path / "es", "v1")
    with pytest.raises(ValueError, match="used twice"):
        Content.load(tmp_path)
