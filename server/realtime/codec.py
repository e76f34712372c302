"""orjson for socket.io's packets: python-socketio takes any module-like object with
``dumps``/``loads``; orjson is several times faster than the standard library.

Note: orjson returns bytes and refuses keyword arguments; this adapter returns
text and ignores the separators python-socketio passes (orjson is compact anyway).
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet


class OrjsonCodec:
    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return orjson.loads(text)


class OrjsonPacket(packet.Packet):
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
