"""The outside tool package (``tests/outside_plugin``), installed as a third party would,
and a live server that discovers it through its entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from server.settings import Settings
from server.tokens import mint
from tests import live_server
from tests.conftest import SECRET
from tests.peers import Peer

PACKAGE = Path(__file__).parent / "outside_plugin"
PROGRAM, ROOM = "tp", "tools-room"

Serve = Callable[..., live_server.LiveServer]


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(PACKAGE)], check=True)
    return target


@pytest.fixture
async def served(plugin_path: Path, tmp_path: Path) -> AsyncIterator[Serve]:
    """Start a server process with the package on its path: ``served(ENV_VAR="...")``.
    Servers of one test share its store (a restart finds what the last one left)."""
    servers: list[live_server.LiveServer] = []

    def start(**env: str) -> live_server.LiveServer:
        path = {"PYTHONPATH": f"{plugin_path}:{Path(__file__).parent.parent}"}
        servers.append(live_server.start(tmp_path, **path, **env))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


class Room:
    """People in one ad hoc couples room of program ``tp`` on a live server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.settings = Settings(jwt_secret=SECRET)
        self.peers: list[Peer] = []

    def token(self, role: str, sub: str, **extra: Any) -> str:
        return mint(self.settings, sub=sub, name=sub.title(), role=role, program=PROGRAM,
                    room=ROOM, ttl=600, **extra)

    async def person(self, role: str, sub: str) -> Peer:
        extra = {"room_kind": "couples"} if role == "clinician" else {}
        peer = Peer(self.url, self.token(role, sub, **extra))
        self.peers.append(peer)
        await peer.connect()
        assert (await peer.call("join", {}))["ok"]
        return peer

    async def couple(self) -> tuple[Peer, Peer]:
        clinician = await self.person("clinician", "dr")
        client = await self.person("client", "cl")
        await clinician.call("admit", {"participant": "cl"})
        await client.wait_for("admitted")
        return clinician, client

    async def create_program(self) -> None:
        """The program in the store, so its session record can be read over REST."""
        integrator = mint(self.settings, sub="host", name="Host", role="integrator",
                          program="*", room="-", ttl=600)
        body = {"id": PROGRAM, "client": {"id": "cl", "name": "Cl"},
                "clinicians": [{"id": "dr", "name": "Dr"}]}
        async with ClientSession() as http, http.post(
                f"{self.url}/api/programs", json=body,
                headers={"Authorization": f"Bearer {integrator}"}) as r:
            assert r.status == 201, await r.text()

    async def close(self) -> None:
        for p in self.peers:
            await p.close()
