"""How one reference server is configured (re-exported by :mod:`conformance.reference.server`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["sandbox", "integration"]

TEN_MIB = 10 * 1024 * 1024
#: the live per-application limits (the API's deployment defaults), in requests per minute
LIVE_QUOTA_PER_MINUTE = 1200
LIVE_SPIKE_ARREST_PER_MINUTE = 6000


@dataclass(frozen=True)
class ReferenceConfig:
    """Mode, address and the few limits worth changing; ``faults`` names deliberate misbehaviours."""

    mode: Mode
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    faults: frozenset[str] = frozenset()
    #: integration mode: valid bodies above this get 413 CM_TOO_LARGE (the live backend's 6 MB limit);
    #: the sandbox backend, like the real one, accepts anything up to the gateway's 10 MiB
    max_body_bytes: int = 6 * 1024 * 1024
    #: /_timeout?sleep=ms longer than this gives 504 CM_TIMEOUT (the sandbox target's 10 s io timeout)
    upstream_timeout_s: float = 10.0
    #: access-token lifetime for clients registered without their own (integration mode)
    token_lifetime_s: int = 600
    #: the ``apikey`` header /_status wants; None draws a random one (see RunningReference.status_key)
    status_key: str | None = None
    #: integration mode: apply the gateway's per-application rate limits below to every client. Off by
    #: default because programmatic users (our tests, the ``local`` environment) send far faster than
    #: live allows; ``serve --mode integration`` turns it on. Clients with limits of their own (the
    #: ``throttled`` client) are limited either way.
    throttle: bool = False
    #: per-application quota, requests in any 60 s (behaviour §3.10)
    quota_per_minute: int = LIVE_QUOTA_PER_MINUTE
    #: per-application spike arrest, per minute; smoothed, so 6,000 means one request per 10 ms
    spike_arrest_per_minute: int = LIVE_SPIKE_ARREST_PER_MINUTE
    #: integration mode: a create repeating a reference made less than this long ago gets 425
    #: CM_RETRY_TOO_EARLY (the first is "still being processed"); after it, 422. 0 turns 425 off.
    in_flight_s: float = 0.5

    def __post_init__(self) -> None:
        if self.quota_per_minute < 1 or self.spike_arrest_per_minute < 1:
            raise ValueError("rate limits are requests per minute and must be at least 1")
        if self.in_flight_s < 0:
            raise ValueError("in_flight_s cannot be negative")
