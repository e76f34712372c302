"""The ICE servers handed to one person: TURN credentials of their own, short-lived."""

from __future__ import annotations

import time
from typing import Any

from server.domain.identity import Identity
from server.domain.turn import ice_servers
from server.settings import Settings


class IceServers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, who: Identity) -> list[dict[str, Any]]:
        s = self.settings
        return ice_servers(s.turn_urls, s.turn_secret, who.id, time.time(), s.turn_ttl)
