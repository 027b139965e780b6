"""Obeying ``Retry-After``: a 429, 425 or 503 that says when to come back is waited out and the request
sent again, a bounded number of times and within a wait budget per request and per run.

The attempts are driven by stamina (its backoff hook lets the answer's own ``Retry-After`` set each
wait). A 429 without a usable ``Retry-After`` (the live gateway's generic 429 sends none) is retried with
exponential backoff; a 425 or 503 without one is an answer like any other. When the budget is spent, or
the target asks for a wait longer than what is left, the request is :class:`RateLimited`: the test is
inconclusive, never failed.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import stamina

from conformance.errors import RateLimited
from conformance.exchange import WAITED

#: statuses whose ``Retry-After`` is obeyed
RETRYABLE = frozenset({425, 429, 503})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delay-seconds or HTTP-date); None when absent or unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class Wait:
    """One answer that was waited out: its status, what it asked for, what was waited."""

    status: int
    retry_after: str | None
    waited_s: float

    def describe(self) -> str:
        asked = f"Retry-After: {self.retry_after}" if self.retry_after is not None else "no Retry-After"
        return f"{self.status} ({asked}) -> waited {self.waited_s:.1f} s"


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to wait out throttling answers."""

    max_retries: int = 4
    #: the most one request may spend waiting, all retries together
    per_request_wait_s: float = 150.0
    #: the most the whole run may spend waiting; then every throttled request is inconclusive at once
    per_run_wait_s: float = 900.0
    #: backoff for a 429 without a usable Retry-After: 1 s, 2 s, 4 s, ...
    backoff_initial_s: float = 1.0


@dataclass
class RetryLedger:
    """What the run waited for, for the run summary and the reports."""

    retried_requests: int = 0
    waits: int = 0
    waited_s: float = 0.0
    gave_up: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, wait: Wait, first: bool) -> None:
        with self._lock:
            self.waits += 1
            self.waited_s += wait.waited_s
            self.retried_requests += int(first)
            self.by_status[wait.status] = self.by_status.get(wait.status, 0) + 1

    def note_gave_up(self) -> None:
        with self._lock:
            self.gave_up += 1

    def describe(self) -> str:
        if not self.waits:
            return "no request was throttled"
        statuses = ", ".join(f"{n}×{status}" for status, n in sorted(self.by_status.items()))
        text = (
            f"{self.retried_requests} request(s) throttled ({statuses}); waited {self.waited_s:.1f} s "
            f"in {self.waits} retr{'y' if self.waits == 1 else 'ies'}"
        )
        return text + (f"; gave up on {self.gave_up}" if self.gave_up else "")


class _Throttled(Exception):
    """An answer to wait out, carried from the send to stamina's backoff hook."""

    def __init__(self, response: httpx.Response, wait_s: float | None) -> None:
        super().__init__(response.status_code)
        self.response = response
        self.wait_s = wait_s


class RetryingTransport(httpx.BaseTransport):
    """Sends each request through ``inner``, waiting out 429/425/503 answers as :class:`RetryPolicy` says.

    A request with the ``no_retry`` extension is sent once; one with the ``judged`` extension (the
    statuses a test provokes and judges itself) gets such an answer back at once, while a throttling
    answer it did not ask for is still waited out. The ``judged_if_repeated`` extension names statuses
    handed back only when they come again after the wait they asked for: a sandbox trigger's answer
    comes every time, throttling passes.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        ledger: RetryLedger,
        no_retry: str,
        judged: str,
        judged_if_repeated: str,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._ledger = ledger
        self._no_retry = no_retry
        self._judged = judged
        self._judged_if_repeated = judged_if_repeated

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(self._no_retry):
            return self._inner.handle_request(request)
        judged: frozenset[int] = request.extensions.get(self._judged, frozenset())
        # The first attempt is sent outside stamina: almost every answer is no throttling answer, and only
        # one that is enters the retry machinery (as that machinery's own first attempt).
        response = self._inner.handle_request(request)
        request.extensions[WAITED] = ()
        throttled = _to_wait_out(response, judged)
        if throttled is None:
            return response
        repeated: frozenset[int] = request.extensions.get(self._judged_if_repeated, frozenset())
        return self._retried(request, judged | repeated, throttled)

    def _retried(self, request: httpx.Request, judged: frozenset[int], first: _Throttled) -> httpx.Response:
        """Wait out ``first`` (the first attempt's answer) and the throttling answers after it, within the
        request's and the run's wait budget; an answer of a status in ``judged`` is handed back."""
        waits: list[Wait] = []
        pending: _Throttled | None = first
        budget = _Budget(self._policy, self._ledger)

        def backoff(error: Exception) -> bool | float:
            if not isinstance(error, _Throttled) or len(waits) >= self._policy.max_retries:
                return False
            asked = error.wait_s
            if asked is None:
                asked = self._policy.backoff_initial_s * 2 ** len(waits)
            if not budget.allows(asked):
                return False
            wait = Wait(error.response.status_code, error.response.headers.get("Retry-After"), asked)
            self._ledger.note(wait, first=not waits)
            waits.append(wait)
            budget.spend(asked)
            return asked

        try:
            for attempt in stamina.retry_context(
                on=backoff, attempts=self._policy.max_retries + 1, timeout=None
            ):
                with attempt:
                    # the first time round, ``pending`` is the answer of the attempt sent before the loop
                    if pending is None:
                        response = self._inner.handle_request(request)
                        request.extensions[WAITED] = tuple(wait.describe() for wait in waits)
                        pending = _to_wait_out(response, judged)
                        if pending is None:
                            return response
                    throttled, pending = pending, None
                    throttled.response.read()
                    raise throttled
        except _Throttled as given_up:
            last = given_up.response
        self._ledger.note_gave_up()
        asked = last.headers.get("Retry-After")
        raise RateLimited(
            f"{request.method} {request.url.path}: still {last.status_code} after {len(waits)} "
            f"retr{'y' if len(waits) == 1 else 'ies'} ({sum(w.waited_s for w in waits):.0f} s waited; "
            f"last Retry-After: {asked if asked is not None else 'none'})"
        )

    def close(self) -> None:
        self._inner.close()


def _to_wait_out(response: httpx.Response, judged: frozenset[int]) -> _Throttled | None:
    """The throttling answer to wait out (one ``judged`` does not cover: a 429, or a 425/503 that says
    when to come back), or None for an answer to hand back."""
    status = response.status_code
    if status not in RETRYABLE or status in judged:
        return None
    wait_s = retry_after_seconds(response.headers.get("Retry-After"))
    if wait_s is None and status != 429:
        return None
    return _Throttled(response, wait_s)


@dataclass
class _Budget:
    """The wait left for one request, and for the run."""

    policy: RetryPolicy
    ledger: RetryLedger
    spent_s: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def allows(self, wait_s: float) -> bool:
        return (
            self.spent_s + wait_s <= self.policy.per_request_wait_s
            and self.ledger.waited_s + wait_s <= self.policy.per_run_wait_s
        )

    def spend(self, wait_s: float) -> None:
        self.spent_s += wait_s
