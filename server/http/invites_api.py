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
    invite, secret = await Programs(request.app[STORE]).create_invite(
        program.id, room=b.room, quota=b.quota, ttl=ttl, by=who.id, now=time.time(),
        audit=audit(who, "create-invite", program.id, room=b.room))
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
    programs, notifier = programs_of(request), request.app[NOTIFIER]
    if b.decision != "consent":
        step = "defer" if b.decision == "not-now" else "decline"
        updated = await invites.answer(programs, notifier, program.id, invite.id, step,
                                       b.share, now, entry)
        return web.json_response({"state": updated.partner.state, "support": content.support})
    if b.documentVersion != content.version:
        raise Refused(Code.CONSENT_REQUIRED, "Please read the current description first.")
    updated, room = await invites.consent(programs, notifier, program, invite.id, b.name,
                                          content.version, b.share, now, entry)
    settings = request.app[SETTINGS]
    # A trial pass ends with its invite: the token never outlives the link it came from.
    issued = int(now)
    ttl = min(settings.partner_token_ttl, math.floor(invite.expires_at - issued))
    token = mint(settings, sub=partner_id, name=updated.partner.name, role="partner",
                 program=program.id, room=room, ttl=ttl, now=issued, trial=invite.id)
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
