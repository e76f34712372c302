"""Durable state behind one contract (see :mod:`server.store.protocol`)."""

from __future__ import annotations

from server.store.protocol import Store, StoreUnavailable


def open_store(url: str) -> Store:
    """The backend a store URL names: ``sqlite:///path`` (the embedded default)."""
    if url.startswith("sqlite:///"):
        from server.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:///"))
    raise ValueError(f"unsupported store URL scheme: {url.split(':', 1)[0]}")


__all__ = ["Store", "StoreUnavailable", "open_store"]
