"""How one reference server is configured (re-exported by :mod:`conformance.reference.server`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["sandbox", "integration"]

TEN_MIB = 10 * 1024 * 1024
#: the live per-application limits (the API's deployment defaults), in requests per minute
LIVE_QUOTA_PER_MINUTE = 1200
LIVE_SPIKE_ARREST_PER_MINUTE = 6000
#: integration mode: how long a created message (and the reference that made it) is kept, in seconds
DEFAULT_MESSAGE_RETENTION_S = 3600.0
#: integration mode: the most messages kept; above one batch of the 45,000 maximum, so a batch just
#: created can always be read back whole
DEFAULT_MAX_STORED_MESSAGES = 50_000
#: integration mode: the most access tokens kept (the oldest are forgotten first, even unexpired)
DEFAULT_MAX_ISSUED_TOKENS = 10_000
#: integration mode: how long an expired token is still recognised (and refused) before it is forgotten
DEFAULT_EXPIRED_TOKEN_MEMORY_S = 600.0
#: integration mode: the most client-assertion ``jti`` values remembered for replay protection
DEFAULT_MAX_REMEMBERED_JTIS = 100_000
#: seconds between one message's status changes when statuses move on (see ReferenceConfig.status_step_s)
DEFAULT_STATUS_STEP_S = 0.2


@dataclass(frozen=True)
class CallbackSettings:
    """Where and how the integration reference sends status callbacks (:mod:`.callback_delivery`).

    The rules are the delivery engine's (ops §1.3); the windows are short by default for local use.
    """

    #: where message status callbacks go; None sends none
    message_status_url: str | None
    #: where channel status callbacks go; None sends none
    channel_status_url: str | None
    #: the key agreed at onboarding, sent in ``x-api-key``
    api_key: str = field(repr=False)
    #: the application id; ``<application id>.<API key>`` is the signing key
    application_id: str = field(repr=False)
    #: retries stop at the first failure after this long (live: 2 hours)
    retry_window_s: float = 30.0
    #: each request's timeout (live: 30 s)
    timeout_s: float = 30.0
    #: the first retry's backoff, doubled for each later one, plus up to ``jitter_s`` at random
    backoff_initial_s: float = 0.5
    #: no single backoff is longer (live: 300 s)
    backoff_max_s: float = 300.0
    jitter_s: float = 0.5
    #: the delivery engine sends application/json (the contract says application/vnd.api+json)
    content_type: str = "application/json"
    #: callbacks waiting or being retried at once; a message that would go over has none sent (counted)
    max_pending: int = 10_000
    #: attempts and outcomes kept for inspection (older ones are only counted)
    keep: int = 1_000
    #: requests in flight at once
    concurrency: int = 8

    def __post_init__(self) -> None:
        if self.message_status_url is None and self.channel_status_url is None:
            raise ValueError("callbacks need a message status URL, a channel status URL or both")
        if min(self.retry_window_s, self.timeout_s, self.backoff_max_s) <= 0:
            raise ValueError("the retry window, the timeout and the longest backoff must be positive")
        if min(self.backoff_initial_s, self.jitter_s) < 0:
            raise ValueError("backoff and jitter cannot be negative")
        if min(self.max_pending, self.keep, self.concurrency) < 1:
            raise ValueError("max_pending, keep and concurrency must be at least 1")


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
    #: integration mode: bounded state (:mod:`.store`, :mod:`.oauth`). A message, and the reference that
    #: created it, is forgotten this long after it was stored (GET then 404, the reference free again)...
    message_retention_s: float = DEFAULT_MESSAGE_RETENTION_S
    #: ... or sooner, oldest create first, when more are kept than this (the newest create stays whole)
    max_stored_messages: int = DEFAULT_MAX_STORED_MESSAGES
    #: access tokens kept at most; an expired one is forgotten expired_token_memory_s after expiry
    max_issued_tokens: int = DEFAULT_MAX_ISSUED_TOKENS
    expired_token_memory_s: float = DEFAULT_EXPIRED_TOKEN_MEMORY_S
    #: ``jti`` values kept for replay protection (each only until its assertion's ``exp``)
    max_remembered_jtis: int = DEFAULT_MAX_REMEMBERED_JTIS
    #: integration mode: seconds between one message's status changes (:mod:`.progress`); None keeps
    #: every message at pending_enrichment, as our exact-answer tests expect. With ``callbacks`` and no
    #: step of its own, statuses move every DEFAULT_STATUS_STEP_S.
    status_step_s: float | None = None
    #: integration mode: send each status change as a signed callback (:mod:`.callback_delivery`)
    callbacks: CallbackSettings | None = None

    @property
    def timeline_step_s(self) -> float | None:
        """The step statuses move by, or None when they stay put."""
        if self.status_step_s is None and self.callbacks is not None:
            return DEFAULT_STATUS_STEP_S
        return self.status_step_s

    def __post_init__(self) -> None:
        if self.quota_per_minute < 1 or self.spike_arrest_per_minute < 1:
            raise ValueError("rate limits are requests per minute and must be at least 1")
        if self.in_flight_s < 0:
            raise ValueError("in_flight_s cannot be negative")
        if self.message_retention_s <= 0 or self.expired_token_memory_s < 0:
            raise ValueError("message_retention_s must be positive and expired_token_memory_s not negative")
        if min(self.max_stored_messages, self.max_issued_tokens, self.max_remembered_jtis) < 1:
            raise ValueError(
                "max_stored_messages, max_issued_tokens and max_remembered_jtis must be at least 1"
            )
        if self.status_step_s is not None and self.status_step_s <= 0:
            raise ValueError("status_step_s must be positive (None keeps statuses put)")
