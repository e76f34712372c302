"""`alongside serve --port N` behind a proxy: a flag overrides only the setting it names."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio
from aiohttp import ClientSession

from server import demo
from server.settings import Settings
from tests.cli_server import serve
from tests.conftest import SECRET, free_port

PUBLIC = "https://care.example.org"


async def test_port_flag_keeps_the_public_url_and_the_allowed_origins(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, "--demo", "--port", str(port), port=port,
                   env={"ALONGSIDE_PUBLIC_URL": PUBLIC, "ALONGSIDE_ALLOWED_ORIGINS": PUBLIC})
    settings = Settings(jwt_secret=SECRET)
    clinician = demo.token(settings, "clinician")
    try:
        # Invite links, made through the API and printed, point at the public address.
        async with ClientSession() as http:
            async with http.post(f"{server.url}/api/programs/{demo.PROGRAM}/invites",
                                 json={"room": demo.COUPLES_ROOM, "quota": 1},
                                 headers={"Authorization": f"Bearer {clinician}"}) as r:
                assert r.status == 201, await r.text()
                assert (await r.json())["url"].startswith(PUBLIC + "/invite#")
        links = server.links()
        assert links["partner invite"].startswith(PUBLIC + "/invite#")
        assert links["clinician"].startswith(PUBLIC + "/room#")

        # A browser on the public origin may open a socket; one on the app's own address
        # (allowed only by default, when ALONGSIDE_ALLOWED_ORIGINS is unset) may not.
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(server.url, headers={"Origin": PUBLIC}, auth={"token": clinician},
                          transports=["websocket"], wait_timeout=5)
        assert (await sio.call("join", {}, timeout=5))["ok"]
        await sio.shutdown()
        other = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await other.connect(server.url, headers={"Origin": server.url},
                                auth={"token": clinician}, transports=["websocket"],
                                wait_timeout=5)
        await other.shutdown()
        if other.eio.http is not None:  # a refused handshake leaves its session open
            await other.eio.http.close()
    finally:
        server.stop()
