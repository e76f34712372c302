"""REST API for integrators and the clinician console (described in /api/openapi.json).

Every route authenticates a bearer token (the same JWTs as the socket), checks
the caller's role and program, calls domain rules inside one store write, and
answers JSON. Refusals answer ``{"ok": false, "error": {code, message}}`` with
the status from :func:`server.errors.http_status`, and are audited when the
caller is known.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from server.appkeys import CONTENT, REALTIME, SETTINGS, STORE, WEBHOOKS
from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role, RoomKind
from server.domain.program import Invite, Partner, Person, Program
from server.domain.program_view import partner_view, program_view
from server.domain.room import Room
from server.errors import Code, Refused, http_status
from server.http import bodies
from server.realtime.ratelimit import TokenBucket
from server.store import StoreUnavailable
from server.store.programs import Programs
from server.store.programs import key as programs_key
from server.store.protocol import Doc, Key
from server.store.rooms import Rooms
from server.tokens import TokenVerifier, mint

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STEP_EVENTS = {"consent": "partner.consented", "decline": "partner.declined",
               "defer": "partner.deferred", "withdraw": "partner.withdrew",
               "request": "approval.requested", "approve": "approval.decided",
               "decline-request": "approval.decided"}
CLOSING_CODES = {"pause": Code.PARTNER_PAUSED, "withdraw": Code.CONSENT_WITHDRAWN,
                 "revoke": Code.PARTNER_REVOKED}


def fail(refusal: Refused) -> web.Response:
    return web.json_response({"ok": False, "error": refusal.as_error()},
                             status=http_status(refusal.code))


@web.middleware
async def answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals into documented JSON errors; never leak a traceback."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except Refused as refusal:
        return fail(refusal)
    except ValidationError:
        return fail(Refused(Code.SCHEMA))
    except StoreUnavailable:
        return fail(Refused(Code.UNAVAILABLE))


async def body(request: web.Request, model: type[bodies.B]) -> bodies.B:
    try:
        raw = await request.json()
    except ValueError:
        raise Refused(Code.SCHEMA, "The body must be JSON.") from None
    return model.model_validate(raw)


def caller(request: web.Request) -> Identity:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(Code.TOKEN_MISSING)
    return TokenVerifier(request.app[SETTINGS]).verify(header.removeprefix("Bearer ").strip())


def audit(who: Identity, action: str, program: str, target: str = "",
          room: str = "") -> AuditEntry:
    return AuditEntry(actor=who.id, role=who.role.value, action=action, target=target,
                      room=room, program=program)


async def refuse(request: web.Request, who: Identity, action: str, program: str,
                 code: Code) -> Refused:
    """A refusal of a known caller, audited before it is answered."""
    await request.app[STORE].record(audit(who, action, program).refused(code.value))
    return Refused(code)


async def for_program(request: web.Request, action: str,
                      roles: tuple[Role, ...]) -> tuple[Identity, Program]:
    """Authenticate, and check the caller's role and their binding to the path's program."""
    who = caller(request)
    pid = request.match_info["program"]
    if who.role not in roles:
        raise await refuse(request, who, action, pid, Code.FORBIDDEN_ROLE)
    if who.role is Role.INTEGRATOR:
        if who.program not in ("*", pid):
            raise await refuse(request, who, action, pid, Code.FORBIDDEN_PROGRAM)
    elif who.program != pid:
        raise await refuse(request, who, action, pid, Code.FORBIDDEN_PROGRAM)
    program = await Programs(request.app[STORE]).get(pid)
    if program is None:
        raise Refused(Code.PROGRAM_NOT_FOUND)
    if who.role is Role.CLINICIAN and not program.is_clinician(who.id):
        raise await refuse(request, who, action, pid, Code.FORBIDDEN_PROGRAM)
    if who.role is Role.CLIENT and program.client.id != who.id:
        raise await refuse(request, who, action, pid, Code.FORBIDDEN_PROGRAM)
    if who.role is Role.PARTNER and program.partner.id != who.id:
        raise await refuse(request, who, action, pid, Code.FORBIDDEN_PROGRAM)
    return who, program


ALL = (Role.CLINICIAN, Role.CLIENT, Role.PARTNER, Role.INTEGRATOR)
STAFF = (Role.CLINICIAN, Role.INTEGRATOR)


# -- programs and sessions ---------------------------------------------------------------
async def create_program(request: web.Request) -> web.Response:
    who = caller(request)
    b = await body(request, bodies.NewProgram)
    if who.role is not Role.INTEGRATOR or who.program not in ("*", b.id):
        raise await refuse(request, who, "create-program", b.id, Code.FORBIDDEN_ROLE)
    partner = Partner(id=b.partner.id if b.partner else f"partner-of-{b.client.id}",
                      name=b.partner.name if b.partner else "Partner")
    program = Program(id=b.id, client=Person(b.client.id, b.client.name),
                      clinicians=[Person(c.id, c.name) for c in b.clinicians], partner=partner,
                      max_trials=b.maxTrials, cooldown_days=b.cooldownDays)
    await Programs(request.app[STORE]).create(program, audit(who, "create-program", b.id))
    return web.json_response(program_view(program, who.role), status=201)


async def get_program(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-program", ALL)
    return web.json_response(program_view(program, who.role))


def session_view(room: Room) -> dict[str, Any]:
    return {"id": room.id, "kind": room.kind.value, "status": room.status.value,
            "scheduled": bool(room.session.get("scheduled")),
            "startsAt": room.session.get("starts_at")}


async def create_session(request: web.Request) -> web.Response:
    who, program = await for_program(request, "create-session", STAFF)
    b = await body(request, bodies.NewSession)
    room = Room(id=b.id, program=program.id, kind=RoomKind(b.kind),
                session={"id": b.id, "scheduled": b.startsAt is not None,
                         "starts_at": b.startsAt})
    if not await Rooms(request.app[STORE]).create(room, audit(who, "create-session", program.id,
                                                              room=b.id)):
        raise Refused(Code.INVALID_STATE, "A session with that id exists.")
    return web.json_response(session_view(room), status=201)


async def list_sessions(request: web.Request) -> web.Response:
    who, program = await for_program(request, "list-sessions", ALL)
    rooms = await Rooms(request.app[STORE]).list(program.id)
    if who.role is Role.PARTNER:  # a partner never learns of the client's individual sessions
        rooms = [r for r in rooms if r.kind is RoomKind.COUPLES]
    return web.json_response([session_view(r) for r in rooms])


# -- the partner's lifecycle --------------------------------------------------------------
async def get_partner(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-partner", ALL)
    return web.json_response(partner_view(program, who.role))


async def take_step(request: web.Request) -> web.Response:
    who, program = await for_program(request, "partner-step", ALL)
    b = await body(request, bodies.Step)
    now = time.time()
    version = request.app[CONTENT].version
    programs = Programs(request.app[STORE])
    updated, _ = await programs.update(
        program.id, lambda p: lifecycle.apply(p, b.step, who.role.value, now, note=b.note or "",
                                              share=b.share, consent_version=version),
        audit(who, f"partner-{b.step}", program.id, target=program.partner.id))
    await after_step(request, updated, b.step)
    return web.json_response(partner_view(updated, who.role))


async def after_step(request: web.Request, program: Program, step: str) -> None:
    """Effects outside the program document: moving a partner out, webhooks."""
    if step in CLOSING_CODES:
        await request.app[REALTIME].evict(program.id, program.partner.id, CLOSING_CODES[step])
    if step in STEP_EVENTS:
        data = {"state": program.partner.state}
        if step in ("approve", "decline-request"):
            data["decision"] = "approved" if step == "approve" else "declined"
        request.app[WEBHOOKS].emit(STEP_EVENTS[step], program=program.id,
                                   participant=program.partner.id, data=data)


# -- invites ------------------------------------------------------------------------------
async def create_invite(request: web.Request) -> web.Response:
    who, program = await for_program(request, "create-invite", (Role.CLINICIAN,))
    b = await body(request, bodies.NewInvite)
    room = await Rooms(request.app[STORE]).get(b.room)
    if room is None or room.program != program.id or room.kind is not RoomKind.COUPLES:
        raise Refused(Code.ROOM_NOT_FOUND, "Invite to one of this program's couples sessions.")
    settings = request.app[SETTINGS]
    secret, digest = lifecycle.new_secret()
    invite_id = "inv-" + uuid.uuid4().hex[:12]
    ttl = (b.expiresInHours or settings.invite_ttl_hours) * 3600
    pkey, hkey = programs_key(program.id), ("invite-hash", digest)

    def write(docs: dict[Key, Doc | None]) -> Invite:
        # The hash index is written with the invite, so a link works the moment it exists.
        p = Program.from_dict(docs[pkey] or {})
        invite = lifecycle.create_invite(p, invite_id=invite_id, secret_hash=digest,
                                         room=b.room, quota=b.quota, ttl=ttl, by=who.id,
                                         now=time.time())
        docs[pkey] = p.to_dict()
        docs[hkey] = {"id": digest, "program": p.id, "invite": invite_id}
        return invite

    invite = await request.app[STORE].transact(
        [pkey, hkey], write, audit(who, "create-invite", program.id, target=invite_id,
                                   room=b.room))
    # The secret is shown once, here, in a URL fragment (never sent to a server in requests).
    url = f"{settings.public_url.rstrip('/')}/invite#{secret}"
    return web.json_response({"id": invite.id, "url": url, "room": invite.room,
                              "quota": invite.quota, "expiresAt": invite.expires_at},
                             status=201)


async def list_invites(request: web.Request) -> web.Response:
    who, program = await for_program(request, "list-invites", (Role.CLINICIAN,))
    return web.json_response(partner_view(program, Role.CLINICIAN)["invites"])


async def revoke_invite(request: web.Request) -> web.Response:
    who, program = await for_program(request, "revoke-invite", (Role.CLINICIAN,))
    invite_id = request.match_info["invite"]
    updated, invite = await Programs(request.app[STORE]).update(
        program.id, lambda p: lifecycle.revoke_invite(p, invite_id),
        audit(who, "revoke-invite", program.id, target=invite_id))
    if updated.partner.state not in ("approved", "active"):
        # A partner in a room on this invite's trial pass is moved out at once.
        rooms = Rooms(request.app[STORE])
        for room_id in invite.redeemed_rooms:
            room = await rooms.get(room_id)
            member = room.members.get(updated.partner.id) if room else None
            if member is not None and member.trial == invite_id:
                await request.app[REALTIME].evict(program.id, updated.partner.id,
                                                  Code.INVITE_REVOKED)
    return web.json_response({"id": invite_id, "revoked": True})


class InviteGuard:
    """Slows guessing: invite look-ups per client address are rate limited."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, request: web.Request) -> None:
        peer = request.remote or "unknown"
        bucket = self._buckets.setdefault(peer, TokenBucket(rate=1.0, burst=20))
        if len(self._buckets) > 10_000:
            self._buckets.clear()
        if not bucket.take():
            raise Refused(Code.RATE_LIMITED)


INVITE_GUARD = web.AppKey("invite_guard", InviteGuard)


async def _program_of_invite(request: web.Request, secret: str) -> Program:
    """Find the program whose invite the secret opens (hash index, constant-time compare)."""
    request.app[INVITE_GUARD].check(request)
    index = await request.app[STORE].read(("invite-hash", lifecycle.hash_secret(secret)))
    if index is None:
        await request.app[STORE].record(AuditEntry(actor="anonymous", role="partner",
                                                   action="open-invite",
                                                   outcome="refused:E_INVITE_INVALID"))
        raise Refused(Code.INVITE_INVALID)
    program = await Programs(request.app[STORE]).get(index["program"])
    if program is None:
        raise Refused(Code.INVITE_INVALID)
    return program


async def support(request: web.Request) -> web.Response:
    """The other kinds of support the deployment offers: public, no token, no person."""
    return web.json_response(request.app[CONTENT].support)


async def preview_invite(request: web.Request) -> web.Response:
    """What the invite page shows before any decision; consumes nothing."""
    b = await body(request, bodies.InviteSecret)
    program = await _program_of_invite(request, b.secret)
    invite = lifecycle.find_invite(program, b.secret)
    content = request.app[CONTENT]
    status = "ok"
    try:
        lifecycle.check_invite(invite, time.time())
    except Refused as refusal:
        status = refusal.code.value
    return web.json_response({
        "status": status, "couplesInfo": content.couples_info, "support": content.support,
        "clinicians": [c.name for c in program.clinicians], "clientName": program.client.name,
        "trialsLeft": max(0, invite.quota - invite.used), "expiresAt": invite.expires_at,
    })


async def respond_to_invite(request: web.Request) -> web.Response:
    """The partner's own answer: consent (and a session token), not now, or decline."""
    b = await body(request, bodies.InviteResponse)
    program = await _program_of_invite(request, b.secret)
    invite = lifecycle.find_invite(program, b.secret)
    partner_id = program.partner.id
    content = request.app[CONTENT]
    now = time.time()
    entry = AuditEntry(actor=partner_id, role=Role.PARTNER.value, action=f"invite-{b.decision}",
                       target=invite.id, room=invite.room, program=program.id)
    programs = Programs(request.app[STORE])
    if b.decision != "consent":
        step = "defer" if b.decision == "not-now" else "decline"
        updated, _ = await programs.update(
            program.id, lambda p: lifecycle.apply(p, step, Role.PARTNER.value, now,
                                                  share=b.share), entry)
        await after_step(request, updated, step)
        return web.json_response({"state": updated.partner.state, "support": content.support})
    if b.documentVersion != content.version:
        raise Refused(Code.CONSENT_REQUIRED, "Please read the current description first.")
    was_consenting = lifecycle.has_access(program.partner)

    def consent(p: Program) -> str:
        if b.name:
            p.partner.name = b.name
        return lifecycle.redeem(p, p.invites[invite.id], content.version, now, share=b.share)

    updated, room = await programs.update(program.id, consent, entry)
    if not was_consenting:
        await after_step(request, updated, "consent")
    settings = request.app[SETTINGS]
    token = mint(settings, sub=partner_id, name=updated.partner.name, role="partner",
                 program=program.id, room=room, ttl=settings.partner_token_ttl, trial=invite.id)
    return web.json_response({"token": token, "room": room,
                              "expiresAt": now + settings.partner_token_ttl})


async def partner_session_token(request: web.Request) -> web.Response:
    """An approved partner's token for one of the program's couples sessions."""
    who, program = await for_program(request, "partner-session-token", (Role.PARTNER,))
    b = await body(request, bodies.SessionRef)
    if program.partner.state not in ("approved", "active"):
        raise await refuse(request, who, "partner-session-token", program.id,
                           Code.APPROVAL_REQUIRED)
    room = await Rooms(request.app[STORE]).get(b.room)
    if room is None or room.program != program.id:
        raise Refused(Code.ROOM_NOT_FOUND)
    settings = request.app[SETTINGS]
    token = mint(settings, sub=who.id, name=program.partner.name, role="partner",
                 program=program.id, room=room.id, ttl=settings.partner_token_ttl)
    return web.json_response({"token": token, "room": room.id})


# -- check-ins, approvals, attendance, audit ------------------------------------------------
async def add_checkin(request: web.Request) -> web.Response:
    who, program = await for_program(request, "checkin", (Role.CLINICIAN, Role.PARTNER))
    b = await body(request, bodies.CheckIn)
    _, entry = await Programs(request.app[STORE]).update(
        program.id, lambda p: lifecycle.check_in(p, who.role.value, b.readiness,
                                                 b.note or "", time.time()),
        audit(who, "checkin", program.id, target=program.partner.id))
    return web.json_response({"at": entry.at, "by": entry.by, "readiness": entry.readiness},
                             status=201)


async def list_checkins(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-checkins", (Role.CLINICIAN,))
    return web.json_response(partner_view(program, Role.CLINICIAN)["checkins"])


async def approvals(request: web.Request) -> web.Response:
    """Pending requests with the context a clinician decides on."""
    who, program = await for_program(request, "read-approvals", (Role.CLINICIAN,))
    p = program.partner
    last = p.checkins[-1] if p.checkins else None
    pending = [{"id": r.id, "by": r.by, "at": r.at, "state": p.state,
                "trialsAttended": p.trials_attended,
                "lastCheckin": {"at": last.at, "readiness": last.readiness} if last else None}
               for r in p.requests if r.status == "pending"]
    return web.json_response(pending)


def week_of(ts: float) -> str:
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{week:02d}"


async def attendance(request: web.Request) -> web.Response:
    """Per session and participant, stays (reconnects merged); minutes per ISO week."""
    who, program = await for_program(request, "read-attendance", STAFF)
    now = time.time()
    sessions: list[dict[str, Any]] = []
    weekly: dict[tuple[str, str, str], float] = {}
    for room in await Rooms(request.app[STORE]).list(program.id):
        people = []
        for pid, stays in room.attendance.items():
            minutes = 0.0
            for s in stays:
                end = s["out"] if s["out"] is not None else now
                minutes += (end - s["in"]) / 60
                wk = (week_of(s["in"]), pid, s["role"])
                weekly[wk] = weekly.get(wk, 0.0) + (end - s["in"]) / 60
            people.append({"id": pid, "role": stays[0]["role"] if stays else "",
                           "stays": [{"in": s["in"], "out": s["out"]} for s in stays],
                           "minutes": round(minutes, 2)})
        sessions.append({"session": room.id, "kind": room.kind.value, "participants": people})
    return web.json_response({
        "sessions": sessions,
        "weekly": [{"week": w, "participant": pid, "role": role, "minutes": round(m, 2)}
                   for (w, pid, role), m in sorted(weekly.items())]})


async def export_audit(request: web.Request) -> web.StreamResponse:
    """The audit log as JSON Lines, for one program (clinicians) or any (integrators)."""
    who = caller(request)
    program = request.query.get("program")
    room = request.query.get("room")
    if who.role not in STAFF:
        raise await refuse(request, who, "export-audit", program or "", Code.FORBIDDEN_ROLE)
    if who.role is Role.CLINICIAN or who.program != "*":
        if program != who.program:
            raise await refuse(request, who, "export-audit", program or "",
                               Code.FORBIDDEN_PROGRAM)
    rows = await request.app[STORE].audit_rows(program=program, room=room)
    text = "".join(json.dumps(r.as_dict(), separators=(",", ":")) + "\n" for r in rows)
    return web.Response(text=text, content_type="application/x-ndjson")


async def session_record(request: web.Request) -> web.Response:
    """What finished tools kept for one session, as the caller's role may read it."""
    who, program = await for_program(request, "read-record",
                                     (Role.CLINICIAN, Role.CLIENT, Role.PARTNER))
    room = await Rooms(request.app[STORE]).get(request.match_info["session"])
    if room is None or room.program != program.id:
        raise Refused(Code.NOT_FOUND)
    if who.role is Role.PARTNER and room.kind is RoomKind.INDIVIDUAL:
        raise await refuse(request, who, "read-record", program.id, Code.FORBIDDEN_ROLE)
    tools = request.app[REALTIME].tool_events.tools
    entries = []
    for entry in room.records:
        tool = tools.get(entry["tool"])
        if tool is not None:
            entries.append({"tool": entry["tool"], "at": entry["at"],
                            "record": tool.record(entry["state"], who.role.value)})
    return web.json_response({"session": room.id, "entries": entries})


async def checkin_trend(request: web.Request) -> web.Response:
    """Session check-ins (mood, readiness) over the program, per participant: clinicians only."""
    who, program = await for_program(request, "read-checkin-trend", (Role.CLINICIAN,))
    tool = request.app[REALTIME].tool_events.tools.get("checkin")
    trend = getattr(sys.modules.get(type(tool).__module__), "trend", None) if tool else None
    if trend is None:
        raise Refused(Code.TOOL_UNKNOWN)
    records = [{**r, "session": room.id}
               for room in await Rooms(request.app[STORE]).list(program.id)
               for r in room.records]
    return web.json_response({"participants": trend(records)})


async def list_webhooks(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-webhooks", (Role.INTEGRATOR,))
    return web.json_response(await request.app[STORE].list("webhook", program.id))


def add_routes(app: web.Application) -> None:
    app[INVITE_GUARD] = InviteGuard()
    r = app.router
    r.add_post("/api/programs", create_program)
    r.add_get("/api/programs/{program}", get_program)
    r.add_post("/api/programs/{program}/sessions", create_session)
    r.add_get("/api/programs/{program}/sessions", list_sessions)
    r.add_get("/api/programs/{program}/partner", get_partner)
    r.add_post("/api/programs/{program}/partner/steps", take_step)
    r.add_post("/api/programs/{program}/invites", create_invite)
    r.add_get("/api/programs/{program}/invites", list_invites)
    r.add_delete("/api/programs/{program}/invites/{invite}", revoke_invite)
    r.add_post("/api/programs/{program}/checkins", add_checkin)
    r.add_get("/api/programs/{program}/checkins", list_checkins)
    r.add_get("/api/programs/{program}/approvals", approvals)
    r.add_get("/api/programs/{program}/attendance", attendance)
    r.add_get("/api/programs/{program}/webhooks", list_webhooks)
    r.add_get("/api/programs/{program}/sessions/{session}/record", session_record)
    r.add_get("/api/programs/{program}/checkin-trend", checkin_trend)
    r.add_post("/api/programs/{program}/partner/session-token", partner_session_token)
    r.add_get("/api/support", support)
    r.add_post("/api/invites/preview", preview_invite)
    r.add_post("/api/invites/respond", respond_to_invite)
    r.add_get("/api/audit", export_audit)
