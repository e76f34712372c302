"""A program write that tells the program's panels what it changed for them.

Every use case that changes a program (a step, a link's answer, a check-in, a new link)
goes through :func:`update` so the ``program`` event can never be forgotten: the views
are taken inside the write (the last run is the one committed), so what each role is
told is exactly what that commit changed for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from server.domain import outbox as webhook_events
from server.domain.audit import AuditEntry
from server.domain.program import Program
from server.domain.program_panel import panel_views
from server.services.notifier import Notifier, PanelViews
from server.store.programs import Programs

T = TypeVar("T")


class Before:
    """Holds the panel views of the program as the committed run read it."""

    def __init__(self) -> None:
        self.views: PanelViews = {}

    def __call__(self, program: Program) -> None:
        self.views = panel_views(program)


async def update(programs: Programs, notifier: Notifier, program_id: str,
                 rule: Callable[[Program], T], audit: AuditEntry,
                 events: Callable[[Program, T], list[webhook_events.Event]] | None = None,
                 ) -> tuple[Program, T]:
    """``Programs.update``, then the ``program`` event to whoever's view changed."""
    before = Before()

    def run(program: Program) -> T:
        before(program)
        return rule(program)

    updated, result = await programs.update(program_id, run, audit, events=events)
    await notifier.program_changed(before.views, updated)
    return updated, result
