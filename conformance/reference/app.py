"""The Starlette application: one catch-all route per prefix, each running its handler through
:func:`~conformance.reference.responses.finalise`.

* ``/comms`` and everything under it: the gateway pipeline.
* ``/oauth2/token``: the token endpoint (integration mode; 404 in sandbox mode, which has no OAuth).
* ``/_reference/traffic`` (GET): the per-application traffic counters as JSON (:mod:`.throttle`). It
  belongs to the reference, not the API, so it lives outside ``/comms`` and deliberate faults never
  touch it.
* ``/_reference/callbacks`` (GET): the callbacks sent so far, when the reference sends them
  (:mod:`.callback_delivery`); 404 otherwise. Outside ``/comms`` for the same reason.
* anything else: 404 CM_NOT_FOUND with the standard headers.

Runs of slashes in the path are collapsed before routing, as Apigee does (``{base}//v1/messages``).
An exception anywhere becomes 500 CM_INTERNAL_SERVER_ERROR, never a bare traceback page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference import faults, fixtures
from conformance.reference.backend import Backend
from conformance.reference.catalogue import INTERNAL_SERVER_ERROR, NOT_ALLOWED, NOT_FOUND, Problem
from conformance.reference.config import ReferenceConfig
from conformance.reference.context import RequestContext, build_context, collapse_slashes
from conformance.reference.gateway import Gateway
from conformance.reference.integration import IntegrationBackend
from conformance.reference.oauth import ClientRegistry, token_reply
from conformance.reference.responses import Reply, Rewrite, finalise, problem_reply
from conformance.reference.sandbox import SandboxBackend
from conformance.reference.store import MessageStore
from conformance.reference.throttle import TRAFFIC_PATH, Throttle

if TYPE_CHECKING:
    from conformance.reference.callback_delivery import CallbackDelivery

logger = logging.getLogger("conformance.reference")
_DELIVERIES_PATH = "/_reference/callbacks"  # callback_delivery.DELIVERIES_PATH, without importing httpx

Handler = Callable[[RequestContext], Awaitable[Reply]]


class _Dispatch:
    """Route HTTP requests by path prefix, after collapsing runs of slashes (``raw_path`` keeps what the
    client sent). Done here rather than with Starlette routes, whose patterns do not match a decoded
    path containing a newline (``/v1/messages/%0A``); such paths must still get the gateway's answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: ASGIApp,
        api: ASGIApp,
        traffic: ASGIApp,
        deliveries: ASGIApp,
        fallback: ASGIApp,
    ) -> None:
        self.app = app
        self.token = token
        self.api = api
        self.traffic = traffic
        self.deliveries = deliveries
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan events go to Starlette
            return
        path = collapse_slashes(scope["path"]) if "//" in scope["path"] else scope["path"]
        scope = dict(scope, path=path)
        if path == "/oauth2/token":
            endpoint = self.token
        elif path == "/comms" or path.startswith("/comms/"):
            endpoint = self.api
        elif path == TRAFFIC_PATH:
            endpoint = self.traffic
        elif path == _DELIVERIES_PATH:
            endpoint = self.deliveries
        else:
            endpoint = self.fallback
        await endpoint(scope, receive, send)


class _Endpoint:
    """An ASGI endpoint (so Starlette routes every method to it) that builds the context and finalises."""

    def __init__(self, config: ReferenceConfig, handler: Handler, rewrite: Rewrite | None = None) -> None:
        self.config = config
        self.handler = handler
        #: set only when deliberate faults are installed (``ReferenceConfig.faults``)
        self.rewrite = rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = build_context(Request(scope, receive), self.config)
        try:
            reply = await self.handler(ctx)
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception:
            logger.exception("reference API failed on %s %s", ctx.method, ctx.path)
            reply = problem_reply(ctx, Problem(INTERNAL_SERVER_ERROR))
        await finalise(reply, ctx, self.rewrite)(scope, receive, send)


async def _not_found(ctx: RequestContext) -> Reply:
    return problem_reply(ctx, Problem(NOT_FOUND))


def make_backend(
    config: ReferenceConfig, store: MessageStore, delivery: CallbackDelivery | None = None
) -> Backend:
    if config.mode == "sandbox":
        return SandboxBackend(config.upstream_timeout_s)
    return IntegrationBackend(store, config.timeline_step_s, delivery)


def build_app(
    config: ReferenceConfig,
    registry: ClientRegistry,
    status_key: str,
    store: MessageStore | None = None,
    throttle: Throttle | None = None,
    delivery: CallbackDelivery | None = None,
) -> Starlette:
    """The ASGI app for one reference server; ``delivery`` sends the integration backend's callbacks."""
    fixtures.preload()
    throttle = throttle if throttle is not None else Throttle.for_config(config)
    store = store if store is not None else MessageStore.for_config(config)
    backend = make_backend(config, store, delivery)
    gateway = Gateway(config, backend, registry, status_key, throttle)
    injected = faults.install(config, gateway)

    async def token(ctx: RequestContext) -> Reply:
        if config.mode != "integration":
            return await _not_found(ctx)
        return await token_reply(ctx, registry)

    async def traffic(ctx: RequestContext) -> Reply:
        if ctx.method not in ("GET", "HEAD"):
            return problem_reply(ctx, Problem(NOT_ALLOWED), {"Allow": "GET, HEAD"})
        return Reply(status=200, body=throttle.traffic().as_json(), content_type="application/json")

    async def deliveries(ctx: RequestContext) -> Reply:
        if delivery is None:
            return await _not_found(ctx)
        if ctx.method not in ("GET", "HEAD"):
            return problem_reply(ctx, Problem(NOT_ALLOWED), {"Allow": "GET, HEAD"})
        return Reply(status=200, body=delivery.snapshot(), content_type="application/json")

    rewrite = injected.rewrite
    endpoints = {
        "token": _Endpoint(config, injected.wrap_token(token, registry), rewrite),
        "api": _Endpoint(config, gateway.handle, rewrite),
        "traffic": _Endpoint(config, traffic),
        "deliveries": _Endpoint(config, deliveries),
        "fallback": _Endpoint(config, _not_found, rewrite),
    }
    return Starlette(middleware=[Middleware(_Dispatch, **endpoints)])
