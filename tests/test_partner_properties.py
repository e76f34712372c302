"""Property-based tests of the partner lifecycle (server/domain/partner.py).

One program (client, clinician, partner) is driven through arbitrary sequences of
lifecycle steps by arbitrary actors (right and wrong roles, ``"system"``, strangers),
invites (random quota and ttl), redemptions of live/expired/revoked/exhausted/unknown
invites with random clock advances, invite revocations, check-ins, and the room-level
events the server wires to them (a partner knocking with or without a trial pass, the
clinician admitting them, evictions when access closes, the client joining its rooms).

After every step the machine checks the rules that protect people:

* a refused step changes nothing;
* ``may_enter`` passes only with a current consent and either an approval or a
  redeemed, unrevoked, unexpired trial pass naming that couples room; never in a closed
  state;
* the client's steps are answered from the client's own record (agreement, pause, own
  request), never from the partner's state; the client's pause holds until they resume;
* revoking the partner revokes every link of theirs;
* the client's access never depends on the partner;
* each transition is made by the role allowed to make it;
* an invite is never used beyond its quota and its secret is never stored;
* after a decline or withdrawal the clinician cannot re-invite before the cool-down
  ends, but the partner may still consent with a live invite (see
  ``KNOWN_BUG_REVOKE_ENDS_COOLDOWN`` for the one path the domain lets through today).

The expected outcome of every call is computed from an independent model of the
documented rules, and the exact refusal code is compared.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import pickle
from collections.abc import Callable
from typing import Any

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from server.domain import identity as identity_module
from server.domain import partner as lc
from server.domain import room as rules
from server.domain.identity import Identity, Role, RoomKind
from server.domain.program import Partner, Person, Program
from server.errors import Code, Refused

S = lc.State
PROGRAM_ID = "prog-1"
CLIENT_ID = "client-1"
CLINICIAN_ID = "clin-1"
PARTNER_ID = "partner-1"
ROOMS: dict[str, RoomKind] = {
    "couples-a": RoomKind.COUPLES,
    "couples-b": RoomKind.COUPLES,
    "indiv-1": RoomKind.INDIVIDUAL,
}
ACTORS = ["clinician", "client", "partner", "system", "admin", ""]
STEP_NAMES = sorted(lc.STEPS) + ["teleport"]
# Steps come close together; the clock also jumps by days (advance_clock).
DELTAS = [0.0, 1.0, 3600.0]
JUMPS = [86400.0, 7 * 86400.0, 31 * 86400.0]
TTLS = [0.0, 60.0, 3600.0, 86400.0, 14 * 86400.0]
NOTES = ["", "   ", "Both ready."]
VERSIONS = [None, "", "consent-v1", "consent-v2"]
NEVER_ENTER = frozenset({S.PAUSED, S.WITHDRAWN, S.REVOKED, S.NOT_INVITED, S.INVITED,
                         S.DEFERRED, S.DECLINED})
UNKNOWN_INVITE = "inv-unknown"
# Where a run starts: from scratch, or after the first steps (see ``configure``).
STARTS = ["fresh", "agreed", "invited", "on-trial-in-lobby", "approved"]

# This machine found that a clinician's ``revoke`` followed by ``invite`` re-invited a partner
# who had just declined (the cool-down was checked only in declined/withdrawn). Fixed in the
# domain; the flag stays so the model can be pointed at such a path again if ever needed.
KNOWN_BUG_REVOKE_ENDS_COOLDOWN = False  # fixed: the cool-down holds in every state


class _Fixed:
    """Stands in for ``st.data()`` when a rule delegates with values already chosen."""

    def __init__(self, *values: Any) -> None:
        self.values = list(values)

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        return self.values.pop(0)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def who(role: Role, room_id: str, trial: str | None = None) -> Identity:
    ids = {Role.CLIENT: CLIENT_ID, Role.CLINICIAN: CLINICIAN_ID, Role.PARTNER: PARTNER_ID}
    return Identity(id=ids[role], name=role.value.title(), role=role, program=PROGRAM_ID,
                    room=room_id, expires_at=4e9, trial=trial)


def expected_author(previous: str, entry: str) -> set[str]:
    """Who may have written a history entry, from the state it moved from and to."""
    if entry == "client-agreed":
        return {Role.CLIENT}
    if entry == "request-declined":  # a request settled; the state stays
        return {Role.CLINICIAN}
    if entry == S.PAUSED:
        return {Role.CLIENT}
    if previous == S.PAUSED and entry not in (S.WITHDRAWN, S.REVOKED):
        return {Role.CLIENT}  # resume
    if entry == S.CONSENTED:
        # back from a request the clinician declined, or the partner's own consent
        return {Role.CLINICIAN} if previous == S.REQUESTED else {Role.PARTNER}
    if entry in (S.DEFERRED, S.DECLINED, S.WITHDRAWN):
        return {Role.PARTNER}
    if entry in (S.INVITED, S.APPROVED, S.REVOKED):
        return {Role.CLINICIAN}
    if entry == S.REQUESTED:
        return {Role.PARTNER}  # the client's request never moves the partner
    if entry == S.ACTIVE:
        return {lc.SYSTEM}
    raise AssertionError(f"unknown history entry {entry!r}")


class PartnerLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_700_000_000.0
        self.program = Program(id=PROGRAM_ID, client=Person(CLIENT_ID, "Casey"),
                               clinicians=[Person(CLINICIAN_ID, "Dr Lee")],
                               partner=Partner(id=PARTNER_ID))
        self.rooms = {rid: rules.Room(id=rid, program=PROGRAM_ID, kind=kind)
                      for rid, kind in ROOMS.items()}
        self.secrets: dict[str, str] = {}  # invite id -> the secret handed to the partner
        self.cooldown_until: float | None = None  # model: set by decline/withdraw
        self.client_rooms: set[str] = set()
        self.serial = 0
        self.client_paused = False  # model: the client's pause, ended only by their resume

    # -- helpers ----------------------------------------------------------------------
    def _pick_invite(self, data: st.DataObject, *others: str | None) -> str | None:
        """Mostly the newest invite, else any invite, sometimes one of ``others``."""
        known = list(self.secrets)  # in creation order
        choices = [*known[-1:] * 4, *known, *others]
        return data.draw(st.sampled_from(choices), label="invite")

    def _next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _rooms_dict(self) -> dict[str, Any]:
        return {rid: room.to_dict() for rid, room in self.rooms.items()}

    def _attempt(self, expected: Code | None, call: Callable[[], Any]) -> tuple[bool, Any]:
        """Run ``call``; a refusal must have the expected code and change nothing."""
        # A pickle is a cheap exact snapshot; to_dict() shows the difference if any.
        before = pickle.dumps((self.program, self.rooms))
        try:
            result = call()
        except Refused as refusal:
            if pickle.dumps((self.program, self.rooms)) != before:
                program, rooms = pickle.loads(before)
                assert self.program.to_dict() == program.to_dict(), \
                    f"refused ({refusal.code}) but the program changed"
                assert self._rooms_dict() == {r: room.to_dict() for r, room in rooms.items()}, \
                    f"refused ({refusal.code}) but a room changed"
            assert expected is not None, f"refused with {refusal.code}, expected success"
            assert refusal.code == expected, f"refused with {refusal.code}, expected {expected}"
            return False, refusal
        assert expected is None, f"expected refusal {expected}, but it succeeded"
        return True, result

    def _expect_apply(self, step: str, actor: str, note: str = "",
                      version: str | None = None) -> Code | None:
        """The documented outcome of ``apply``, from the model."""
        partner = self.program.partner
        rule_ = lc.STEPS.get(step)
        if rule_ is None:
            return Code.TRANSITION_NOT_ALLOWED
        if actor not in rule_.actors:
            return Code.FORBIDDEN_ROLE
        if actor == Role.CLIENT:  # the client's own record only, never the partner's state
            if step == "request" and not partner.client_agreed:
                return Code.CLIENT_AGREEMENT_REQUIRED
            if step == "pause" and self.client_paused:
                return Code.TRANSITION_NOT_ALLOWED
            if step == "resume" and not self.client_paused:
                return Code.TRANSITION_NOT_ALLOWED
            return None
        if S(partner.state) not in rule_.sources:
            return Code.TRANSITION_NOT_ALLOWED
        if step == "decline-request" and all(r.status != "pending" for r in partner.requests):
            return Code.TRANSITION_NOT_ALLOWED
        if step in lc.NOTE_STEPS and not note.strip():
            return Code.NOTE_REQUIRED
        if step == "invite":
            if not partner.client_agreed:
                return Code.CLIENT_AGREEMENT_REQUIRED
            if self.client_paused:
                return Code.TRANSITION_NOT_ALLOWED
            if self.cooldown_until is not None and self.now < self.cooldown_until:
                return Code.COOLDOWN
        if step == "consent" and self.client_paused:
            return Code.PARTNER_PAUSED
        if step == "consent" and not version:
            return Code.CONSENT_REQUIRED
        if step == "withdraw" and S(partner.state) is S.PAUSED and \
                S(partner.paused_from or S.PAUSED) not in lc.CONSENTING:
            return Code.TRANSITION_NOT_ALLOWED
        return None

    def _after_partner_step(self, step: str) -> None:
        """Model bookkeeping after a successful step."""
        if step in ("decline", "withdraw"):
            self.cooldown_until = self.now + self.program.cooldown_days * 86400
        if step == "revoke" and KNOWN_BUG_REVOKE_ENDS_COOLDOWN:
            self.cooldown_until = None
        if step == "consent":
            self.cooldown_until = None  # the partner asked: any cool-down is moot
        if step == "pause":
            self.client_paused = True
        if step == "resume":
            self.client_paused = False
        if step == "revoke":
            assert all(i.revoked for i in self.program.invites.values()), \
                "a link of a revoked partner still opens"
        if step in lc.CLOSING:
            # The server moves the partner out of every live room at once.
            for room in self.rooms.values():
                rules.evict(room, PARTNER_ID, Code.PARTNER_PAUSED, self.now)
                assert PARTNER_ID not in room.members

    # -- lifecycle --------------------------------------------------------------------
    @initialize(max_trials=st.integers(1, 5), cooldown_days=st.sampled_from([0.0, 1.0, 30.0]),
                start=st.sampled_from(STARTS))
    def configure(self, max_trials: int, cooldown_days: float, start: str) -> None:
        """The program's settings, and a head start reached through the domain's own
        calls (so random walks begin deep in the lifecycle as often as at its start)."""
        self.program.max_trials = max_trials
        self.program.cooldown_days = cooldown_days
        program = self.program
        depth = STARTS.index(start)
        if depth >= 1:
            lc.apply(program, "agree", Role.CLIENT, self.now)
        if depth >= 2:
            secret, digest = lc.new_secret()
            lc.create_invite(program, invite_id="inv-0", secret_hash=digest, room="couples-a",
                             quota=max_trials, ttl=TTLS[-1], by=CLINICIAN_ID, now=self.now)
            self.secrets["inv-0"] = secret
        if depth >= 3:
            lc.redeem(program, lc.find_invite(program, secret), "consent-v1", self.now)
            rules.join(self.rooms["couples-a"], who(Role.PARTNER, "couples-a", "inv-0"),
                       self._next("sid"), False, self.now)
        if depth >= 4:
            lc.apply(program, "approve", Role.CLINICIAN, self.now, note="Ready for couples work.")
        assert S(program.partner.state) is [S.NOT_INVITED, S.NOT_INVITED, S.INVITED,
                                            S.CONSENTED, S.APPROVED][depth]

    @rule(dt=st.sampled_from(JUMPS))
    def advance_clock(self, dt: float) -> None:
        self.now += dt

    @rule(data=st.data(), note=st.sampled_from(NOTES), share=st.booleans(),
          version=st.sampled_from(VERSIONS), dt=st.sampled_from(DELTAS))
    def take_step(self, data: st.DataObject, note: str, share: bool, version: str | None,
                  dt: float) -> None:
        """A step, about half the time one the current state allows, by the right actor
        about half the time (else any step, any actor, including unknown ones)."""
        self.now += dt
        partner = self.program.partner
        possible = sorted(name for name, r in lc.STEPS.items()
                          if S(partner.state) in r.sources)
        step = data.draw(st.one_of(st.sampled_from(possible), st.sampled_from(STEP_NAMES)),
                         label="step")
        allowed = sorted(lc.STEPS[step].actors) if step in lc.STEPS else []
        actor = data.draw(st.one_of(st.sampled_from(allowed or ACTORS), st.sampled_from(ACTORS)),
                          label="actor")
        before = S(partner.state)
        paused_from = partner.paused_from
        shared_before = partner.shared_with_client
        history = len(partner.history)
        pending_by_client = [r for r in partner.requests
                             if r.by == Role.CLIENT and r.status == "pending"]
        expected = self._expect_apply(step, actor, note, version)
        ok, result = self._attempt(expected, lambda: lc.apply(
            self.program, step, actor, self.now, note=note, share=share,
            consent_version=version))
        if not ok:
            return
        rule_ = lc.STEPS[step]
        moved = True
        if step == "agree":
            want = before
            assert partner.client_agreed
        elif step == "resume":
            # back to where the pause began, unless the partner or clinician moved since
            want = S(paused_from or S.CONSENTED) if before is S.PAUSED else before
            assert partner.paused_from is None
        elif step == "request" and actor == Role.CLIENT:
            want, moved = before, False
            mine = [r for r in partner.requests if r.by == Role.CLIENT and r.status == "pending"]
            assert len(mine) == 1 and (pending_by_client or mine[0].at == self.now)
        elif step == "decline-request" and before is not S.REQUESTED:
            want = before
            assert partner.history[-1].state == "request-declined"
        elif step == "decline-request":
            want = S.CONSENTED
        else:
            assert rule_.target is not None
            want = rule_.target
        assert result == want and S(partner.state) == want, (step, before, partner.state)
        if moved:
            assert partner.history[-1].by == actor and partner.history[-1].at == self.now
        else:
            assert len(partner.history) == history
        if step == "pause":
            assert partner.paused_from == before
        if step == "consent":
            assert partner.consent_version == version and partner.consented_at == self.now
        if step in ("withdraw", "revoke"):
            assert partner.consented_at is None
        if step in lc.NOTE_STEPS:
            assert partner.approval_note == note.strip()
            assert all(r.status != "pending" for r in partner.requests)
        if actor == Role.PARTNER:
            assert partner.shared_with_client == (want.value if share else shared_before)
        else:
            assert partner.shared_with_client == shared_before
        self._after_partner_step(step)

    @rule(data=st.data(), walk=st.integers(1, 3), share=st.booleans(),
          dt=st.sampled_from(DELTAS))
    def take_allowed_steps(self, data: st.DataObject, walk: int, share: bool,
                           dt: float) -> None:
        """One to three steps the current state allows, each by an allowed actor, with
        a note and a consent version: the walks that reach deep states."""
        for _ in range(walk):
            possible = sorted(name for name, r in lc.STEPS.items()
                              if S(self.program.partner.state) in r.sources)
            step = data.draw(st.sampled_from(possible), label="step")
            actor = data.draw(st.sampled_from(sorted(lc.STEPS[step].actors)), label="actor")
            self.take_step(_Fixed(step, actor), "Both ready.", share, "consent-v1", dt)

    # -- invites ----------------------------------------------------------------------
    @rule(data=st.data(), ttl=st.sampled_from(TTLS), room=st.sampled_from(sorted(ROOMS)),
          dt=st.sampled_from(DELTAS))
    def create_invite(self, data: st.DataObject, ttl: float, room: str, dt: float) -> None:
        self.now += dt
        most = self.program.max_trials
        quota = data.draw(st.sampled_from([*range(1, most + 1)] * 3 + [0, most + 1, 9]),
                          label="quota")
        secret, digest = lc.new_secret()
        assert digest == sha256(secret) and len(secret) >= 22  # >= 128 bits
        invite_id = self._next("inv")
        state = S(self.program.partner.state)
        on_trial = state in (S.CONSENTED, S.REQUESTED)  # another link, same state
        if not 1 <= quota <= self.program.max_trials:
            expected: Code | None = Code.QUOTA_TOO_HIGH
        elif on_trial:
            expected = None
        else:
            expected = self._expect_apply("invite", Role.CLINICIAN)
        history = len(self.program.partner.history)
        ok, invite = self._attempt(expected, lambda: lc.create_invite(
            self.program, invite_id=invite_id, secret_hash=digest, room=room, quota=quota,
            ttl=ttl, by=CLINICIAN_ID, now=self.now))
        if not ok:
            return
        self.secrets[invite_id] = secret
        assert self.program.invites[invite_id] is invite
        assert invite.used == 0 and invite.quota == quota and not invite.revoked
        assert invite.expires_at == self.now + ttl and invite.secret_hash == digest
        if on_trial:
            assert S(self.program.partner.state) is state
            assert len(self.program.partner.history) == history
        else:
            assert S(self.program.partner.state) is S.INVITED
            self._after_partner_step("invite")

    @rule(data=st.data(), version=st.sampled_from(["", "consent-v1", "consent-v2"]),
          share=st.booleans(), dt=st.sampled_from(DELTAS))
    def redeem(self, data: st.DataObject, version: str, share: bool, dt: float) -> None:
        self.now += dt
        choice = self._pick_invite(data, UNKNOWN_INVITE) or UNKNOWN_INVITE
        secret = self.secrets.get(choice) or lc.new_secret()[0]
        invite = self.program.invites.get(choice)
        partner = self.program.partner
        state = S(partner.state)
        # the documented order of checks
        expected: Code | None
        if invite is None:
            expected = Code.INVITE_INVALID
        elif invite.revoked:
            expected = Code.INVITE_REVOKED
        elif self.now >= invite.expires_at:
            expected = Code.INVITE_EXPIRED
        elif invite.used >= invite.quota:
            expected = Code.INVITE_EXHAUSTED
        elif state is S.REVOKED:
            expected = Code.PARTNER_REVOKED
        elif self.client_paused:
            expected = Code.PARTNER_PAUSED
        elif state in lc.CONSENTING:
            expected = None
        else:
            # the partner's own consent: allowed even during a cool-down (the partner asked)
            expected = self._expect_apply("consent", Role.PARTNER, version=version)
        used = invite.used if invite else 0
        ok, room = self._attempt(expected, lambda: lc.redeem(
            self.program, lc.find_invite(self.program, secret), version, self.now, share))
        if not ok:
            return
        assert invite is not None
        assert invite.used == used + 1 and room == invite.room
        assert invite.redeemed_rooms[-1] == invite.room
        assert S(partner.state) in lc.CONSENTING
        if state not in lc.CONSENTING:
            assert S(partner.state) is S.CONSENTED
            assert partner.consent_version == version and partner.consented_at == self.now
            assert partner.history[-1].by == Role.PARTNER
            self._after_partner_step("consent")
        else:
            assert S(partner.state) is state

    @rule(data=st.data(), dt=st.sampled_from(DELTAS))
    def revoke_invite(self, data: st.DataObject, dt: float) -> None:
        self.now += dt
        choice = self._pick_invite(data, UNKNOWN_INVITE) or UNKNOWN_INVITE
        expected = None if choice in self.program.invites else Code.NOT_FOUND
        ok, invite = self._attempt(expected, lambda: lc.revoke_invite(self.program, choice))
        if not ok:
            return
        assert invite.revoked
        # The server moves a partner out of rooms they entered on that pass.
        for room in self.rooms.values():
            member = room.members.get(PARTNER_ID)
            if member is not None and member.trial == choice:
                rules.evict(room, PARTNER_ID, Code.INVITE_REVOKED, self.now)

    @rule(by=st.sampled_from(ACTORS), readiness=st.integers(0, 6),
          note=st.sampled_from(["", "Slept badly.", "x" * 600]), dt=st.sampled_from(DELTAS))
    def check_in(self, by: str, readiness: int, note: str, dt: float) -> None:
        self.now += dt
        if by not in (Role.CLINICIAN, Role.PARTNER):
            expected: Code | None = Code.FORBIDDEN_ROLE
        elif not 1 <= readiness <= 5:
            expected = Code.SCHEMA
        else:
            expected = None
        count = len(self.program.partner.checkins)
        ok, entry = self._attempt(expected, lambda: lc.check_in(
            self.program, by, readiness, note, self.now))
        if ok:
            assert len(self.program.partner.checkins) == count + 1
            assert entry.note == note[:500] and entry.by == by

    # -- rooms ------------------------------------------------------------------------
    @rule(data=st.data())
    def partner_knocks(self, data: st.DataObject) -> None:
        """The handshake and ``join`` for a partner, as the server wires them: with or
        without a trial pass, mostly at the room the pass names."""
        trial = self._pick_invite(data, None, UNKNOWN_INVITE)
        invite = self.program.invites.get(trial or "")
        anywhere = st.sampled_from(sorted(ROOMS))
        room_id = data.draw(st.one_of(st.just(invite.room), anywhere) if invite else anywhere,
                            label="room")
        room = self.rooms[room_id]
        try:
            lc.may_enter(self.program, PARTNER_ID, room.kind, room.id, trial, self.now)
        except Refused:
            return  # the entry invariant checks refusals
        approved = S(self.program.partner.state) in (S.APPROVED, S.ACTIVE)
        ok, change = self._attempt(None, lambda: rules.join(
            room, who(Role.PARTNER, room_id, trial), self._next("sid"), False, self.now,
            approved))
        member = room.members[PARTNER_ID]
        assert member.trial == trial and change.member is member

    @rule(data=st.data(), dt=st.sampled_from(DELTAS))
    def clinician_admits_partner(self, data: st.DataObject, dt: float) -> None:
        """The server's admit: consent re-checked in the same write as the admission."""
        self.now += dt
        lobby = rules.MemberState.LOBBY
        lobbies = sorted(rid for rid, r in self.rooms.items()
                         if (m := r.members.get(PARTNER_ID)) and m.state is lobby)
        if not lobbies:
            return
        room_id = data.draw(st.sampled_from(lobbies), label="room")
        room = self.rooms[room_id]
        waiting = room.members[PARTNER_ID]
        if CLINICIAN_ID not in room.members:
            rules.join(room, who(Role.CLINICIAN, room_id), self._next("sid"), False, self.now)
        try:
            lc.may_enter(self.program, PARTNER_ID, room.kind, room.id, waiting.trial,
                         self.now)
            expected: Code | None = None
        except Refused as refusal:
            expected = refusal.code
        partner = self.program.partner
        state = S(partner.state)
        attended = partner.trials_attended

        def admit_partner() -> None:
            lc.may_enter(self.program, PARTNER_ID, room.kind, room.id, waiting.trial,
                         self.now)
            on_trial = partner.state not in ("approved", "active")
            rules.admit(room, who(Role.CLINICIAN, room_id), PARTNER_ID, self.now)
            lc.record_admission(self.program, self.now, trial=on_trial)

        ok, _ = self._attempt(expected, admit_partner)
        if not ok:
            return
        assert room.members[PARTNER_ID].state is rules.MemberState.ADMITTED
        assert room.kind is RoomKind.COUPLES
        if state is S.APPROVED:
            assert S(partner.state) is S.ACTIVE and partner.history[-1].by == lc.SYSTEM
        elif state is S.ACTIVE:
            assert S(partner.state) is S.ACTIVE
        else:
            assert partner.trials_attended == attended + 1 and S(partner.state) is state

    @rule(kind=st.sampled_from(list(RoomKind)), persistent=st.booleans())
    def client_joins(self, kind: RoomKind, persistent: bool) -> None:
        """The client knocks on its own rooms whatever the partner did."""
        if persistent:
            room_id = "indiv-1" if kind is RoomKind.INDIVIDUAL else "couples-a"
            room = self.rooms[room_id]
        else:
            room_id = self._next("fresh")
            room = rules.Room(id=room_id, program=PROGRAM_ID, kind=kind)
        client = who(Role.CLIENT, room_id)
        rules.check_entry(room, client)
        rules.check_entry(room, client, partner_approved=True)
        rules.join(room, client, self._next("sid"), False, self.now)
        assert CLIENT_ID in room.members
        if persistent:
            self.client_rooms.add(room_id)
        else:
            assert room.members[CLIENT_ID].state is rules.MemberState.LOBBY

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def rules_hold(self) -> None:
        assert lc.client_paused(self.program.partner) == self.client_paused
        self.check_entry_rule()
        self.check_partners_in_rooms_may_be_there()
        self.check_consent_is_current_while_consenting()
        self.check_client_access_ignores_partner()
        self.check_each_step_by_its_role()
        self.check_invites_within_quota_and_secrets_never_stored()

    def check_entry_rule(self) -> None:
        partner = self.program.partner
        state = S(partner.state)
        for room_id in ROOMS:
            for kind in RoomKind:
                for trial in (None, UNKNOWN_INVITE, *self.program.invites):
                    try:
                        lc.may_enter(self.program, PARTNER_ID, kind, room_id, trial,
                                     self.now)
                    except Refused:
                        continue
                    assert state not in NEVER_ENTER, f"may_enter passed in {state}"
                    assert partner.consented_at is not None and partner.consent_version, \
                        f"may_enter passed without a current consent in {state}"
                    if state in (S.APPROVED, S.ACTIVE):
                        continue
                    invite = self.program.invites.get(trial or "")
                    assert kind is RoomKind.COUPLES and invite is not None, \
                        f"unapproved entry to {kind} {room_id} with trial {trial!r}"
                    assert not invite.revoked and room_id in invite.redeemed_rooms
                    assert self.now < invite.expires_at, "an expired trial pass let them in"
        # nobody else gets in through this partner's record
        for kind in RoomKind:
            for probe, program in (("someone-else", self.program), (PARTNER_ID, None)):
                try:
                    lc.may_enter(program, probe, kind, "couples-a", None, self.now)
                except Refused:
                    continue
                raise AssertionError("may_enter passed for a stranger or no program")

    def check_partners_in_rooms_may_be_there(self) -> None:
        for room in self.rooms.values():
            member = room.members.get(PARTNER_ID)
            if member is None:
                continue
            try:
                lc.may_enter(self.program, PARTNER_ID, room.kind, room.id, member.trial,
                             self.now)
            except Refused as refusal:
                # The one refusal the server leaves to the clock: the token minted with a
                # trial pass expires with its invite, which disconnects the partner then.
                invite = self.program.invites[member.trial or ""]
                assert refusal.code is Code.INVITE_EXPIRED and self.now >= invite.expires_at

    def check_consent_is_current_while_consenting(self) -> None:
        partner = self.program.partner
        if S(partner.state) in lc.CONSENTING:
            assert partner.consented_at is not None and partner.consent_version

    def check_client_access_ignores_partner(self) -> None:
        for kind in RoomKind:
            fresh = rules.Room(id="fresh-probe", program=PROGRAM_ID, kind=kind)
            rules.check_entry(fresh, who(Role.CLIENT, "fresh-probe"))
        for room in self.rooms.values():
            rules.check_entry(room, who(Role.CLIENT, room.id))
        for room_id in self.client_rooms:
            assert CLIENT_ID in self.rooms[room_id].members, "the client was moved out"

    def check_each_step_by_its_role(self) -> None:
        previous = S.NOT_INVITED.value
        last_at = float("-inf")
        before_pause = previous
        for entry in self.program.partner.history:
            if entry.state == "resumed":  # the client restores what was paused, if still so
                assert entry.by == Role.CLIENT and entry.at >= last_at
                last_at = entry.at
                previous = before_pause if previous == S.PAUSED.value else previous
                continue
            if entry.state == S.PAUSED.value:
                before_pause = previous
            if entry.state == "request-declined" and before_pause == S.REQUESTED.value \
                    and previous == S.PAUSED.value:
                before_pause = S.CONSENTED.value  # the resume will not revive it
            allowed = expected_author(previous, entry.state)
            assert entry.by in allowed, \
                f"{previous} -> {entry.state} by {entry.by!r}; only {sorted(allowed)} may"
            assert entry.at >= last_at
            last_at = entry.at
            if entry.state not in ("client-agreed", "request-declined"):
                previous = entry.state
        assert previous == self.program.partner.state

    def check_invites_within_quota_and_secrets_never_stored(self) -> None:
        stored = pickle.dumps(self.program)  # every string the program holds, as UTF-8
        for invite_id, invite in self.program.invites.items():
            assert 0 <= invite.used <= invite.quota <= self.program.max_trials
            assert len(invite.redeemed_rooms) == invite.used
            secret = self.secrets[invite_id]
            assert invite.secret_hash == sha256(secret)
            assert secret.encode() not in stored, "an invite secret is stored"

    def teardown(self) -> None:
        # the program round-trips through the store's JSON form
        dumped = json.loads(json.dumps(self.program.to_dict()))
        assert Program.from_dict(dumped).to_dict() == self.program.to_dict()


# No example database (the repo is shared) and no "explain" phase (its tracer is very
# slow on Python 3.11 and only adds commentary to a failure).
PartnerLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
TestPartnerLifecycle = PartnerLifecycle.TestCase


def test_client_facing_rules_do_not_read_the_partner() -> None:
    """room.py and identity.py (the client's path) import nothing of the partner's record."""
    for module in (rules, identity_module):
        tree = ast.parse(inspect.getsource(module))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
        assert not any("partner" in name or "program" in name for name in imported), \
            (module.__name__, sorted(imported))
