"""R0: a raw aiohttp WebSocket relay, the floor for a Python relay.

Each socket connects to ``/ws?id=NAME``; a text frame ``{"to", "sdp"}`` is
forwarded to ``to`` as ``{"from", "sdp"}``. No framing protocol, no acks, no
rooms: what is left is the WebSocket and one JSON decode/encode per message.

    python -m bench.contestants.r0 PORT
"""

from __future__ import annotations

import json
import sys

from aiohttp import WSMsgType, web

sockets: dict[str, web.WebSocketResponse] = {}


async def handle(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=64 * 1024, compress=False)
    await ws.prepare(request)
    me = request.query["id"]
    sockets[me] = ws
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            peer = sockets.get(data["to"])
            if peer is not None:
                await peer.send_str(json.dumps({"from": me, "sdp": data["sdp"]}))
    finally:
        if sockets.get(me) is ws:
            del sockets[me]
    return ws


def main() -> None:
    app = web.Application()
    app.router.add_get("/ws", handle)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
