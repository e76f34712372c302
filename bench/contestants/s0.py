"""S0: a bare python-socketio relay on aiohttp, the denominator for our server.

What a team would write in an afternoon: no auth, no lobby, no validation.
``join`` enters a room; ``offer``/``answer``/``candidate`` are emitted to the
``to`` socket id. Same transport settings as Alongside (websocket only, 64 KiB
frames, loggers off) and the same acknowledgement shape, so the load generator
treats both alike.

    python -m bench.contestants.s0 PORT [REDIS_URL]

With ``REDIS_URL`` it runs on python-socketio's stock ``AsyncRedisManager``, as a
team would scale it out: B5's "stock manager" contestant.
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
from aiohttp import web

STOCK = socketio.AsyncRedisManager(sys.argv[2]) if len(sys.argv) > 2 else None
sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"],
                           client_manager=STOCK,
                           cors_allowed_origins=None, max_http_buffer_size=64 * 1024,
                           ping_interval=10, ping_timeout=10,
                           logger=False, engineio_logger=False)
OK = {"ok": True}


@sio.on("join")
async def join(sid: str, data: Any) -> dict[str, Any]:
    await sio.enter_room(sid, data["room"])
    return OK


def relay(event: str, field: str) -> Any:
    async def handler(sid: str, data: Any) -> dict[str, Any]:
        await sio.emit(event, {"from": sid, field: data[field]}, to=data["to"])
        return OK
    return handler


sio.on("offer", relay("offer", "sdp"))
sio.on("answer", relay("answer", "sdp"))
sio.on("candidate", relay("candidate", "candidate"))


def main() -> None:
    app = web.Application()
    sio.attach(app)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
                print=None)


if __name__ == "__main__":
    main()
