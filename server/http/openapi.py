"""The OpenAPI 3.1 document, built from the request models the routes validate with.

Responses are described loosely but truthfully (a test checks live responses
against this document with schemathesis); the invite routes' answers are typed
(:mod:`server.http.replies`). Every operation lists ``E_INTERNAL`` (500) and
``E_UNAVAILABLE`` (503); every operation with a body also lists ``E_TOO_LARGE`` (413),
``E_UNSUPPORTED_MEDIA_TYPE`` (415) and ``E_SCHEMA`` (422).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.catalogues import LOCALES
from server.errors import Code
from server.http import bodies, replies

REF = "#/components/schemas/{model}"

ERROR = {"type": "object", "required": ["ok", "error"], "properties": {
    "ok": {"const": False},
    "error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": [c.value for c in Code]},
        "message": {"type": "string"}}}}}
OBJECT: dict[str, Any] = {"type": "object"}
ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
PARTNER_STATES = ["not_invited", "invited", "deferred", "declined", "consented", "requested",
                  "approved", "active", "paused", "withdrawn", "revoked"]
SESSION = {"type": "object", "required": ["id", "kind", "status"], "properties": {
    "id": {"type": "string"}, "kind": {"enum": ["individual", "couples", "group", "family"]},
    "status": {"enum": ["open", "ended"]}, "scheduled": {"type": "boolean"},
    "audience": {"enum": ["partners-family"]},
    "startsAt": {"type": ["number", "null"]}}}
INVITE_CREATED = {"type": "object", "required": ["id", "url", "quota", "expiresAt"],
                  "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                 "room": {"type": "string"}, "quota": {"type": "integer"},
                                 "expiresAt": {"type": "number"},
                                 "locale": {"type": ["string", "null"]}}}

PARTNER_GROUP_INVITE = {"type": "object", "required": ["id", "url", "room", "expiresAt"],
                        "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                       "room": {"type": "string"},
                                       "expiresAt": {"type": "number"},
                                       "locale": {"type": ["string", "null"]}}}
FAMILY_INVITE = {"type": "object", "required": ["id", "room", "expiresAt"],
                 "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                                "room": {"type": "string"}, "name": {"type": "string"},
                                "expiresAt": {"type": "number"},
                                "locale": {"type": ["string", "null"]},
                                "status": {"enum": ["open", "opened", "attended", "withdrawn",
                                                   "expired"]}}}
ROOM_TOKEN = {"type": "object", "required": ["token", "room", "expiresAt"], "properties": {
    "token": {"type": "string"}, "room": {"type": "string"}, "expiresAt": {"type": "number"}}}


WEEK_PATTERN = "^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-W(0[1-9]|[1-4][0-9]|5[0-2])$"

ALWAYS = (500, 503)  # a bug (E_INTERNAL), the store away (E_UNAVAILABLE)
WITH_BODY = (413, 415, 422)  # too large, not JSON, nested too deep or of the wrong shape


def _op(summary: str, ok: int, response: dict[str, Any], model: type[bodies.Body] | None = None,
        auth: bool = True, errors: tuple[int, ...] = (401, 403, 404, 409, 422),
        content_type: str = "application/json") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        str(ok): {"description": "OK", "content": {content_type: {"schema": response}}}}}
    for status in sorted(set(errors) | set(ALWAYS) | (set(WITH_BODY) if model else set())):
        op["responses"][str(status)] = {"description": "Refused with a documented code",
                                        "content": {"application/json": {"schema": ERROR}}}
    if model is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=model.__name__)}}}}
    op["security"] = [{"bearer": []}] if auth else []
    return op


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


PROGRAM = {"name": "program", "in": "path", "required": True, "schema": {"type": "string"}}
INVITE = {"name": "invite", "in": "path", "required": True, "schema": {"type": "string"}}
LOCALE = {"name": "locale", "in": "query", "required": False,
          "description": "The language of the words answered (E_SCHEMA if not offered).",
          "schema": {"type": "string", "enum": list(LOCALES)}}


def document() -> dict[str, Any]:
    models: list[type[bodies.Body]] = [bodies.NewProgram, bodies.NewSession, bodies.Step, bodies.NewInvite,
              bodies.InviteSecret, bodies.InviteResponse, bodies.SessionRef, bodies.CheckIn,
              bodies.NewPartnerGroupInvite, bodies.PartnerGroupOpen, bodies.NewFamilyInvite,
              bodies.FamilyInviteOpen]
    schemas: dict[str, Any] = {}
    answers: list[type[BaseModel]] = [replies.InvitePreview, replies.InviteConsented,
                                      replies.InviteAnswered, replies.InviteAsked]
    for model in [*models, *answers]:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    partner = {"type": "object", "properties": {"state": {"enum": PARTNER_STATES}}}
    p = "/api/programs/{program}"
    paths: dict[str, Any] = {
        "/api/programs": {"post": _op("Create a program (integrator)", 201, OBJECT,
                                      bodies.NewProgram)},
        p: {"parameters": [PROGRAM], "get": _op("A program, as the caller's role may see it",
                                                200, OBJECT)},
        p + "/sessions": {"parameters": [PROGRAM],
                          "get": _op("The program's sessions", 200,
                                     {"type": "array", "items": SESSION}),
                          "post": _op("Schedule a session", 201, SESSION, bodies.NewSession)},
        p + "/sessions/{session}/record": {
            "parameters": [PROGRAM, {"name": "session", "in": "path", "required": True,
                                     "schema": {"type": "string"}}],
            "get": _op("The session record (finished tools), filtered by role", 200,
                       {"type": "object", "required": ["session", "entries"], "properties": {
                           "session": {"type": "string"},
                           "entries": {"type": "array", "items": {"type": "object"}}}})},
        p + "/partner": {"parameters": [PROGRAM],
                         "get": _op("The partner's status, filtered by role", 200, partner)},
        p + "/partner/steps": {"parameters": [PROGRAM],
                               "post": _op("Take a lifecycle step as the caller's role", 200,
                                           partner, bodies.Step)},
        p + "/partner/session-token": {"parameters": [PROGRAM], "post": _op(
            "An approved partner's token for a couples session", 200, OBJECT,
            bodies.SessionRef)},
        p + "/invites": {"parameters": [PROGRAM],
                         "get": _op("Trial invites (no secrets)", 200, ARRAY),
                         "post": _op("Create a trial-session invite link (secret shown once)",
                                     201, INVITE_CREATED, bodies.NewInvite)},
        p + "/invites/{invite}": {"parameters": [PROGRAM, INVITE], "delete": _op(
            "Revoke an invite; a partner in a room on it is moved out", 200, OBJECT)},
        p + "/partner/group-invites": {"parameters": [PROGRAM], "get": _op(
            "The partner's invitations to a partners-and-family group, each invited, accepted "
            "or attended (clinician; no secrets)", 200, ARRAY), "post": _op(
            "Invite a partner who said not now or declined to a partners-and-family group "
            "(secret shown once); changes nothing of the couples lifecycle", 201,
            PARTNER_GROUP_INVITE, bodies.NewPartnerGroupInvite)},
        p + "/partner/group-rooms": {"parameters": [PROGRAM], "get": _op(
            "The program's open partners-and-family group sessions, to invite the partner to "
            "(clinician)", 200, ARRAY)},
        p + "/family-invites": {"parameters": [PROGRAM], "get": _op(
            "Family members' invitation links, each open, opened, attended, withdrawn or "
            "expired (clinician; no secrets)", 200, {"type": "array", "items": FAMILY_INVITE}),
            "post": _op("A link for one family member to one family session (secret shown "
                        "once)", 201, FAMILY_INVITE, bodies.NewFamilyInvite)},
        p + "/family-invites/{invite}": {"parameters": [PROGRAM, INVITE], "delete": _op(
            "Withdraw a family member's link that was not opened (clinician)", 200,
            FAMILY_INVITE)},
        p + "/checkins": {"parameters": [PROGRAM],
                          "get": _op("Readiness history (clinician)", 200, ARRAY),
                          "post": _op("Record readiness (clinician or partner)", 201, OBJECT,
                                      bodies.CheckIn)},
        p + "/checkin-trend": {"parameters": [PROGRAM], "get": _op(
            "Session check-ins per participant over the program (clinician)", 200,
            {"type": "object", "required": ["participants"],
             "properties": {"participants": ARRAY}})},
        p + "/approvals": {"parameters": [PROGRAM],
                           "get": _op("Pending requests with context", 200, ARRAY)},
        p + "/attendance": {"parameters": [
            PROGRAM, {"name": "week", "in": "query", "required": False,
                      "description": "an ISO week (YYYY-Www; W53 too in a year that has "
                                     "one): only that week's sessions and rows; malformed or "
                                     "a week that does not exist: E_SCHEMA",
                      # Only weeks every year has: schema-valid input is never refused.
                      "schema": {"type": "string", "pattern": WEEK_PATTERN}}],
                            "get": _op("Stays per session; minutes per week", 200, OBJECT)},
        p + "/webhooks": {"parameters": [PROGRAM],
                          "get": _op("Webhook events by seq: pending, delivered or parked "
                                     "(integrator)", 200, ARRAY)},
        p + "/webhooks/{event}/replay": {
            "parameters": [PROGRAM, {"name": "event", "in": "path", "required": True,
                                     "schema": {"type": "string"}}],
            "post": _op("Queue a parked (or delivered) event again, same id (integrator)",
                        202, {"type": "object", "required": ["id", "status"], "properties": {
                            "id": {"type": "string"}, "status": {"const": "pending"}}})},
        "/api/support": {"get": {**_op("Other support the deployment offers (public)", 200,
                                       ARRAY, auth=False, errors=(422,)),
                                 "parameters": [LOCALE]}},
        "/api/invites/preview": {"post": {**_op(
            "What an invite link shows, in ?locale= (else the invitation's locale, else "
            "English), with the earlier answer through it; consumes nothing", 200,
            _ref(replies.InvitePreview), bodies.InviteSecret, auth=False,
            errors=(404, 410, 422, 429)), "parameters": [LOCALE]}},
        "/api/invites/ask": {"post": _op(
            "The partner asks, through their link, to hear from the program again (after "
            "not now, a decline or a withdrawal): ends the cool-down; clinicians see it, "
            "the client never does", 200, _ref(replies.InviteAsked), bodies.InviteSecret,
            auth=False, errors=(404, 409, 410, 422, 429))},
        "/api/invites/respond": {"post": _op(
            "The partner's answer: consent (returns a token; needs the preview's "
            "couplesInfo.version as documentVersion), not now, or decline", 200,
            {"oneOf": [_ref(replies.InviteConsented), _ref(replies.InviteAnswered)]},
            bodies.InviteResponse, auth=False, errors=(404, 409, 410, 422, 429))},
        "/api/partner-group/open": {"post": _op(
            "Open a partners-and-family group link: a group member's token for its room",
            200, ROOM_TOKEN, bodies.PartnerGroupOpen, auth=False,
            errors=(404, 409, 410, 422, 429))},
        "/api/family-invite/open": {"post": _op(
            "Open a family member's link (once): a role family token for its family session",
            200, ROOM_TOKEN, bodies.FamilyInviteOpen, auth=False,
            errors=(404, 409, 410, 422, 429))},
        "/api/audit": {"get": {**_op("Audit rows as JSON Lines", 200, {"type": "string"},
                                     content_type="application/x-ndjson"),
                               "parameters": [
                                   {"name": "program", "in": "query", "schema": {"type": "string"}},
                                   {"name": "room", "in": "query", "schema": {"type": "string"}}]}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Alongside API", "version": "0.1.0",
                 "description": "Programs, sessions, the partner lifecycle, invites, "
                                "check-ins, attendance and audit. Errors carry a code from "
                                "docs/protocol.md."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


async def serve(request: web.Request) -> web.Response:
    return web.json_response(document())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", serve)
