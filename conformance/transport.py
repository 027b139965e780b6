"""Every request the suite sends goes through one httpx client built here.

The client's transport is a stack, outermost first:

1. :class:`RetryingTransport` waits out 429/425/503 answers that carry ``Retry-After``;
2. :class:`GuardedTransport` asks the safety policy about each attempt (so a refused request never
   reaches a socket, and production's budgets count every attempt);
3. :class:`PacedTransport` holds each attempt until the client-side rate limit lets it go, counts it,
   and stops the run at ``--max-duration``;
4. :class:`WatchedTransport` turns network failures into verdict-neutral errors: one request not
   answered is inconclusive; a target that stops answering altogether stops the run.

The signed-JWT auth flow sits above the transport, so token requests pass the whole stack too. A
recorder hands each final exchange to the report.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from conformance.auth import SignedJWTAuth
from conformance.environments import Target
from conformance.errors import RequestNotAnswered, TargetUnreachable
from conformance.exchange import Exchange
from conformance.pacing import Pacer
from conformance.retries import RetryingTransport, RetryLedger, RetryPolicy
from conformance.safety import SafetyPolicy
from conformance.traffic import RunClock, Traffic

DEFAULT_TIMEOUT_S = 35.0  # the live backend times out at 29 s and then answers 504: leave room for that
CONNECT_TIMEOUT_S = 10.0
#: how long the liveness check after a failed request may take
LIVENESS_TIMEOUT_S = 5.0
#: this many failed requests in a row stop the run even while the liveness check still passes
MAX_FAILURES_IN_A_ROW = 3
USER_AGENT = "notify-conformance"
#: request extension: send once, never retry (a test about the 429/425/503 itself)
NO_RETRY = "notify_no_retry"
#: request extension: statuses the test judges itself, returned at once instead of waited out
JUDGED = "notify_judged"
#: request extension: statuses the test judges when they come again after their wait (a trigger's answer)
JUDGED_IF_REPEATED = "notify_judged_if_repeated"


class GuardedTransport(httpx.BaseTransport):
    """Asks the safety policy about each request before handing it to the real transport."""

    def __init__(self, policy: SafetyPolicy, inner: httpx.BaseTransport) -> None:
        self._policy = policy
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self._policy.check(request.method, str(request.url), body)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class PacedTransport(httpx.BaseTransport):
    """Waits for the pacer, checks the run's clock, counts what is sent."""

    def __init__(self, inner: httpx.BaseTransport, pacer: Pacer | None, traffic: Traffic, clock: RunClock):
        self._inner = inner
        self._pacer = pacer
        self._traffic = traffic
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._clock.check()
        if self._pacer is not None:
            self._pacer.wait_turn()
        url = str(request.url)
        self._traffic.note_sent(request.method, url)
        response = self._inner.handle_request(request)
        self._traffic.note_answer(request.method, url, response.status_code)
        return response

    def close(self) -> None:
        self._inner.close()


@dataclass
class TargetHealth:
    """Failed requests in a row, shared by every client of one target."""

    liveness_url: str
    failures_in_a_row: int = 0
    down: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class WatchedTransport(httpx.BaseTransport):
    """Network failures become :class:`RequestNotAnswered` (this test) or :class:`TargetUnreachable`
    (the run): after a failure the target's liveness URL is asked once, briefly; if that fails too, or
    failures keep coming, the target is down and nothing more is sent to it."""

    def __init__(self, inner: httpx.BaseTransport, health: TargetHealth, traffic: Traffic) -> None:
        self._inner = inner
        self._health = health
        self._traffic = traffic

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        health = self._health
        if health.down is not None:
            raise TargetUnreachable(health.down)
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as error:
            self._traffic.note_failure()
            raise self._failed(request, error) from None
        with health._lock:
            health.failures_in_a_row = 0
        return response

    def _failed(self, request: httpx.Request, error: httpx.TransportError) -> BaseException:
        health = self._health
        what = _describe(request, error)
        with health._lock:
            health.failures_in_a_row += 1
            in_a_row = health.failures_in_a_row
        if in_a_row >= MAX_FAILURES_IN_A_ROW:
            health.down = (
                f"the target stopped answering: {in_a_row} requests in a row failed, the last: {what}"
            )
        elif not self._alive():
            health.down = (
                f"the target stopped answering ({what}; {health.liveness_url} does not answer either)"
            )
        if health.down is not None:
            return TargetUnreachable(health.down)
        return RequestNotAnswered(what)

    def _alive(self) -> bool:
        probe = httpx.Request("GET", self._health.liveness_url, headers={"User-Agent": USER_AGENT})
        probe.extensions["timeout"] = httpx.Timeout(LIVENESS_TIMEOUT_S).as_dict()
        try:
            self._inner.handle_request(probe).close()
        except httpx.TransportError:
            return False
        return True

    def close(self) -> None:
        self._inner.close()


def _describe(request: httpx.Request, error: httpx.TransportError) -> str:
    where = f"{request.method} {request.url.host}:{request.url.port or ''}{request.url.path}"
    if isinstance(error, httpx.TimeoutException):
        return f"{where} got no answer in time ({type(error).__name__})"
    return f"{where} failed: {type(error).__name__}: {error}"


@dataclass
class Recorder:
    """Tells its listeners (the report) about every exchange. It keeps none itself: a property test
    sends thousands, and the report decides what of them to attach."""

    listeners: list[Callable[[Exchange], None]] = field(default_factory=list)

    def record(self, response: httpx.Response) -> None:
        if not self.listeners:
            return
        response.read()
        exchange = Exchange.from_httpx(response)
        for listener in list(self.listeners):
            listener(exchange)


@dataclass
class Conduct:
    """How a run talks to its targets: pacing, retries, timeouts, the clock, and what it counts.

    One per run, shared by every client, so the rate limit and the counts cover the whole run."""

    pacer: Pacer | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = DEFAULT_TIMEOUT_S
    clock: RunClock = field(default_factory=RunClock)
    traffic: Traffic = field(default_factory=Traffic)
    retries: RetryLedger = field(default_factory=RetryLedger)
    _health: dict[str, TargetHealth] = field(default_factory=dict)

    def summary(self) -> tuple[tuple[str, str], ...]:
        """For the terminal and the report: what was sent, how it was paced, what was waited out."""
        pacing = "off"
        if self.pacer is not None:
            pacing = f"{self.pacer.limit} (held requests back {self.pacer.waited_s:.0f} s in all)"
        return (
            ("Requests", self.traffic.describe()),
            ("Pacing", pacing),
            ("Throttling", self.retries.describe()),
        )

    def health(self, target: Target) -> TargetHealth:
        if target.base_url not in self._health:
            self._health[target.base_url] = TargetHealth(liveness_url=target.base_url + "/_ping")
        return self._health[target.base_url]

    def transport(self, policy: SafetyPolicy, target: Target) -> httpx.BaseTransport:
        network = WatchedTransport(network_transport(), self.health(target), self.traffic)
        paced = PacedTransport(network, self.pacer, self.traffic, self.clock)
        guarded = GuardedTransport(policy, paced)
        return RetryingTransport(guarded, self.retry, self.retries, NO_RETRY, JUDGED, JUDGED_IF_REPEATED)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once per process: building them reads the whole CA bundle
    (about 17 ms), and a run's dozen clients would each build the same ones."""
    return httpx.create_ssl_context()


def network_transport() -> httpx.HTTPTransport:
    """The transport that opens the connections, with httpx's defaults and the process's TLS context."""
    return httpx.HTTPTransport(verify=_tls_context())


def auth_for(target: Target) -> SignedJWTAuth | None:
    """The auth flow a target needs, or None (sandbox)."""
    if not target.auth_required or target.credentials is None or target.token_url is None:
        return None
    creds = target.credentials
    return SignedJWTAuth.from_key_file(
        token_url=target.token_url,
        api_key=creds.api_key,
        kid=creds.kid,
        key_path=creds.private_key_path,
        passphrase=creds.passphrase,
    )


def build_client(
    *,
    policy: SafetyPolicy,
    target: Target,
    conduct: Conduct | None = None,
    recorder: Recorder | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """An httpx client for ``target`` whose every request passes the stack above and lands in the recorder.
    Without a ``conduct`` the client is unpaced, with the default timeout and retries."""
    conduct = conduct or Conduct()
    hooks: dict[str, list[Callable[..., object]]] = {"request": [], "response": []}
    if recorder is not None:
        hooks["response"].append(recorder.record)
    return httpx.Client(
        transport=conduct.transport(policy, target),
        auth=auth,
        timeout=httpx.Timeout(conduct.timeout_s, connect=min(CONNECT_TIMEOUT_S, conduct.timeout_s)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
        event_hooks=hooks,
    )
