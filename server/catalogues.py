"""Message catalogues: what each page says, per locale (docs/i18n.md).

The pages' words live in ``web/locales/<locale>/<area>.json``; each tool may ship its own in
``locales/<locale>.json`` beside its ``panel.js``, and those keys are prefixed
``tools.<name>.`` so no tool can overwrite another's or the pages'. The server merges them
once at start and serves one catalogue per locale; the browser never lists a directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from server.domain.identity import LOCALES
from server.tools.api import Tool
from server.tools.registry import package_of

__all__ = ["LOCALES", "Catalogues"]  # LOCALES: complete locales; English is the fallback

Message = str | dict[str, str]


def _messages(raw: Any, source: str) -> dict[str, Message]:
    """Checks a catalogue file's shape: keys to strings or to plural forms."""
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: a catalogue is a JSON object")
    for key, value in raw.items():
        plural = isinstance(value, dict) and "other" in value \
            and all(isinstance(v, str) for v in value.values())
        if not isinstance(value, str) and not plural:
            raise ValueError(f"{source}: {key} must be a string or plural forms with 'other'")
    return raw


@dataclass(frozen=True)
class Catalogues:
    by_locale: Mapping[str, bytes]  # the merged catalogue of each locale, as served

    @classmethod
    def load(cls, web_dir: Path, tools: Mapping[str, Tool]) -> Catalogues:
        merged: dict[str, bytes] = {}
        for locale in LOCALES:
            found: dict[str, Message] = {}
            # Tools first, the pages' own files last: a tool named like the launcher's keys
            # (``tools.launcher.*``, ``tools.kit.*``) cannot overwrite the page's words.
            for name, tool in sorted(tools.items()):
                package = package_of(tool)
                if not package:
                    continue
                try:
                    file = resources.files(package) / "locales" / f"{locale}.json"
                except (ModuleNotFoundError, TypeError):
                    continue
                if file.is_file():
                    own = _messages(json.loads(file.read_text("utf-8")), f"{name}/{locale}")
                    found.update({f"tools.{name}.{k}": v for k, v in own.items()})
            folder = web_dir / "locales" / locale
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
                found.update(_messages(json.loads(path.read_text("utf-8")), str(path)))
            merged[locale] = json.dumps(found, ensure_ascii=False, sort_keys=True).encode()
        return cls(by_locale=merged)
