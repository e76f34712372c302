"""A real socket.io client that records everything it receives, for asserting on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio


class Peer:
    """One person's connection. ``received`` keeps every (event, payload) in order."""

    def __init__(self, url: str, token: str, **client_kwargs: Any) -> None:
        self.url = url
        self.token = token
        self.received: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.sio = socketio.AsyncClient(reconnection=False, **client_kwargs)
        self.connect_error: Any = None

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.received.append((event, data))
            self._changed.set()

        @self.sio.event
        async def connect_error(data: Any) -> None:
            # The packet is {"message": code, "data": {code, message}}; keep the refusal.
            self.connect_error = data.get("data", data) if isinstance(data, dict) else data

    async def connect(self, auth: dict[str, Any] | None = None) -> None:
        await self.sio.connect(self.url, auth=auth if auth is not None else {"token": self.token},
                               transports=["websocket"], wait_timeout=5, retry=False)

    async def call(self, event: str, data: Any = None, timeout: float = 5) -> dict[str, Any]:
        args = () if data is None else (data,)
        return await self.sio.call(event, *args, timeout=timeout)  # type: ignore[no-any-return]

    def events(self, name: str) -> list[Any]:
        return [d for e, d in self.received if e == name]

    async def wait_for(self, name: str, predicate: Callable[[Any], bool] = lambda d: True,
                       timeout: float = 5) -> Any:
        """The first ``name`` event (already received or coming) matching ``predicate``."""
        async def scan() -> Any:
            seen = 0
            while True:
                for event, data in self.received[seen:]:
                    if event == name and predicate(data):
                        return data
                seen = len(self.received)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def call_kept(peer: Peer, event: str, data: Any = None) -> dict[str, Any]:
    """A call whose ack is kept with what the person received (privacy checks scan both)."""
    ack = await peer.call(event, data)
    peer.received.append((f"ack:{event}", ack))
    return ack


async def tool_act(peer: Peer, tool: str, action: str, payload: Any = None) -> dict[str, Any]:
    """``tool:act`` for ``tool``, its ack kept like :func:`call_kept`."""
    body: dict[str, Any] = {"tool": tool, "action": action}
    if payload is not None:
        body["payload"] = payload
    return await call_kept(peer, "tool:act", body)
