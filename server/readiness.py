"""Whether this node can serve now: the check behind ``/readyz``, which stepping aside uses too."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.store import Store, StoreUnavailable

if TYPE_CHECKING:
    from server.realtime.server import RealtimeServer

READY_DEADLINE = 1.0  # seconds


async def is_ready(realtime: RealtimeServer, store: Store) -> bool:
    """Not draining, cross-node delivery listening (cluster mode), and the store answering.

    Note: the store gets :data:`READY_DEADLINE` to answer, so that a health check is quick even
    when the store hangs (packets dropped rather than refused), not after a client's retries.
    """
    manager = realtime.manager
    if realtime.draining or (manager is not None and not manager.subscribed):
        # Draining, or cross-node delivery not listening yet: signals would be lost.
        return False
    try:
        await asyncio.wait_for(store.ping(), READY_DEADLINE)
    except (StoreUnavailable, TimeoutError):
        return False
    return True
