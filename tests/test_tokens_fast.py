"""The HS256 fast path in TokenVerifier agrees with PyJWT on every token.

Each token is verified twice: by the verifier as shipped, and with the fast path
off (PyJWT alone). Both must give the same identity or the same refusal code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from server.errors import Refused
from server.settings import Settings
from server.tokens import TokenVerifier, mint

SECRET = "fast-path-secret-" + "s" * 32
SETTINGS = Settings(jwt_secret=SECRET)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(header: Any, claims: Any, secret: str = SECRET, *, raw: bool = False) -> str:
    """A token with exactly this header and payload (JSON text when ``raw``)."""
    head = b64(header.encode() if raw else json.dumps(header).encode())
    body = b64(claims.encode() if raw else json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": "alongside", "aud": "alongside", "sub": "u1", "name": "Sam",
            "role": "client", "program": "p1", "room": "r1", "iat": now, "nbf": now,
            "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def outcome(verifier: TokenVerifier, token: Any) -> Any:
    try:
        return verifier.verify(token)
    except Refused as refusal:
        return refusal.code


def both(token: Any) -> tuple[Any, Any, bool]:
    fast = TokenVerifier(SETTINGS)
    slow = TokenVerifier(SETTINGS)
    slow._hs256 = None  # PyJWT alone
    took_fast = isinstance(token, str) and fast._fast_hs256(token) is not None
    return outcome(fast, token), outcome(slow, token), took_fast


HS = {"alg": "HS256", "typ": "JWT"}


def cases() -> dict[str, Any]:
    """Made when a test runs, not at import: some sit a few seconds from a limit."""
    now = int(time.time())
    return {
        "minted": mint(SETTINGS, sub="u1", name="Sam", role="client", program="p1", room="r1"),
        "no typ": forge({"alg": "HS256"}, claims()),
        "expired": forge(HS, claims(exp=now - 60)),
        "expired within leeway": forge(HS, claims(exp=now - 2)),
        "not yet valid": forge(HS, claims(nbf=now + 60)),
        "nbf within leeway": forge(HS, claims(nbf=now + 2)),
        "issued in the future": forge(HS, claims(iat=now + 60)),
        "float exp": forge(HS, claims(exp=now + 600.5)),
        "bool exp": forge(HS, claims(exp=True)),
        "string exp": forge(HS, claims(exp=str(now + 600))),
        "no exp": forge(HS, claims(exp=...)),
        "no sub": forge(HS, claims(sub=...)),
        "int sub": forge(HS, claims(sub=5)),
        "no iss": forge(HS, claims(iss=...)),
        "wrong iss": forge(HS, claims(iss="someone")),
        "no aud": forge(HS, claims(aud=...)),
        "wrong aud": forge(HS, claims(aud="other")),
        "aud list": forge(HS, claims(aud=["other", "alongside"])),
        "aud list without us": forge(HS, claims(aud=["other"])),
        "int jti": forge(HS, claims(jti=7)),
        "string jti": forge(HS, claims(jti="j")),
        "wrong secret": forge(HS, claims(), secret="another-secret-" + "y" * 32),
        "alg none": forge({"alg": "none"}, claims()),
        "alg HS512": forge({"alg": "HS512"}, claims()),
        "kid header": forge({**HS, "kid": "k1"}, claims()),
        "int kid": forge({**HS, "kid": 1}, claims()),
        "crit header": forge({**HS, "crit": ["b64"], "b64": False}, claims()),
        "header list": forge("[1]", json.dumps(claims()), raw=True),
        "payload list": forge(json.dumps(HS), "[1]", raw=True),
        "payload NaN": forge(json.dumps(HS), json.dumps(claims())[:-1] + ', "x": NaN}', raw=True),
        "duplicate exp": forge(json.dumps(HS), json.dumps(claims())[:-1]
                               + f', "exp": {now - 100}}}', raw=True),
        "unknown role": forge(HS, claims(role="admin")),
        "empty": "",
        "not text": 12,
        "two segments": "abc.def",
        "junk": "a.b.c",
    }


@pytest.mark.parametrize("name", sorted(cases()))
def test_fast_path_agrees_with_pyjwt(name: str) -> None:
    fast, slow, _ = both(cases()[name])
    assert fast == slow


def test_plain_tokens_take_the_fast_path() -> None:
    for name in ("minted", "no typ", "expired within leeway", "nbf within leeway",
                 "string jti"):
        assert both(cases()[name])[2], name


def test_tampered_tokens_never_take_the_fast_path() -> None:
    token = cases()["minted"]
    head, body, sig = token.split(".")
    for bad in (f"{head}.{body}.{sig[:-1]}", f"{head}.{body}x.{sig}", f"{head}.{body}.{sig}=",
                f"{head}.{body}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}"):
        fast, slow, took = both(bad)
        assert not took and fast == slow


def test_a_pem_secret_is_left_to_pyjwt() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
    verifier = TokenVerifier(Settings(jwt_secret=pem))
    assert verifier._hs256 is None
    token = jwt.encode(claims(), "x" * 32, algorithm="HS256")
    with pytest.raises(Refused):
        verifier.verify(token)
