"""Named token buckets in this process's memory: the embedded store's rate limits.

The SQLite store is written by one process, so its buckets can live there; the Redis
store keeps them in Redis (:mod:`server.store.redis_buckets`) so that every node
spends from the same one. Both answer the same way (``Store.take_token``).
"""

from __future__ import annotations

import time

MAX_BUCKETS = 10_000


class Buckets:
    """``burst`` tokens at most per name, refilled at ``rate`` per second.

    Note: bounded to ``MAX_BUCKETS`` names: past that, buckets that have refilled are
    forgotten (a full bucket is the same as none), then the least recently used; "refilled"
    is judged by the rate and burst of the take that overflowed (one kind of limit today).
    """

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        self._max = max_buckets
        # name -> [tokens, stamp (monotonic seconds), refusals in a row]
        self._state: dict[str, list[float]] = {}

    def take(self, name: str, rate: float, burst: int) -> int:
        """0 when a token was taken; otherwise how many refusals in a row this bucket
        has now given (1: the first since it last allowed)."""
        now = time.monotonic()
        state = self._state.pop(name, None) or [float(burst), now, 0.0]
        tokens = min(float(burst), state[0] + (now - state[1]) * rate)
        if tokens >= 1.0:
            state[:] = [tokens - 1.0, now, 0.0]
        else:
            state[:] = [tokens, now, state[2] + 1.0]
        self._state[name] = state  # re-inserted: the dict's order is least recent first
        if len(self._state) > self._max:
            self._prune(now, rate, burst)
        return int(state[2])

    def _prune(self, now: float, rate: float, burst: int) -> None:
        full = [n for n, (tokens, stamp, _) in self._state.items()
                if tokens + (now - stamp) * rate >= burst]
        for name in full:
            del self._state[name]
        for name in list(self._state)[:max(0, len(self._state) - self._max)]:
            del self._state[name]
