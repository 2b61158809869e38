"""The RateLimiter port over the `limits` library: memory:// for one process, redis:// for many."""
from __future__ import annotations

import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


class LimitsRateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self.storage = storage_from_string(storage_uri)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def acquire(self, key: str, rate: str) -> float:
        item = parse(rate)
        if self.limiter.hit(item, key):
            return 0.0
        reset = self.limiter.get_window_stats(item, key).reset_time
        return max(0.05, reset - time.time())
