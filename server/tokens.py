"""Access tokens: verify the host platform's JWTs, and mint them for the demo and tests.

Algorithms are allowlisted and each is tied to its own key (HS256 to the shared
secret, RS256/EdDSA to the public key), so neither ``none`` nor HS/RS confusion
can pass.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
from typing import Any

import jwt
import orjson
from jwt.algorithms import HMACAlgorithm

from server.domain.identity import Identity
from server.errors import Code, Refused
from server.settings import Settings

ASYMMETRIC = ("RS256", "EdDSA")
LEEWAY_SECONDS = 5

# Three unpadded base64url segments: the only shape the HS256 fast path takes.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_HEADER_KEYS = frozenset(("alg", "typ"))


def _segment(text: str) -> bytes | None:
    """A base64url segment's bytes if it is canonical (as PyJWT requires), else None."""
    raw = text.encode("ascii")
    try:
        decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except ValueError:
        return None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != raw:
        return None
    return decoded


def _int(claims: dict[str, Any], name: str) -> int | None:
    value = claims.get(name)
    return value if type(value) is int else None


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
        # The shared secret as PyJWT would use it, or None where PyJWT refuses it
        # (e.g. a PEM key): then every token takes PyJWT's path and its answer.
        self._hs256: bytes | None = None
        if settings.jwt_secret and settings.jwt_issuer and settings.jwt_audience:
            try:
                self._hs256 = HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(settings.jwt_secret)
            except jwt.PyJWTError:
                self._hs256 = None

    def verify(self, token: Any) -> Identity:
        """The identity a token proves, or :class:`Refused` with the reason's code."""
        if not token:
            raise Refused(Code.TOKEN_MISSING)
        if not isinstance(token, str) or len(token) > 8192:
            raise Refused(Code.TOKEN_INVALID)
        claims = self._fast_hs256(token)
        if claims is not None:
            return Identity.from_claims(claims)
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

    def _fast_hs256(self, token: str) -> dict[str, Any] | None:
        """The claims of a plainly valid HS256 token, or None to let PyJWT decide.

        PyJWT spends most of a verification (~100 us) in Python around one HMAC.
        This path accepts only what PyJWT accepts with the options ``verify``
        passes: canonical segments, a header of ``alg`` (HS256) and ``typ`` only,
        the signature over the first two segments, and claims that pass every
        check PyJWT makes (required claims, integer ``exp``/``nbf``/``iat`` with
        the same leeway, exact ``iss``, a single ``aud`` string, string ``sub``
        and ``jti``). Anything else, valid or not, goes to PyJWT, so every
        refusal keeps PyJWT's reason.
        """
        key = self._hs256
        if key is None or _COMPACT.fullmatch(token) is None:
            return None
        signing_input, _, signature = token.rpartition(".")
        header_text, _, payload_text = signing_input.partition(".")
        expected = base64.urlsafe_b64encode(
            hmac.digest(key, signing_input.encode("ascii"), "sha256")).rstrip(b"=")
        if not hmac.compare_digest(expected, signature.encode("ascii")):
            return None
        header_raw, payload_raw = _segment(header_text), _segment(payload_text)
        if header_raw is None or payload_raw is None:
            return None
        try:  # stricter than PyJWT's json (no NaN, no lone surrogates): never more lenient
            header = orjson.loads(header_raw)
            claims = orjson.loads(payload_raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(header, dict) or header.get("alg") != "HS256" \
                or not header.keys() <= _HEADER_KEYS or not isinstance(claims, dict):
            return None
        now = time.time()
        exp, nbf, iat = _int(claims, "exp"), _int(claims, "nbf"), _int(claims, "iat")
        if exp is None or exp <= now - LEEWAY_SECONDS:
            return None
        if ("nbf" in claims and (nbf is None or nbf > now + LEEWAY_SECONDS)) or \
                ("iat" in claims and (iat is None or iat > now + LEEWAY_SECONDS)):
            return None
        if claims.get("iss") != self._issuer or claims.get("aud") != self._audience \
                or not isinstance(claims.get("sub"), str) \
                or ("jti" in claims and not isinstance(claims["jti"], str)):
            return None
        return claims


def mint(settings: Settings, *, sub: str, name: str, role: str, program: str, room: str,
         ttl: int = 3600, now: float | None = None, locale: str | None = None,
         **extra: Any) -> str:
    """An HS256 token as the host platform would mint it (demo, CLI and tests).

    ``locale`` ("en", "es") becomes the optional ``locale`` claim: the language the pages
    start in unless the URL says ``?lang=`` (docs/i18n.md); None leaves the claim out.
    """
    issued = int(time.time() if now is None else now)
    if locale is not None:
        extra["locale"] = locale
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": sub,
              "name": name, "role": role, "program": program, "room": room,
              "iat": issued, "nbf": issued, "exp": issued + ttl, **extra}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
