"""Client-side pacing: every request to a remote target waits its turn here, so a run stays inside the
gateway's per-application limits instead of learning them from 429s.

Apigee's spike arrest smooths its limit (6,000 per minute means one request per 10 ms, and a burst of
concurrent requests is refused well below the average), so a rate per second is enforced as an even
spacing between requests, never as a burst allowance. The limiter itself is pyrate-limiter's.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass

from pyrate_limiter import Duration, Limiter, Rate

from conformance.errors import UsageError

_PART = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*$")


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_second`` requests a second (evenly spaced) and ``per_minute`` in any minute."""

    per_second: int | None = None
    per_minute: int | None = None

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``"10/s,900/min"``, ``"5/s"``, ``"600/min"``; ``"off"`` (no pacing) gives None."""
        if text.strip().lower() in ("off", "none", "0"):
            return None
        per_second = per_minute = None
        for part in text.split(","):
            match = _PART.match(part)
            if match is None or int(match.group(1)) < 1:
                raise UsageError(f"--rate-limit: cannot read {text!r}; write it like 10/s,900/min (or 'off')")
            if match.group(2).startswith("s"):
                per_second = int(match.group(1))
            else:
                per_minute = int(match.group(1))
        return cls(per_second, per_minute)

    def __str__(self) -> str:
        parts = []
        if self.per_second is not None:
            parts.append(f"{self.per_second}/s")
        if self.per_minute is not None:
            parts.append(f"{self.per_minute}/min")
        return ",".join(parts)

    def minimum_seconds(self, requests: int) -> float:
        """The least time ``requests`` requests can take under this limit (for ``run --plan``)."""
        if requests <= 1:
            return 0.0
        spaced = (requests - 1) / self.per_second if self.per_second else 0.0
        windows = math.ceil(requests / self.per_minute) - 1 if self.per_minute else 0
        return max(spaced, windows * 60.0)


class Pacer:
    """Blocks each caller until the limit lets its request go; counts the time spent waiting."""

    def __init__(self, limit: RateLimit) -> None:
        rates = []
        if limit.per_second is not None:
            # one request per interval: evenly spaced, no burst
            rates.append(Rate(1, max(1, Duration.SECOND.value // limit.per_second)))
        if limit.per_minute is not None and (
            limit.per_second is None or limit.per_minute < 60 * limit.per_second
        ):
            # only when it binds: evenly spaced at N/s is already at most 60·N a minute
            rates.append(Rate(limit.per_minute, Duration.MINUTE.value))
        self.limit = limit
        self._limiter = Limiter(rates, buffer_ms=1) if rates else None
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def wait_turn(self) -> None:
        if self._limiter is None:
            return
        started = time.monotonic()
        self._limiter.try_acquire("requests", blocking=True)
        waited = time.monotonic() - started
        with self._lock:
            self.waited_s += waited
