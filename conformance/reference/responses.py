"""The single exit for every response: :func:`finalise` applies the gateway's standard headers.

Stages and backends return a :class:`Reply` (status, JSON body, extra headers); nothing else builds a
Starlette response, so a fault layer can rewrite a reply or the finished response in one place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from conformance.reference.catalogue import Problem, error_document, response_status
from conformance.reference.context import RequestContext
from conformance.reference.negotiation import response_content_type

CACHE_CONTROL = "no-cache, no-store, must-revalidate"


@dataclass
class Reply:
    """What a stage decided: status, a JSON-able body (None = no body) and headers of its own."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: overrides the negotiated Content-Type (the token endpoint always answers application/json)
    content_type: str | None = None


def error_reply(
    ctx: RequestContext, problems: Sequence[Problem], headers: Mapping[str, str] | None = None
) -> Reply:
    """A JSON:API error reply whose status is that of the first problem."""
    return Reply(
        status=response_status(problems),
        body=error_document(problems, ctx.message_id),
        headers=dict(headers or {}),
    )


def problem_reply(ctx: RequestContext, problem: Problem, headers: Mapping[str, str] | None = None) -> Reply:
    return error_reply(ctx, [problem], headers)


def encode_json(body: Any) -> bytes:
    """Compact JSON, non-ASCII kept as UTF-8; a lone surrogate becomes a ``\\uXXXX`` escape, as in JS."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8", errors="backslashreplace")


def standard_headers(ctx: RequestContext) -> dict[str, str]:
    """The headers the gateway puts on every response (behaviour §1.7), before the reply's own."""
    headers = {
        "content-type": response_content_type(ctx.accept),
        "cache-control": CACHE_CONTROL,
        "x-content-type-options": "nosniff",
        "x-correlation-id": ctx.correlation_id,
    }
    if ctx.origin is not None and ctx.method != "OPTIONS":
        headers["access-control-allow-origin"] = ctx.origin
        headers["access-control-expose-headers"] = "x-correlation-id"
        headers["cross-origin-resource-policy"] = "cross-origin"
    return headers


@dataclass
class Outgoing:
    """A response about to be sent: what a deliberate fault (:mod:`.faults`) may still rewrite."""

    status: int
    #: lower-case names
    headers: dict[str, str]
    body: Any
    #: raw bytes to send instead of the encoded ``body`` (None = encode ``body``)
    content: bytes | None = None


#: Rewrites a finished response in place; only deliberate faults use it.
Rewrite = Callable[[Outgoing, RequestContext], None]


def finalise(reply: Reply, ctx: RequestContext, rewrite: Rewrite | None = None) -> Response:
    """Turn a reply into the wire response: standard headers, compact JSON, no ``x-amz*`` headers."""
    headers = standard_headers(ctx)
    for name, value in reply.headers.items():
        headers[name.lower()] = value
    if reply.content_type is not None:
        headers["content-type"] = reply.content_type
    for name in [name for name in headers if name.startswith("x-amz")]:
        del headers[name]
    outgoing = Outgoing(reply.status, headers, reply.body)
    if rewrite is not None:
        outgoing.body = copy.deepcopy(reply.body)  # bodies may be shared fixtures
        rewrite(outgoing, ctx)
    if outgoing.content is not None:
        content = outgoing.content
    else:
        content = b"" if outgoing.body is None else encode_json(outgoing.body)
    # uvicorn drops the body of a HEAD response itself and keeps Content-Length, as HTTP wants
    return Response(content=content, status_code=outgoing.status, headers=outgoing.headers)
