"""Durable state behind one contract (see :mod:`server.store.protocol`)."""

from __future__ import annotations

from server.store.protocol import Store, StoreUnavailable


def open_store(url: str) -> Store:
    """The backend a store URL names: ``sqlite:///path`` (the embedded default) or ``redis://``."""
    if url.startswith("sqlite:///"):
        from server.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("redis://", "rediss://")):
        from server.store.redis import RedisStore
        return RedisStore(url)
    raise ValueError(f"unsupported store URL scheme: {url.split(':', 1)[0]}")


__all__ = ["Store", "StoreUnavailable", "open_store"]
