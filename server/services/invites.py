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
from server.services import program_writes
from server.services.notifier import Notifier
from server.services.partner_steps import after_step, step_events
from server.store.programs import Programs
from server.store.rooms import Rooms


async def revoke(programs: Programs, rooms: Rooms, notifier: Notifier, program_id: str,
                 invite_id: str, audit: AuditEntry) -> tuple[Program, Invite]:
    """Revoke one link; a partner on its trial pass (not approved) leaves their rooms."""
    updated, invite = await program_writes.update(
        programs, notifier, program_id, lambda p: lifecycle.revoke_invite(p, invite_id), audit)
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
        invite = p.invites[invite_id]
        lifecycle.check_invite(invite, now)
        state = lifecycle.apply(p, step, Role.PARTNER.value, now, share=share)
        lifecycle.note_answer(invite, "not-now" if step == "defer" else "decline", now, share)
        return state

    updated, _ = await program_writes.update(programs, notifier, program_id, take, audit,
                                             events=step_events(step))
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
        room = lifecycle.redeem(p, p.invites[invite_id], version, now, share=share)
        lifecycle.note_answer(p.invites[invite_id], "consent", now, share)
        return room

    updated, room = await program_writes.update(
        programs, notifier, program.id, redeem, audit,
        events=None if was_consenting else step_events("consent"))
    if not was_consenting:
        await after_step(notifier, updated, "consent")
    return updated, room


async def ask_again(programs: Programs, notifier: Notifier, program_id: str, invite_id: str,
                    now: float, audit: AuditEntry) -> Program:
    """The partner asks, through a link of theirs, to hear from the program again: the
    clinicians see it in their panel at once (the client never does)."""
    updated, _ = await program_writes.update(
        programs, notifier, program_id,
        lambda p: lifecycle.ask_again(p, p.invites[invite_id], now), audit)
    return updated


async def create(programs: Programs, notifier: Notifier, program_id: str, *, room: str,
                 quota: int, ttl: float, by: str, now: float, locale: str | None,
                 audit: AuditEntry) -> tuple[Invite, str]:
    """A new trial link (its secret is returned once), told to the program's panels."""
    before = program_writes.Before()
    invite, secret = await programs.create_invite(
        program_id, room=room, quota=quota, ttl=ttl, by=by, now=now, audit=audit,
        locale=locale, before=before)
    updated = await programs.get(program_id)
    if updated is not None:
        await notifier.program_changed(before.views, updated)
    return invite, secret
