"""Who is polite and who offers, for each pair in a room (perfect negotiation).

The server decides so both sides agree without talking: the rule depends only
on roles, so it survives reconnects. A peer that cannot renegotiate (aiortc has
no rollback and no ``negotiationneeded``) never makes the offer.
"""

from __future__ import annotations

from server.domain.identity import Role
from server.domain.room import Member

_ORDER = {Role.CLINICIAN: 0, Role.CLIENT: 1, Role.PARTNER: 2, Role.FAMILY: 3}


def _rank(member: Member) -> tuple[int, str]:
    return (_ORDER[member.role], member.id)


def polite(me: Member, peer: Member) -> bool:
    """Whether ``me`` yields on an offer collision with ``peer``."""
    return _rank(me) > _rank(peer)


def initiator(me: Member, peer: Member) -> bool:
    """Whether ``me`` sends the first offer to ``peer``."""
    if me.renegotiate != peer.renegotiate:
        return me.renegotiate
    return not polite(me, peer)
