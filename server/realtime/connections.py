"""This node's live connections: the verified identity behind each socket id.

This is delivery bookkeeping, not room state: it is rebuilt from the token at
every handshake and lost on restart without harm (the store holds the room).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from server.domain.identity import Identity
from server.realtime.ratelimit import TokenBucket


@dataclass(slots=True)
class Connection:
    sid: str
    identity: Identity
    bucket: TokenBucket
    joined: bool = False
    # Serialises this sender's signaling: socket.io runs one client's events as
    # concurrent tasks, and offer/answer/candidate must arrive in order.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    expiry: asyncio.TimerHandle | None = None


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}

    def add(self, conn: Connection) -> None:
        self._by_sid[conn.sid] = conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def pop(self, sid: str) -> Connection | None:
        conn = self._by_sid.pop(sid, None)
        if conn is not None and conn.expiry is not None:
            conn.expiry.cancel()
        return conn

    def values(self) -> list[Connection]:
        return list(self._by_sid.values())

    def __len__(self) -> int:
        return len(self._by_sid)
