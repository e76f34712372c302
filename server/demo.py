"""The demo program `make run` seeds: one clinician, one client, the client's partner, and a
group session with three members (its media needs Janus: :func:`group_media`)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.identity import Role, RoomKind
from server.domain.program import Partner, Person, Program
from server.domain.room import Room, RoomStatus
from server.errors import Code, Refused
from server.settings import Settings
from server.store import Store
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tokens import mint

PROGRAM = "demo"
COUPLES_ROOM = "demo-couples"
LATER_COUPLES_ROOM = "demo-couples-2"
INDIVIDUAL_ROOM = "demo-individual"
GROUP_ROOM = "demo-group"
# The partner's other door: a partners-and-family group the clinician can invite the partner
# to from the partner panel once they say Not now or Decline (docs/partner-lifecycle.md).
PARTNERS_GROUP_ROOM = "demo-partners-group"
FAMILY_ROOM = "demo-family"
LINK_TTL = 12 * 3600


@dataclass(frozen=True)
class Demo:
    sub: str
    name: str
    role: str


CLINICIAN = Demo("demo-clinician", "Dr. Rivera", "clinician")
CLIENT = Demo("demo-client", "Sam", "client")
PARTNER = Demo("demo-partner", "Alex", "partner")
PEOPLE = {p.role: p for p in (CLINICIAN, CLIENT, PARTNER)}
FAMILY_MEMBER = Demo("demo-family-1", "Family member", "family")  # `alongside token --role family`
# The group's members: other people of the IOP (role client, their own sub), who choose the
# name the group sees when they accept its agreement (the field starts with the first word).
MEMBERS = (Demo("demo-member-1", "Jordan Lee", "client"),
           Demo("demo-member-2", "María Santos", "client"),
           Demo("demo-member-3", "Chris Park", "client"))


def _audit(action: str, room: str = "") -> AuditEntry:
    return AuditEntry(actor="demo", role="system", action=action, room=room, program=PROGRAM)


@dataclass(frozen=True)
class Seeded:
    """What :func:`prepare` did, for the printed links."""

    fresh: bool  # created now (first start, or --reset-demo); else kept as it was
    invite: str = ""  # a new invite's secret for the partner, "" when none was made
    partner_approved: bool = False  # the partner joins with a token, no invite needed
    ended: tuple[str, ...] = ()  # demo rooms whose session has ended


# A new link leaves the partner's state as it is only from these (server/domain/partner.py
# create_invite); from any other, inviting again would overwrite what the partner chose.
REINVITE = frozenset({"invited", "consented", "requested"})
ROOMS = ((COUPLES_ROOM, RoomKind.COUPLES), (LATER_COUPLES_ROOM, RoomKind.COUPLES),
         (INDIVIDUAL_ROOM, RoomKind.INDIVIDUAL), (GROUP_ROOM, RoomKind.GROUP),
         (PARTNERS_GROUP_ROOM, RoomKind.GROUP), (FAMILY_ROOM, RoomKind.FAMILY))
AUDIENCE = {PARTNERS_GROUP_ROOM: "partners-family"}


async def prepare(store: Store, *, reset: bool = False) -> Seeded:
    """Seed the demo only if the store has none (or on ``reset``); otherwise keep it.

    A restart keeps live rooms, running tools and the partner's answers. The printed
    partner link must still work, and an invite's secret is shown once (only its hash
    is kept), so a kept demo gets a fresh invite through the normal invite rules, but
    only while that changes nothing the partner chose (invited, consented, requested).
    Note: with ``reset`` (``--reset-demo``) the demo's rooms and program are replaced.
    """
    now = time.time()
    rooms, programs = Rooms(store), Programs(store)
    for room_id, kind in ROOMS:
        session: dict[str, Any] = {"id": room_id, "scheduled": True, "starts_at": now}
        if room_id in AUDIENCE:
            session["audience"] = AUDIENCE[room_id]
        room = Room(id=room_id, program=PROGRAM, kind=kind, session=session)
        if reset:
            await rooms.put(room, _audit("seed-room", room_id))
        else:  # a missing room comes back; an existing one is left alone
            await rooms.create(room, _audit("seed-room", room_id))
    program = Program(id=PROGRAM, client=Person(CLIENT.sub, CLIENT.name),
                      clinicians=[Person(CLINICIAN.sub, CLINICIAN.name)],
                      partner=Partner(id=PARTNER.sub, name=PARTNER.name))
    lifecycle.apply(program, "agree", Role.CLIENT, now)
    fresh = True
    if reset:
        await programs.put(program, _audit("seed-program"))
    else:
        try:  # create, not put: another replica starting at once may have seeded it
            await programs.create(program, _audit("seed-program"))
        except Refused as refusal:
            if refusal.code is not Code.PROGRAM_EXISTS:
                raise
            fresh = False
    kept = program if fresh else await programs.get(PROGRAM)
    assert kept is not None
    ended = tuple([r for r, _ in ROOMS if (got := await rooms.get(r)) is not None
                   and got.status is RoomStatus.ENDED])
    if not fresh and lifecycle.has_couples_access(kept.partner):
        return Seeded(fresh, partner_approved=True, ended=ended)
    if not fresh and kept.partner.state not in REINVITE:
        return Seeded(fresh, ended=ended)
    _, secret = await programs.create_invite(
        PROGRAM, room=COUPLES_ROOM, quota=1, ttl=LINK_TTL, by=CLINICIAN.sub, now=now,
        audit=_audit("create-invite", COUPLES_ROOM))
    return Seeded(fresh, invite=secret, ended=ended)


def token(settings: Settings, role: str, room: str = COUPLES_ROOM, ttl: int = LINK_TTL,
          locale: str | None = None) -> str:
    """A demo person's token; ``locale`` adds the ``locale`` claim (the pages' language)."""
    if role == "integrator":
        return mint(settings, sub="demo-host", name="Host platform", role="integrator",
                    program="*", room="", ttl=ttl)
    person = PEOPLE[role]
    return mint(settings, sub=person.sub, name=person.name, role=person.role, program=PROGRAM,
                room=room, ttl=ttl, locale=locale)


def member_token(settings: Settings, member: Demo, ttl: int = LINK_TTL,
                 locale: str | None = None) -> str:
    """A group member's token for the demo group session."""
    return mint(settings, sub=member.sub, name=member.name, role=member.role, program=PROGRAM,
                room=GROUP_ROOM, ttl=ttl, locale=locale, room_kind=RoomKind.GROUP.value)


def group_media(settings: Settings) -> tuple[Settings, Any]:
    """Settings whose group rooms have a Janus, and the Janus started for them (or None).

    ``ALONGSIDE_JANUS_URLS`` set: used as they are. Otherwise, where Debian's ``janus`` is
    installed, a private one on a generated config (``devtools/janus.py``: loopback only,
    random secrets), which the caller stops (``close()``) when the server stops.
    Caveat: ``devtools`` ships with the repository, not the wheel (the checkout's root is
    added to ``sys.path`` to find it); without it, or without
    ``janus``, the demo runs with no group media (group links are then not printed).
    """
    if settings.janus_urls:
        return settings, None
    root = Path(__file__).resolve().parent.parent
    if (root / "devtools" / "janus.py").is_file() and str(root) not in sys.path:
        # `make run` starts the installed `alongside` script, whose path lacks the checkout.
        sys.path.append(str(root))
    try:
        from devtools import janus
    except ImportError:
        return settings, None
    if not janus.installed():
        return settings, None
    server = janus.JanusServer()
    try:
        server.start()
    except RuntimeError as exc:
        print(f"Janus did not start, so group rooms have no video: {exc}", flush=True)
        server.close()
        return settings, None
    return replace(settings, janus_urls=(server.url,), janus_api_secret=server.config.api_secret,
                   janus_admin_key=server.config.admin_key), server


def group_links(settings: Settings) -> list[str]:
    """The group session's links (clinician, three members, one in Spanish), or one line
    saying group rooms need Janus."""
    if not settings.janus_urls:
        return ["group session: needs Janus (install Debian's janus, or set "
                "ALONGSIDE_JANUS_URLS and ALONGSIDE_JANUS_API_SECRET); no group links"]
    room = settings.public_url.rstrip("/") + "/room#"
    lines = [f"group session, clinician: {room}{token(settings, 'clinician', GROUP_ROOM)}"]
    for n, member in enumerate(MEMBERS, 1):
        lines.append(f"group member {n} ({member.name}): {room}{member_token(settings, member)}")
    first = MEMBERS[1]
    lines.append(f"group member 2 ({first.name}), en español: "
                 f"{room}{member_token(settings, first, locale='es')}")
    lines.append(f"partners-and-family group, clinician: "
                 f"{room}{token(settings, 'clinician', PARTNERS_GROUP_ROOM)}")
    lines.append(f"family session, clinician: {room}{token(settings, 'clinician', FAMILY_ROOM)}")
    lines.append(f"family session, client: {room}{token(settings, 'client', FAMILY_ROOM)}")
    return lines


def links(settings: Settings, seeded: Seeded) -> list[str]:
    """One line per link, each starting with who it is for. Secrets ride in the fragment."""
    base = settings.public_url.rstrip("/")
    room = base + "/room#"
    if seeded.invite:
        partner = f"partner invite: {base}/invite#{seeded.invite}"
    elif seeded.partner_approved:  # approved: no invite needed, a token for the session
        partner = f"partner: {room}{token(settings, 'partner')}"
    else:
        partner = ("partner invite: none, the partner has answered and a new invite would "
                   "overwrite it (--reset-demo starts the demo afresh)")
    lines = [
        f"clinician: {room}{token(settings, 'clinician')}",
        f"client: {room}{token(settings, 'client')}",
        partner,
        f"clinician (individual session): {room}{token(settings, 'clinician', INDIVIDUAL_ROOM)}",
        f"client (individual session): {room}{token(settings, 'client', INDIVIDUAL_ROOM)}",
        f"clinician (later couples session): "
        f"{room}{token(settings, 'clinician', LATER_COUPLES_ROOM)}",
    ]
    # The same couples session in Spanish: the token's locale claim, and ?lang= for the
    # invite page (it has no token). Either person may use English and the other Spanish.
    if seeded.invite:
        spanish = f"partner invite, en español: {base}/invite?lang=es#{seeded.invite}"
    elif seeded.partner_approved:
        spanish = f"partner, en español: {room}{token(settings, 'partner', locale='es')}"
    else:
        spanish = ""
    lines += [
        f"client, en español: {room}{token(settings, 'client', locale='es')}",
        *([spanish] if spanish else []),
        f"clinician, en español: {room}{token(settings, 'clinician', locale='es')}",
    ]
    lines += group_links(settings)
    if seeded.ended:
        lines.append(f"(ended, kept as the session record: {', '.join(seeded.ended)}; "
                     f"--reset-demo starts the demo afresh)")
    return lines
