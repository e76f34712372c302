"""Every error code the server can answer is documented, with a plain message."""

from __future__ import annotations

from pathlib import Path

from server.errors import MESSAGES, Code

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_code_has_a_message_and_is_documented() -> None:
    text = "\n".join(p.read_text() for p in DOCS.glob("*.md"))
    missing = [c.value for c in Code if f"`{c.value}`" not in text]
    assert missing == []
    assert set(MESSAGES) == set(Code)
    assert all(m.endswith((".", "?")) and len(m) < 120 for m in MESSAGES.values())
