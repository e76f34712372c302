"""Sending one event to the sockets of one socket.io room on this process, without tasks.

python-socketio's ``AsyncManager.emit`` makes one task per recipient and waits for
them all with ``asyncio.wait``, which costs more than the send itself (a queue put).
Almost every emit here is addressed to one socket id (each socket's own room), so
both the single-process server and the cluster manager's local deliveries encode the
packet once and put it on each recipient's queue in turn.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet as sio_packet


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
