"""The tool plugin API end to end, with an outside package installed as a third party would."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from server.tokens import mint
from tests import live_server
from tests.conftest import SECRET
from tests.peers import Peer

PACKAGE = Path(__file__).parent / "outside_plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(PACKAGE)], check=True)
    return target


class Room:
    def __init__(self, url: str) -> None:
        self.url = url
        self.settings = Settings(jwt_secret=SECRET)
        self.peers: list[Peer] = []

    async def person(self, role: str, sub: str) -> Peer:
        token = mint(self.settings, sub=sub, name=sub.title(), role=role, program="tp",
                     room="tools-room", ttl=600,
                     **({"room_kind": "couples"} if role == "clinician" else {}))
        peer = Peer(self.url, token)
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

    async def close(self) -> None:
        for p in self.peers:
            await p.close()


@pytest.fixture
async def served(plugin_path: Path, tmp_path: Path) -> AsyncIterator[Any]:
    env = {"PYTHONPATH": f"{plugin_path}:{Path(__file__).parent.parent}"}
    servers: list[live_server.LiveServer] = []

    def start() -> live_server.LiveServer:
        servers.append(live_server.start(tmp_path, **env))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


async def test_outside_tool_is_discovered_and_views_are_filtered(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    listed = await client.call("tools", {})
    assert "tally" in [t["name"] for t in listed["available"]]
    assert {"add", "note"} <= set(next(t for t in listed["available"]
                                       if t["name"] == "tally")["actions"])
    refused = await client.call("tool:start", {"tool": "tally"})
    assert refused["error"]["code"] == "E_FORBIDDEN_ROLE"
    started = await clinician.call("tool:start", {"tool": "tally", "options": {"from": 2}})
    assert started["ok"] and started["tools"][0]["view"]["count"] == 2
    await client.call("tool:act", {"tool": "tally", "action": "note",
                                   "payload": {"text": "client-private"}})
    await clinician.call("tool:act", {"tool": "tally", "action": "note",
                                      "payload": {"text": "clinician-private"}})
    added = await client.call("tool:act", {"tool": "tally", "action": "add"})
    assert added["tools"][0]["view"]["count"] == 3
    await clinician.wait_for("tool:added", lambda d: d == {"count": 3})
    # Nothing sent to the client ever carried the clinician's note.
    assert "clinician-private" not in repr(client.received)
    assert "client-private" in repr(clinician.received)
    for bad, code in (({"tool": "nope"}, "E_TOOL_UNKNOWN"),
                      ({"tool": "tally", "action": "fly"}, "E_TOOL_ACTION"),
                      ({"tool": "tally", "action": "tick"}, "E_TOOL_ACTION"),
                      ({"tool": "tally", "action": "add", "payload": "x"}, "E_SCHEMA")):
        event = "tool:act" if "action" in bad else "tool:start"
        assert (await client.call(event, bad))["error"]["code"] == code
    await room.close()


async def test_a_raising_or_hanging_tool_is_isolated(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    boom = await client.call("tool:act", {"tool": "tally", "action": "boom"})
    assert boom["error"]["code"] == "E_TOOL_FAILED"
    failed = await clinician.wait_for("tool", lambda d: d["tools"]
                                      and d["tools"][0]["status"] == "failed")
    assert failed["tools"][0]["error"] == "E_TOOL_FAILED"
    # The room goes on: signaling still works, and the tool can be started again.
    assert (await client.call("offer", {"to": "dr", "sdp": "v=0\r\n"}))["ok"]
    assert (await clinician.call("tool:start", {"tool": "tally"}))["ok"]
    hang = await clinician.call("tool:act", {"tool": "tally", "action": "hang"}, timeout=10)
    assert hang["error"]["code"] == "E_TOOL_TIMEOUT"
    assert (await client.call("snapshot", {}))["ok"]
    await room.close()


async def test_timers_fire_and_state_survives_a_restart(served: Any) -> None:
    first = served()
    room = Room(first.url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    await client.call("tool:act", {"tool": "tally", "action": "add"})
    await client.call("tool:act", {"tool": "tally", "action": "note",
                                   "payload": {"text": "kept"}})
    await clinician.call("tool:act", {"tool": "tally", "action": "timer",
                                      "payload": {"seconds": 0.3}})
    rang = await client.wait_for("tool", lambda d: d["tools"][0]["view"]["rang"], timeout=5)
    assert rang["tools"][0]["view"]["count"] == 1
    await room.close()
    first.process.kill()  # SIGKILL mid-exercise
    first.process.wait()
    second = served()
    again = Room(second.url)
    clinician = await again.person("clinician", "dr")
    client = await again.person("client", "cl")
    await clinician.call("admit", {"participant": "cl"})
    listed = await client.call("tools", {})
    [tally] = listed["running"]
    assert tally["view"]["count"] == 1 and tally["view"]["notes"] == {"cl": "kept"}
    await asyncio.sleep(0)
    await again.close()


async def test_a_failed_tool_can_be_cleared_and_clocks_come_from_the_server(served: Any) -> None:
    room = Room(served().url)
    clinician, client = await room.couple()
    await clinician.call("tool:start", {"tool": "tally"})
    await client.call("tool:act", {"tool": "tally", "action": "boom"})
    cleared = await clinician.call("tool:stop", {"tool": "tally"})
    assert cleared["ok"] and cleared["tools"] == [] and cleared["now"] > 0
    listed = await clinician.call("tools", {})
    assert listed["running"] == [] and abs(listed["now"] - __import__("time").time()) < 5
    await room.close()
