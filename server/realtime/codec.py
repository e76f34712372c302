"""orjson for socket.io's packets: python-socketio takes any module-like object with
``dumps``/``loads``; orjson is several times faster than the standard library.

Note: orjson returns bytes and refuses keyword arguments; this adapter returns
text and ignores the separators python-socketio passes (orjson is compact anyway).
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet

from server.json_depth import too_deep

# The event name an unreadable packet is delivered as, so the catch-all handler can
# answer it (``E_SCHEMA``) on the packet's own ack id. It cannot clash with a real
# event: every name we handle is printable.
UNREADABLE = "\x00unreadable"


class OrjsonCodec:
    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)


class OrjsonPacket(packet.Packet):  # type: ignore[misc]  # python-socketio ships no types: its classes are Any
    """A socket.io packet whose outgoing payload is serialised once, in C.

    python-socketio walks every outgoing payload in Python to find binary parts,
    then serialises it. orjson refuses bytes, so one ``orjson.dumps`` both proves
    the payload has none and gives the text :meth:`encode` sends; a payload orjson
    refuses (bytes, or anything else) takes the library's own path unchanged.
    Note: like the library, this assumes a packet's data is not mutated between
    construction and encoding (python-socketio encodes at once).
    """

    json = OrjsonCodec

    def __init__(self, packet_type: int = packet.EVENT, data: Any = None,
                 namespace: str | None = None, id: int | None = None,
                 binary: bool | None = None, encoded_packet: Any = None) -> None:
        self._text: str | None = None
        if binary is None and encoded_packet is None and data is not None:
            try:
                self._text = orjson.dumps(data).decode()
            except TypeError:  # orjson.JSONEncodeError: bytes, or not JSON at all
                pass
            else:
                binary = False
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def decode(self, encoded_packet: Any) -> int:
        """Decode as the library does, except that a payload nested past
        :data:`~server.json_depth.MAX_DEPTH`, one that is not JSON, or an event that
        is not ``[name, ...]`` becomes the event :data:`UNREADABLE`.

        Why: the library raises from its message handler for these, so the sender
        would get no answer at all and engine.io would log a traceback. The type,
        namespace and ack id come before the payload, so they are kept.
        """
        if isinstance(encoded_packet, str) and too_deep(encoded_packet):
            start = next((i for i, c in enumerate(encoded_packet) if c in '[{"'),
                         len(encoded_packet))
            count: int = super().decode(encoded_packet[:start])
            self._unreadable()
            return count
        try:
            count = super().decode(encoded_packet)
        except orjson.JSONDecodeError:
            self._unreadable()
            return 0
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT) and not (
                isinstance(self.data, list) and self.data and isinstance(self.data[0], str)):
            self._unreadable()
        return count

    def _unreadable(self) -> None:
        data: Any = None
        kind = int(getattr(self, "packet_type", -1))  # the library leaves it untyped
        if kind in (packet.EVENT, packet.BINARY_EVENT):
            self.packet_type = packet.EVENT  # no attachments are awaited for it
            data = [UNREADABLE]
        self.data = data

    def encode(self) -> Any:
        text = self._text
        if text is None or self.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
            return super().encode()
        encoded = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            encoded += self.namespace + ","
        if self.id is not None:
            encoded += str(self.id)
        return encoded + text
