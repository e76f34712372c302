"""Invite links, from the partner's answer and the clinician's revocation to their effects.

Consent follows the person: a revoked link answers nothing, not even a decline; a
partner in a room on a revoked link's trial pass is moved out at once.
"""

from __future__ import annotations

from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.identity import Role
from server.domain.program import Invite, Program, State
from server.errors import Code
from server.services.notifier import Notifier
from server.services.partner_steps import after_step, step_events
from server.store.programs import Programs
from server.store.rooms import Rooms


async def revoke(programs: Programs, rooms: Rooms, notifier: Notifier, program_id: str,
                 invite_id: str, audit: AuditEntry) -> tuple[Program, Invite]:
    """Revoke one link; a partner on its trial pass (not approved) leaves their rooms."""
    updated, invite = await programs.update(
        program_id, lambda p: lifecycle.revoke_invite(p, invite_id), audit)
    if not lifecycle.has_couples_access(updated.partner):
        # A partner in a room on this invite's trial pass is moved out at once.
        for room_id in invite.redeemed_rooms:
            room = await rooms.get(room_id)
            member = room.members.get(updated.partner.id) if room else None
            if member is not None and member.trial == invite_id:
                await notifier.evict(program_id, updated.partner.id, Code.INVITE_REVOKED)
    return updated, invite


async def answer(programs: Programs, notifier: Notifier, program_id: str, invite_id: str,
                 step: str, share: bool, now: float, audit: AuditEntry) -> Program:
    """The partner's ``defer`` or ``decline`` through a live link."""
    def take(p: Program) -> State:
        # Only a live link answers (the page offers nothing else): a revoked one opens
        # nothing, not even a decline on a partner invited again since.
        lifecycle.check_invite(p.invites[invite_id], now)
        return lifecycle.apply(p, step, Role.PARTNER.value, now, share=share)

    updated, _ = await programs.update(program_id, take, audit, events=step_events(step))
    await after_step(notifier, updated, step)
    return updated


async def consent(programs: Programs, notifier: Notifier, program: Program, invite_id: str,
                  name: str | None, version: str, share: bool, now: float,
                  audit: AuditEntry) -> tuple[Program, str]:
    """The partner consents through a link (redeeming a trial pass); returns the program
    and the room the pass is for. A partner already consenting makes no new event."""
    was_consenting = lifecycle.has_access(program.partner)

    def redeem(p: Program) -> str:
        if name:
            p.partner.name = name
        return lifecycle.redeem(p, p.invites[invite_id], version, now, share=share)

    updated, room = await programs.update(
        program.id, redeem, audit, events=None if was_consenting else step_events("consent"))
    if not was_consenting:
        await after_step(notifier, updated, "consent")
    return updated, room
