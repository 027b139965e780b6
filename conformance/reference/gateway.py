"""The gateway pipeline: the processing order of behaviour §3.1, one small stage per step.

Each stage looks at the request context and either answers (returns a :class:`Reply`) or passes
(returns None). The order, per mode:

1. CORS preflight (OPTIONS with Origin and Access-Control-Request-Method): 200, before anything else.
2. ``/_ping`` and ``/_status`` (GET/HEAD), answered by the gateway itself.
3. sandbox: ``Prefer`` / mock-token triggers (408, 504, 503, 500, 401, 403, 403.1, 425, 422_batch,
   422_message); integration: access-token check (401), rate limiting (429, per application, see
   :mod:`.throttle`), then onboarding (403). Rate limiting needs the application the token names, so it
   comes straight after the token; the not-onboarded 403 is the backend's answer in live
   (behaviour §3.9 rule 5), so a refused client's requests still count.
4. 406 (Accept), then 415 (Content-Type on POST/PUT/PATCH, any path).
5. sandbox: ``Prefer: code=429``.
6. Route check: 404, then 405.
7. The operation: body size and validation (400/413) for the two POSTs, then the backend. Bodies over
   10 MiB are refused before validation; in integration mode valid bodies over ``max_body_bytes``
   (the live backend's 6 MB limit) are refused after it.

``Gateway.stages`` is a list of ``(name, stage)`` pairs so a fault layer can wrap or replace a stage by
name; every reply still leaves through :func:`conformance.reference.responses.finalise`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from conformance.reference import health, negotiation, routing
from conformance.reference.backend import Backend
from conformance.reference.catalogue import (
    DENIED,
    DUPLICATE_BATCH_REQUEST,
    DUPLICATE_MESSAGE_REQUEST,
    FORBIDDEN,
    GATEWAY_TIMEOUT,
    INTERNAL_SERVER_ERROR,
    NOT_ACCEPTABLE,
    QUOTA,
    REQUEST_TIMEOUT,
    RETRY_AFTER_TOO_EARLY,
    RETRY_TOO_EARLY,
    SERVICE_BAN,
    SERVICE_UNAVAILABLE,
    TOO_LARGE,
    UNSUPPORTED_MEDIA,
    ErrorKind,
    Problem,
)
from conformance.reference.config import TEN_MIB, ReferenceConfig
from conformance.reference.context import RequestContext
from conformance.reference.oauth import ClientRegistry, bearer_token
from conformance.reference.responses import Reply, error_reply, problem_reply
from conformance.reference.routing import MESSAGE_ID_PREFIX, ScenarioPath
from conformance.reference.throttle import Throttle
from conformance.reference.validation import problems_in
from conformance.spec import OperationId

Stage = Callable[[RequestContext], Awaitable[Reply | None]]
#: Parses and validates a POST body: ``(raw, batch=...) -> (parsed body, problems)``.
Validator = Callable[..., tuple[Any, list[Problem]]]

CORS_ALLOW_HEADERS = (
    "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
)
CORS_ALLOW_METHODS = "GET, PUT, POST, PATCH, DELETE"
CORS_MAX_AGE = "3628800"
RETRY_AFTER_QUOTA = "5"
#: Apigee's own payload ceiling: anything bigger is refused before validation
HARD_BODY_LIMIT = TEN_MIB


@dataclass(frozen=True)
class PreferTrigger:
    """A sandbox trigger: an exact ``Prefer`` value (or ``Authorization`` value) and its canned error."""

    prefer: str
    kind: ErrorKind
    authorization: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


#: In the order the sandbox proxy checks them (behaviour §4.1); 429 is separate, after content negotiation.
PREFER_TRIGGERS: tuple[PreferTrigger, ...] = (
    PreferTrigger("code=408", REQUEST_TIMEOUT),
    PreferTrigger("code=504", GATEWAY_TIMEOUT),
    PreferTrigger("code=503", SERVICE_UNAVAILABLE),
    PreferTrigger("code=500", INTERNAL_SERVER_ERROR),
    PreferTrigger("code=401", DENIED, authorization="Bearer InvalidMockToken"),
    PreferTrigger("code=403", FORBIDDEN, authorization="Bearer ClientNotRecognised"),
    PreferTrigger("code=403.1", SERVICE_BAN),
    PreferTrigger("code=425", RETRY_TOO_EARLY, headers={"Retry-After": RETRY_AFTER_TOO_EARLY}),
    PreferTrigger("code=422_batch", DUPLICATE_BATCH_REQUEST),
    PreferTrigger("code=422_message", DUPLICATE_MESSAGE_REQUEST),
)
PREFER_QUOTA = "code=429"


async def read_body(request: Request, limit: int) -> bytes | None:
    """The whole body, or None when it exceeds ``limit`` (the rest is drained, not kept)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        else:
            chunks.clear()
    return None if size > limit else b"".join(chunks)


class Gateway:
    """Runs the stages for one mode; the backend answers whatever the stages let through."""

    def __init__(
        self,
        config: ReferenceConfig,
        backend: Backend,
        registry: ClientRegistry,
        status_key: str,
        throttle: Throttle | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.registry = registry
        self.status_key = status_key
        self.throttle = throttle if throttle is not None else Throttle.for_config(config)
        #: body validation, kept as an attribute so a fault layer can replace it
        self.validate: Validator = problems_in
        if config.mode == "sandbox":
            checks: list[tuple[str, Stage]] = [("prefer-triggers", self.prefer_triggers)]
            after_negotiation: list[tuple[str, Stage]] = [("prefer-quota", self.prefer_quota)]
        else:
            checks = [
                ("access-token", self.access_token),
                ("rate-limit", self.rate_limit),
                ("onboarding", self.onboarding),
            ]
            after_negotiation = []
        self.stages: list[tuple[str, Stage]] = [
            ("cors-preflight", self.cors_preflight),
            ("health", self.health),
            *checks,
            ("not-acceptable", self.not_acceptable),
            ("unsupported-media", self.unsupported_media),
            *after_negotiation,
            ("route", self.route),
            ("operation", self.operation),
        ]

    async def handle(self, ctx: RequestContext) -> Reply:
        for _name, stage in self.stages:
            reply = await stage(ctx)
            if reply is not None:
                return reply
        raise RuntimeError("the gateway pipeline ended without an answer")

    async def cors_preflight(self, ctx: RequestContext) -> Reply | None:
        if (
            ctx.method != "OPTIONS"
            or ctx.origin is None
            or ctx.header("access-control-request-method") is None
        ):
            return None
        headers = {
            "Access-Control-Allow-Origin": ctx.origin,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
            "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        return Reply(status=200, headers=headers)

    async def health(self, ctx: RequestContext) -> Reply | None:
        if ctx.method not in ("GET", "HEAD"):
            return None
        if ctx.suffix == "/_ping":
            return health.ping()
        if ctx.suffix == "/_status":
            return health.status(ctx, self.status_key)
        return None

    async def prefer_triggers(self, ctx: RequestContext) -> Reply | None:
        prefer = ctx.header("prefer")
        authorization = ctx.header("authorization")
        for trigger in PREFER_TRIGGERS:
            if prefer == trigger.prefer or (
                trigger.authorization is not None and authorization == trigger.authorization
            ):
                return problem_reply(ctx, Problem(trigger.kind), trigger.headers)
        return None

    async def access_token(self, ctx: RequestContext) -> Reply | None:
        token = bearer_token(ctx.header("authorization"))
        client = self.registry.client_for_token(token) if token is not None else None
        if client is None:
            return problem_reply(ctx, Problem(DENIED))
        ctx.client = client
        return None

    async def rate_limit(self, ctx: RequestContext) -> Reply | None:
        """Count the request against its application; 429 CM_QUOTA when a limit throttles it."""
        if ctx.client is None:  # only when a fault has moved the token check later
            return None
        refusal = self.throttle.admit(ctx.client.app_name or ctx.client.kid, ctx.client.limits)
        if refusal is None:
            return None
        return problem_reply(ctx, refusal.problem, {"Retry-After": refusal.retry_after})

    async def onboarding(self, ctx: RequestContext) -> Reply | None:
        if ctx.client is not None and not ctx.client.onboarded:
            return problem_reply(ctx, Problem(FORBIDDEN))
        return None

    async def not_acceptable(self, ctx: RequestContext) -> Reply | None:
        if negotiation.accept_is_acceptable(ctx.accept):
            return None
        return problem_reply(ctx, Problem(NOT_ACCEPTABLE))

    async def unsupported_media(self, ctx: RequestContext) -> Reply | None:
        if negotiation.content_type_is_supported(ctx.method, ctx.header("content-type")):
            return None
        return problem_reply(ctx, Problem(UNSUPPORTED_MEDIA))

    async def prefer_quota(self, ctx: RequestContext) -> Reply | None:
        if ctx.header("prefer") != PREFER_QUOTA:
            return None
        return problem_reply(ctx, Problem(QUOTA), {"Retry-After": RETRY_AFTER_QUOTA})

    async def route(self, ctx: RequestContext) -> Reply | None:
        resolved = routing.resolve(self.config.mode, ctx.suffix or "", ctx.method)
        if isinstance(resolved, ErrorKind):
            return problem_reply(ctx, Problem(resolved))
        ctx.operation = resolved
        return None

    async def operation(self, ctx: RequestContext) -> Reply | None:
        operation = ctx.operation
        if operation is OperationId.CREATE_MESSAGE or operation is OperationId.CREATE_MESSAGE_BATCH:
            return await self._create(ctx, batch=operation is OperationId.CREATE_MESSAGE_BATCH)
        if operation is OperationId.GET_MESSAGE:
            return await self.backend.get_message(ctx, (ctx.suffix or "")[len(MESSAGE_ID_PREFIX) :])
        if operation is OperationId.GET_NHSAPP_ACCOUNT_DETAILS:
            return await self.backend.nhsapp_accounts(ctx)
        if isinstance(operation, ScenarioPath):
            return await self.backend.scenario_path(ctx, operation)
        raise RuntimeError("the operation stage ran before the route stage")

    async def _create(self, ctx: RequestContext, *, batch: bool) -> Reply:
        """Body limits and validation for the two POST operations, then the backend."""
        raw = await read_body(ctx.request, HARD_BODY_LIMIT)
        if raw is None:
            return problem_reply(ctx, Problem(TOO_LARGE))
        body, problems = self.validate(raw, batch=batch)
        if problems:
            return error_reply(ctx, problems)
        if self.config.mode == "integration" and len(raw) > self.config.max_body_bytes:
            # the live backend's payload limit; the sandbox backend takes anything up to the gateway's 10 MiB
            return problem_reply(ctx, Problem(TOO_LARGE))
        if batch:
            return await self.backend.create_batch(ctx, body)
        return await self.backend.create_message(ctx, body)
