"""Is the TURN server answering? A STUN Binding probe, so clients can be told when it is not.

coturn answers plain STUN Binding requests without credentials, so one small UDP
datagram tells "up" from "down" without spending an allocation. A room works
without TURN on networks where host or server-reflexive candidates connect; the
join answer's ``turn`` field lets the page warn that strict networks may fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import urlsplit

from aioice import stun


def turn_address(url: str) -> tuple[str, int] | None:
    """``turn:host:port?transport=udp`` -> ``(host, port)``; ``None`` for TCP/TLS-only URLs."""
    if not url.startswith("turn:") or "transport=tcp" in url:
        return None
    hostport = urlsplit("//" + url.removeprefix("turn:").split("?", 1)[0])
    return (hostport.hostname or "", hostport.port or 3478)


class _Probe(asyncio.DatagramProtocol):
    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answered = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        with contextlib.suppress(ValueError):
            message = stun.parse_message(data)
            if message.transaction_id == self.transaction_id and not self.answered.done():
                self.answered.set_result(True)


async def probe(address: tuple[str, int], timeout: float = 1.0) -> bool:
    """Whether a STUN Binding request to ``address`` is answered within ``timeout``."""
    request = stun.Message(message_method=stun.Method.BINDING,
                           message_class=stun.Class.REQUEST)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Probe(request.transaction_id), remote_addr=address)
    try:
        for _ in range(2):  # UDP: one retry
            transport.sendto(bytes(request))
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(asyncio.shield(protocol.answered), timeout / 2)
        return False
    finally:
        transport.close()


class TurnMonitor:
    """Caches the TURN server's status for ``ttl`` seconds; ``"none"`` when unconfigured."""

    def __init__(self, urls: tuple[str, ...], ttl: float = 15.0) -> None:
        self.address = next((a for u in urls if (a := turn_address(u))), None)
        self.ttl = ttl
        self._status = "none" if self.address is None else "unknown"
        self._checked = 0.0

    async def status(self) -> str:
        if self.address is None:
            return "none"
        if time.monotonic() - self._checked > self.ttl:
            self._checked = time.monotonic()
            self._status = "ok" if await probe(self.address) else "down"
        return self._status
