"""Identity at the handshake: only a valid token for this room gets a connection."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import socketio
from aiohttp import ClientSession, WSServerHandshakeError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from server.store.rooms import Rooms
from tests.conftest import SECRET, Harness, free_port, make_settings
from tests.peers import Peer


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": "alongside", "aud": "alongside", "sub": "client-1", "name": "Sam",
            "role": "client", "program": "prog-1", "room": "room-couples",
            "iat": now, "nbf": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


async def refused(h: Harness, auth: Any) -> str:
    peer = Peer(h.url, "")
    h.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(auth=auth)
    assert not peer.sio.connected
    return str(peer.connect_error["code"])


def unsigned(payload: dict[str, Any]) -> str:
    # alg "none": header.payload. (PyJWT refuses to verify these; we build it by hand)
    import base64
    import json

    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


@pytest.mark.parametrize("case, expected", [
    ("missing", "E_TOKEN_MISSING"),
    ("garbage", "E_TOKEN_INVALID"),
    ("alg-none", "E_TOKEN_INVALID"),
    ("wrong-key", "E_TOKEN_INVALID"),
    ("wrong-aud", "E_TOKEN_INVALID"),
    ("wrong-iss", "E_TOKEN_INVALID"),
    ("unknown-role", "E_TOKEN_INVALID"),
    ("expired", "E_TOKEN_EXPIRED"),
    ("not-yet-valid", "E_TOKEN_NOT_YET_VALID"),
    ("other-program-room", "E_FORBIDDEN_ROOM"),
    ("asks-for-another-room", "E_FORBIDDEN_ROOM"),
    ("no-such-room", "E_ROOM_NOT_FOUND"),
])
async def test_bad_tokens_are_refused_with_a_code(alongside: Harness, case: str,
                                                  expected: str) -> None:
    await alongside.create_room("other-room", "couples", program="prog-2")
    now = int(time.time())
    tokens: dict[str, Any] = {
        "missing": {},
        "garbage": {"token": "not.a.jwt"},
        "alg-none": {"token": unsigned(claims())},
        "wrong-key": {"token": jwt.encode(claims(), "another-secret-" + "y" * 32, "HS256")},
        "wrong-aud": {"token": jwt.encode(claims(aud="someone-else"), SECRET, "HS256")},
        "wrong-iss": {"token": jwt.encode(claims(iss="evil"), SECRET, "HS256")},
        "unknown-role": {"token": jwt.encode(claims(role="admin"), SECRET, "HS256")},
        "expired": {"token": jwt.encode(claims(exp=now - 60, nbf=now - 120), SECRET, "HS256")},
        "not-yet-valid": {"token": jwt.encode(claims(nbf=now + 300), SECRET, "HS256")},
        "other-program-room": {"token": jwt.encode(claims(room="other-room"), SECRET, "HS256")},
        "asks-for-another-room": {"token": alongside.token("client"), "room": "other-room"},
        "no-such-room": {"token": jwt.encode(claims(room="nowhere"), SECRET, "HS256")},
    }
    assert await refused(alongside, tokens[case]) == expected


async def test_token_in_query_string_is_ignored(alongside: Harness) -> None:
    token = alongside.token("clinician")
    peer = Peer(alongside.url + f"?token={token}", "")
    alongside.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(auth={})
    assert peer.connect_error["code"] == "E_TOKEN_MISSING"


async def test_foreign_origin_is_refused_before_any_token_is_read(alongside: Harness) -> None:
    url = alongside.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with ClientSession() as http:
        with pytest.raises(WSServerHandshakeError) as info:
            await http.ws_connect(url, headers={"Origin": "https://evil.example"})
        assert info.value.status == 400
        ws = await http.ws_connect(url, headers={"Origin": alongside.url})
        await ws.close()


async def test_refusals_of_known_people_are_audited_without_content(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician")
    await alongside.admitted("client", clinician)
    await clinician.call("remove", {"participant": "client-1"})
    assert await refused(alongside, {"token": alongside.token("client")}) == "E_REMOVED"
    rows = [r for r in await alongside.store.audit_rows(room="room-couples") if r.action == "connect"]
    assert [(r.actor, r.outcome) for r in rows] == [("client-1", "refused:E_REMOVED")]


async def test_clinician_may_open_an_ad_hoc_room(alongside: Harness) -> None:
    clinician = await alongside.peer("clinician", room="adhoc-1", room_kind="individual")
    assert clinician.join_ack["room"]["kind"] == "individual"
    room = await Rooms(alongside.store).get("adhoc-1")
    assert room is not None and room.session["scheduled"] is False
    # A client cannot open rooms.
    assert await refused(alongside, {"token": alongside.token("client", room="adhoc-2",
                                                              room_kind="individual")}) \
        == "E_ROOM_NOT_FOUND"


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
async def test_asymmetric_tokens_verify_with_the_configured_public_key(
        aiohttp_server: Any, tmp_path: Any, alg: str) -> None:
    from server.app import create_app
    from server.appkeys import STORE

    if alg == "RS256":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    port = free_port()
    settings = make_settings(tmp_path, port, jwt_secret="", jwt_public_key=public_pem)
    app = create_app(settings)
    server = await aiohttp_server(app, port=port)
    h = Harness(url=str(server.make_url("")).rstrip("/"), settings=settings, store=app[STORE])
    await h.create_room()
    good = jwt.encode(claims(role="clinician", sub="c"), private, alg)
    peer = Peer(h.url, good)
    h.peers.append(peer)
    await peer.connect()
    assert (await peer.call("join", {}))["ok"]
    # HS/RS confusion: an HS256 token "signed" with the public key is refused.
    forged = jwt.encode(claims(), "irrelevant-" + "z" * 32, "HS256")
    assert await refused(h, {"token": forged}) == "E_TOKEN_INVALID"
    for p in h.peers:
        await p.close()
