"""Every socket.io event with an ack id gets exactly one answer, even one the library
cannot read: a payload nested past the documented depth, one that is not JSON, or an
event that is not ``[name, ...]`` answers ``E_SCHEMA``, and the connection goes on."""

from __future__ import annotations

import json

from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType

from server.json_depth import MAX_DEPTH
from tests.conftest import Harness


async def frame(ws: ClientWebSocketResponse) -> str:
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type is WSMsgType.TEXT, msg
        if msg.data == "2":  # engine.io ping
            await ws.send_str("3")
            continue
        return str(msg.data)


async def answer(ws: ClientWebSocketResponse, ack_id: int) -> dict[str, object]:
    while True:
        text = await frame(ws)
        if text.startswith(f"43{ack_id}["):
            return dict(json.loads(text[len(f"43{ack_id}"):])[0])


async def test_unreadable_events_are_answered_schema_and_the_socket_goes_on(
        alongside: Harness) -> None:
    url = alongside.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with ClientSession() as http:
        ws = await http.ws_connect(url, headers={"Origin": alongside.url})
        assert (await frame(ws)).startswith("0{")
        await ws.send_str("40" + json.dumps({"token": alongside.token("clinician")}))
        assert (await frame(ws)).startswith("40{")
        deep = '["snapshot",' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "]"
        unreadable = [deep,
                      '["snapshot",' + "[" * 5000 + "]" * 5000 + "]",  # past orjson's own limit
                      '["join", {"x": ',  # not JSON
                      '{"event": "join"}',  # not [name, ...]
                      "[]", "[5]"]
        for ack_id, payload in enumerate(unreadable, start=1):
            await ws.send_str(f"42{ack_id}{payload}")
            reply = await answer(ws, ack_id)
            assert reply["ok"] is False
            assert reply["error"]["code"] == "E_SCHEMA", (payload[:20], reply)  # type: ignore[index]
        # At the limit the packet is read as usual (an unknown event), and the same
        # socket still joins.
        await ws.send_str('42100["nope",' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "]")
        assert (await answer(ws, 100))["error"]["code"] == "E_UNKNOWN_EVENT"  # type: ignore[index]
        await ws.send_str('42101["join",{}]')
        assert (await answer(ws, 101))["ok"] is True
        await ws.close()
