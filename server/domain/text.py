"""Text that people type or are named by: normalised to NFC, and free of characters that
hide or reorder what others read.

Refused (see docs/protocol.md, "Text"): control characters (C0, DEL, C1), bidirectional
overrides, embeddings, isolates and marks (U+202A–202E, U+2066–2069, U+200E, U+200F,
U+061C), and zero-width characters (U+200B–200D, U+2060, U+FEFF). A bidi override in a
name can make "Dr. Rivera" read as someone else, and invisible characters make two
different names look the same.

Caveat: U+200C/U+200D (zero-width non-joiner and joiner) are refused too, although
Persian names and emoji sequences use them; a host platform whose people need them
should say so, and the rule can let them through between letters.
"""

from __future__ import annotations

import re
import unicodedata

# One character class, used by the request models' ``pattern`` too (so the OpenAPI
# document states the rule); ``\u`` escapes mean the same in Python, Rust and ECMA-262.
_INVISIBLE = r"\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
# Single-line text (names, reasons): no control character at all.
LINE_PATTERN = f"^[^{_CONTROL}{_INVISIBLE}]*$"
# Multi-line text (notes): tab, line feed and carriage return are allowed.
NOTE_PATTERN = rf"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f{_INVISIBLE}]*$"

_STRIP = re.compile(f"[{_CONTROL}{_INVISIBLE}]")


def nfc(value: object) -> object:
    """NFC of a string (anything else unchanged, for the model to refuse)."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def display_name(text: str) -> str:
    """A name from a signed token, made safe to show: NFC, hidden characters dropped.

    Tokens come from the host platform, so a stray character is its mistake, not an
    attack on us: dropping it keeps the person able to join, where refusing the token
    would lock them out of their session.
    """
    if text.isascii() and text.isprintable():
        return text
    return _STRIP.sub("", unicodedata.normalize("NFC", text))
