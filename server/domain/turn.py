"""Short-lived TURN credentials in coturn's ``use-auth-secret`` (TURN REST) scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def ice_servers(urls: tuple[str, ...], secret: str | None, participant: str, now: float,
                ttl: int) -> list[dict[str, Any]]:
    """The ``iceServers`` for one participant: none unless TURN is configured.

    Note: never adds a public STUN server; aiortc and browsers get exactly this list.
    """
    if not urls or not secret:
        return []
    username = f"{int(now) + ttl}:{participant}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return [{"urls": list(urls), "username": username,
             "credential": base64.b64encode(digest).decode()}]
