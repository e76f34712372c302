"""Group rooms' media server, behind an adapter (:mod:`server.sfu.api`); Janus for now."""

from __future__ import annotations

from server.settings import Settings
from server.sfu.api import Sfu
from server.sfu.janus import JanusSfu
from server.sfu.pool import SfuPool
from server.store.placements import Placements
from server.store.protocol import Store

POOL_KEEPALIVE = 5.0  # seconds; with several instances, how soon a hung one is noticed


def from_settings(settings: Settings, store: Store | None = None) -> Sfu | None:
    """The configured SFU, or ``None`` when none is (group media answers
    ``E_SFU_UNAVAILABLE``). Several Janus URLs: a pool of one adapter per URL, placing rooms
    on the least loaded and recording placements in ``store`` (:mod:`server.sfu.pool`).
    Nothing connects until the first group needs it.

    Note: with one URL the adapter is used alone (no placement record, nowhere to move a
    room to); after that Janus restarts, members publish again on their own (docs/groups.md).
    """
    if not settings.janus_urls:
        return None
    if len(settings.janus_urls) == 1:
        return JanusSfu(settings.janus_urls, settings.janus_api_secret,
                        settings.janus_admin_key)
    # Keepalives every few seconds: a hung instance (no answer) is given up within about
    # POOL_KEEPALIVE + its request timeout, and its rooms move.
    instances = [JanusSfu((url,), settings.janus_api_secret, settings.janus_admin_key,
                          keepalive=POOL_KEEPALIVE)
                 for url in settings.janus_urls]
    return SfuPool(instances, Placements(store) if store is not None else None)
