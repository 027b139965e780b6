"""Per-application rate limiting, as the gateway's rate-limiting shared flow applies it in live
(behaviour §3.10), and the traffic counters that show what a run really sent.

Each application (one registered client, named by its app name) has two limits, both stated per minute
as Apigee states them:

* a **spike arrest**, checked first. Apigee smooths it: 6,000 a minute means one request per 10 ms, so
  a request that arrives sooner than ``60 / rate`` seconds after the previous one the spike arrest let
  through is refused (429, ``Retry-After: 1``). It counts every request it lets through, even one the
  quota then refuses, because the two are separate policies.
* a **quota**: at most N accepted requests in any 60 s. Apigee counts in fixed windows; a sliding
  window is stricter (whatever it lets through, a fixed window would too), so a paced client that
  passes here passes there. A breach gets 429 and ``Retry-After: 60``.

Only authenticated API requests are counted and limited: ``/_ping``, ``/_status`` and CORS preflights
are answered before the access token is looked at, and the token endpoint is not behind the API's
rate-limiting flow (nothing documents token requests counting toward an application's quota).

The counters (requests, 429s sent, the most requests accepted in any 1 s and any 60 s) are kept for
every application whether or not limits apply, in bounded memory: only the last 60 s of acceptance
times are held.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

from conformance.reference.catalogue import (
    APP_QUOTA,
    APP_SPIKE_ARREST,
    RETRY_AFTER_APP_QUOTA,
    RETRY_AFTER_APP_SPIKE_ARREST,
    Problem,
    filled,
)
from conformance.reference.config import ReferenceConfig

#: the reference-only path that reports the counters as JSON (outside ``/comms``, so never the API's)
TRAFFIC_PATH = "/_reference/traffic"
_MINUTE_S = 60.0
_SECOND_S = 1.0
#: clock arithmetic in floats: a gap of exactly the spike interval must not come out a hair short
_TOLERANCE_S = 1e-9


@dataclass(frozen=True)
class Limits:
    """One application's limits, in requests per minute."""

    quota_per_minute: int
    spike_arrest_per_minute: int

    def __post_init__(self) -> None:
        if self.quota_per_minute < 1 or self.spike_arrest_per_minute < 1:
            raise ValueError("rate limits are requests per minute and must be at least 1")

    @property
    def spike_interval_s(self) -> float:
        """The smallest gap the smoothed spike arrest allows between two requests."""
        return _MINUTE_S / self.spike_arrest_per_minute


@dataclass(frozen=True)
class Refusal:
    """Why a request was throttled: the error to send and its ``Retry-After``."""

    problem: Problem
    retry_after: str


@dataclass(frozen=True)
class AppTraffic:
    """What one application sent: every request the throttle saw, and the peaks of accepted ones.

    "Accepted" means let through by the rate limiter; what the API then answered (201, 404, ...) does
    not matter here.
    """

    app: str
    requests: int = 0
    accepted: int = 0
    #: 429s the throttle sent (quota and spike arrest together)
    throttled: int = 0
    #: the most requests accepted within any 1 s
    peak_per_second: int = 0
    #: the most requests accepted within any 60 s
    peak_per_minute: int = 0


@dataclass(frozen=True)
class Traffic:
    """A snapshot of every application's counters, with the server-wide limits in force."""

    apps: Mapping[str, AppTraffic] = field(default_factory=dict)
    #: the limits applied to clients without their own; None when throttling is off
    limits: Limits | None = None

    @property
    def requests(self) -> int:
        return sum(app.requests for app in self.apps.values())

    @property
    def throttled(self) -> int:
        return sum(app.throttled for app in self.apps.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "limits": None if self.limits is None else asdict(self.limits),
            "apps": {name: asdict(app) for name, app in self.apps.items()},
        }

    def summary(self) -> str:
        """One line for ``serve`` to print when it stops."""
        if not self.apps:
            return "traffic: no authenticated API requests"
        busiest_second = max(app.peak_per_second for app in self.apps.values())
        busiest_minute = max(app.peak_per_minute for app in self.apps.values())
        return (
            f"traffic: {self.requests} requests from {len(self.apps)} application(s), "
            f"{self.throttled} answered 429; most accepted for one application: "
            f"{busiest_second} in 1 s, {busiest_minute} in 60 s"
        )


class _AppState:
    """Mutable counters of one application (guarded by the throttle's lock)."""

    def __init__(self) -> None:
        self.requests = 0
        self.accepted = 0
        self.throttled = 0
        self.peak_per_second = 0
        self.peak_per_minute = 0
        #: when the spike arrest last let a request through
        self.last_spike_pass: float | None = None
        #: acceptance times within the last 60 s (and, the tail of it, the last 1 s)
        self.last_minute: deque[float] = deque()
        self.last_second: deque[float] = deque()

    def forget_before(self, now: float) -> None:
        while self.last_minute and self.last_minute[0] <= now - _MINUTE_S:
            self.last_minute.popleft()
        while self.last_second and self.last_second[0] <= now - _SECOND_S:
            self.last_second.popleft()

    def accept(self, now: float) -> None:
        self.accepted += 1
        self.last_minute.append(now)
        self.last_second.append(now)
        self.peak_per_minute = max(self.peak_per_minute, len(self.last_minute))
        self.peak_per_second = max(self.peak_per_second, len(self.last_second))

    def snapshot(self, app: str) -> AppTraffic:
        return AppTraffic(
            app=app,
            requests=self.requests,
            accepted=self.accepted,
            throttled=self.throttled,
            peak_per_second=self.peak_per_second,
            peak_per_minute=self.peak_per_minute,
        )


class Throttle:
    """Counts and limits requests per application. Thread-safe: the server thread admits, any thread
    may read :meth:`traffic`."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        #: applied to applications without limits of their own; None = count only
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._apps: dict[str, _AppState] = {}

    @classmethod
    def for_config(cls, config: ReferenceConfig) -> Throttle:
        if not config.throttle:
            return cls(None)
        return cls(Limits(config.quota_per_minute, config.spike_arrest_per_minute))

    def admit(self, app: str, own_limits: Limits | None = None) -> Refusal | None:
        """Count one request of ``app``; a :class:`Refusal` when its limits throttle it.

        ``own_limits`` (the client record's) take precedence over the server's and apply even when
        the server's throttling is off.
        """
        limits = own_limits if own_limits is not None else self.limits
        with self._lock:
            now = self._clock()
            state = self._apps.setdefault(app, _AppState())
            state.requests += 1
            state.forget_before(now)
            refusal = self._check(app, state, limits, now)
            if refusal is None:
                state.accept(now)
            else:
                state.throttled += 1
            return refusal

    @staticmethod
    def _check(app: str, state: _AppState, limits: Limits | None, now: float) -> Refusal | None:
        if limits is None:
            return None
        last = state.last_spike_pass
        if last is not None and now - last < limits.spike_interval_s - _TOLERANCE_S:
            return Refusal(filled(APP_SPIKE_ARREST, app_name=app), RETRY_AFTER_APP_SPIKE_ARREST)
        state.last_spike_pass = now
        if len(state.last_minute) >= limits.quota_per_minute:
            problem = filled(APP_QUOTA, app_name=app, limit=limits.quota_per_minute)
            return Refusal(problem, RETRY_AFTER_APP_QUOTA)
        return None

    def traffic(self) -> Traffic:
        """A consistent snapshot of every application's counters."""
        with self._lock:
            apps = {app: state.snapshot(app) for app, state in self._apps.items()}
        return Traffic(apps=MappingProxyType(apps), limits=self.limits)
