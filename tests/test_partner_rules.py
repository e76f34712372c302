"""Example-based tests of the partner lifecycle's documented rules (server/domain/partner.py).

Every state is reached through the domain's own calls (``PATHS``), never by
setting ``partner.state`` by hand, so the table tests exercise real histories.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.domain import partner as lc
from server.domain.identity import Role, RoomKind
from server.domain.program import Invite, Partner, Person, Program
from server.errors import Code, Refused

S = lc.State
T0 = 1_700_000_000.0
DAY = 86400.0
LATER = T0 + 365 * DAY  # well past any cool-down
NOTE = "Both are ready."
VERSION = "consent-v1"
PARTNER_ID = "partner-1"
ACTORS = [Role.CLINICIAN.value, Role.CLIENT.value, Role.PARTNER.value, lc.SYSTEM, "admin"]

# (step, actor) walks from a fresh program to each state.
_INVITED = [("agree", Role.CLIENT), ("invite", Role.CLINICIAN)]
_CONSENTED = [*_INVITED, ("consent", Role.PARTNER)]
_APPROVED = [*_CONSENTED, ("approve", Role.CLINICIAN)]
PATHS: dict[S, list[tuple[str, str]]] = {
    S.NOT_INVITED: [],
    S.INVITED: _INVITED,
    S.DEFERRED: [*_INVITED, ("defer", Role.PARTNER)],
    S.DECLINED: [*_INVITED, ("decline", Role.PARTNER)],
    S.CONSENTED: _CONSENTED,
    S.REQUESTED: [*_CONSENTED, ("request", Role.PARTNER)],
    S.APPROVED: _APPROVED,
    S.ACTIVE: [*_APPROVED, ("activate", lc.SYSTEM)],
    S.PAUSED: [*_CONSENTED, ("pause", Role.CLIENT)],
    S.WITHDRAWN: [*_CONSENTED, ("withdraw", Role.PARTNER)],
    S.REVOKED: [*_INVITED, ("revoke", Role.CLINICIAN)],
}


def new_program(max_trials: int = 2, cooldown_days: float = 30.0) -> Program:
    return Program(id="prog-1", client=Person("client-1", "Casey"),
                   clinicians=[Person("clin-1", "Dr Lee")], partner=Partner(id=PARTNER_ID),
                   max_trials=max_trials, cooldown_days=cooldown_days)


def reach(state: S, program: Program | None = None, at: float = T0) -> Program:
    program = program or new_program()
    for step, actor in PATHS[state]:
        lc.apply(program, step, actor, at, note=NOTE, consent_version=VERSION)
    assert S(program.partner.state) is state
    return program


def refused(code: Code, program: Program, call: Callable[..., Any], *args: Any,
            **kwargs: Any) -> None:
    """``call`` is refused with ``code`` and leaves the program exactly as it was."""
    before = program.to_dict()
    with pytest.raises(Refused) as caught:
        call(*args, **kwargs)
    assert caught.value.code is code, f"got {caught.value.code}, expected {code}"
    assert program.to_dict() == before


def add_invite(program: Program, *, quota: int = 1, ttl: float = DAY, now: float = T0,
               room: str = "couples-a", invite_id: str = "inv-1") -> tuple[Invite, str]:
    secret, digest = lc.new_secret()
    invite = lc.create_invite(program, invite_id=invite_id, secret_hash=digest, room=room,
                              quota=quota, ttl=ttl, by="clin-1", now=now)
    return invite, secret


def test_every_state_is_reachable_by_its_path() -> None:
    assert set(PATHS) == set(S)
    for state in S:
        reach(state)


# -- the transition table -------------------------------------------------------------
# The table's rows for the partner's state: the client's steps (answered from the client's
# own record, tested below) and decline-request (needs a pending request) on their own.
ALLOWED = [(step, state, actor)
           for step, rule in sorted(lc.STEPS.items()) if step != "decline-request"
           for state in sorted(rule.sources)
           for actor in sorted(rule.actors) if actor != Role.CLIENT]
WRONG_ACTOR = [(step, actor)
               for step, rule in sorted(lc.STEPS.items())
               for actor in ACTORS if actor not in rule.actors]
WRONG_STATE = [(step, state)
               for step, rule in sorted(lc.STEPS.items())
               for state in sorted(set(S) - rule.sources)]


@pytest.mark.parametrize(("step", "state", "actor"), ALLOWED)
def test_allowed_step_reaches_documented_target(step: str, state: S, actor: str) -> None:
    program = reach(state)
    partner = program.partner
    if step == "invite" and not partner.client_agreed:
        lc.apply(program, "agree", Role.CLIENT, T0)  # tested on its own below
    result = lc.apply(program, step, actor, LATER, note=NOTE, consent_version=VERSION)
    rule = lc.STEPS[step]
    assert rule.target is not None
    expected = rule.target
    assert partner.history[-1].state == expected
    assert result is expected and S(partner.state) is expected
    assert partner.history[-1].by == actor and partner.history[-1].at == LATER


@pytest.mark.parametrize(("step", "actor"), WRONG_ACTOR)
def test_wrong_actor_is_forbidden(step: str, actor: str) -> None:
    source = sorted(lc.STEPS[step].sources)[0]
    program = reach(source)
    refused(Code.FORBIDDEN_ROLE, program, lc.apply, program, step, actor, LATER, note=NOTE,
            consent_version=VERSION)


@pytest.mark.parametrize(("step", "state"), WRONG_STATE)
def test_wrong_source_state_is_not_allowed(step: str, state: S) -> None:
    program = reach(state)
    actor = sorted(lc.STEPS[step].actors - {Role.CLIENT})[0]
    refused(Code.TRANSITION_NOT_ALLOWED, program, lc.apply, program, step, actor, LATER,
            note=NOTE, consent_version=VERSION)


def test_no_client_step_is_refused_for_the_partners_state() -> None:
    """Every source state is open to the client's steps: the client's record decides."""
    for step in lc.CLIENT_STEPS:
        assert lc.STEPS[step].sources == set(S) or step == "request"
        assert Role.CLIENT in lc.STEPS[step].actors


def client_answers(program: Program, steps: list[str]) -> list[str]:
    """What the client is told for each step in turn: ok, or the refusal's code and words."""
    answers = []
    for i, step in enumerate(steps):
        try:
            lc.apply(program, step, Role.CLIENT, LATER + i)
            answers.append("ok")
        except Refused as refusal:
            answers.append(f"{refusal.code}: {refusal.message}")
    return answers


CLIENT_WALK = ["resume", "pause", "pause", "request", "resume", "resume", "request",
               "agree", "pause", "request"]


def test_the_clients_answers_do_not_depend_on_the_partners_state() -> None:
    """Whatever the partner chose (every state, reached through its own path), each of the
    client's steps gets the same answer; the partner is never moved to ``requested``."""
    seen = {}
    for state in S:
        program = reach(state)
        if not program.partner.client_agreed:
            lc.apply(program, "agree", Role.CLIENT, T0)
        if state is S.PAUSED:  # that path ends in the client's own pause
            lc.apply(program, "resume", Role.CLIENT, T0)
        back_to = S(program.partner.state)
        seen[state] = client_answers(program, CLIENT_WALK)
        assert S(program.partner.state) is S.PAUSED  # the walk ends paused
        lc.apply(program, "resume", Role.CLIENT, LATER + 100)
        assert S(program.partner.state) is back_to
        assert [r.by for r in program.partner.requests if r.status == "pending"
                ].count(Role.CLIENT) == 1
    assert len({tuple(a) for a in seen.values()}) == 1, seen
    assert seen[S.CONSENTED][:3] == ["E_TRANSITION_NOT_ALLOWED: Nothing is paused.", "ok",
                                     "E_TRANSITION_NOT_ALLOWED: You have already paused."]


def test_the_clients_request_needs_only_the_clients_agreement() -> None:
    program = new_program()
    refused(Code.CLIENT_AGREEMENT_REQUIRED, program, lc.apply, program, "request",
            Role.CLIENT, T0)
    lc.apply(program, "agree", Role.CLIENT, T0)
    assert lc.apply(program, "request", Role.CLIENT, T0) is S.NOT_INVITED


def test_the_clients_request_is_the_clients_not_the_partners() -> None:
    program = reach(S.CONSENTED)
    assert lc.apply(program, "request", Role.CLIENT, LATER) is S.CONSENTED
    [mine] = program.partner.requests
    assert (mine.by, mine.status) == (Role.CLIENT, "pending")
    assert program.partner.history[-1].state == S.CONSENTED  # the partner was not moved
    # The partner's own request moves them; the clinician's decision settles both.
    assert lc.apply(program, "request", Role.PARTNER, LATER + 1) is S.REQUESTED
    assert lc.apply(program, "approve", Role.CLINICIAN, LATER + 2, note=NOTE) is S.APPROVED
    assert [(r.by, r.status) for r in program.partner.requests] == [
        (Role.CLIENT, "approved"), (Role.PARTNER, "approved")]


@pytest.mark.parametrize("state", list(S))
def test_a_clinician_can_decline_the_clients_request_in_any_state(state: S) -> None:
    program = reach(state)
    if not program.partner.client_agreed:
        lc.apply(program, "agree", Role.CLIENT, T0)
    before = S(program.partner.state)
    lc.apply(program, "request", Role.CLIENT, LATER)
    after = lc.apply(program, "decline-request", Role.CLINICIAN, LATER + 1, note=NOTE)
    # only a partner who had asked themselves goes back to consented
    assert after is (S.CONSENTED if before is S.REQUESTED else before)
    assert all(r.status == "declined" for r in program.partner.requests)
    refused(Code.TRANSITION_NOT_ALLOWED, program, lc.apply, program, "decline-request",
            Role.CLINICIAN, LATER + 2, note=NOTE)
    if after is not S.CONSENTED or before is not S.REQUESTED:
        assert program.partner.history[-1].state == "request-declined"


def test_a_request_declined_during_a_pause_is_not_revived_by_the_resume() -> None:
    program = reach(S.REQUESTED)
    lc.apply(program, "pause", Role.CLIENT, LATER)
    assert lc.apply(program, "decline-request", Role.CLINICIAN, LATER + 1, note=NOTE) \
        is S.PAUSED
    assert lc.apply(program, "resume", Role.CLIENT, LATER + 2) is S.CONSENTED


def test_unknown_step_is_not_allowed() -> None:
    program = reach(S.CONSENTED)
    refused(Code.TRANSITION_NOT_ALLOWED, program, lc.apply, program, "teleport",
            Role.CLINICIAN, LATER)


def test_the_partners_own_steps_are_only_the_partners() -> None:
    for step in ("consent", "defer", "decline", "withdraw"):
        assert lc.STEPS[step].actors == {Role.PARTNER}
    for step in ("invite", "approve", "decline-request", "revoke"):
        assert lc.STEPS[step].actors == {Role.CLINICIAN}
    for step in ("agree", "pause", "resume"):
        assert lc.STEPS[step].actors == {Role.CLIENT}


# -- notes, agreement, consent --------------------------------------------------------
@pytest.mark.parametrize("step", ["approve", "decline-request"])
@pytest.mark.parametrize("note", ["", "   ", "\n\t"])
def test_decisions_need_a_note(step: str, note: str) -> None:
    program = reach(S.REQUESTED)
    refused(Code.NOTE_REQUIRED, program, lc.apply, program, step, Role.CLINICIAN, LATER,
            note=note)


@pytest.mark.parametrize(("step", "target", "status"), [("approve", S.APPROVED, "approved"),
                                                        ("decline-request", S.CONSENTED,
                                                         "declined")])
def test_decision_records_note_and_settles_the_request(step: str, target: S,
                                                       status: str) -> None:
    program = reach(S.REQUESTED)
    assert [r.status for r in program.partner.requests] == ["pending"]
    assert lc.apply(program, step, Role.CLINICIAN, LATER, note="  Seen together.  ") is target
    assert program.partner.approval_note == "Seen together."
    request = program.partner.requests[0]
    assert (request.status, request.decided_at, request.note) == (status, LATER,
                                                                  "Seen together.")


def test_invite_needs_the_clients_agreement() -> None:
    program = new_program()
    refused(Code.CLIENT_AGREEMENT_REQUIRED, program, lc.apply, program, "invite",
            Role.CLINICIAN, T0)
    secret, digest = lc.new_secret()
    refused(Code.CLIENT_AGREEMENT_REQUIRED, program, lc.create_invite, program,
            invite_id="inv-1", secret_hash=digest, room="couples-a", quota=1, ttl=DAY,
            by="clin-1", now=T0)
    assert program.invites == {}
    lc.apply(program, "agree", Role.CLIENT, T0)
    assert lc.apply(program, "invite", Role.CLINICIAN, T0) is S.INVITED


@pytest.mark.parametrize("version", [None, ""])
def test_consent_names_the_document_version(version: str | None) -> None:
    program = reach(S.INVITED)
    refused(Code.CONSENT_REQUIRED, program, lc.apply, program, "consent", Role.PARTNER, T0,
            consent_version=version)


def test_consent_records_version_and_time_and_withdraw_clears_it() -> None:
    program = reach(S.INVITED)
    lc.apply(program, "consent", Role.PARTNER, T0 + 5, consent_version="consent-v7")
    assert (program.partner.consent_version, program.partner.consented_at) == ("consent-v7",
                                                                               T0 + 5)
    lc.apply(program, "withdraw", Role.PARTNER, T0 + 6)
    assert program.partner.consented_at is None


# -- invites ----------------------------------------------------------------------------
@pytest.mark.parametrize("max_trials", [1, 2, 5])
def test_quota_above_the_program_max_is_refused(max_trials: int) -> None:
    program = reach(S.NOT_INVITED, new_program(max_trials=max_trials))
    lc.apply(program, "agree", Role.CLIENT, T0)
    for quota in (0, max_trials + 1):
        secret, digest = lc.new_secret()
        refused(Code.QUOTA_TOO_HIGH, program, lc.create_invite, program, invite_id="inv-x",
                secret_hash=digest, room="couples-a", quota=quota, ttl=DAY, by="clin-1",
                now=T0)
    invite, _ = add_invite(program, quota=max_trials)
    assert invite.quota == max_trials and S(program.partner.state) is S.INVITED


def test_invite_keeps_only_the_hash() -> None:
    program = reach(S.NOT_INVITED)
    lc.apply(program, "agree", Role.CLIENT, T0)
    invite, secret = add_invite(program)
    assert invite.secret_hash == lc.hash_secret(secret) != secret
    assert secret not in str(program.to_dict())
    assert lc.find_invite(program, secret) is invite


@pytest.mark.parametrize("state", [S.CONSENTED, S.REQUESTED])
def test_another_link_for_a_partner_on_trial_keeps_their_state(state: S) -> None:
    program = reach(state)
    history = list(program.partner.history)
    add_invite(program, now=LATER)
    assert S(program.partner.state) is state and program.partner.history == history


def test_redeem_consents_and_takes_one_use() -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program, quota=2)
    room = lc.redeem(program, lc.find_invite(program, secret), VERSION, T0 + 1, share=True)
    assert room == "couples-a" and invite.used == 1 and invite.redeemed_rooms == ["couples-a"]
    assert S(program.partner.state) is S.CONSENTED
    assert program.partner.shared_with_client == "consented"
    assert program.partner.history[-1].by == Role.PARTNER
    # a second use while consenting takes a use and keeps the state
    lc.redeem(program, invite, "", T0 + 2)
    assert invite.used == 2 and S(program.partner.state) is S.CONSENTED


def test_redeem_unknown_secret_is_invalid() -> None:
    program = reach(S.INVITED)
    add_invite(program)
    refused(Code.INVITE_INVALID, program, lc.find_invite, program, lc.new_secret()[0])
    refused(Code.INVITE_INVALID, program, lc.find_invite, program, "")


def test_redeem_expired_invite() -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program, ttl=3600)
    refused(Code.INVITE_EXPIRED, program, lc.redeem, program, invite, VERSION, T0 + 3600)
    refused(Code.INVITE_EXPIRED, program, lc.redeem, program, invite, VERSION, T0 + 7200)
    lc.redeem(program, invite, VERSION, T0 + 3599)  # the last moment it is live


def test_redeem_revoked_invite() -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program)
    assert lc.revoke_invite(program, invite.id) is invite and invite.revoked
    refused(Code.INVITE_REVOKED, program, lc.redeem, program, lc.find_invite(program, secret),
            VERSION, T0 + 1)
    # revoked is reported before expired
    refused(Code.INVITE_REVOKED, program, lc.redeem, program, invite, VERSION, T0 + 2 * DAY)


def test_redeem_exhausted_invite() -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program, quota=1)
    lc.redeem(program, invite, VERSION, T0 + 1)
    refused(Code.INVITE_EXHAUSTED, program, lc.redeem, program, invite, VERSION, T0 + 2)
    assert invite.used == invite.quota == 1


def test_revoke_unknown_invite_is_not_found() -> None:
    program = reach(S.INVITED)
    refused(Code.NOT_FOUND, program, lc.revoke_invite, program, "inv-nope")


# A revoked partner's links are revoked with them (consent follows the person).
@pytest.mark.parametrize(("state", "code"), [(S.PAUSED, Code.PARTNER_PAUSED),
                                             (S.REVOKED, Code.INVITE_REVOKED)])
def test_redeem_refused_while_paused_or_revoked(state: S, code: Code) -> None:
    program = reach(S.INVITED)
    invite, _ = add_invite(program, quota=2)
    lc.apply(program, "consent", Role.PARTNER, T0, consent_version=VERSION)
    reach_from = {S.PAUSED: ("pause", Role.CLIENT), S.REVOKED: ("revoke", Role.CLINICIAN)}
    lc.apply(program, *reach_from[state], T0)
    refused(code, program, lc.redeem, program, invite, VERSION, T0 + 1)


# -- pause and resume -------------------------------------------------------------------
@pytest.mark.parametrize("state", sorted(set(S) - {S.PAUSED}))
def test_resume_returns_to_the_state_before_the_pause(state: S) -> None:
    program = reach(state)
    assert lc.apply(program, "pause", Role.CLIENT, LATER) is S.PAUSED
    assert program.partner.paused_from == state
    assert lc.apply(program, "resume", Role.CLIENT, LATER + 1) is state
    assert S(program.partner.state) is state and program.partner.paused_from is None


@pytest.mark.parametrize(("step", "actor", "state"), [("withdraw", Role.PARTNER, S.WITHDRAWN),
                                                      ("revoke", Role.CLINICIAN, S.REVOKED)])
def test_the_clients_pause_outlasts_a_withdrawal_or_a_revocation(step: str, actor: str,
                                                                 state: S) -> None:
    program = reach(S.CONSENTED, new_program(cooldown_days=0.0))
    invite, secret = add_invite(program, quota=2, ttl=400 * DAY)
    lc.apply(program, "pause", Role.CLIENT, T0)
    assert lc.apply(program, step, actor, T0 + 1) is state
    assert lc.client_paused(program.partner)
    # Nothing opens the way back behind the client's back: no invite, no consent.
    refused(Code.TRANSITION_NOT_ALLOWED, program, lc.apply, program, "invite",
            Role.CLINICIAN, LATER)
    if step == "withdraw":
        refused(Code.PARTNER_PAUSED, program, lc.redeem, program, invite, VERSION, LATER)
    refused(Code.TRANSITION_NOT_ALLOWED, program, lc.apply, program, "pause", Role.CLIENT,
            LATER)
    # The client resumes as they paused; the partner stays where they went.
    assert lc.apply(program, "resume", Role.CLIENT, LATER) is state
    assert not lc.client_paused(program.partner)
    assert lc.apply(program, "invite", Role.CLINICIAN, LATER + 1) is S.INVITED


# -- sharing with the client ------------------------------------------------------------
@pytest.mark.parametrize("step", ["decline", "defer"])
def test_partner_step_without_share_leaves_shared_status_untouched(step: str) -> None:
    program = reach(S.INVITED)
    assert program.partner.shared_with_client is None
    lc.apply(program, step, Role.PARTNER, T0)
    assert program.partner.shared_with_client is None
    # something shared earlier stays as it was
    program = reach(S.INVITED)
    lc.apply(program, "defer", Role.PARTNER, T0, share=True)
    assert program.partner.shared_with_client == "deferred"
    lc.apply(program, "decline", Role.PARTNER, T0 + 1)
    assert program.partner.shared_with_client == "deferred"


def test_partner_decline_with_share_is_shared() -> None:
    program = reach(S.INVITED)
    lc.apply(program, "decline", Role.PARTNER, T0, share=True)
    assert program.partner.shared_with_client == "declined"


def test_share_flag_is_ignored_for_other_roles() -> None:
    program = reach(S.REQUESTED)
    lc.apply(program, "approve", Role.CLINICIAN, T0, note=NOTE, share=True)
    lc.apply(program, "pause", Role.CLIENT, T0, share=True)
    assert program.partner.shared_with_client is None


# -- cool-down after a decline or withdrawal ---------------------------------------------
@pytest.mark.parametrize("state", [S.DECLINED, S.WITHDRAWN])
def test_no_new_invite_during_the_cooldown(state: S) -> None:
    program = reach(state, new_program(cooldown_days=30.0))
    assert program.partner.cooldown_until == T0 + 30 * DAY
    refused(Code.COOLDOWN, program, lc.apply, program, "invite", Role.CLINICIAN, T0 + DAY)
    refused(Code.COOLDOWN, program, add_invite, program, now=T0 + 30 * DAY - 1)
    assert lc.apply(program, "invite", Role.CLINICIAN, T0 + 30 * DAY) is S.INVITED


@pytest.mark.parametrize("state", [S.DECLINED, S.WITHDRAWN])
def test_partner_may_still_consent_during_the_cooldown(state: S) -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program, quota=2, ttl=10 * DAY)
    if state is S.WITHDRAWN:
        lc.apply(program, "consent", Role.PARTNER, T0, consent_version=VERSION)
    lc.apply(program, "decline" if state is S.DECLINED else "withdraw", Role.PARTNER, T0)
    assert program.partner.cooldown_until == T0 + 30 * DAY
    lc.redeem(program, lc.find_invite(program, secret), VERSION, T0 + DAY)
    assert S(program.partner.state) is S.CONSENTED
    assert program.partner.consented_at == T0 + DAY


@pytest.mark.parametrize("state", [S.DECLINED, S.WITHDRAWN])
def test_revoke_does_not_end_cooldown(state: S) -> None:
    # hypothesis's shrunk case: agree, invite, decline, revoke, invite (same second)
    program = reach(state, new_program(cooldown_days=1.0))
    lc.apply(program, "revoke", Role.CLINICIAN, T0)
    refused(Code.COOLDOWN, program, lc.apply, program, "invite", Role.CLINICIAN, T0)


# -- who may enter --------------------------------------------------------------------------
ENTRY = {
    S.NOT_INVITED: Code.CONSENT_REQUIRED, S.INVITED: Code.CONSENT_REQUIRED,
    S.DEFERRED: Code.CONSENT_REQUIRED, S.DECLINED: Code.CONSENT_REQUIRED,
    S.CONSENTED: Code.APPROVAL_REQUIRED, S.REQUESTED: Code.APPROVAL_REQUIRED,
    S.APPROVED: None, S.ACTIVE: None, S.PAUSED: Code.PARTNER_PAUSED,
    S.WITHDRAWN: Code.CONSENT_WITHDRAWN, S.REVOKED: Code.PARTNER_REVOKED,
}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("kind", list(RoomKind))
def test_entry_without_a_trial_pass(state: S, kind: RoomKind) -> None:
    program = reach(state)
    code = ENTRY[state]
    if code is None:
        lc.may_enter(program, PARTNER_ID, kind, "room-1", None, T0)
    else:
        refused(code, program, lc.may_enter, program, PARTNER_ID, kind, "room-1", None, T0)


def test_trial_pass_opens_only_its_couples_room() -> None:
    program = reach(S.INVITED)
    invite, secret = add_invite(program, room="couples-a")
    lc.redeem(program, invite, VERSION, T0 + 1)
    lc.may_enter(program, PARTNER_ID, RoomKind.COUPLES, "couples-a", invite.id, T0 + 2)
    for kind, room, trial in [(RoomKind.COUPLES, "couples-b", invite.id),
                              (RoomKind.INDIVIDUAL, "couples-a", invite.id),
                              (RoomKind.COUPLES, "couples-a", None),
                              (RoomKind.COUPLES, "couples-a", "inv-other")]:
        refused(Code.APPROVAL_REQUIRED, program, lc.may_enter, program, PARTNER_ID, kind,
                room, trial, T0 + 2)
    lc.revoke_invite(program, invite.id)
    refused(Code.APPROVAL_REQUIRED, program, lc.may_enter, program, PARTNER_ID,
            RoomKind.COUPLES, "couples-a", invite.id, T0 + 2)


def test_a_trial_pass_ends_with_its_invite() -> None:
    program = reach(S.INVITED)
    invite, _ = add_invite(program, ttl=3600)
    lc.redeem(program, invite, VERSION, T0 + 1)
    lc.may_enter(program, PARTNER_ID, RoomKind.COUPLES, "couples-a", invite.id, T0 + 3599)
    for now in (T0 + 3600, T0 + 2 * DAY):
        refused(Code.INVITE_EXPIRED, program, lc.may_enter, program, PARTNER_ID,
                RoomKind.COUPLES, "couples-a", invite.id, now)
    # an approval is not a trial pass: it holds whatever the links do
    lc.apply(program, "approve", Role.CLINICIAN, T0 + 2, note=NOTE)
    lc.may_enter(program, PARTNER_ID, RoomKind.COUPLES, "couples-a", invite.id, T0 + 2 * DAY)


def test_revoking_the_partner_revokes_every_link_of_theirs() -> None:
    program = reach(S.INVITED)
    used, _ = add_invite(program, quota=1, invite_id="inv-used")
    lc.redeem(program, used, VERSION, T0 + 1)
    waiting, secret = add_invite(program, quota=2, invite_id="inv-waiting", room="couples-b")
    lc.apply(program, "revoke", Role.CLINICIAN, T0 + 2)
    assert used.revoked and waiting.revoked
    refused(Code.INVITE_REVOKED, program, lc.redeem, program, lc.find_invite(program, secret),
            VERSION, T0 + 3)
    # A new invitation makes new links; the old pass stays closed.
    lc.apply(program, "invite", Role.CLINICIAN, T0 + 3)
    fresh, _ = add_invite(program, invite_id="inv-fresh", now=T0 + 3)
    lc.redeem(program, fresh, VERSION, T0 + 4)
    refused(Code.APPROVAL_REQUIRED, program, lc.may_enter, program, PARTNER_ID,
            RoomKind.COUPLES, "couples-a", used.id, T0 + 5)
    lc.may_enter(program, PARTNER_ID, RoomKind.COUPLES, "couples-a", fresh.id, T0 + 5)


def test_a_withdrawal_leaves_the_partners_links_theirs() -> None:
    """Consent is the partner's: a partner who withdrew may come back on a live link."""
    program = reach(S.INVITED, new_program(cooldown_days=30.0))
    invite, secret = add_invite(program, quota=2)
    lc.redeem(program, invite, VERSION, T0 + 1)
    lc.apply(program, "withdraw", Role.PARTNER, T0 + 2)
    assert not invite.revoked
    lc.redeem(program, lc.find_invite(program, secret), VERSION, T0 + 3)
    assert S(program.partner.state) is S.CONSENTED


def test_entry_refused_for_someone_else_or_no_program() -> None:
    program = reach(S.APPROVED)
    refused(Code.FORBIDDEN_ROOM, program, lc.may_enter, program, "someone-else",
            RoomKind.COUPLES, "couples-a", None, T0)
    with pytest.raises(Refused) as caught:
        lc.may_enter(None, PARTNER_ID, RoomKind.COUPLES, "couples-a", None, T0)
    assert caught.value.code is Code.CONSENT_REQUIRED


def test_admission_activates_an_approved_partner_or_counts_a_trial() -> None:
    program = reach(S.APPROVED)
    lc.record_admission(program, T0 + 1, trial=False)
    assert S(program.partner.state) is S.ACTIVE and program.partner.history[-1].by == lc.SYSTEM
    program = reach(S.CONSENTED)
    lc.record_admission(program, T0 + 1, trial=True)
    assert S(program.partner.state) is S.CONSENTED and program.partner.trials_attended == 1


# -- check-ins ----------------------------------------------------------------------------
def test_check_in_roles_and_readiness() -> None:
    program = reach(S.CONSENTED)
    for role in (Role.CLIENT, lc.SYSTEM, "admin"):
        refused(Code.FORBIDDEN_ROLE, program, lc.check_in, program, role, 3, "", T0)
    for readiness in (0, 6):
        refused(Code.SCHEMA, program, lc.check_in, program, Role.CLINICIAN, readiness, "", T0)
    entry = lc.check_in(program, Role.PARTNER, 5, "y" * 900, T0)
    assert len(entry.note) == 500 and program.partner.checkins == [entry]
