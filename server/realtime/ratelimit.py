"""A token bucket per connection: bursts are fine (ICE candidates come in bursts), floods are not."""

from __future__ import annotations

import time


class TokenBucket:
    """Allow ``burst`` events at once and ``rate`` per second sustained.

    Note: not thread-safe; one bucket belongs to one connection on one event loop.
    """

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
