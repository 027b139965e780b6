"""Facts about an exchange that decide which rules apply to it."""

from __future__ import annotations

from conformance.exchange import Exchange


def is_preflight(exchange: Exchange) -> bool:
    """A CORS preflight: OPTIONS carrying both Origin and Access-Control-Request-Method.

    The gateway answers these itself, before auth, negotiation and routing, so they follow their own rules.
    """
    headers = exchange.request_headers
    return exchange.method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def status_has_body(status: int) -> bool:
    """Whether HTTP allows a body for this status (1xx, 204 and 304 never have one)."""
    return not (100 <= status < 200 or status in (204, 304))


def is_canned_answer(exchange: Exchange) -> bool:
    """A sandbox ``Prefer: code=...`` trigger: its canned error is not about the request body."""
    prefer: str = exchange.request_headers.get("prefer", "")
    return prefer.strip().startswith("code=")
