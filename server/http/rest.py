"""What every REST route shares: authentication, bodies, refusals and the program binding.

Refusals answer ``{"ok": false, "error": {code, message}}`` with the status from
:func:`server.errors.http_status`, and are audited when the caller is known.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web
from pydantic import ValidationError

from server.appkeys import SETTINGS, STORE, WEBHOOKS
from server.domain import room_link
from server.domain.audit import AuditEntry
from server.domain.identity import Identity, Role, RoomKind
from server.domain.program import Program
from server.errors import Code, Refused, http_status
from server.http import bodies
from server.json_depth import MAX_DEPTH, too_deep
from server.logs import log_event
from server.settings import Settings
from server.store import StoreUnavailable
from server.store.programs import Programs
from server.tokens import TokenVerifier, mint

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def link_token(settings: Settings, link: room_link.RoomLink, now: float, *, sub: str,
               name: str, role: Role, program: str, kind: RoomKind) -> web.Response:
    """The answer to opening a room link (the partner's other door, a family link): a token
    for the link's room only, lasting one session and never past the link
    (:func:`~server.domain.room_link.token_seconds`); a nameless person is ``Guest``."""
    issued = int(now)
    ttl = room_link.token_seconds(link, issued)
    token = mint(settings, sub=sub, name=name or "Guest", role=role.value, program=program,
                 room=link.room, ttl=ttl, now=issued, locale=link.locale,
                 room_kind=kind.value)
    return web.json_response({"token": token, "room": link.room, "expiresAt": issued + ttl})


def fail(refusal: Refused, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": refusal.as_error()},
                             status=http_status(refusal.code), headers=headers)


# aiohttp's own refusals under /api/ (no route, wrong method, body too large) answer
# with our codes; any other client error is a request of the wrong shape.
HTTP_CODES = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 413: Code.TOO_LARGE,
              415: Code.UNSUPPORTED_MEDIA_TYPE}


@web.middleware
async def answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn refusals into documented JSON errors; never leak a traceback.

    Everything under ``/api/`` answers ``{"ok": false, "error": {code, message}}``:
    aiohttp's own HTTP errors are mapped (:data:`HTTP_CODES`), and anything unexpected
    is ``E_INTERNAL``, logged with the raising frame's file:line and the exception's
    type only (its message may quote the request).
    """
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
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status >= 500:
            return crashed(request, exc)
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return fail(Refused(HTTP_CODES.get(exc.status, Code.SCHEMA)), allow)
    except Exception as exc:  # a bug: answer, log where and what type, keep serving
        return crashed(request, exc)


def crashed(request: web.Request, exc: BaseException) -> web.Response:
    route = request.match_info.route.resource
    log_event("http.crashed", logging.ERROR, method=request.method,
              path=route.canonical if route is not None else "", error=type(exc).__name__,
              where=raised_at(exc))
    return fail(Refused(Code.INTERNAL))


def raised_at(exc: BaseException) -> str:
    """``file:line`` of the innermost frame that raised: a project path, or the path
    inside site-packages for a library's frame (never the deployment's own paths)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = Path(tb.tb_frame.f_code.co_filename)
    if ROOT in path.parents and "site-packages" not in path.parts:
        shown = path.relative_to(ROOT).as_posix()
    elif "site-packages" in path.parts:
        shown = "/".join(path.parts[path.parts.index("site-packages") + 1:])
    else:
        shown = path.name
    return f"{shown}:{tb.tb_lineno}"


ROOT = Path(__file__).resolve().parent.parent.parent
async def body(request: web.Request, model: type[bodies.B]) -> bodies.B:
    """The request's JSON body as ``model``: ``E_TOO_LARGE`` past
    ``ALONGSIDE_MAX_MESSAGE_BYTES`` (announced or sent), ``E_UNSUPPORTED_MEDIA_TYPE``
    unless ``application/json`` (UTF-8), ``E_SCHEMA`` past :data:`MAX_DEPTH` levels,
    for bytes that are not JSON, or for the wrong shape."""
    limit = request.app[SETTINGS].max_message_bytes
    if request.content_length is not None and request.content_length > limit:
        raise Refused(Code.TOO_LARGE)
    charset = (request.charset or "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise Refused(Code.UNSUPPORTED_MEDIA_TYPE)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(Code.TOO_LARGE) from None
    if too_deep(raw):
        raise Refused(Code.SCHEMA, f"The body is nested more than {MAX_DEPTH} levels deep.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Refused(Code.SCHEMA, "The body must be JSON.") from None
    return model.model_validate(data)


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
