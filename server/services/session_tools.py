"""What REST routes read of the in-session tools (records, a tool's own helpers).

The realtime layer's ``ToolEvents`` implements it: it owns the tools and the runner
that keeps their code off the loop and under its time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from server.domain.room import Room
from server.tools.api import Tool


class SessionTools(Protocol):
    tools: dict[str, Tool]

    async def records(self, room: Room, role: str) -> list[dict[str, Any]]:
        """The room's session record as ``role`` may read it."""
        ...

    async def helper(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run other code of tool ``name`` through the runner (refused if it fails)."""
        ...
