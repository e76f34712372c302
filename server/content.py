"""Deployment-configured words: what couples sessions involve, and other support.

Kept as data (``ALONGSIDE_CONTENT_DIR``, default ``web/content``) so each program
provider can word them for its people without code. Consent records the
``version`` of the text the partner read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Content:
    couples_info: dict[str, Any]
    support: list[dict[str, str]]

    @property
    def version(self) -> str:
        return str(self.couples_info["version"])

    @classmethod
    def load(cls, directory: Path) -> Content:
        info = json.loads((directory / "couples-info.json").read_text())
        support = json.loads((directory / "support.json").read_text())
        if not isinstance(info.get("version"), str) or not isinstance(info.get("paragraphs"), list):
            raise ValueError("couples-info.json needs a version and paragraphs")
        if not all(isinstance(s, dict) and "title" in s for s in support):
            raise ValueError("support.json is a list of {title, description, contact}")
        return cls(couples_info=info, support=support)
