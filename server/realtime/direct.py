"""Sending one event to the sockets of one socket.io room on this process, without tasks.

python-socketio's ``AsyncManager.emit`` makes one task per recipient and waits for
them all with ``asyncio.wait``, which costs more than the send itself (a queue put).
Almost every emit here is addressed to one socket id (each socket's own room), so
both managers, :class:`DirectManager` (one process) and the cluster manager (for its
own sockets), encode the packet once and put it on each recipient's queue in turn.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet


def direct_room(room: Any, namespace: str | None, skip_sid: Any, callback: Any) -> str | None:
    """The room an emit goes to, if :func:`send_local` can take it (else ``None``)."""
    if isinstance(room, str) and skip_sid is None and callback is None \
            and namespace in (None, "/"):
        return room
    return None


async def send_local(server: Any, event: str, data: Any, room: str) -> None:
    """Send ``event`` with ``data`` to every socket of ``room`` in namespace ``/`` here.

    Note: no callback, no skip list, one namespace: callers take the library's
    ``emit`` for anything else. ``server`` is the ``socketio.AsyncServer``.
    """
    recipients = [eio_sid for _, eio_sid in server.manager.get_participants("/", room)]
    if not recipients:
        return
    args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
    encoded = server.packet_class(sio_packet.EVENT, namespace="/", data=[event, *args]).encode()
    parts = encoded if isinstance(encoded, list) else [encoded]
    eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
    for eio_sid in recipients:
        for pkt in eio_pkts:
            await server.eio.send_packet(eio_sid, pkt)


class DirectManager(socketio.AsyncManager):  # type: ignore[misc]  # python-socketio ships no types: its classes are Any
    """The single-process manager, with :func:`send_local` for an emit to one room.

    Anything else (callbacks, skips, several rooms, other namespaces) takes the
    library's path.
    """

    async def emit(self, event: str, data: Any, namespace: str | None, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> Any:
        target = direct_room(to or room, namespace, skip_sid, callback)
        if target is not None:
            return await send_local(self.server, event, data, target)
        return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                  callback=callback, to=to, **kwargs)
