"""Headers the gateway puts on every response, the CORS preflight answer, and the negotiated Content-Type.

See behaviour §1.7 (every response), §3.5 (CORS) and §3.6 (correlation id) in docs/behaviour.md.
"""

from __future__ import annotations

from conformance.checks._rules import violation
from conformance.checks._violation import Violation
from conformance.exchange import Exchange

CACHE_CONTROL = "no-cache, no-store, must-revalidate"
CONTENT_TYPE_OPTIONS = "nosniff"
EXPOSE_HEADERS = "x-correlation-id"
RESOURCE_POLICY = "cross-origin"
GENERATED_ID_PREFIX = "rrt"

PREFLIGHT_ALLOW_HEADERS = (
    "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
)
PREFLIGHT_MAX_AGE = "3628800"
PREFLIGHT_ALLOW_METHODS = "GET, PUT, POST, PATCH, DELETE"

JSON = "application/json"
JSON_API = "application/vnd.api+json"


def _shown(value: str | None) -> str:
    return "absent" if value is None else repr(value)


def _expect(exchange: Exchange, name: str, expected: str, code: str, out: list[Violation]) -> None:
    actual = exchange.response_headers.get(name)
    if actual != expected:
        out.append(violation(code, f"{name} is {_shown(actual)}, expected {expected!r}"))


def check_standard_headers(exchange: Exchange) -> list[Violation]:
    """Correlation id, caching, sniffing, no AWS leakage, and CORS headers for cross-origin requests."""
    out: list[Violation] = []
    _check_correlation_id(exchange, out)
    _expect(exchange, "Cache-Control", CACHE_CONTROL, "HDR-004", out)
    _expect(exchange, "X-Content-Type-Options", CONTENT_TYPE_OPTIONS, "HDR-005", out)
    leaked = sorted(name for name in exchange.response_headers if name.lower().startswith("x-amz"))
    if leaked:
        out.append(violation("HDR-006", f"the response carries {', '.join(leaked)}"))
    # The gateway adds these for any request with an Origin except OPTIONS (behaviour §1.7).
    origin = exchange.request_headers.get("origin")
    if origin is not None and exchange.method != "OPTIONS":
        _expect(exchange, "Access-Control-Allow-Origin", origin, "HDR-007", out)
        _expect(exchange, "Access-Control-Expose-Headers", EXPOSE_HEADERS, "HDR-008", out)
        _expect(exchange, "Cross-Origin-Resource-Policy", RESOURCE_POLICY, "HDR-009", out)
    return out


def _check_correlation_id(exchange: Exchange, out: list[Violation]) -> None:
    # An empty header counts as absent: the gateway falls back to its own message id for a falsy value.
    sent = exchange.request_headers.get("x-correlation-id") or None
    received = exchange.response_headers.get("x-correlation-id")
    if sent is not None:
        if received is None:
            out.append(
                violation("HDR-001", f"the client sent {sent!r} but the response has no X-Correlation-Id")
            )
        elif received != sent:
            out.append(violation("HDR-002", f"the client sent {sent!r}, the response has {received!r}"))
        return
    if not received:
        out.append(
            violation("HDR-001", f"no id was sent and the response's X-Correlation-Id is {_shown(received)}")
        )
    elif not received.startswith(GENERATED_ID_PREFIX):
        out.append(violation("HDR-003", f"the generated id is {received!r}"))


def check_preflight(exchange: Exchange) -> list[Violation]:
    """The gateway's fixed answer to a CORS preflight (behaviour §3.5)."""
    out: list[Violation] = []
    if exchange.status != 200:
        out.append(violation("CORS-001", f"the preflight got HTTP {exchange.status}"))
    origin = exchange.request_headers.get("origin", "")
    _expect(exchange, "Access-Control-Allow-Origin", origin, "CORS-002", out)
    _expect(exchange, "Access-Control-Allow-Headers", PREFLIGHT_ALLOW_HEADERS, "CORS-003", out)
    _expect(exchange, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE, "CORS-004", out)
    _expect(exchange, "Access-Control-Allow-Methods", PREFLIGHT_ALLOW_METHODS, "CORS-005", out)
    _expect(exchange, "Cross-Origin-Resource-Policy", RESOURCE_POLICY, "CORS-006", out)
    credentials = exchange.response_headers.get("access-control-allow-credentials")
    if credentials is not None:
        out.append(violation("CORS-007", f"Access-Control-Allow-Credentials is {credentials!r}"))
    if exchange.response_body:
        out.append(
            violation("CORS-008", f"the preflight answer carried {len(exchange.response_body)} bytes of body")
        )
    return out


def expected_content_type(exchange: Exchange) -> str:
    """``application/json`` only for ``Accept: application/json`` exactly; JSON:API for anything else."""
    return JSON if exchange.request_headers.get("accept") == JSON else JSON_API


def check_content_type(exchange: Exchange) -> list[Violation]:
    """The response Content-Type, for responses that have a body, is exactly the negotiated one."""
    if not exchange.response_body:
        return []
    expected = expected_content_type(exchange)
    actual = exchange.response_headers.get("content-type")
    if actual is None:
        return [violation("CT-001", f"no Content-Type; expected {expected!r}")]
    out: list[Violation] = []
    media_type, semicolon, _parameters = actual.partition(";")
    if media_type.strip() != expected:
        accept = exchange.request_headers.get("accept")
        out.append(
            violation(
                "CT-002", f"Content-Type is {actual!r}, expected {expected!r} for Accept {_shown(accept)}"
            )
        )
    if semicolon:
        out.append(violation("CT-003", f"Content-Type is {actual!r}"))
    return out
