"""How deeply a JSON text nests, judged before any parser sees it.

Why before: the standard library's parser recurses (10,000 levels raise
``RecursionError``), orjson stops at 1,024 but its encoder refuses past 255, so a
payload nested a few hundred levels deep would parse, be kept, and fail at the next
write. One documented limit, checked on the raw text, answers ``E_SCHEMA`` instead,
for REST bodies and socket.io packets alike.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32  # levels of nested objects and arrays in a request body or socket payload
# A JSON string, escapes included; an unterminated one runs to the end (the parser then
# refuses the text), so the scan stays linear whatever the input.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_STRING_TEXT = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKETS = frozenset("[]{}")


def too_deep(raw: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """More than ``limit`` nested objects/arrays (brackets inside strings do not count).

    Note: linear in the input; texts with at most ``limit`` opening brackets (nearly
    every signal and event) are answered by two counts, without the scan.
    """
    if isinstance(raw, str):
        if raw.count("[") + raw.count("{") <= limit:
            return False
        brackets = [c for c in _STRING_TEXT.sub("", raw) if c in _BRACKETS]
    else:
        if raw.count(b"[") + raw.count(b"{") <= limit:
            return False
        brackets = list(_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).decode())
    level = 0
    for char in brackets:
        level += 1 if char in "[{" else -1
        if level > limit:
            return True
    return False
