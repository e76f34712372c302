"""REST routes of trial-session invite links: create, list and revoke (clinicians), and
what the partner's invite page calls with the link's secret (preview, respond).

The secret travels in request bodies only, never in a URL a server sees; look-ups
are rate limited per address.
"""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web

from server.appkeys import CONTENT, NOTIFIER, SETTINGS, STORE
from server.catalogues import LOCALES
from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.identity import Role, RoomKind
from server.domain.program import Program
from server.domain.program_view import partner_view
from server.errors import Code, Refused
from server.http import bodies
from server.http.addresses import client_address
from server.http.rest import audit, body, for_program, programs_of, refuse
from server.logs import keyed_hash, log_event
from server.services import invites
from server.store.programs import INVITE_INDEX, Programs
from server.store.rooms import Rooms
from server.tokens import mint


# -- invites ------------------------------------------------------------------------------
async def create_invite(request: web.Request) -> web.Response:
    who, program = await for_program(request, "create-invite", (Role.CLINICIAN,))
    b = await body(request, bodies.NewInvite)
    room = await Rooms(request.app[STORE]).get(b.room)
    if room is None or room.program != program.id or room.kind is not RoomKind.COUPLES:
        raise Refused(Code.ROOM_NOT_FOUND, "Invite to one of this program's couples sessions.")
    settings = request.app[SETTINGS]
    ttl = (b.expiresInHours or settings.invite_ttl_hours) * 3600
    invite, secret = await invites.create(
        Programs(request.app[STORE]), request.app[NOTIFIER], program.id, room=b.room,
        quota=b.quota, ttl=ttl, by=who.id, now=time.time(), locale=b.locale,
        audit=audit(who, "create-invite", program.id, room=b.room))
    # The secret is shown once, here, in a URL fragment (never sent to a server in requests).
    url = f"{settings.public_url.rstrip('/')}/invite#{secret}"
    return web.json_response({"id": invite.id, "url": url, "room": invite.room,
                              "quota": invite.quota, "expiresAt": invite.expires_at,
                              "locale": invite.locale}, status=201)


async def list_invites(request: web.Request) -> web.Response:
    who, program = await for_program(request, "list-invites", (Role.CLINICIAN,))
    return web.json_response(partner_view(program, Role.CLINICIAN)["invites"])


async def revoke_invite(request: web.Request) -> web.Response:
    who, program = await for_program(request, "revoke-invite", (Role.CLINICIAN,))
    invite_id = request.match_info["invite"]
    await invites.revoke(Programs(request.app[STORE]), Rooms(request.app[STORE]),
                         request.app[NOTIFIER], program.id, invite_id,
                         audit(who, "revoke-invite", program.id, target=invite_id))
    return web.json_response({"id": invite_id, "revoked": True})


class InviteGuard:
    """Slows guessing: invite look-ups (preview, respond) are limited per client address.

    ``ALONGSIDE_INVITE_RATE_BURST`` look-ups at once, refilled at
    ``ALONGSIDE_INVITE_RATE_PER_MINUTE``, in the store: every node of a cluster spends
    from the same bucket. The address is the connecting one unless that is a trusted
    proxy (server/http/addresses.py), and it is kept only as a keyed hash.
    A run of refusals is audited once (content-free) and logged once: a flood of
    guesses does not become a flood of writes.
    """

    async def check(self, request: web.Request) -> None:
        settings, store = request.app[SETTINGS], request.app[STORE]
        address = client_address(request, settings.trusted_proxies)
        key = settings.log_key.encode() or None  # the deployment's, shared by every node
        bucket = "invite-lookup:" + keyed_hash("address", address, 32, key=key)
        refusals = await store.take_token(bucket, settings.invite_rate_per_minute / 60,
                                          settings.invite_rate_burst)
        if not refusals:
            return
        if refusals == 1:
            await store.record(AuditEntry(actor="anonymous", role=Role.PARTNER.value,
                                          action="open-invite",
                                          outcome=f"refused:{Code.RATE_LIMITED.value}"))
            log_event("invite.rate_limited", logging.WARNING, code=Code.RATE_LIMITED.value)
        raise Refused(Code.RATE_LIMITED, "Too many invite look-ups from here; "
                                         "wait a minute and try again.")


INVITE_GUARD = web.AppKey("invite_guard", InviteGuard)


async def _program_of_invite(request: web.Request, secret: str) -> Program:
    """Find the program whose invite the secret opens (hash index, constant-time compare)."""
    await request.app[INVITE_GUARD].check(request)
    index = await request.app[STORE].read((INVITE_INDEX, lifecycle.hash_secret(secret)))
    if index is None:
        await request.app[STORE].record(AuditEntry(actor="anonymous", role="partner",
                                                   action="open-invite",
                                                   outcome="refused:E_INVITE_INVALID"))
        raise Refused(Code.INVITE_INVALID)
    program = await Programs(request.app[STORE]).get(index["program"])
    if program is None:
        raise Refused(Code.INVITE_INVALID)
    return program


def query_locale(request: web.Request) -> str | None:
    """``?locale=`` if given: one of the offered locales, else ``E_SCHEMA``."""
    asked = request.query.get("locale")
    if asked is None:
        return None
    if asked not in LOCALES:
        raise Refused(Code.SCHEMA, f"locale must be one of {', '.join(LOCALES)}.")
    return asked


async def support(request: web.Request) -> web.Response:
    """The other kinds of support the deployment offers: public, no token, no person."""
    return web.json_response(request.app[CONTENT].for_locale(query_locale(request)).support)


async def preview_invite(request: web.Request) -> web.Response:
    """What the invite page shows before any decision; consumes nothing. The text is in
    ``?locale=``, else the invitation's locale, else English; a link answered before
    says what was answered through it."""
    asked_locale = query_locale(request)
    b = await body(request, bodies.InviteSecret)
    program = await _program_of_invite(request, b.secret)
    invite = lifecycle.find_invite(program, b.secret)
    words = request.app[CONTENT].for_locale(asked_locale or invite.locale)
    status = "ok"
    try:
        lifecycle.check_invite(invite, time.time())
    except Refused as refusal:
        status = refusal.code.value
    partner = program.partner
    answer = {"decision": invite.answer, "at": invite.answered_at,
              "shared": invite.answer_shared} \
        if invite.answer and invite.answered_at is not None else None
    return web.json_response({
        "status": status, "couplesInfo": words.couples_info, "support": words.support,
        "clinicians": [c.name for c in program.clinicians], "clientName": program.client.name,
        "trialsLeft": max(0, invite.quota - invite.used), "expiresAt": invite.expires_at,
        "locale": words.locale, "invitationLocale": invite.locale, "answer": answer,
        "canAsk": not invite.revoked and partner.state in lifecycle.ASK_SOURCES,
        "asked": partner.asked_at is not None,
    })


async def ask_again(request: web.Request) -> web.Response:
    """The partner asks, through their link, to hear from the program again (after not now,
    a decline or a withdrawal): it ends the cool-down and the clinicians see it at once."""
    b = await body(request, bodies.InviteSecret)
    program = await _program_of_invite(request, b.secret)
    invite = lifecycle.find_invite(program, b.secret)
    now = time.time()
    entry = AuditEntry(actor=program.partner.id, role=Role.PARTNER.value, action="invite-ask",
                       target=invite.id, room=invite.room, program=program.id)
    updated = await invites.ask_again(programs_of(request), request.app[NOTIFIER], program.id,
                                      invite.id, now, entry)
    return web.json_response({"asked": True, "askedAt": updated.partner.asked_at or now})


async def respond_to_invite(request: web.Request) -> web.Response:
    """The partner's own answer: consent (and a session token), not now, or decline."""
    b = await body(request, bodies.InviteResponse)
    program = await _program_of_invite(request, b.secret)
    invite = lifecycle.find_invite(program, b.secret)
    partner_id = program.partner.id
    content = request.app[CONTENT]
    words = content.for_locale(b.locale or invite.locale)
    now = time.time()
    entry = AuditEntry(actor=partner_id, role=Role.PARTNER.value, action=f"invite-{b.decision}",
                       target=invite.id, room=invite.room, program=program.id)
    programs, notifier = programs_of(request), request.app[NOTIFIER]
    if b.decision != "consent":
        step = "defer" if b.decision == "not-now" else "decline"
        updated = await invites.answer(programs, notifier, program.id, invite.id, step,
                                       b.share, now, entry)
        return web.json_response({"state": updated.partner.state, "support": words.support})
    # The version names the locale read: it must be that locale's current text (the one
    # the page says it showed, if it says).
    read = content.read_version(b.documentVersion or "")
    if read is None or (b.locale is not None and read.locale != b.locale):
        raise Refused(Code.CONSENT_REQUIRED, "Please read the current description first.")
    updated, room = await invites.consent(programs, notifier, program, invite.id, b.name,
                                          read.version, b.share, now, entry)
    settings = request.app[SETTINGS]
    # A trial pass ends with its invite: the token never outlives the link it came from.
    issued = int(now)
    ttl = min(settings.partner_token_ttl, math.floor(invite.expires_at - issued))
    # The session page opens in the language the partner consented in (docs/i18n.md).
    token = mint(settings, sub=partner_id, name=updated.partner.name, role="partner",
                 program=program.id, room=room, ttl=ttl, now=issued, trial=invite.id,
                 locale=read.locale)
    return web.json_response({"token": token, "room": room, "expiresAt": issued + ttl})


async def partner_session_token(request: web.Request) -> web.Response:
    """An approved partner's token for one of the program's couples sessions."""
    who, program = await for_program(request, "partner-session-token", (Role.PARTNER,))
    b = await body(request, bodies.SessionRef)
    if not lifecycle.has_couples_access(program.partner):
        raise await refuse(request, who, "partner-session-token", program.id,
                           Code.APPROVAL_REQUIRED)
    room = await Rooms(request.app[STORE]).get(b.room)
    if room is None or room.program != program.id:
        raise Refused(Code.ROOM_NOT_FOUND)
    settings = request.app[SETTINGS]
    # The new token keeps the language of the one that asked for it (docs/i18n.md).
    token = mint(settings, sub=who.id, name=program.partner.name, role="partner",
                 program=program.id, room=room.id, ttl=settings.partner_token_ttl,
                 locale=who.locale)
    return web.json_response({"token": token, "room": room.id})




def add_routes(app: web.Application) -> None:
    app[INVITE_GUARD] = InviteGuard()
    r = app.router
    r.add_post("/api/programs/{program}/invites", create_invite)
    r.add_get("/api/programs/{program}/invites", list_invites)
    r.add_delete("/api/programs/{program}/invites/{invite}", revoke_invite)
    r.add_post("/api/programs/{program}/partner/session-token", partner_session_token)
    r.add_get("/api/support", support)
    r.add_post("/api/invites/preview", preview_invite)
    r.add_post("/api/invites/respond", respond_to_invite)
    r.add_post("/api/invites/ask", ask_again)
