"""Group rooms' media server, behind an adapter (:mod:`server.sfu.api`); Janus for now."""

from __future__ import annotations

from server.settings import Settings
from server.sfu.api import Sfu
from server.sfu.janus import JanusSfu


def from_settings(settings: Settings) -> Sfu | None:
    """The configured SFU, or ``None`` when none is (group media answers
    ``E_SFU_UNAVAILABLE``). Nothing connects until the first group needs it."""
    if not settings.janus_urls:
        return None
    return JanusSfu(settings.janus_urls, settings.janus_api_secret, settings.janus_admin_key)
