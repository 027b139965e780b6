"""``/_ping`` and ``/_status`` (behaviour §1.8), answered by the gateway before any other stage."""

from __future__ import annotations

import hmac
from typing import Any

from conformance._version import __version__
from conformance.reference.catalogue import DENIED, Problem
from conformance.reference.context import RequestContext
from conformance.reference.responses import Reply, problem_reply

_RELEASE = {
    "version": f"notify-conformance-reference-{__version__}",
    "revision": "1",
    "releaseId": f"reference-{__version__}",
    "commitId": "0" * 40,
}


def ping() -> Reply:
    return Reply(status=200, body=dict(_RELEASE))


def status(ctx: RequestContext, status_key: str) -> Reply:
    """The health report, for callers that present the private ``apikey``; 401 CM_DENIED otherwise."""
    presented = ctx.header("apikey")
    if presented is None or not hmac.compare_digest(presented.encode(), status_key.encode()):
        return problem_reply(ctx, Problem(DENIED))
    outcome: dict[str, Any] = {
        "status": "pass",
        "ping": "pong",
        "service": "communications-manager",
        **_RELEASE,
    }
    body = {
        "status": "pass",
        **_RELEASE,
        "checks": {
            "healthcheck": {
                "status": "pass",
                "timeout": "false",
                "responseCode": 200,
                "outcome": outcome,
                "links": {"self": f"{ctx.public_base}/_status"},
            }
        },
    }
    return Reply(status=200, body=body)
