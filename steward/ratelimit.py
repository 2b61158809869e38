"""The RateLimiter port over the `limits` library: memory:// for one process, redis:// for many."""
from __future__ import annotations

import logging
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("steward.ratelimit")


class LimitsRateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        self.storage = storage_from_string(storage_uri)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def acquire(self, key: str, rate: str) -> float:
        item = parse(rate)
        try:
            if self.limiter.hit(item, key):
                return 0.0
            reset = self.limiter.get_window_stats(item, key).reset_time
        except Exception as exc:    # the shared store (Redis) is away: the platform's own 429s pace us meanwhile
            now = time.monotonic()
            if now - getattr(self, "_warned", 0.0) > 60:
                self._warned = now
                log.warning("rate-limit store unavailable (%s): not pacing until it answers", type(exc).__name__)
            return 0.0
        return max(0.05, reset - time.time())
