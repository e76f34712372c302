"""A real, private ``redis-server`` per test, which a test may kill and bring back.

Registered for every test module by tests/conftest.py (``pytest_plugins``); use the
``redis_server`` fixture. The server itself is :class:`devtools.redis.RedisServer` with its
default (durable) flags: a free port on 127.0.0.1 (never the system Redis on 6379), no RDB
snapshots, an append-only file fsynced on every write into its own directory, so
``restart()`` (same port, same directory) brings back everything it acknowledged, even after
``kill()``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.redis import RedisServer, answers_ping, installed

__all__ = ["RedisServer", "answers_ping", "redis_server"]


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A fresh, empty ``redis-server`` for one test; killed after it.

    Note: fails (rather than skips) without ``redis-server``; ``scripts/setup.sh --test``
    installs it.
    """
    if not installed():
        pytest.fail("redis-server is not installed (scripts/setup.sh --test installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()
