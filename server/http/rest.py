"""What every REST route shares: authentication, bodies, refusals, the program binding,
and the effects of a partner's step outside its commit.

Refusals answer ``{"ok": false, "error": {code, message}}`` with the status from
:func:`server.errors.http_status`, and are audited when the caller is known.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from server.appkeys import REALTIME, SETTINGS, STORE, WEBHOOKS
from server.domain import outbox
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role
from server.domain.outbox import Event
from server.domain.program import Program
from server.errors import Code, Refused, http_status
from server.http import bodies
from server.store import StoreUnavailable
from server.store.programs import Programs
from server.tokens import TokenVerifier

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
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


def programs_of(request: web.Request) -> Programs:
    """Programs whose updates queue their webhook events in the same commit (when on)."""
    return Programs(request.app[STORE], request.app[WEBHOOKS].outbox)


def step_events(step: str) -> Callable[[Program, object], list[Event]] | None:
    """The webhook events of a partner's step, for ``Programs.update(events=...)``
    (``None`` for a step that makes none: its write need not touch the outbox)."""
    if step not in outbox.STEP_EVENTS:
        return None
    return lambda program, _: outbox.step_events(program, step)


async def after_step(request: web.Request, program: Program, step: str) -> None:
    """Effects outside the step's commit: moving a partner out of their rooms.

    Note: the step's webhook event is not here: it is queued inside the commit
    (:func:`step_events`), so a crash right after it cannot lose it.
    """
    if step in CLOSING_CODES:
        await request.app[REALTIME].evict(program.id, program.partner.id, CLOSING_CODES[step])


