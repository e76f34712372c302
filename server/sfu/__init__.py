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
    ``E_SFU_UNAVAILABLE``). A pool of one adapter per Janus URL (one URL too), placing rooms
    on the least loaded and recording each VideoRoom in ``store``, so every node of a cluster
    uses the same one (:mod:`server.sfu.pool`). Nothing connects until the first group
    needs it.

    Note: without a store (tests of the adapter alone) the adapter is used alone, its
    VideoRooms in this process only.
    """
    if not settings.janus_urls:
        return None
    if store is None:
        return JanusSfu(settings.janus_urls, settings.janus_api_secret,
                        settings.janus_admin_key)
    records = Placements(store)
    # Keepalives every few seconds: a hung instance (no answer) is given up within about
    # POOL_KEEPALIVE + its request timeout, and its rooms move (or, alone, come back).
    instances = [JanusSfu((url,), settings.janus_api_secret, settings.janus_admin_key,
                          keepalive=POOL_KEEPALIVE, records=records)
                 for url in settings.janus_urls]
    return SfuPool(instances, records)
