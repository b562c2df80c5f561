"""Token buckets per API key, reported the way incident.io does (X-RateLimit-*, Retry-After)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Bucket:
    """A bucket of `capacity` tokens refilling evenly over a 60-second window."""

    capacity: int
    tokens: float
    updated: float

    @property
    def rate(self) -> float:
        return self.capacity / 60.0

    def refill(self, now: float) -> None:
        self.tokens = min(float(self.capacity), self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def seconds_until(self, tokens: float) -> float:
        return max(0.0, (tokens - self.tokens) / self.rate)


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against every limit that applies to it."""

    allowed: bool
    name: str
    limit: int
    remaining: int
    retry_after: int
    headers: dict[str, str]


class RateLimiter:
    """Keeps one bucket per (API key, limit name); a request must fit in all its buckets."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._clock = clock
        self._wall = wall

    def reset(self) -> None:
        self._buckets.clear()

    def _bucket(self, key_id: str, name: str, capacity: int, now: float) -> Bucket:
        bucket = self._buckets.get((key_id, name))
        if bucket is None or bucket.capacity != capacity:
            bucket = Bucket(capacity, float(capacity), now)
            self._buckets[(key_id, name)] = bucket
        bucket.refill(now)
        return bucket

    def check(self, key_id: str, key_name: str, limits: dict[str, int]) -> Decision:
        """Takes one token from every bucket in `limits` (name -> per minute) if all have one."""
        now = self._clock()
        buckets = [(name, self._bucket(key_id, name, cap, now)) for name, cap in limits.items()]
        allowed = all(b.tokens >= 1.0 for _, b in buckets)
        if allowed:
            for _, bucket in buckets:
                bucket.tokens -= 1.0
        # The binding quota is the one with the fewest tokens left.
        _, binding = min(buckets, key=lambda item: (item[1].tokens, item[1].capacity))
        remaining = max(0, math.floor(binding.tokens))
        retry_after = 0 if allowed else max(1, math.ceil(binding.seconds_until(1.0)))
        reset_at = math.ceil(self._wall() + binding.seconds_until(float(binding.capacity)))
        quotas = ", ".join(f"{b.capacity};window=60" for _, b in buckets)
        headers = {
            "X-RateLimit-Limit": f"{binding.capacity}, {quotas}",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(binding.capacity - remaining),
            "X-RateLimit-Reset": str(reset_at),
        }
        if not allowed:
            headers["Retry-After"] = str(retry_after)
        return Decision(allowed, key_name, binding.capacity, remaining, retry_after, headers)
