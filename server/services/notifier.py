"""What a use case asks of the realtime layer, which implements it.

Use cases (this package) must not import ``server.realtime``: they run for REST routes
too. So they say what to do through these small protocols, and the realtime layer
(``server.realtime.server.RealtimeServer``) is the one implementation the app wires in.
"""

from __future__ import annotations

from typing import Any, Protocol

from server.domain.identity import Role
from server.domain.program import Program
from server.domain.room import Change, Room
from server.errors import Code

PanelViews = dict[Role, dict[str, Any] | None]
"""Each panel role's view of a program (:func:`server.domain.program_panel.panel_views`)."""


class Deliver(Protocol):
    async def __call__(self, room: Room, change: Change, skip_sid: str | None = None,
                       everyone: bool = False) -> None:
        """Tell each person of ``room`` what ``change`` changed for them."""


class Notifier(Protocol):
    async def evict(self, program_id: str, participant: str, code: Code) -> int:
        """Move ``participant`` out of every live room of the program now (``code`` says
        why); returns how many rooms they were moved out of."""

    async def program_changed(self, before: PanelViews, after: Program) -> None:
        """Tell the program's connected members whose panel view ``after`` changed from
        ``before`` (the views as read inside the write): the ``program`` event, each
        person's own role's view, and nothing to a role whose view is the same."""
