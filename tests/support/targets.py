"""Targets for the real-world tests: the reference API (in-process, either mode) wrapped in one
deliberate misbehaviour, a recording reverse proxy in front of any running server, and small servers
that answer HTTP but are not the API at all.

Misbehaviours are ASGI middlewares around the real reference app, so everything they do not change is
the reference's own answer. The 429s they inject are built by the reference's own helpers
(``finalise(problem_reply(ctx, Problem(QUOTA)))``), so they carry exactly the catalogue body and the
headers every gateway answer carries (Content-Type, X-Correlation-Id echo, Cache-Control, ...).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference.app import build_app
from conformance.reference.catalogue import QUOTA, RETRY_AFTER_TOO_EARLY, RETRY_TOO_EARLY, Problem
from conformance.reference.config import Mode, ReferenceConfig
from conformance.reference.context import build_context
from conformance.reference.oauth import ClientRegistry, generate_client
from conformance.reference.responses import finalise, problem_reply
from conformance.reference.store import MessageStore
from tests.support.servers import TOKEN_PATH, LoopbackServer, Traffic, drain, wait_until

#: the longest any deliberate hang lasts, so nothing here can outlive a test by much
MAX_HANG_S = 300.0

RetryAfter = str | Callable[[], str]


def http_date_in(seconds: float) -> str:
    """An HTTP-date (RFC 9110 IMF-fixdate) ``seconds`` from now, for a Retry-After header."""
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


def _is_api(scope: Scope) -> bool:
    path: str = scope["path"]
    return path == "/comms" or path.startswith("/comms/")


async def quota_answer(
    config: ReferenceConfig, retry_after: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer 429 CM_QUOTA exactly as the reference would (catalogue body, standard headers)."""
    request = Request(scope, receive)
    await drain(receive)
    ctx = build_context(request, config)
    response = finalise(problem_reply(ctx, Problem(QUOTA), {"Retry-After": retry_after}), ctx)
    await response(scope, receive, send)


class Misbehaviour:
    """Wraps an app; :meth:`release` ends anything it is holding (called when the server stops)."""

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        raise NotImplementedError

    def release(self) -> None:
        return None


class Every429(Misbehaviour):
    """Every ``nth`` API request (under /comms, counted across the run) gets 429 CM_QUOTA with
    ``Retry-After`` (seconds, or an HTTP-date when given a callable such as ``lambda: http_date_in(2)``).
    Token requests are never touched. ``injected`` counts the 429s sent."""

    def __init__(self, nth: int = 5, retry_after: RetryAfter = "1") -> None:
        self.nth = nth
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._seen = 0
        self.injected = 0

    def _value(self) -> str:
        return self.retry_after() if callable(self.retry_after) else self.retry_after

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def every_nth(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and _is_api(scope):
                with self._lock:
                    self._seen += 1
                    hit = self._seen % self.nth == 0
                    if hit:
                        self.injected += 1
                if hit:
                    await quota_answer(config, self._value(), scope, receive, send)
                    return
            await app(scope, receive, send)

        return every_nth


class AlwaysQuota(Misbehaviour):
    """Every API request after the first ``pass_first`` gets 429 CM_QUOTA with ``Retry-After``."""

    def __init__(self, retry_after: RetryAfter = "1", pass_first: int = 0) -> None:
        self.retry_after = retry_after
        self.pass_first = pass_first
        self._lock = threading.Lock()
        self._seen = 0

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def always(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and _is_api(scope):
                with self._lock:
                    self._seen += 1
                    passes = self._seen <= self.pass_first
                if not passes:
                    value = self.retry_after() if callable(self.retry_after) else self.retry_after
                    await quota_answer(config, value, scope, receive, send)
                    return
            await app(scope, receive, send)

        return always


class HangAfter(Misbehaviour):
    """The first ``answered`` requests (any path) get the reference's answer; every later one is read
    and then never answered (the connection stays open) until the server stops or ``MAX_HANG_S``."""

    def __init__(self, answered: int = 2, limit_s: float = MAX_HANG_S) -> None:
        self.answered = answered
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._seen = 0
        self._released = threading.Event()
        #: set when the first request is held, at ``hung_at`` (``time.monotonic()``)
        self.hanging = threading.Event()
        self.hung_at: float | None = None

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def hang(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                with self._lock:
                    self._seen += 1
                    passes = self._seen <= self.answered
                if not passes:
                    await drain(receive)
                    if self.hung_at is None:
                        self.hung_at = time.monotonic()
                    self.hanging.set()
                    await wait_until(self._released, self.limit_s)
                    return  # uvicorn closes the connection without a response
            await app(scope, receive, send)

        return hang

    def release(self) -> None:
        self._released.set()


class TooEarlyOnCreates(Misbehaviour):
    """Every ``POST /comms/v1/messages`` after the first gets 425 CM_RETRY_TOO_EARLY with the gateway's
    ``Retry-After: 300``, as a create repeating a reference still in flight does; ``injected`` counts them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0
        self.injected = 0

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def too_early(scope: Scope, receive: Receive, send: Send) -> None:
            creates = scope["type"] == "http" and scope["method"] == "POST"
            if creates and scope["path"] == "/comms/v1/messages":
                with self._lock:
                    self._seen += 1
                    repeat = self._seen > 1
                    self.injected += repeat
                if repeat:
                    request = Request(scope, receive)
                    await drain(receive)
                    ctx = build_context(request, config)
                    headers = {"Retry-After": RETRY_AFTER_TOO_EARLY}
                    response = finalise(problem_reply(ctx, Problem(RETRY_TOO_EARLY), headers), ctx)
                    await response(scope, receive, send)
                    return
            await app(scope, receive, send)

        return too_early


class Slow(Misbehaviour):
    """Every request gets the reference's answer after ``delay_s`` seconds."""

    def __init__(self, delay_s: float = 0.3) -> None:
        self.delay_s = delay_s

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def slow(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(self.delay_s)
            await app(scope, receive, send)

        return slow


class TokenAnswer(Misbehaviour):
    """The token endpoint always gives this fixed answer; the API itself is the reference's."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type

    def wrap(self, app: ASGIApp, config: ReferenceConfig) -> ASGIApp:
        async def token(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == TOKEN_PATH:
                await drain(receive)
                headers = {"cache-control": "no-store"}
                response = Response(self.body, self.status, headers, media_type=self.content_type)
                await response(scope, receive, send)
                return
            await app(scope, receive, send)

        return token


KID_COMPLAINT = "Invalid 'kid' header in JWT"


def refuses_kid(status: int = 401) -> TokenAnswer:
    """The platform's answer to an unknown key id (seen with 400 and 401)."""
    body = {"error": "invalid_client", "error_description": KID_COMPLAINT, "message_id": "rrt-0000-kid"}
    return TokenAnswer(status, json.dumps(body).encode(), "application/json")


def token_html_page() -> TokenAnswer:
    """A sign-in page where a token should be (a proxy or a wrong URL): 200 text/html."""
    page = b"<!doctype html><html><head><title>Sign in</title></head><body><form></form></body></html>"
    return TokenAnswer(200, page, "text/html; charset=utf-8")


def token_without_access_token() -> TokenAnswer:
    """200 JSON that is no token: ``access_token`` is missing."""
    body = {"token_type": "Bearer", "expires_in": "599", "issued_at": str(int(time.time() * 1000))}
    return TokenAnswer(200, json.dumps(body).encode(), "application/json")


class ReferenceTarget:
    """The reference API (one mode) in-process on loopback, optionally misbehaving; records traffic."""

    def __init__(
        self,
        mode: Mode,
        misbehaviour: Misbehaviour | None = None,
        *,
        faults: frozenset[str] = frozenset(),
        name: str | None = None,
    ) -> None:
        self.mode = mode
        self.config = ReferenceConfig(mode=mode, faults=faults)
        self.registry = ClientRegistry(default_token_lifetime_s=self.config.token_lifetime_s)
        self.store = MessageStore()
        app: ASGIApp = build_app(self.config, self.registry, secrets.token_urlsafe(24), self.store)
        self.misbehaviour = misbehaviour
        if misbehaviour is not None:
            app = misbehaviour.wrap(app, self.config)
        label = name or f"{mode}-{type(misbehaviour).__name__ if misbehaviour else 'reference'}"
        self.server = LoopbackServer(app, label)

    @property
    def traffic(self) -> Traffic:
        return self.server.traffic

    @property
    def origin(self) -> str:
        return self.server.origin

    @property
    def base_url(self) -> str:
        return self.server.origin + "/comms"

    @property
    def token_url(self) -> str:
        return self.server.origin + TOKEN_PATH

    def start(self) -> ReferenceTarget:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.misbehaviour is not None:
            self.misbehaviour.release()
        self.server.stop()

    def __enter__(self) -> ReferenceTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_env(self, directory: Path) -> dict[str, str]:
        """A freshly generated client registered here, as the NOTIFY_* environment variables."""
        credentials = generate_client(self.registry, directory)
        return {
            "NOTIFY_API_KEY": credentials.api_key,
            "NOTIFY_KEY_ID": credentials.kid,
            "NOTIFY_PRIVATE_KEY": str(credentials.private_key_path),
        }

    def register(self, key: rsa.RSAPrivateKey, api_key: str, kid: str) -> None:
        """Register the public half of ``key`` as client ``kid`` with ``api_key``."""
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.registry.register(api_key, kid, public)

    def __repr__(self) -> str:
        return f"ReferenceTarget({self.mode!r}, {self.misbehaviour!r}, {self.origin!r})"


class ReverseProxy:
    """ASGI app forwarding every request unchanged (Host header included, so the upstream builds its
    links and token audience for the proxy's address) to ``upstream`` (an origin), and its answer back
    (uvicorn adds its own Date header, so the upstream's is dropped)."""

    _HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"})

    def __init__(self, upstream: str, timeout_s: float = 120.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await drain(receive)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("latin-1")
        query: bytes = scope.get("query_string", b"")
        url = self.upstream + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in self._HOP_BY_HOP
        ]
        # one client per request: nothing outlives the request, so nothing is left open at stop
        async with httpx.AsyncClient(trust_env=False, timeout=self.timeout_s) as client:
            request = client.build_request(scope["method"], httpx.URL(url), headers=headers, content=body)
            upstream = await client.send(request, stream=True)
            try:
                content = b"".join([chunk async for chunk in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
        out_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in upstream.headers.multi_items()
            if name.lower() not in self._HOP_BY_HOP and name.lower() not in ("content-length", "date")
        ]
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": out_headers})
        await send({"type": "http.response.body", "body": content if scope["method"] != "HEAD" else b""})


def start_proxy(upstream: str, name: str = "proxy") -> LoopbackServer:
    """A recording reverse proxy in front of ``upstream`` (an origin such as ``http://127.0.0.1:8000``)."""
    return LoopbackServer(ReverseProxy(upstream), name).start()


# --- servers that answer HTTP but are not the API -------------------------------------------------------


def _fixed(status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await drain(receive)
        response = Response(body, status, dict(headers or {}), media_type=content_type)
        await response(scope, receive, send)

    return app


def redirect_app(location: str) -> ASGIApp:
    """302 to ``location`` for every request (a login page or another host in front of the API)."""
    return _fixed(302, b"", "text/html", {"location": location})


WEB_PAGE = (
    b"<!DOCTYPE html><html lang='en'><head><title>Welcome</title></head>"
    b"<body><h1>It works</h1><p>This is a web server, not an API.</p></body></html>"
)


def html_app() -> ASGIApp:
    """200 text/html, the same web page for every request."""
    return _fixed(200, WEB_PAGE, "text/html; charset=utf-8")


def plain_404_app() -> ASGIApp:
    """404 text/plain for every request (a bare web server or a wrong port)."""
    return _fixed(404, b"404 page not found\n", "text/plain; charset=utf-8")


def start_app(app: ASGIApp, name: str, host: str = "127.0.0.1") -> LoopbackServer:
    return LoopbackServer(app, name, host).start()
