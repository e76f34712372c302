"""The client's own steps on the partner's record: agree, request, pause, resume.

They are answered from the client's own record only (their agreement, their pause, their
own request), never from the partner's state, so that no answer tells the client what the
partner chose without sharing it (docs/partner-lifecycle.md, "What the client sees").
The partner's state machine is in ``partner.py``, which calls :func:`take`.
"""

from __future__ import annotations

from server.domain.identity import Role
from server.domain.program import Partner, Program, Request, State, Transition
from server.errors import Code, Refused

PAUSED = State.PAUSED
CONSENTED = State.CONSENTED


def client_paused(partner: Partner) -> bool:
    """Whether the client's pause is in effect: set by ``pause``, ended only by ``resume``.

    Note: it outlasts the ``paused`` state when the partner withdraws or the clinician
    revokes meanwhile, so neither opens the way back (no invite, no consent) behind the
    client's back, and the client's view and answers stay the same.
    """
    return partner.paused_from is not None or partner.state == PAUSED


def pending(partner: Partner, by: str | None = None) -> list[Request]:
    return [r for r in partner.requests
            if r.status == "pending" and (by is None or r.by == by)]


def take(program: Program, step: str, now: float) -> str:
    """One of the client's steps; returns the partner's state after it.

    The refusals here read ``client_agreed``, the client's pause and the client's own
    requests, never the partner's state.
    """
    partner = program.partner
    if step == "agree":
        partner.client_agreed = True
        partner.history.append(Transition("client-agreed", Role.CLIENT, now))
    elif step == "request":
        # The client's own wish for couples sessions, for a clinician to decide on; never a
        # request on the partner's behalf (only the partner's own moves them to requested).
        if not partner.client_agreed:
            raise Refused(Code.CLIENT_AGREEMENT_REQUIRED,
                          "Agree to invite your partner before asking for couples sessions.")
        if not pending(partner, Role.CLIENT):
            partner.requests.append(Request(id=f"req-{len(partner.requests) + 1}",
                                            by=Role.CLIENT, at=now))
    elif step == "pause":
        if client_paused(partner):
            raise Refused(Code.TRANSITION_NOT_ALLOWED, "You have already paused.")
        partner.paused_from = partner.state.value
        partner.state = PAUSED
        partner.history.append(Transition(PAUSED, Role.CLIENT, now))
    elif step == "resume":
        if not client_paused(partner):
            raise Refused(Code.TRANSITION_NOT_ALLOWED, "Nothing is paused.")
        if partner.state == PAUSED:
            # Back as it was; the history says the client resumed, not that the client
            # made the partner's choice. A partner who withdrew meanwhile, or was revoked,
            # stays where they are.
            partner.state = State(partner.paused_from) if partner.paused_from else CONSENTED
        partner.paused_from = None
        partner.history.append(Transition("resumed", Role.CLIENT, now))
    else:
        raise Refused(Code.FORBIDDEN_ROLE)
    return partner.state
