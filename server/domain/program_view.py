"""What each role may see of a program and its partner: filtered here, on the server.

* clinician: everything the program holds, invites without secrets or hashes;
* client: the partner's status only as far as the partner chose to share it,
  plus the client's own steps (agreement, pause, their own request) and whether
  couples sessions are open (the clinician's approval, not the partner's answer).
  Nothing else of the partner's state reaches it: two partners who answered
  differently without sharing give the client the same view (tests/test_consent_privacy.py).
  Caveat: once approved, ``couplesSessions`` turns false again when access ends (the
  partner withdrew or was revoked), never saying which;
* partner: their own record, never the client's sessions or notes;
* integrator: the program's shape and status, no notes or check-ins.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from server.domain.client_steps import client_paused
from server.domain.identity import Role
from server.domain.partner import has_couples_access
from server.domain.program import Program


def _invite(i: Any) -> dict[str, Any]:
    return {"id": i.id, "room": i.room, "quota": i.quota, "used": i.used,
            "expiresAt": i.expires_at, "revoked": i.revoked, "createdAt": i.created_at,
            "locale": i.locale, "answer": i.answer, "answeredAt": i.answered_at}


def partner_view(program: Program, role: Role) -> dict[str, Any]:
    p = program.partner
    if role is Role.CLINICIAN:
        last = p.checkins[-1] if p.checkins else None
        return {
            "id": p.id, "name": p.name, "state": p.state, "clientAgreed": p.client_agreed,
            "consentVersion": p.consent_version, "consentedAt": p.consented_at,
            "cooldownUntil": p.cooldown_until, "trialsAttended": p.trials_attended,
            "approvalNote": p.approval_note,
            "history": [asdict(t) for t in p.history],
            "checkins": [asdict(c) for c in p.checkins],
            "lastCheckin": asdict(last) if last else None,
            "requests": [asdict(r) for r in p.requests],
            "askedAt": p.asked_at,
            "invites": [_invite(i) for i in program.invites.values()],
        }
    if role is Role.PARTNER:
        return {"id": p.id, "name": p.name, "state": p.state,
                "consentVersion": p.consent_version, "trialsAttended": p.trials_attended,
                "requests": [{"at": r.at, "status": r.status} for r in p.requests
                             if r.by == Role.PARTNER]}
    if role is Role.CLIENT:
        return {"clientAgreed": p.client_agreed, "paused": client_paused(p),
                "couplesSessions": has_couples_access(p),
                "requested": any(r.by == Role.CLIENT and r.status == "pending"
                                 for r in p.requests),
                "shared": p.shared_with_client}
    return {"state": p.state, "trialsAttended": p.trials_attended}


def program_view(program: Program, role: Role) -> dict[str, Any]:
    view: dict[str, Any] = {"id": program.id, "maxTrials": program.max_trials,
                            "partner": partner_view(program, role)}
    if role in (Role.CLINICIAN, Role.INTEGRATOR):
        view["client"] = asdict(program.client)
        view["clinicians"] = [asdict(c) for c in program.clinicians]
        view["cooldownDays"] = program.cooldown_days
    elif role is Role.CLIENT:
        view["clinicians"] = [{"name": c.name} for c in program.clinicians]
    else:
        view["clinicians"] = [{"name": c.name} for c in program.clinicians]
        view["client"] = {"name": program.client.name}
    return view
