"""The one place that touches python-socketio / python-engineio internals.

Everything else uses the libraries' public API only. Each name used here that the
libraries do not document is listed in :data:`PRIVATE_USES`, and
``tests/test_engine_adapter.py`` checks every one of them against the installed
versions (presence and signature), so an upgrade that renames or reshapes one fails
loudly there rather than quietly in production. ``pyproject.toml`` bounds both
libraries below their next *minor* release, since none of these names is promised
to last even a minor release.

Why each is needed:

* :func:`send_to_room`: the stock ``AsyncManager.emit`` makes one task per recipient
  and waits for them with ``asyncio.wait``, which costs more than the send itself; we
  encode once and queue the packet for each recipient (see ``direct.py``).
* :func:`subscribe_now`: the library starts its manager (and so the pub/sub listener)
  at the first connection; readiness must wait for the listener before anyone comes.
* :func:`transports` and :func:`abort`: draining closes transports *without* a
  socket.io goodbye (which would tell clients not to reconnect); only engine.io's
  socket objects can do that.
* :class:`PubSubBase`: see its docstring.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager
from socketio.async_pubsub_manager import AsyncPubSubManager

# (object, name): what the rest of this module relies on; the test checks each one.
PRIVATE_USES = (
    ("socketio.AsyncServer", "manager_initialized"),
    ("socketio.AsyncServer", "packet_class"),
    ("socketio.AsyncServer", "eio"),
    ("socketio.AsyncManager", "server"),
    ("socketio.AsyncManager", "get_participants"),
    ("socketio.AsyncManager", "eio_sid_from_sid"),
    ("engineio.AsyncServer", "sockets"),
    ("engineio.AsyncServer", "send_packet"),
    ("engineio.async_socket.AsyncSocket", "queue"),
    ("engineio.async_socket.AsyncSocket", "close"),
    ("socketio.async_pubsub_manager.AsyncPubSubManager", "_publish"),
    ("socketio.async_pubsub_manager.AsyncPubSubManager", "_listen"),
    ("socketio.async_pubsub_manager.AsyncPubSubManager", "_handle_emit"),
    ("socketio.async_pubsub_manager.AsyncPubSubManager", "host_id"),
    ("socketio.async_pubsub_manager.AsyncPubSubManager", "json"),
)


def direct_room(room: Any, namespace: str | None, skip_sid: Any, callback: Any) -> str | None:
    """The room an emit goes to, if :func:`send_to_room` can take it (else ``None``)."""
    if isinstance(room, str) and skip_sid is None and callback is None \
            and namespace in (None, "/"):
        return room
    return None


async def send_to_room(manager: Any, event: str, data: Any, room: str) -> None:
    """Send ``event`` with ``data`` to every socket of ``room`` in namespace ``/`` here.

    Note: no callback, no skip list, one namespace: callers take the library's
    ``emit`` for anything else. ``manager`` is the server's client manager.
    """
    server = manager.server
    recipients = [eio_sid for _, eio_sid in manager.get_participants("/", room)]
    if not recipients:
        return
    args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
    encoded = server.packet_class(sio_packet.EVENT, namespace="/", data=[event, *args]).encode()
    parts = encoded if isinstance(encoded, list) else [encoded]
    eio_pkts = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
    for eio_sid in recipients:
        for pkt in eio_pkts:
            await server.eio.send_packet(eio_sid, pkt)


def subscribe_now(sio: socketio.AsyncServer) -> None:
    """Initialise the client manager now (for a pub/sub one: subscribe), not at the first
    connection, marking it done so that the library does not do it a second time."""
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


def transports(sio: socketio.AsyncServer, sids: Iterable[str]) -> list[Any]:
    """The engine.io sockets under the socket.io sessions ``sids`` (those still open)."""
    found = []
    for sid in sids:
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        socket = sio.eio.sockets.get(eio_sid) if eio_sid else None
        if socket is not None:
            found.append(socket)
    return found


async def abort(socket: Any) -> None:
    """Close one engine.io socket's transport now, without a goodbye.

    Note: the writer is woken first, so that it closes the websocket at once instead of
    at the next ping timeout; ``close`` runs the disconnect handler, which records the
    drop and so can hang for as long as the store does.
    """
    socket.queue.put_nowait(None)
    await socket.close(wait=False, abort=True)


class PubSubBase(AsyncPubSubManager):  # type: ignore[misc, unused-ignore]  # untyped library
    """python-socketio's pub/sub manager, driven through its extension hooks.

    The hooks the base class asks a backend to implement (``_publish``, ``_listen``)
    are forwarded to :meth:`publish` and :meth:`listen`, which subclasses implement.
    Those hooks do not suffice for two things, done here instead:

    * a message from another node for one socket here is sent directly
      (:func:`send_to_room`): the library would re-emit it through
      ``AsyncManager.emit``, one task per recipient; so ``_handle_emit`` is overridden;
    * a message for one socket of *another* node goes on that node's channel only, so
      no other node decodes it; the library publishes on one channel, so the message
      is built here in the library's format (:meth:`emit_message`).
    """

    async def publish(self, data: Any, channel: str | None = None) -> Any:
        raise NotImplementedError

    def listen(self) -> AsyncIterator[Any]:
        raise NotImplementedError

    async def _publish(self, data: Any) -> Any:
        return await self.publish(data)

    async def _listen(self) -> AsyncIterator[Any]:
        async for message in self.listen():
            yield message

    def dumps(self, data: Any) -> str:
        """A message as the configured JSON module encodes it."""
        encoded: str = self.json.dumps(data)
        return encoded

    def emit_message(self, event: str, data: Any, sid: str) -> dict[str, Any]:
        """The library's message for an emit of one argument to one socket."""
        return {"method": "emit", "event": event, "data": [data], "binary": False,
                "namespace": "/", "room": sid, "skip_sid": None, "callback": None,
                "host_id": self.host_id}

    async def emit_here(self, event: str, data: Any, namespace: str, room: str,
                        skip_sid: Any) -> Any:
        """Emit to this node's sockets only, publishing nothing."""
        return await AsyncManager.emit(self, event, data, namespace=namespace, room=room,
                                       skip_sid=skip_sid)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        """A message from another node: the library's handling, but an event for one
        socket of this node is sent directly."""
        room = direct_room(message.get("room"), message.get("namespace", "/"),
                           message.get("skip_sid"), message.get("callback"))
        if room is not None and not message.get("binary") and self.is_connected(room, "/"):
            data = message.get("data") or []
            await send_to_room(self, message["event"],
                               tuple(data) if len(data) != 1 else data[0], room)
            return
        await super()._handle_emit(message)
