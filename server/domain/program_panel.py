"""What each role's program panel shows, as one value per role: the body of the ``program``
socket event (docs/protocol.md) and of the REST reads it replaces.

Each role gets only its own panel's view (:mod:`server.domain.program_view` filters the
partner's record). A change is told to a role only when that role's view changed, so the
client is never told *that* something happened which the client may not see (the partner's
unshared answer): compare :func:`panel_view` before and after a write.
"""

from __future__ import annotations

from typing import Any

from server.domain.identity import Role
from server.domain.program import Program
from server.domain.program_view import partner_view

PANEL_ROLES = (Role.CLINICIAN, Role.CLIENT, Role.PARTNER)


def approvals(program: Program) -> list[dict[str, Any]]:
    """Pending requests with the context a clinician decides on (clinicians only)."""
    p = program.partner
    last = p.checkins[-1] if p.checkins else None
    return [{"id": r.id, "by": r.by, "at": r.at, "state": p.state,
             "trialsAttended": p.trials_attended,
             "lastCheckin": {"at": last.at, "readiness": last.readiness} if last else None}
            for r in p.requests if r.status == "pending"]


def panel_view(program: Program, role: Role) -> dict[str, Any] | None:
    """The ``program`` event for ``role``; ``None`` for a role with no panel."""
    if role not in PANEL_ROLES:
        return None
    view: dict[str, Any] = {"program": program.id, "partner": partner_view(program, role)}
    if role is Role.CLINICIAN:
        view["approvals"] = approvals(program)
    return view


def panel_views(program: Program) -> dict[Role, dict[str, Any] | None]:
    """Every panel role's view, e.g. before a write, to compare with after it."""
    return {role: panel_view(program, role) for role in PANEL_ROLES}
