"""REST routes of a family member's invitation link (docs/groups.md, "Family sessions").

- ``POST /api/programs/{program}/family-invites`` ``{room, name?, expiresInHours?, locale?}``
  (clinician): a link to one family session of the program; the secret is shown once, in
  the URL's fragment.
- ``GET /api/programs/{program}/family-invites`` (clinician): each link with its ``status``
  (open, opened, attended, withdrawn, expired); never a secret.
- ``DELETE /api/programs/{program}/family-invites/{invite}`` (clinician): withdraw a link.
- ``POST /api/family-invite/open`` ``{invite, secret}`` (no bearer: the link is the
  credential): a ``role: "family"`` token for that room only; the link is then spent.

Caveat: the token holds the first name the clinician gave (or ``Guest``) and the participant
id ``fi-<invite>``; look-ups share the invite links' rate limit (``E_RATE_LIMITED``).
"""

from __future__ import annotations

import time

from aiohttp import web

from server.appkeys import SETTINGS, STORE
from server.domain import family_invite as family
from server.domain.audit import AuditEntry
from server.domain.identity import Role, RoomKind
from server.http import bodies
from server.http.invites_api import INVITE_GUARD
from server.http.rest import audit, body, for_program, link_token
from server.services import family_invite
from server.store.family_invites import FamilyInvites
from server.store.rooms import Rooms


async def create(request: web.Request) -> web.Response:
    who, program = await for_program(request, "family-invite", (Role.CLINICIAN,))
    b = await body(request, bodies.NewFamilyInvite)
    settings, store = request.app[SETTINGS], request.app[STORE]
    ttl = (b.expiresInHours or settings.invite_ttl_hours) * 3600
    made, secret = await family_invite.invite(
        FamilyInvites(store), Rooms(store), program.id, room_id=b.room, name=b.name or "",
        ttl=ttl, by=who.id, now=time.time(), locale=b.locale,
        audit=audit(who, "family-invite", program.id, room=b.room))
    # The secret travels in the fragment, which browsers never send to a server.
    url = f"{settings.public_url.rstrip('/')}/family-invite?invite={made.id}#{secret}"
    return web.json_response({"id": made.id, "url": url, "room": made.room, "name": made.name,
                              "expiresAt": made.expires_at, "locale": made.locale},
                             status=201)


async def listing(request: web.Request) -> web.Response:
    _, program = await for_program(request, "family-invite-list", (Role.CLINICIAN,))
    store = request.app[STORE]
    return web.json_response(await family_invite.listed(
        FamilyInvites(store), Rooms(store), program.id, time.time()))


async def withdraw(request: web.Request) -> web.Response:
    who, program = await for_program(request, "family-invite-withdraw", (Role.CLINICIAN,))
    invite_id = request.match_info["invite"]
    store = request.app[STORE]
    return web.json_response(await family_invite.withdraw(
        FamilyInvites(store), Rooms(store), program.id, invite_id, time.time(),
        audit(who, "family-invite-withdraw", program.id, target=invite_id)))


async def open_link(request: web.Request) -> web.Response:
    # The body first: one that is not a look-up (not JSON, too large) spends no token.
    b = await body(request, bodies.FamilyInviteOpen)
    await request.app[INVITE_GUARD].check(request)
    settings, store = request.app[SETTINGS], request.app[STORE]
    now = time.time()
    opened = await family_invite.open_link(
        FamilyInvites(store), Rooms(store), b.invite, b.secret, now,
        AuditEntry(actor=family.participant(b.invite), role=Role.FAMILY.value,
                   action="family-invite-open", target=b.invite))
    return link_token(settings, opened, now, sub=family.participant(opened.id),
                      name=opened.name, role=Role.FAMILY, program=opened.program,
                      kind=RoomKind.FAMILY)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/programs/{program}/family-invites", create)
    r.add_get("/api/programs/{program}/family-invites", listing)
    r.add_delete("/api/programs/{program}/family-invites/{invite}", withdraw)
    r.add_post("/api/family-invite/open", open_link)
