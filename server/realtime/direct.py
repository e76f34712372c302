"""The single-process client manager: an emit to one socket without a task per recipient.

python-socketio's ``AsyncManager.emit`` makes one task per recipient and waits for
them all with ``asyncio.wait``, which costs more than the send itself (a queue put).
Almost every emit here is addressed to one socket id (each socket's own room), so
both managers, :class:`DirectManager` (one process) and the cluster manager (for its
own sockets), encode the packet once and put it on each recipient's queue in turn
(:func:`server.realtime.engine_adapter.send_to_room`).
"""

from __future__ import annotations

from typing import Any

import socketio

from server.realtime.engine_adapter import direct_room, send_to_room


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]  # python-socketio ships no types: its classes are Any
    """The single-process manager, with :func:`send_to_room` for an emit to one room.

    Anything else (callbacks, skips, several rooms, other namespaces) takes the
    library's path.
    """

    async def emit(self, event: str, data: Any, namespace: str | None, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> Any:
        target = direct_room(to or room, namespace, skip_sid, callback)
        if target is not None:
            return await send_to_room(self, event, data, target)
        return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                  callback=callback, to=to, **kwargs)
