"""Every request the suite sends goes through one httpx client built here.

The client is wired with, in order: the safety guard (a transport wrapper, so a refused request never
reaches a socket), the signed-JWT auth flow where the target needs it, and a recorder that hands each
exchange to the report. Network failures become :class:`TargetUnreachable`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from conformance.auth import SignedJWTAuth
from conformance.environments import Target
from conformance.errors import TargetUnreachable
from conformance.exchange import Exchange
from conformance.safety import SafetyPolicy

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "notify-conformance"


class GuardedTransport(httpx.BaseTransport):
    """Asks the safety policy about each request before handing it to the real transport."""

    def __init__(self, policy: SafetyPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self._policy.check(request.method, str(request.url), body)
        try:
            return self._inner.handle_request(request)
        except httpx.TimeoutException as error:
            raise TargetUnreachable(
                f"{request.url.host} did not answer in time ({type(error).__name__})"
            ) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ProxyError) as error:
            raise TargetUnreachable(f"cannot reach {request.url.host}:{request.url.port}: {error}") from None

    def close(self) -> None:
        self._inner.close()


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


def auth_for(target: Target) -> SignedJWTAuth | None:
    """The auth flow a target needs, or None (sandbox)."""
    if not target.auth_required or target.credentials is None or target.token_url is None:
        return None
    creds = target.credentials
    return SignedJWTAuth.from_key_file(
        token_url=target.token_url, api_key=creds.api_key, kid=creds.kid, key_path=creds.private_key_path
    )


def build_client(
    *,
    policy: SafetyPolicy,
    recorder: Recorder | None = None,
    auth: httpx.Auth | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    """An httpx client whose every request passes the guard and lands in the recorder."""
    hooks: dict[str, list[Callable[..., object]]] = {"request": [], "response": []}
    if recorder is not None:
        hooks["response"].append(recorder.record)
    return httpx.Client(
        transport=GuardedTransport(policy),
        auth=auth,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
        event_hooks=hooks,
    )
