"""The integration reference's callback sender: each status change of each message it created is POSTed,
signed, to the receiver URLs it was given, following the delivery engine's rules (ops §1.1-§1.3).

* The body is one item, ``{"data": [item]}``, serialised as ``JSON.stringify`` writes it (compact,
  UTF-8); the signature is HMAC-SHA256 of exactly those bytes keyed with ``<application id>.<API key>``,
  as lowercase hex in ``x-hmac-sha256-signature``; the key goes in ``x-api-key``; ``Content-Type`` is
  what the delivery engine sends (``CallbackSettings.content_type``). ``meta.idempotencyKey`` is the
  SHA-256 of the item without its timestamp, so every attempt at one event carries the same key.
* Any 2xx is delivered. A 429 waits its ``Retry-After`` (seconds or an HTTP date; negative or absent:
  the normal backoff; longer than the retry window: given up, as live dead-letters a wait above 12 h).
  Any other 4xx, and TLS errors, are permanent: one attempt only. 5xx, timeouts and network errors are
  retried with stamina's jittered exponential backoff (``backoff_initial_s × 2^(n−1)`` plus up to
  ``jitter_s``, at most ``backoff_max_s``) until the first failure after ``retry_window_s``.
* One message's callbacks of one kind are sent in the order they happened: a later status waits until
  the earlier one is delivered or given up. Kinds and messages do not wait for each other.

It runs on its own thread with its own event loop, off the request path; :meth:`CallbackDelivery.stop`
cancels what is still waiting. State is bounded: at most ``max_pending`` callbacks wait at once (a message
that would go over gets none, counted as dropped), and the last ``keep`` attempts and outcomes are kept.

This module signs with its own few lines and never imports the ``callbacks`` command's package, which
judges receivers: a mistake in one is caught by the other.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import json
import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import stamina

from conformance import redaction
from conformance.reference.config import CallbackSettings
from conformance.reference.progress import Kind, Progression

__all__ = ["Attempt", "CallbackDelivery", "Outcome", "idempotency_key", "serialise", "sign"]

logger = logging.getLogger("conformance.reference.callbacks")

API_KEY_HEADER = "x-api-key"
SIGNATURE_HEADER = "x-hmac-sha256-signature"
#: where the reference shows what it sent (beside ``/_reference/traffic``)
DELIVERIES_PATH = "/_reference/callbacks"

Verdict = Literal["delivered", "retry", "permanent", "given up"]
Result = Literal["delivered", "permanent", "given up", "abandoned", "dropped"]
_STOP_TIMEOUT_S = 10.0


def serialise(document: Any) -> bytes:
    """The body as the sender writes it: compact JSON, members in insertion order, UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(body: bytes, application_id: str, api_key: str) -> str:
    """``x-hmac-sha256-signature``: HMAC-SHA256 of the body, keyed ``<application id>.<API key>``, hex."""
    key = f"{application_id}.{api_key}".encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def idempotency_key(item: dict[str, Any]) -> str:
    """SHA-256 (hex) of the item without ``attributes.timestamp`` and without ``meta`` (ops §1.2)."""
    content = {name: value for name, value in item.items() if name != "meta"}
    content["attributes"] = {k: v for k, v in item["attributes"].items() if k != "timestamp"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` as seconds (whole seconds, negative allowed, or an HTTP date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    if digits.isascii() and digits.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class Event:
    """One status change to report: what, where, when it happened, and the exact bytes to send."""

    kind: Kind
    url: str
    message_id: str
    status: str
    idempotency_key: str
    #: when the change happens (seconds since the epoch); it is not sent before
    due: float
    body: bytes


@dataclass(frozen=True)
class Attempt:
    """One POST of one event, as the sender saw it."""

    kind: Kind
    url: str
    message_id: str
    status: str
    idempotency_key: str
    #: 1 for the first attempt at the event
    number: int
    #: ``time.monotonic()`` when the request was sent, and how long the answer took
    sent_at: float
    latency_s: float
    #: the receiver's HTTP status, or None when there was no answer (``error`` says why)
    answer: int | None
    error: str | None
    retry_after: str | None
    verdict: Verdict


@dataclass(frozen=True)
class Outcome:
    """How one event ended, after every attempt."""

    kind: Kind
    url: str
    message_id: str
    status: str
    idempotency_key: str
    result: Result
    attempts: int


class _Retry(Exception):
    """An answer worth another attempt (5xx, timeout, network error, 429), for stamina's hook."""

    def __init__(self, retry_after: float | None = None, throttled: bool = False) -> None:
        super().__init__("retry")
        self.retry_after = retry_after
        self.throttled = throttled


class CallbackDelivery:
    """Sends the callbacks of every message handed to :meth:`submit`; start it, stop it, inspect it.

    Thread-safe: :meth:`submit` is called from the reference's request handlers, the inspection methods
    from anywhere.
    """

    def __init__(self, settings: CallbackSettings) -> None:
        self.settings = settings
        redaction.register(settings.api_key, f"{settings.application_id}.{settings.api_key}")
        self._lock = threading.Condition()
        self._attempts: deque[Attempt] = deque(maxlen=settings.keep)
        self._outcomes: deque[Outcome] = deque(maxlen=settings.keep)
        self._counts: dict[str, int] = dict.fromkeys(
            ("attempts", "delivered", "permanent", "given up", "abandoned", "dropped"), 0
        )
        self._pending = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._gate: asyncio.Semaphore | None = None
        self._stopped = False

    # --------------------------------------------------------------------------------------------------
    # Life cycle

    def start(self) -> CallbackDelivery:
        """Start the sender's thread and loop; return once it accepts work."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_until_complete,
            args=(self._main(),),
            name="notify-reference-callbacks",
            daemon=True,
        )
        self._thread.start()
        self._ready.wait(_STOP_TIMEOUT_S)
        return self

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._gate = asyncio.Semaphore(self.settings.concurrency)
        timeout = httpx.Timeout(self.settings.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False) as client:
            self._client = client
            self._ready.set()
            await self._stopping.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        """Cancel what still waits (counted as abandoned) and end the thread; safe to call twice."""
        with self._lock:
            self._stopped = True
        loop, thread, stopping = self._loop, self._thread, self._stopping
        if loop is None or thread is None or stopping is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
            thread.join(_STOP_TIMEOUT_S)
        if not thread.is_alive() and not loop.is_closed():
            loop.close()
        with self._lock:  # handed over but never started: abandoned too
            self._counts["abandoned"] += self._pending
            self._pending = 0
            self._lock.notify_all()

    def __enter__(self) -> CallbackDelivery:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------------------------------------------
    # Work

    def events_for(self, progression: Progression, public_base: str) -> list[Event]:
        """The callbacks one message's timeline produces, for the URLs configured."""
        urls: dict[Kind, str | None] = {
            "message-status": self.settings.message_status_url,
            "channel-status": self.settings.channel_status_url,
        }
        message_url = f"{public_base}/v1/messages/{progression.message_id}"
        events = []
        for change, item in progression.callback_items(message_url):
            url = urls[change.kind]
            if url is None:
                continue
            key = idempotency_key(item)
            item["meta"] = {"idempotencyKey": key}
            events.append(
                Event(
                    kind=change.kind,
                    url=url,
                    message_id=progression.message_id,
                    status=change.status,
                    idempotency_key=key,
                    due=progression.at(change),
                    body=serialise({"data": [item]}),
                )
            )
        return events

    def submit(self, progression: Progression, public_base: str) -> bool:
        """Send one message's callbacks as their changes happen; False when they were dropped (full, or
        stopped)."""
        events = self.events_for(progression, public_base)
        loop = self._loop
        with self._lock:
            if self._stopped or loop is None or self._pending + len(events) > self.settings.max_pending:
                self._counts["dropped"] += len(events)
                for event in events:
                    self._outcomes.append(_outcome(event, "dropped", 0))
                if not self._stopped:
                    logger.warning(
                        "callbacks of message %s dropped: too many pending", progression.message_id
                    )
                return False
            self._pending += len(events)
        chains: dict[tuple[str, str], list[Event]] = {}
        for event in events:
            chains.setdefault((event.kind, event.url), []).append(event)
        for chain in chains.values():
            try:
                loop.call_soon_threadsafe(self._begin, chain)
            except RuntimeError:  # the loop closed since the check above: stopping
                for event in chain:
                    self._finish(_outcome(event, "abandoned", 0))
        return True

    def _begin(self, chain: list[Event]) -> None:
        if self._stopping is None or self._stopping.is_set():
            for event in chain:
                self._finish(_outcome(event, "abandoned", 0))
            return
        task = asyncio.get_running_loop().create_task(self._run_chain(chain))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_chain(self, chain: list[Event]) -> None:
        """One message's events of one kind, in order; each waits for its moment."""
        remaining = list(chain)
        try:
            while remaining:
                event = remaining[0]
                await asyncio.sleep(max(0.0, event.due - time.time()))
                result, attempts = await self._deliver(event)
                remaining.pop(0)
                self._finish(_outcome(event, result, attempts))
        except asyncio.CancelledError:
            for event in remaining:
                self._finish(_outcome(event, "abandoned", 0))
            raise

    def _finish(self, outcome: Outcome) -> None:
        with self._lock:
            self._pending -= 1
            self._counts[outcome.result] += 1
            self._outcomes.append(outcome)
            self._lock.notify_all()

    async def _deliver(self, event: Event) -> tuple[Result, int]:
        """Attempts at one event until it is delivered, permanently refused, or the window is over."""
        settings = self.settings
        started = time.monotonic()
        count = 0
        final: Result = "given up"

        def backoff(error: Exception) -> bool | float:
            if not isinstance(error, _Retry):
                return False
            wait = error.retry_after
            if not error.throttled or wait is None or wait < 0:
                return True  # stamina's own jittered exponential backoff
            if wait > settings.retry_window_s or time.monotonic() - started + wait > settings.retry_window_s:
                return False  # a wait past the window: given up now
            return wait

        try:
            async for attempt in stamina.retry_context(
                on=backoff,
                attempts=None,
                timeout=settings.retry_window_s,
                wait_initial=settings.backoff_initial_s,
                wait_max=settings.backoff_max_s,
                wait_jitter=settings.jitter_s,
                wait_exp_base=2,
            ):
                with attempt:
                    count += 1
                    final = await self._attempt(event, count)
        except _Retry:
            final = "given up"
            self._mark_last_given_up(event, count)
        return final, count

    def signature(self, body: bytes) -> str:
        """The signature sent with ``body`` (one place, so a deliberate fault can get it wrong)."""
        return sign(body, self.settings.application_id, self.settings.api_key)

    async def _attempt(self, event: Event, number: int) -> Result:
        """One POST; returns a final result or raises :class:`_Retry`."""
        assert self._client is not None and self._gate is not None
        headers = {
            "content-type": self.settings.content_type,
            API_KEY_HEADER: self.settings.api_key,
            SIGNATURE_HEADER: self.signature(event.body),
        }
        answer: int | None = None
        error: str | None = None
        retry_after: str | None = None
        async with self._gate:
            sent_at = time.monotonic()
            try:
                response = await self._client.post(event.url, content=event.body, headers=headers)
                answer = response.status_code
                retry_after = response.headers.get("retry-after")
            except httpx.TimeoutException:
                error = "timeout"
            except httpx.TransportError as failure:
                error = _describe(failure)
            latency = time.monotonic() - sent_at
        verdict: Verdict
        if answer is not None and 200 <= answer < 300:
            verdict = "delivered"
        elif answer == 429 or (answer is not None and answer >= 500) or (error and error != "tls"):
            verdict = "retry"
        else:
            verdict = "permanent"
        self._record(
            Attempt(
                event.kind,
                event.url,
                event.message_id,
                event.status,
                event.idempotency_key,
                number,
                sent_at,
                latency,
                answer,
                error,
                retry_after,
                verdict,
            )
        )
        if verdict == "retry":
            raise _Retry(retry_after_s(retry_after), throttled=answer == 429)
        return "delivered" if verdict == "delivered" else "permanent"

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self._counts["attempts"] += 1
            self._attempts.append(attempt)

    def _mark_last_given_up(self, event: Event, number: int) -> None:
        """The last attempt of an event given up says so (it was recorded as a retry)."""
        with self._lock:
            for index in range(len(self._attempts) - 1, -1, -1):
                attempt = self._attempts[index]
                if attempt.idempotency_key == event.idempotency_key and attempt.url == event.url:
                    if attempt.number == number:
                        self._attempts[index] = _replace_verdict(attempt, "given up")
                    break

    # --------------------------------------------------------------------------------------------------
    # Inspection

    def attempts(self) -> list[Attempt]:
        """The last ``keep`` attempts, oldest first."""
        with self._lock:
            return list(self._attempts)

    def outcomes(self) -> list[Outcome]:
        """How the last ``keep`` finished events ended, in the order they ended."""
        with self._lock:
            return list(self._outcomes)

    def counts(self) -> dict[str, int]:
        """Attempts, outcomes by result, and how many events are still pending."""
        with self._lock:
            return {**self._counts, "pending": self._pending}

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (every submitted event has ended); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /_reference/callbacks`` shows: the URLs, counters, attempts and outcomes."""
        with self._lock:
            return {
                "message_status_url": self.settings.message_status_url,
                "channel_status_url": self.settings.channel_status_url,
                "counts": {**self._counts, "pending": self._pending},
                "kept": self.settings.keep,
                "attempts": [asdict(attempt) for attempt in self._attempts],
                "outcomes": [asdict(outcome) for outcome in self._outcomes],
            }

    def summary(self) -> str:
        counts = self.counts()
        return (
            f"callbacks: {counts['delivered']} delivered in {counts['attempts']} attempts; "
            f"{counts['permanent']} refused for good, {counts['given up']} given up, "
            f"{counts['dropped']} dropped, {counts['abandoned'] + counts['pending']} not finished"
        )


def _outcome(event: Event, result: Result, attempts: int) -> Outcome:
    return Outcome(
        event.kind, event.url, event.message_id, event.status, event.idempotency_key, result, attempts
    )


def _replace_verdict(attempt: Attempt, verdict: Verdict) -> Attempt:
    return Attempt(**{**asdict(attempt), "verdict": verdict})


def _describe(failure: httpx.TransportError) -> str:
    """A short name for a failure with no answer; ``tls`` is permanent (ops §1.3)."""
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "tls"
        cause = cause.__cause__ or cause.__context__
    return type(failure).__name__
