"""A step of the partner's lifecycle, from any transport: the rule and its webhook
event in one commit, then the effect outside it (moving a partner out of their rooms).
"""

from __future__ import annotations

from collections.abc import Callable

from server.domain import outbox
from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.outbox import Event
from server.domain.program import Program
from server.services import program_writes
from server.services.notifier import Notifier
from server.store.programs import Programs


def step_events(step: str, actor: str = "partner"
                ) -> Callable[[Program, object], list[Event]] | None:
    """The webhook events of a partner's step taken by ``actor`` (a role), for
    ``Programs.update(events=...)`` (``None`` for a step that makes none: its write
    need not touch the outbox)."""
    if step not in outbox.STEP_EVENTS:
        return None
    return lambda program, _: outbox.step_events(program, step, actor)


async def after_step(notifier: Notifier, program: Program, step: str) -> None:
    """Effects outside the step's commit: moving a partner out of their rooms.

    Note: the step's webhook event is not here: it is queued inside the commit
    (:func:`step_events`), so a crash right after it cannot lose it.
    """
    code = lifecycle.CLOSING.get(step)
    if code is not None:
        await notifier.evict(program.id, program.partner.id, code)


async def take_step(programs: Programs, notifier: Notifier, program_id: str, step: str,
                    actor: str, now: float, audit: AuditEntry, note: str = "",
                    share: bool = False, consent_version: str | None = None
                    ) -> Program:
    """``actor`` (a role) takes ``step``; returns the program as committed."""
    updated, _ = await program_writes.update(
        programs, notifier, program_id, lambda p: lifecycle.apply(p, step, actor, now, note=note, share=share,
                                              consent_version=consent_version),
        audit, events=step_events(step, actor))
    await after_step(notifier, updated, step)
    return updated
