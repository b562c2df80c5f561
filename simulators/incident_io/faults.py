"""Run-time fault injection: latency, forced 429s, forced or random error statuses."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from simulators.incident_io.errors import ApiError


class FaultSettings(BaseModel):
    """What `POST /_sim/faults` accepts; every field is optional and replaces the current one."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    status: int | None = Field(default=None, ge=400, le=599)
    latency_ms: int | None = Field(default=None, ge=0)
    force_429: int | None = Field(default=None, ge=0)
    force_errors: int | None = Field(default=None, ge=0)
    retry_after: int | None = Field(default=None, ge=0)


class Faults:
    """Faults applied to every public API request, before authentication.

    `force_429` and `force_errors` count down one per request; `error_rate` fails that
    fraction of requests at random (seeded, so a run is repeatable) with `status`.
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.clear()

    def clear(self) -> None:
        self.error_rate = 0.0
        self.status = 500
        self.latency_ms = 0
        self.force_429 = 0
        self.force_errors = 0
        self.retry_after = 1

    def update(self, settings: FaultSettings) -> None:
        for name, value in settings.model_dump(exclude_none=True).items():
            setattr(self, name, value)

    def snapshot(self) -> dict[str, float | int]:
        return {
            "error_rate": self.error_rate,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "force_429": self.force_429,
            "force_errors": self.force_errors,
            "retry_after": self.retry_after,
        }

    def next_fault(self, key_name: str) -> ApiError | None:
        """Returns the error to answer this request with, or None to serve it normally."""
        if self.force_429 > 0:
            self.force_429 -= 1
            return self._too_many(key_name)
        if self.force_errors > 0:
            self.force_errors -= 1
            return self._error()
        if self.error_rate > 0 and self._rng.random() < self.error_rate:
            return self._error()
        return None

    def _error(self) -> ApiError:
        if self.status == 429:
            return self._too_many("")
        return ApiError(self.status, "injected_fault", f"Injected fault: HTTP {self.status}")

    def _too_many(self, key_name: str) -> ApiError:
        retry_at = datetime.now(UTC) + timedelta(seconds=self.retry_after)
        return ApiError(
            429,
            "too_many_requests",
            "Too many requests hit the API too quickly. "
            "We recommend an exponential backoff of your requests.",
            headers={"Retry-After": str(self.retry_after)},
            extra={
                "rate_limit": {
                    "name": key_name,
                    "limit": 1200,
                    "remaining": 0,
                    "retry_after": retry_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            },
        )
