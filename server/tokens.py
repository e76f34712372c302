"""Access tokens: verify the host platform's JWTs, and mint them for the demo and tests.

Algorithms are allowlisted and each is tied to its own key (HS256 to the shared
secret, RS256/EdDSA to the public key), so neither ``none`` nor HS/RS confusion
can pass.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from server.domain.identity import Identity
from server.errors import Code, Refused
from server.settings import Settings

ASYMMETRIC = ("RS256", "EdDSA")
LEEWAY_SECONDS = 5


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._keys: dict[str, Any] = {}
        if settings.jwt_secret:
            self._keys["HS256"] = settings.jwt_secret
        if settings.jwt_public_key:
            for alg in ASYMMETRIC:
                self._keys[alg] = settings.jwt_public_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience

    def verify(self, token: Any) -> Identity:
        """The identity a token proves, or :class:`Refused` with the reason's code."""
        if not token:
            raise Refused(Code.TOKEN_MISSING)
        if not isinstance(token, str) or len(token) > 8192:
            raise Refused(Code.TOKEN_INVALID)
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            key = self._keys.get(alg) if isinstance(alg, str) else None
            if key is None or not isinstance(alg, str):
                raise Refused(Code.TOKEN_INVALID, "The token's algorithm is not accepted.")
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self._audience, issuer=self._issuer,
                leeway=LEEWAY_SECONDS, options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refused(Code.TOKEN_EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise Refused(Code.TOKEN_NOT_YET_VALID) from None
        except jwt.PyJWTError:
            raise Refused(Code.TOKEN_INVALID) from None
        return Identity.from_claims(claims)


def mint(settings: Settings, *, sub: str, name: str, role: str, program: str, room: str,
         ttl: int = 3600, now: float | None = None, **extra: Any) -> str:
    """An HS256 token as the host platform would mint it (demo, CLI and tests)."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": sub,
              "name": name, "role": role, "program": program, "room": room,
              "iat": issued, "nbf": issued, "exp": issued + ttl, **extra}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
