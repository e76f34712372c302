"""The demo program `make run` seeds: one clinician, one client, the client's partner."""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.domain import partner as lifecycle
from server.domain.audit import AuditEntry
from server.domain.identity import Role, RoomKind
from server.domain.program import Partner, Person, Program
from server.domain.room import Room
from server.settings import Settings
from server.store import Store
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tokens import mint

PROGRAM = "demo"
COUPLES_ROOM = "demo-couples"
LATER_COUPLES_ROOM = "demo-couples-2"
INDIVIDUAL_ROOM = "demo-individual"
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


def _audit(action: str, room: str = "") -> AuditEntry:
    return AuditEntry(actor="demo", role="system", action=action, room=room, program=PROGRAM)


async def seed(store: Store) -> str:
    """(Re)create the demo fresh, so every `make run` starts clean.

    The client has agreed to invite their partner and the clinician has created
    a one-session trial invite for the couples session; returns its secret
    (shown once, in the printed link).
    """
    now = time.time()
    rooms = Rooms(store)
    for room_id, kind in ((COUPLES_ROOM, RoomKind.COUPLES), (LATER_COUPLES_ROOM, RoomKind.COUPLES),
                          (INDIVIDUAL_ROOM, RoomKind.INDIVIDUAL)):
        room = Room(id=room_id, program=PROGRAM, kind=kind,
                    session={"id": room_id, "scheduled": True, "starts_at": now})
        await rooms.put(room, _audit("seed-room", room_id))
    program = Program(id=PROGRAM, client=Person(CLIENT.sub, CLIENT.name),
                      clinicians=[Person(CLINICIAN.sub, CLINICIAN.name)],
                      partner=Partner(id=PARTNER.sub, name=PARTNER.name))
    lifecycle.apply(program, "agree", Role.CLIENT, now)
    await Programs(store).put(program, _audit("seed-program"))
    _, secret = await Programs(store).create_invite(
        PROGRAM, room=COUPLES_ROOM, quota=1, ttl=LINK_TTL, by=CLINICIAN.sub, now=now,
        audit=_audit("create-invite", COUPLES_ROOM))
    return secret


def token(settings: Settings, role: str, room: str = COUPLES_ROOM, ttl: int = LINK_TTL) -> str:
    if role == "integrator":
        return mint(settings, sub="demo-host", name="Host platform", role="integrator",
                    program="*", room="", ttl=ttl)
    person = PEOPLE[role]
    return mint(settings, sub=person.sub, name=person.name, role=person.role, program=PROGRAM,
                room=room, ttl=ttl)


def links(settings: Settings, invite_secret: str) -> list[str]:
    """One line per link, each starting with who it is for. Secrets ride in the fragment."""
    base = settings.public_url.rstrip("/")
    room = base + "/room#"
    return [
        f"clinician: {room}{token(settings, 'clinician')}",
        f"client: {room}{token(settings, 'client')}",
        f"partner invite: {base}/invite#{invite_secret}",
        f"clinician (individual session): {room}{token(settings, 'clinician', INDIVIDUAL_ROOM)}",
        f"client (individual session): {room}{token(settings, 'client', INDIVIDUAL_ROOM)}",
        f"clinician (later couples session): "
        f"{room}{token(settings, 'clinician', LATER_COUPLES_ROOM)}",
    ]
