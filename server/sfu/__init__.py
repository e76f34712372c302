"""Group rooms' media server, behind an adapter (:mod:`server.sfu.api`); Janus for now."""

from __future__ import annotations

from server.settings import Settings
from server.sfu.api import Sfu
from server.sfu.janus import JanusSfu
from server.sfu.pool import SfuPool
from server.store.placements import Placements
from server.store.protocol import Store


def from_settings(settings: Settings, store: Store | None = None) -> Sfu | None:
    """The configured SFU, or ``None`` when none is (group media answers
    ``E_SFU_UNAVAILABLE``): a pool of one adapter per Janus URL, placing rooms on the least
    loaded and recording placements in ``store`` (:mod:`server.sfu.pool`). Nothing connects
    until the first group needs it."""
    if not settings.janus_urls:
        return None
    instances = [JanusSfu((url,), settings.janus_api_secret, settings.janus_admin_key)
                 for url in settings.janus_urls]
    return SfuPool(instances, Placements(store) if store is not None else None)
