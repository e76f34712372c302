"""Whether this node can serve now: the check behind ``/readyz``, which stepping aside uses too."""

from __future__ import annotations

import asyncio
from typing import Protocol

from server.store import Store, StoreUnavailable

READY_DEADLINE = 1.0  # seconds


class Node(Protocol):
    """What readiness reads of the realtime layer."""

    @property
    def draining(self) -> bool: ...

    @property
    def delivering(self) -> bool:
        """Cross-node delivery is listening (always true on one node alone)."""
        ...


async def is_ready(node: Node, store: Store) -> bool:
    """Not draining, cross-node delivery listening (cluster mode), and the store answering.

    Note: the store gets :data:`READY_DEADLINE` to answer, so that a health check is quick even
    when the store hangs (packets dropped rather than refused), not after a client's retries.
    """
    if node.draining or not node.delivering:
        # Draining, or cross-node delivery not listening yet: signals would be lost.
        return False
    try:
        await asyncio.wait_for(store.ping(), READY_DEADLINE)
    except (StoreUnavailable, TimeoutError):
        return False
    return True
