"""Send one callback as NHS Notify does: one small httpx client, POST, 30 s, no redirects followed, no
proxies or credentials taken from the environment, and a transport that refuses any URL but the ones given.

An answer is read up to :data:`MAX_BODY_BYTES` (a receiver's answer body means nothing to the sender).
Failures to get an HTTP answer are sorted into three kinds (:class:`~.deliveries.NoAnswer`): could not
connect, no answer in time, and something that is not HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import httpx

from conformance._version import __version__
from conformance.callbacks.deliveries import Attempt, Delivery, NoAnswer
from conformance.callbacks.schema import Kind
from conformance.exchange import Exchange

MAX_BODY_BYTES = 64 * 1024
USER_AGENT = f"notify-conformance/{__version__} (callbacks)"


class RefusedUrl(RuntimeError):
    """A request to a URL the user did not give: a bug, never sent."""


class _OnlyTheseUrls(httpx.BaseTransport):
    """Passes on only requests to the given URLs; everything else is refused before any byte is sent."""

    def __init__(self, allowed: Iterable[str], inner: httpx.BaseTransport) -> None:
        self._allowed = frozenset(str(httpx.URL(url)) for url in allowed)
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) not in self._allowed:
            raise RefusedUrl(f"refused to send to {request.url}: not a receiver URL given")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _problem(error: httpx.HTTPError, timeout_s: float) -> tuple[NoAnswer, str]:
    if isinstance(error, httpx.ConnectTimeout):
        return NoAnswer.CONNECT, f"could not connect within {timeout_s:g} s"
    if isinstance(error, httpx.TimeoutException):
        return NoAnswer.TIMEOUT, f"did not answer within {timeout_s:g} s"
    if isinstance(error, httpx.ConnectError):
        reason = str(error) or type(error).__name__
        if "refused" in reason.lower():
            reason = "connection refused"
        return NoAnswer.CONNECT, f"could not be reached ({reason})"
    if isinstance(error, httpx.RemoteProtocolError):
        text = str(error)
        if "without sending" in text or "disconnected" in text.lower():
            return NoAnswer.PROTOCOL, "closed the connection without an HTTP answer (nothing, or not HTTP)"
        return NoAnswer.PROTOCOL, f"answered something that is not HTTP ({text or 'unreadable'})"
    if isinstance(error, httpx.NetworkError):
        return NoAnswer.PROTOCOL, "closed the connection without an HTTP answer (reset)"
    return NoAnswer.PROTOCOL, f"gave no usable answer ({type(error).__name__})"


class Sender:
    """One client for the whole run; a context manager that closes it."""

    def __init__(
        self,
        urls: Mapping[Kind, str],
        timeout_s: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.urls = dict(urls)
        self.timeout_s = timeout_s
        self._client = httpx.Client(
            transport=_OnlyTheseUrls(self.urls.values(), transport or httpx.HTTPTransport()),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            headers={"user-agent": USER_AGENT},
        )

    def send(self, delivery: Delivery, number: int = 1) -> Attempt:
        url = self.urls[delivery.kind]
        request = self._client.build_request(
            "POST", url, content=delivery.body, headers=list(delivery.headers)
        )
        started = time.perf_counter()
        try:
            response = self._client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY_BYTES:
                        break
            finally:
                response.close()
        except httpx.HTTPError as error:
            no_answer, problem = _problem(error, self.timeout_s)
            latency = (time.perf_counter() - started) * 1000
            return Attempt(delivery, url, latency, no_answer=no_answer, problem=problem, number=number)
        latency = (time.perf_counter() - started) * 1000
        exchange = Exchange(
            method="POST",
            url=url,
            request_headers=httpx.Headers(request.headers),
            request_body=delivery.body,
            status=response.status_code,
            response_headers=httpx.Headers(response.headers),
            response_body=bytes(body[:MAX_BODY_BYTES]),
            elapsed_ms=latency,
        )
        return Attempt(delivery, url, latency, exchange=exchange, number=number)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
