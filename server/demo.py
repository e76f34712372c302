"""The demo program `make run` seeds: one clinician, one client, the client's partner."""

from __future__ import annotations

import time
from dataclasses import dataclass

from server.domain.audit import AuditEntry
from server.domain.identity import RoomKind
from server.domain.room import Room
from server.settings import Settings
from server.store import Store
from server.store.rooms import Rooms
from server.tokens import mint

PROGRAM = "demo"
COUPLES_ROOM = "demo-couples"
INDIVIDUAL_ROOM = "demo-individual"
LINK_TTL = 12 * 3600


@dataclass(frozen=True)
class Person:
    sub: str
    name: str
    role: str


CLINICIAN = Person("demo-clinician", "Dr. Rivera", "clinician")
CLIENT = Person("demo-client", "Sam", "client")
PARTNER = Person("demo-partner", "Alex", "partner")
PEOPLE = {p.role: p for p in (CLINICIAN, CLIENT, PARTNER)}


async def seed(store: Store) -> None:
    """(Re)create the demo's rooms fresh, so every `make run` starts clean."""
    now = time.time()
    for room_id, kind in ((COUPLES_ROOM, RoomKind.COUPLES), (INDIVIDUAL_ROOM, RoomKind.INDIVIDUAL)):
        room = Room(id=room_id, program=PROGRAM, kind=kind,
                    session={"id": room_id, "scheduled": True, "starts_at": now})
        await Rooms(store).put(room, AuditEntry(actor="demo", role="system", action="seed-room",
                                                room=room_id, program=PROGRAM))


def token(settings: Settings, role: str, room: str = COUPLES_ROOM, ttl: int = LINK_TTL) -> str:
    person = PEOPLE[role]
    return mint(settings, sub=person.sub, name=person.name, role=person.role, program=PROGRAM,
                room=room, ttl=ttl)


def links(settings: Settings) -> list[str]:
    """One line per link, each starting with who it is for. Tokens ride in the fragment."""
    base = settings.public_url.rstrip("/") + "/room#"
    return [
        f"clinician: {base}{token(settings, 'clinician')}",
        f"client: {base}{token(settings, 'client')}",
        f"partner invite: {base}{token(settings, 'partner')}",
        f"clinician (individual session): {base}{token(settings, 'clinician', INDIVIDUAL_ROOM)}",
        f"client (individual session): {base}{token(settings, 'client', INDIVIDUAL_ROOM)}",
    ]
