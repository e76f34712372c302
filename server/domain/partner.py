"""The partner's lifecycle: an explicit state machine with the actor allowed for each step.

See docs/partner-lifecycle.md for the diagram. The rules that protect people:

* consent is the partner's own: only the partner consents, declines, defers, withdraws
  or moves themselves to ``requested``; nobody asks on their behalf;
* the client's access never reads this module (individual sessions go on unchanged);
* no answer to a client's step depends on the partner's state: the client's steps
  (:data:`CLIENT_STEPS`) are judged by the client's own record only (agreement, pause,
  their own request), so a refusal never tells the client what the partner chose;
* a partner enters a couples room only with a current consent and either an
  approval or the trial pass of an unrevoked, unexpired invite (:func:`may_enter`);
* pause, withdrawal and revocation close access at once (:func:`has_access`); revoking the
  partner also revokes every link of theirs (consent follows the person, not the link).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from server.domain.client_steps import client_paused, pending
from server.domain.client_steps import take as client_step
from server.domain.identity import Role, RoomKind
from server.domain.program import (
    CheckIn,
    Invite,
    Partner,
    Program,
    Request,
    State,
    Transition,
)
from server.errors import Code, Refused

SYSTEM = "system"
SECRET_BYTES = 32  # 256 bits from the CSPRNG; at least 128 are required


S = State
CONSENTING = frozenset({S.CONSENTED, S.REQUESTED, S.APPROVED, S.ACTIVE})
COUPLES_ACCESS = frozenset({S.APPROVED, S.ACTIVE})  # approved by a clinician, not on trial


@dataclass(frozen=True, slots=True)
class Step:
    actors: frozenset[str]
    sources: frozenset[State]
    target: State | None  # None: stays, or goes back (resume, decline-request: see apply)


# The client's steps take every source state: whether the client is refused depends on the
# client's own record only (see ``client_steps.py``), never on what the partner chose.
STEPS: dict[str, Step] = {
    "agree": Step(frozenset({Role.CLIENT}), frozenset(State), None),
    "invite": Step(frozenset({Role.CLINICIAN}),
                   frozenset({S.NOT_INVITED, S.INVITED, S.DEFERRED, S.DECLINED, S.WITHDRAWN,
                              S.REVOKED}), S.INVITED),
    "consent": Step(frozenset({Role.PARTNER}),
                    frozenset({S.INVITED, S.DEFERRED, S.DECLINED, S.WITHDRAWN}), S.CONSENTED),
    "defer": Step(frozenset({Role.PARTNER}), frozenset({S.INVITED, S.DEFERRED}), S.DEFERRED),
    "decline": Step(frozenset({Role.PARTNER}),
                    frozenset({S.INVITED, S.DEFERRED, S.DECLINED}), S.DECLINED),
    # The partner's request moves them to ``requested``; the client's records only the
    # client's own wish and leaves the partner's state alone (``client_steps.py``).
    "request": Step(frozenset({Role.PARTNER, Role.CLIENT}), frozenset({S.CONSENTED}),
                    S.REQUESTED),
    "approve": Step(frozenset({Role.CLINICIAN}), frozenset({S.CONSENTED, S.REQUESTED}),
                    S.APPROVED),
    # Settles every pending request (the client's too) whatever the partner's state, so
    # that its effect on the client's view never depends on what the partner chose; only a
    # partner who had asked goes back to ``consented``.
    "decline-request": Step(frozenset({Role.CLINICIAN}), frozenset(State), None),
    "activate": Step(frozenset({SYSTEM}), frozenset({S.APPROVED}), S.ACTIVE),
    # The client may pause from any state: a refusal would tell them what the
    # partner chose (declined, withdrew) when the partner chose not to share it.
    "pause": Step(frozenset({Role.CLIENT}), frozenset(State), S.PAUSED),
    "resume": Step(frozenset({Role.CLIENT}), frozenset(State), None),
    "withdraw": Step(frozenset({Role.PARTNER}), frozenset({*CONSENTING, S.PAUSED}),
                     S.WITHDRAWN),
    "revoke": Step(frozenset({Role.CLINICIAN}),
                   frozenset(State) - {S.NOT_INVITED, S.REVOKED}, S.REVOKED),
}

# Steps after which a partner who is in a live room must be moved out, and the code
# their rooms tell them why.
CLOSING = {"pause": Code.PARTNER_PAUSED, "withdraw": Code.CONSENT_WITHDRAWN,
           "revoke": Code.PARTNER_REVOKED}
NOTE_STEPS = frozenset({"approve", "decline-request"})
CLIENT_STEPS = frozenset({"agree", "request", "pause", "resume"})


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh invite secret and its hash; only the hash is stored."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, hash_secret(secret)


def _move(partner: Partner, state: State, by: str, now: float) -> None:
    partner.state = state
    partner.history.append(Transition(state.value, by, now))


def apply(program: Program, step: str, actor: str, now: float, *, note: str = "",
          share: bool = False, consent_version: str | None = None) -> State:
    """Take one step for ``actor`` (a role or ``"system"``); refuse if not allowed.

    :param share: for the partner's own steps, whether the client may learn of it.
    """
    rule = STEPS.get(step)
    if rule is None:
        raise Refused(Code.TRANSITION_NOT_ALLOWED, "Unknown step.")
    if actor not in rule.actors:
        raise Refused(Code.FORBIDDEN_ROLE)
    if actor == Role.CLIENT:
        return State(client_step(program, step, now))
    partner = program.partner
    current = State(partner.state)
    if current not in rule.sources:
        raise Refused(Code.TRANSITION_NOT_ALLOWED)
    if step == "decline-request" and not pending(partner):
        raise Refused(Code.TRANSITION_NOT_ALLOWED, "No request is waiting for a decision.")
    if step in NOTE_STEPS and not note.strip():
        raise Refused(Code.NOTE_REQUIRED)
    if step == "invite":
        if not partner.client_agreed:
            raise Refused(Code.CLIENT_AGREEMENT_REQUIRED)
        if client_paused(partner):
            # A withdrawal or a revocation during the client's pause does not end it.
            raise Refused(Code.TRANSITION_NOT_ALLOWED, "The client has paused.")
        # In every state: a revoke (or pause) in between must not end a cool-down.
        if partner.cooldown_until and now < partner.cooldown_until:
            raise Refused(Code.COOLDOWN)
    if step == "withdraw" and current is S.PAUSED and \
            State(partner.paused_from or S.PAUSED) not in CONSENTING:
        # Pausing a revoked or declined partner must not open a path back to consent.
        raise Refused(Code.TRANSITION_NOT_ALLOWED)
    if step == "consent":
        if client_paused(partner):
            raise Refused(Code.PARTNER_PAUSED)
        if not consent_version:
            raise Refused(Code.CONSENT_REQUIRED, "Consent names the document version read.")
        partner.consent_version = consent_version
        partner.consented_at = now
        partner.cooldown_until = None  # the partner asked: the cool-down is theirs to end
    if step in ("decline", "withdraw"):
        partner.cooldown_until = now + program.cooldown_days * 86400
    if step in ("withdraw", "revoke"):
        partner.consented_at = None
    if step == "revoke":
        # Consent follows the person, not the link: no link of theirs opens anything now,
        # nor after a new invitation (a used-up link still carries its trial pass).
        for invite in program.invites.values():
            invite.revoked = True
    if step in ("approve", "decline-request"):
        partner.approval_note = note.strip()
        for request in pending(partner):
            request.status = "approved" if step == "approve" else "declined"
            request.decided_at = now
            request.note = note.strip()
    if step == "decline-request" and current is not S.REQUESTED:
        # The client's request, or the partner's made before a pause or a withdrawal: the
        # state stays; a resume must not revive a declined request.
        if current is S.PAUSED and partner.paused_from == S.REQUESTED:
            partner.paused_from = S.CONSENTED.value
        partner.history.append(Transition("request-declined", actor, now))
        return current
    if step == "request":
        partner.requests.append(Request(id=f"req-{len(partner.requests) + 1}", by=actor, at=now))
    if actor == Role.PARTNER:
        partner.shared_with_client = (rule.target.value if rule.target else None) if share \
            else partner.shared_with_client
    target = rule.target or S.CONSENTED  # decline-request of the partner's request
    _move(partner, target, actor, now)
    return target


# -- invites -------------------------------------------------------------------------------
def create_invite(program: Program, *, invite_id: str, secret_hash: str, room: str, quota: int,
                  ttl: float, by: str, now: float, locale: str | None = None) -> Invite:
    """Invite the partner to a trial session.

    Moves them to ``invited``; a partner already on trial (consented or
    requested) simply gets another link and keeps their state.
    """
    if not 1 <= quota <= program.max_trials:
        raise Refused(Code.QUOTA_TOO_HIGH)
    if State(program.partner.state) not in (S.CONSENTED, S.REQUESTED):
        apply(program, "invite", Role.CLINICIAN, now)
    invite = Invite(id=invite_id, secret_hash=secret_hash, room=room, quota=quota,
                    expires_at=now + ttl, created_at=now, created_by=by, locale=locale)
    program.invites[invite_id] = invite
    program.partner.asked_at = None  # the partner's wish to hear again is answered
    return invite


def find_invite(program: Program, secret: str) -> Invite:
    """The live invite a secret opens, compared in constant time."""
    wanted = hash_secret(secret)
    for invite in program.invites.values():
        if hmac.compare_digest(invite.secret_hash, wanted):
            return invite
    raise Refused(Code.INVITE_INVALID)


def check_invite(invite: Invite, now: float) -> None:
    if invite.revoked:
        raise Refused(Code.INVITE_REVOKED)
    if now >= invite.expires_at:
        raise Refused(Code.INVITE_EXPIRED)
    if invite.used >= invite.quota:
        raise Refused(Code.INVITE_EXHAUSTED)


def redeem(program: Program, invite: Invite, consent_version: str, now: float,
           share: bool = False) -> str:
    """Consent and take one trial use of the invite, atomically with the caller's write.

    Returns the room the trial pass opens. Exactly one of two concurrent
    redemptions of the last use wins, because the store commits this change
    only if the program was not written in between.
    """
    check_invite(invite, now)
    if State(program.partner.state) is S.REVOKED:
        raise Refused(Code.PARTNER_REVOKED)
    if client_paused(program.partner):
        raise Refused(Code.PARTNER_PAUSED)
    if State(program.partner.state) not in CONSENTING:
        apply(program, "consent", Role.PARTNER, now, consent_version=consent_version,
              share=share)
    invite.used += 1
    invite.redeemed_rooms.append(invite.room)
    return invite.room


def note_answer(invite: Invite, decision: str, now: float, shared: bool) -> None:
    """Remember the partner's answer on the link it came through, so the link, opened
    again, can say what was answered (the partner holds the link; nobody else reads it)."""
    invite.answer = decision
    invite.answered_at = now
    invite.answer_shared = shared


ASK_SOURCES = frozenset({S.DEFERRED, S.DECLINED, S.WITHDRAWN})


def ask_again(program: Program, invite: Invite, now: float) -> None:
    """The partner, through a link of theirs, asks to hear from the program again.

    It ends the cool-down (a new invitation is possible at once: the partner asked) and
    tells the clinicians, never the client; the partner's state stays as it is. A revoked
    link asks nothing (consent follows the person); an expired or used-up one still may:
    it is the partner's own link, and a new one is what they ask for.
    """
    if invite.revoked:
        raise Refused(Code.INVITE_REVOKED)
    partner = program.partner
    if State(partner.state) not in ASK_SOURCES:
        raise Refused(Code.TRANSITION_NOT_ALLOWED, "There is nothing to ask for just now.")
    if partner.asked_at is None:
        partner.history.append(Transition("asked-again", Role.PARTNER.value, now))
    partner.asked_at = now
    partner.cooldown_until = None


def revoke_invite(program: Program, invite_id: str) -> Invite:
    invite = program.invites.get(invite_id)
    if invite is None:
        raise Refused(Code.NOT_FOUND)
    invite.revoked = True
    return invite


# -- who may enter --------------------------------------------------------------------------
def has_access(partner: Partner) -> bool:
    return State(partner.state) in CONSENTING


def has_couples_access(partner: Partner) -> bool:
    """Approved for couples sessions (no trial pass needed); may knock on an individual
    session too."""
    return State(partner.state) in COUPLES_ACCESS


def may_enter(program: Program | None, partner_id: str, room_kind: RoomKind, room_id: str,
              trial_invite: str | None, now: float) -> None:
    """Refuse unless this partner may knock on this room at ``now``.

    Approved partners may also knock on an individual session (the clinician
    may then admit them and make it a couples session). A trial pass ends with its
    invite: revoked, it is no pass (``E_APPROVAL_REQUIRED``); expired, ``E_INVITE_EXPIRED``
    (the token minted with it expires then too, see ``invites_api.respond_to_invite``).
    """
    if program is None:
        raise Refused(Code.CONSENT_REQUIRED)
    partner = program.partner
    if partner.id != partner_id:
        raise Refused(Code.FORBIDDEN_ROOM)
    state = State(partner.state)
    if state is S.PAUSED:
        raise Refused(Code.PARTNER_PAUSED)
    if state is S.WITHDRAWN:
        raise Refused(Code.CONSENT_WITHDRAWN)
    if state is S.REVOKED:
        raise Refused(Code.PARTNER_REVOKED)
    if state in COUPLES_ACCESS:
        return
    if state not in CONSENTING:
        raise Refused(Code.CONSENT_REQUIRED)
    invite = program.invites.get(trial_invite or "")
    if room_kind is RoomKind.COUPLES and invite is not None and not invite.revoked \
            and room_id in invite.redeemed_rooms:
        if now >= invite.expires_at:
            raise Refused(Code.INVITE_EXPIRED)
        return
    raise Refused(Code.APPROVAL_REQUIRED)


def record_admission(program: Program, now: float, trial: bool) -> None:
    """Count a trial attended, or make an approved partner active."""
    if State(program.partner.state) is S.APPROVED:
        apply(program, "activate", SYSTEM, now)
    elif trial:
        program.partner.trials_attended += 1


def check_in(program: Program, by: str, readiness: int, note: str, now: float) -> CheckIn:
    if by not in (Role.CLINICIAN, Role.PARTNER):
        raise Refused(Code.FORBIDDEN_ROLE)
    if not 1 <= readiness <= 5:
        raise Refused(Code.SCHEMA, "Readiness is a number from 1 to 5.")
    entry = CheckIn(at=now, by=by, readiness=readiness, note=note[:500])
    program.partner.checkins.append(entry)
    return entry
