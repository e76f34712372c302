"""OrjsonPacket encodes exactly as python-socketio's own packet, binary included."""

from __future__ import annotations

from typing import Any

import pytest
from socketio import packet

from server.realtime.codec import OrjsonCodec, OrjsonPacket


class LibraryPacket(packet.Packet):  # the library's packet with our JSON codec
    json = OrjsonCodec


CASES: list[tuple[int, Any, str | None, int | None]] = [
    (packet.EVENT, ["room", {"id": "r1", "participants": [{"id": "a", "epoch": 2}]}], "/", None),
    (packet.EVENT, ["offer", {"from": "a", "sdp": "v=0\r\n" + "x" * 3000}], "/", None),
    (packet.ACK, [{"ok": True, "room": {"lobby": []}}], "/", 12),
    (packet.ACK, [], "/", 5),
    (packet.EVENT, ["bytes", b"\x00\x01", {"nested": [bytearray(b"x")]}], "/", None),
    (packet.ACK, [{"blob": b"abc"}], "/", 7),
    (packet.EVENT, ["e", {"n": 1}], "/chat", 3),
    (packet.CONNECT, {"sid": "abc"}, "/", None),
    (packet.CONNECT, None, "/", None),
    (packet.CONNECT_ERROR, "Unable to connect", "/", None),
    (packet.CONNECT_ERROR, {"message": "token-expired", "data": {"code": "x"}}, "/", None),
    (packet.DISCONNECT, None, "/", None),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_encoding_matches_the_library(case: int) -> None:
    kind, data, namespace, ack_id = CASES[case]
    ours = OrjsonPacket(kind, data=data, namespace=namespace, id=ack_id)
    theirs = LibraryPacket(kind, data=data, namespace=namespace, id=ack_id)
    assert ours.packet_type == theirs.packet_type
    assert ours.encode() == theirs.encode()


def test_decoding_is_the_library_s() -> None:
    text = '2["join",{"renegotiate":false}]'
    decoded = OrjsonPacket(encoded_packet=text)
    assert (decoded.packet_type, decoded.data) == (packet.EVENT, ["join", {"renegotiate": False}])


def test_a_payload_orjson_refuses_takes_the_library_path() -> None:
    class Odd:
        pass

    with pytest.raises(TypeError):
        OrjsonPacket(packet.EVENT, data=["x", Odd()]).encode()
