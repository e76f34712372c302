"""Background tasks of the realtime layer: started, kept until done, cancelled at shutdown.

``asyncio`` keeps only a weak reference to a task; one nobody holds may be collected
before it finishes. Every fire-and-forget coroutine of the realtime layer (a grace
period running out, a tool's clock, a socket closed after its ack) goes through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class TaskSupervisor:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` as a task, held until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def later(self, delay: float, make: Callable[[], Awaitable[Any]]) -> asyncio.TimerHandle:
        """After ``delay`` seconds, spawn ``make()`` (the coroutine is made only then).

        Note: the timer itself is not tracked; cancel the handle to drop it.
        """
        return asyncio.get_running_loop().call_later(delay, lambda: self.spawn(make()))

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
