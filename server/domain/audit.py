"""Content-free audit rows: who did what to whom, when, and how it ended."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row. Never carries names, SDP, answers, tokens or free text.

    ``outcome`` is ``"ok"`` or ``"refused:<code>"``.
    """

    actor: str
    role: str
    action: str
    target: str = ""
    room: str = ""
    program: str = ""
    outcome: str = "ok"
    at: float = field(default_factory=time.time)

    def refused(self, code: str) -> AuditEntry:
        return replace(self, outcome=f"refused:{code}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
