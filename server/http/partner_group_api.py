"""REST routes of the partner's other door (docs/partner-lifecycle.md, "The other door").

- ``POST /api/programs/{program}/partner/group-invites`` ``{room, expiresInHours?, locale?}``
  (clinician): a link for the partner to a partners-and-family group; the secret is shown
  once, in the URL's fragment.
- ``GET /api/programs/{program}/partner/group-invites`` (clinician): each invitation with
  ``status`` invited, accepted or attended; no secrets.
- ``GET /api/programs/{program}/partner/group-rooms`` (clinician): the program's open
  partners-and-family groups, to choose one in the partner panel.
- ``POST /api/partner-group/open`` ``{program, invite, secret}`` (no bearer: the link is the
  credential): a group member's token for that room.

Caveat: the token is a ``client`` of the group's program, for that room only, under the
participant id ``pg-<invite>``; it holds the partner's first name only, which the group
agreement's alias then replaces. Look-ups of links share the invite links' rate limit.
"""

from __future__ import annotations

import time

from aiohttp import web

from server.appkeys import SETTINGS, STORE
from server.domain import partner_group as door
from server.domain.audit import AuditEntry
from server.domain.group_agreement import suggested_alias
from server.domain.identity import Role, RoomKind
from server.http import bodies
from server.http.invites_api import INVITE_GUARD
from server.http.rest import audit, body, for_program, link_token
from server.services import partner_group
from server.store.agreements import Agreements
from server.store.programs import Programs
from server.store.rooms import Rooms


async def create(request: web.Request) -> web.Response:
    who, program = await for_program(request, "partner-group-invite", (Role.CLINICIAN,))
    b = await body(request, bodies.NewPartnerGroupInvite)
    settings, store = request.app[SETTINGS], request.app[STORE]
    ttl = (b.expiresInHours or settings.invite_ttl_hours) * 3600
    made, secret = await partner_group.invite(
        Programs(store), Rooms(store), program.id, room_id=b.room, ttl=ttl, by=who.id,
        now=time.time(), locale=b.locale,
        audit=audit(who, "partner-group-invite", program.id, room=b.room))
    # The secret travels in the fragment, which browsers never send to a server.
    url = (f"{settings.public_url.rstrip('/')}/partner-group?program={program.id}"
           f"&invite={made.id}#{secret}")
    return web.json_response({"id": made.id, "url": url, "room": made.room,
                              "expiresAt": made.expires_at, "locale": made.locale},
                             status=201)


async def listing(request: web.Request) -> web.Response:
    _, program = await for_program(request, "partner-group-list", (Role.CLINICIAN,))
    store = request.app[STORE]
    return web.json_response(await partner_group.listed(program, Rooms(store),
                                                        Agreements(store)))


async def group_rooms(request: web.Request) -> web.Response:
    _, program = await for_program(request, "partner-group-rooms", (Role.CLINICIAN,))
    rooms = door.rooms_offered(await Rooms(request.app[STORE]).list(program.id))
    return web.json_response([{"id": r.id, "status": r.status.value,
                               "startsAt": r.session.get("starts_at")} for r in rooms])


async def open_link(request: web.Request) -> web.Response:
    # The body first: one that is not a look-up (not JSON, too large) spends no token.
    b = await body(request, bodies.PartnerGroupOpen)
    await request.app[INVITE_GUARD].check(request)
    settings, store = request.app[SETTINGS], request.app[STORE]
    now = time.time()
    opened = await partner_group.open_link(
        Programs(store), Rooms(store), b.program, b.invite, b.secret, now,
        AuditEntry(actor=door.participant(b.invite), role=Role.PARTNER.value,
                   action="partner-group-open", target=b.invite, program=b.program))
    program = await Programs(store).get(b.program)
    name = suggested_alias(program.partner.name) if program else ""
    return link_token(settings, opened, now, sub=door.participant(opened.id), name=name,
                      role=Role.CLIENT, program=opened.group_program, kind=RoomKind.GROUP)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/programs/{program}/partner/group-invites", create)
    r.add_get("/api/programs/{program}/partner/group-invites", listing)
    r.add_get("/api/programs/{program}/partner/group-rooms", group_rooms)
    r.add_post("/api/partner-group/open", open_link)
