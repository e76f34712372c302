"""A real Alongside server on a real port per test, and people to connect to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from devtools.ports import free_port  # tests import it from here too
from server.app import create_app
from server.domain.audit import AuditEntry
from server.domain.identity import RoomKind
from server.domain.program import Partner, Person, Program
from server.domain.room import Room
from server.settings import Settings
from server.store import Store
from server.store.programs import Programs
from server.store.rooms import Rooms
from server.tokens import mint
from tests.peers import Peer

pytest_plugins = ["tests.coturn", "tests.redis_server"]

SECRET = "test-secret-" + "x" * 32


def make_settings(tmp_path: Path, port: int, **overrides: Any) -> Settings:
    return replace(Settings(jwt_secret=SECRET, port=port,
                            store=f"sqlite:///{tmp_path}/alongside.db"), **overrides)


@dataclass
class Harness:
    url: str
    settings: Settings
    store: Store
    peers: list[Peer] = field(default_factory=list)
    app: Any = None

    def token(self, role: str, *, sub: str | None = None, name: str | None = None,
              room: str = "room-couples", program: str = "prog-1", ttl: int = 600,
              **extra: Any) -> str:
        return mint(self.settings, sub=sub or f"{role}-1", name=name or role.title(), role=role,
                    program=program, room=room, ttl=ttl, **extra)

    async def create_room(self, room_id: str = "room-couples", kind: str = "couples",
                          program: str = "prog-1") -> None:
        await Rooms(self.store).put(Room(id=room_id, program=program, kind=RoomKind(kind)),
                                    AuditEntry(actor="test", role="system", action="seed-room",
                                               room=room_id, program=program))

    async def create_program(self, program_id: str = "prog-1", partner_state: str = "approved",
                             **settings: Any) -> Program:
        """A program (client-1, clinician-1, partner-1); ``approved`` skips the lifecycle."""
        program = Program(id=program_id, client=Person("client-1", "Client"),
                          clinicians=[Person("clinician-1", "Clinician")],
                          partner=Partner(id="partner-1", state=partner_state,
                                          client_agreed=True, consent_version="test",
                                          consented_at=1.0), **settings)
        await Programs(self.store).put(program, AuditEntry(
            actor="test", role="system", action="seed-program", program=program_id))
        return program

    async def peer(self, role: str, *, connect: bool = True, join: bool = True,
                   **token_args: Any) -> Peer:
        """A connected person; ``join`` also knocks (or opens the room, for a clinician)."""
        p = Peer(self.url, self.token(role, **token_args))
        self.peers.append(p)
        if connect:
            await p.connect()
            if join:
                ack = await p.call("join", {})
                assert ack["ok"], ack
                p.join_ack = ack  # type: ignore[attr-defined]
        return p

    async def admitted(self, role: str, clinician: Peer, **token_args: Any) -> Peer:
        """A person who knocked and was admitted by ``clinician``."""
        p = await self.peer(role, **token_args)
        pid = token_args.get("sub") or f"{role}-1"
        ack = await clinician.call("admit", {"participant": pid})
        assert ack["ok"], ack
        await p.wait_for("admitted")
        return p


@pytest.fixture
async def start_server(aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Any]:
    """Start a real server with settings overrides: ``await start_server(grace_seconds=1)``."""
    from server.appkeys import STORE

    harnesses: list[Harness] = []

    async def start(**overrides: Any) -> Harness:
        port = free_port()
        settings = make_settings(tmp_path / f"s{len(harnesses)}", port, **overrides)
        app = create_app(settings)
        server = await aiohttp_server(app, port=port)
        harness = Harness(url=str(server.make_url("")).rstrip("/"), settings=settings,
                          store=app[STORE], app=app)
        await harness.create_program()
        await harness.create_room("room-couples", "couples")
        await harness.create_room("room-individual", "individual")
        harnesses.append(harness)
        return harness

    yield start
    for harness in harnesses:
        for p in harness.peers:
            await p.close()


@pytest.fixture
async def alongside(start_server: Any) -> Harness:
    return await start_server()  # type: ignore[no-any-return]
