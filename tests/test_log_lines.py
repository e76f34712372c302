"""What a real server writes to stderr: JSON lines only, whatever hostile traffic it gets,
and pseudonyms that only the deployment's key can tie to a person."""

from __future__ import annotations

import asyncio
import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import ClientSession, WSMsgType, WSServerHandshakeError

from server.settings import Settings
from server.tokens import mint
from tests.cli_server import CliServer, serve
from tests.conftest import SECRET

FOREIGN_ORIGIN = "https://foreign-origin-q7x.example"
MARKER = "PAYLOAD-MARKER-k3v"


# -- every line through the JSON formatter ------------------------------------------------------
async def raw_http(server: CliServer, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    return answer


async def engine_io(server: CliServer, frames: list[str | bytes]) -> None:
    """Open an engine.io websocket from an allowed origin, send raw frames, then a
    socket.io connect as a barrier: its refusal (no token) comes once the frames before
    it were handled, unless the server closed the socket on them."""
    async with ClientSession() as http:
        async with http.ws_connect(server.url + "/socket.io/?EIO=4&transport=websocket",
                                   headers={"Origin": server.url}) as ws:
            opened = await ws.receive(timeout=5)
            assert str(opened.data).startswith("0{"), opened
            for frame in [*frames, "40"]:
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            refusals = 0
            while refusals < [*frames, "40"].count("40"):
                message = await ws.receive(timeout=5)
                if message.type is not WSMsgType.TEXT:
                    return  # closed
                refusals += str(message.data).startswith("44")


async def test_hostile_traffic_leaves_only_json_lines_without_its_content(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        async with ClientSession() as http:
            with pytest.raises(WSServerHandshakeError) as refused:
                await http.ws_connect(server.url + "/socket.io/?EIO=4&transport=websocket",
                                      headers={"Origin": FOREIGN_ORIGIN})
            assert refused.value.status == 400
        await engine_io(server, [f"{MARKER}-eio"])  # not an engine.io packet type
        await engine_io(server, [f"\xff{MARKER}-binary".encode()])
        await engine_io(server, ["40", f"4{MARKER}-sio"])  # not a socket.io packet type
        await engine_io(server, ["40", f'42["join",{MARKER}-json'])  # broken JSON
        answer = await raw_http(server, b"GET / HTTP/1.1\r\nHost: x\r\n"
                                        b"Bad Header " + MARKER.encode() + b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
        await raw_http(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"" + MARKER.encode() + b" / HTTP/1.1\r\n\r\n")
    finally:
        server.stop()
    text = server.err()
    lines = server.log_lines()  # raises if any line is not JSON
    assert FOREIGN_ORIGIN not in text and "foreign-origin" not in text
    assert MARKER not in text and "Traceback" not in text
    assert "127.0.0.1" not in text  # aiohttp puts the client address in its arguments
    libraries = [line for line in lines if line["logger"] != "alongside"]
    # The libraries did complain, and each complaint is a template or withheld, with where.
    assert {"engineio.server", "aiohttp.server"} <= {line["logger"] for line in libraries}
    for line in libraries:
        assert line["src"].count(":") == 1, line
        if "exc" in line:
            assert set(line) <= {"t", "level", "logger", "msg", "src", "exc", "at"}, line
            assert line["at"].endswith(tuple("0123456789")), line


# -- pseudonyms ---------------------------------------------------------------------------------
async def rate_limited_pseudonym(server: CliServer, person: str) -> str:
    """Get ``person`` rate limited on ``server`` and read the pseudonym its log line names."""
    settings = Settings(jwt_secret=SECRET)
    opener = mint(settings, sub="clinician-1", name="Clinician", role="clinician",
                  program="p-logs", room="r-logs", ttl=600, room_kind="individual")
    token = mint(settings, sub=person, name="Client", role="client", program="p-logs",
                 room="r-logs", ttl=600)
    clinician, client = socketio.AsyncClient(reconnection=False), \
        socketio.AsyncClient(reconnection=False)
    await clinician.connect(server.url, auth={"token": opener}, transports=["websocket"],
                            wait_timeout=5)
    assert (await clinician.call("join", {}, timeout=5))["ok"]  # opens the room
    await client.connect(server.url, auth={"token": token}, transports=["websocket"],
                         wait_timeout=5)
    answers = [await client.call("snapshot", {}, timeout=5) for _ in range(3)]
    await client.shutdown()
    await clinician.shutdown()
    assert answers[-1]["error"]["code"] == "E_RATE_LIMITED", answers
    server.stop()
    [actor] = {line["actor"] for line in server.log_lines()
               if line["msg"] == "event.rate_limited"}
    return str(actor)


def deployment(directory: Path, key: str | None = None) -> CliServer:
    env: dict[str, Any] = {"ALONGSIDE_RATE_BURST": "1", "ALONGSIDE_RATE_PER_SECOND": "0.01"}
    if key is not None:
        env["ALONGSIDE_LOG_KEY"] = key
    return serve(directory, env=env, name=f"server-{len(list(directory.glob('*.err')))}")


async def test_pseudonyms_are_keyed_per_deployment(tmp_path: Path) -> None:
    unsalted = hashlib.sha256(b"client-1").hexdigest()[:12]
    # Two nodes of one deployment (one ALONGSIDE_LOG_KEY) agree; another deployment does not.
    node1 = await rate_limited_pseudonym(deployment(tmp_path / "a1", "key-of-clinic-a"),
                                         "client-1")
    node2 = await rate_limited_pseudonym(deployment(tmp_path / "a2", "key-of-clinic-a"),
                                         "client-1")
    other = await rate_limited_pseudonym(deployment(tmp_path / "b", "key-of-clinic-b"),
                                         "client-1")
    assert node1 == node2 and other != node1
    assert unsalted not in (node1, other)
    assert await rate_limited_pseudonym(deployment(tmp_path / "a1", "key-of-clinic-a"),
                                        "client-2") != node1
    # Without the setting (make run) the key is generated once into var/ and kept.
    first = await rate_limited_pseudonym(deployment(tmp_path / "dev"), "client-1")
    again = await rate_limited_pseudonym(deployment(tmp_path / "dev"), "client-1")
    assert first == again and unsalted != first and first not in (node1, other)
    key_file = tmp_path / "dev" / "log-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
