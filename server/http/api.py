"""REST API for integrators and the clinician console (described in /api/openapi.json).

Every route authenticates a bearer token (the same JWTs as the socket), checks
the caller's role and program, calls domain rules inside one store write, and
answers JSON. Refusals answer ``{"ok": false, "error": {code, message}}`` with
the status from :func:`server.errors.http_status`, and are audited when the
caller is known.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

from aiohttp import web

from server.appkeys import CONTENT, NOTIFIER, SESSION_TOOLS, STORE, WEBHOOKS
from server.domain import partner as lifecycle
from server.domain.identity import Role, RoomKind
from server.domain.program import Partner, Person, Program
from server.domain.program_panel import approvals as pending_approvals
from server.domain.program_view import partner_view, program_view
from server.domain.room import Room
from server.errors import Code, Refused
from server.http import bodies, family_invite_api, invites_api, partner_group_api
from server.http.rest import (
    ALL,
    STAFF,
    audit,
    body,
    caller,
    for_program,
    programs_of,
    refuse,
)
from server.services import partner_steps, program_writes
from server.services.attendance import attendance as attendance_of
from server.services.attendance import valid_week
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tools.api import ProgramReport
from server.tools.guarded import has_hook


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
            "startsAt": room.session.get("starts_at"),
            **({"audience": room.session["audience"]} if "audience" in room.session else {})}


async def create_session(request: web.Request) -> web.Response:
    who, program = await for_program(request, "create-session", STAFF)
    b = await body(request, bodies.NewSession)
    if b.audience is not None and b.kind != RoomKind.GROUP.value:
        raise Refused(Code.INVALID_STATE, "Only a group session has an audience.")
    session: dict[str, Any] = {"id": b.id, "scheduled": b.startsAt is not None,
                               "starts_at": b.startsAt}
    if b.audience is not None:
        session["audience"] = b.audience
    room = Room(id=b.id, program=program.id, kind=RoomKind(b.kind), session=session)
    if not await Rooms(request.app[STORE]).create(room, audit(who, "create-session", program.id,
                                                              room=b.id)):
        raise Refused(Code.INVALID_STATE, "A session with that id exists.")
    return web.json_response(session_view(room), status=201)


async def list_sessions(request: web.Request) -> web.Response:
    who, program = await for_program(request, "list-sessions", ALL)
    rooms = await Rooms(request.app[STORE]).list(program.id)
    if who.role is Role.PARTNER:  # a partner never learns of the client's individual sessions
        rooms = [r for r in rooms if r.kind in (RoomKind.COUPLES, RoomKind.FAMILY)]
    elif who.role is Role.CLIENT:  # nor the client of a group held for partners and family
        rooms = [r for r in rooms if "audience" not in r.session]
    return web.json_response([session_view(r) for r in rooms])


# -- the partner's lifecycle --------------------------------------------------------------
async def get_partner(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-partner", ALL)
    return web.json_response(partner_view(program, who.role))


async def take_step(request: web.Request) -> web.Response:
    who, program = await for_program(request, "partner-step", ALL)
    b = await body(request, bodies.Step)
    updated = await partner_steps.take_step(
        programs_of(request), request.app[NOTIFIER], program.id, b.step, who.role.value,
        time.time(), audit(who, f"partner-{b.step}", program.id, target=program.partner.id),
        note=b.note or "", share=b.share, consent_version=request.app[CONTENT].version)
    return web.json_response(partner_view(updated, who.role))


# -- check-ins, approvals, attendance, audit ------------------------------------------------
async def add_checkin(request: web.Request) -> web.Response:
    who, program = await for_program(request, "checkin", (Role.CLINICIAN, Role.PARTNER))
    b = await body(request, bodies.CheckIn)
    _, entry = await program_writes.update(
        Programs(request.app[STORE]), request.app[NOTIFIER], program.id,
        lambda p: lifecycle.check_in(p, who.role.value, b.readiness, b.note or "", time.time()),
        audit(who, "checkin", program.id, target=program.partner.id))
    return web.json_response({"at": entry.at, "by": entry.by, "readiness": entry.readiness},
                             status=201)


async def list_checkins(request: web.Request) -> web.Response:
    who, program = await for_program(request, "read-checkins", (Role.CLINICIAN,))
    return web.json_response(partner_view(program, Role.CLINICIAN)["checkins"])


async def approvals(request: web.Request) -> web.Response:
    """Pending requests with the context a clinician decides on."""
    who, program = await for_program(request, "read-approvals", (Role.CLINICIAN,))
    return web.json_response(pending_approvals(program))


async def attendance(request: web.Request) -> web.Response:
    """Per session and participant, stays (reconnects merged); minutes per ISO week."""
    who, program = await for_program(request, "read-attendance", STAFF)
    week = request.query.get("week")
    if week is not None and not valid_week(week):
        raise Refused(Code.SCHEMA, "week: an ISO week such as 2026-W49")
    rooms = await Rooms(request.app[STORE]).list(program.id)
    return web.json_response(attendance_of(rooms, time.time(), week))


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
    if who.role is Role.CLIENT and "audience" in room.session:  # a partners-family group
        raise Refused(Code.NOT_FOUND)
    # Each tool's record() runs off the loop, time-limited; a failed part is marked.
    entries = await request.app[SESSION_TOOLS].records(room, who.role.value)
    return web.json_response({"session": room.id, "entries": entries})


async def checkin_trend(request: web.Request) -> web.Response:
    """Session check-ins (mood, readiness) over the program, per participant: clinicians only."""
    who, program = await for_program(request, "read-checkin-trend", (Role.CLINICIAN,))
    tool = request.app[SESSION_TOOLS].tools.get("checkin")
    if tool is None or not has_hook(tool, "report"):  # the ProgramReport hook
        raise Refused(Code.TOOL_UNKNOWN)
    report = cast(ProgramReport, tool).report
    records = [{**r, "session": room.id}
               for room in await Rooms(request.app[STORE]).list(program.id)
               for r in room.records]
    # The tool's own code: off the loop, time-limited (E_TOOL_FAILED / E_TOOL_TIMEOUT).
    found = await request.app[SESSION_TOOLS].helper("checkin", lambda: report(records))
    return web.json_response({"participants": found})


async def list_webhooks(request: web.Request) -> web.Response:
    """Every event of the program by ``seq``: ``pending``, ``delivered`` or ``parked``."""
    who, program = await for_program(request, "read-webhooks", (Role.INTEGRATOR,))
    return web.json_response(await request.app[WEBHOOKS].listing(program.id))


async def replay_webhook(request: web.Request) -> web.Response:
    """Queue a parked (or delivered) event again, same id, at the end of the program's queue."""
    who, program = await for_program(request, "replay-webhook", (Role.INTEGRATOR,))
    event_id = request.match_info["event"]
    await request.app[WEBHOOKS].replay(program.id, event_id, audit(
        who, "replay-webhook", program.id, target=event_id))
    return web.json_response({"id": event_id, "status": "pending"}, status=202)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/programs", create_program)
    r.add_get("/api/programs/{program}", get_program)
    r.add_post("/api/programs/{program}/sessions", create_session)
    r.add_get("/api/programs/{program}/sessions", list_sessions)
    r.add_get("/api/programs/{program}/partner", get_partner)
    r.add_post("/api/programs/{program}/partner/steps", take_step)
    r.add_post("/api/programs/{program}/checkins", add_checkin)
    r.add_get("/api/programs/{program}/checkins", list_checkins)
    r.add_get("/api/programs/{program}/approvals", approvals)
    r.add_get("/api/programs/{program}/attendance", attendance)
    r.add_get("/api/programs/{program}/webhooks", list_webhooks)
    r.add_post("/api/programs/{program}/webhooks/{event}/replay", replay_webhook)
    r.add_get("/api/programs/{program}/sessions/{session}/record", session_record)
    r.add_get("/api/programs/{program}/checkin-trend", checkin_trend)
    r.add_get("/api/audit", export_audit)
    invites_api.add_routes(app)
    partner_group_api.add_routes(app)
    family_invite_api.add_routes(app)
