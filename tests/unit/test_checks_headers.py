"""Header rules: standard headers, CORS preflight, negotiated Content-Type, and the combined check."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import (
    RULES,
    Severity,
    check_content_type,
    check_exchange,
    check_preflight,
    check_standard_headers,
    is_preflight,
)
from conformance.exchange import Exchange

URL = "http://127.0.0.1:9000/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM"
ORIGIN = "https://my.website"
CORRELATION_ID = "76491414-d0cf-4655-ae20-a4d1368472f3"
BODY = b'{"data":{"type":"Message","id":"2WL3qFTEFM0qMY8xjRbt1LIKCzM"}}'
_DROP: Any = None

GOOD_HEADERS = {
    "Content-Type": "application/vnd.api+json",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "X-Content-Type-Options": "nosniff",
    "X-Correlation-Id": "rrt-1931948104716186917-c-geu2-10664-3111479-3",
}
CORS_HEADERS = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Access-Control-Expose-Headers": "x-correlation-id",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Access-Control-Allow-Headers": (
        "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
    ),
    "Access-Control-Max-Age": "3628800",
    "Access-Control-Allow-Methods": "GET, PUT, POST, PATCH, DELETE",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
PREFLIGHT_REQUEST = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}


def exchange(
    *,
    method: str = "GET",
    status: int = 200,
    request: dict[str, str] | None = None,
    changes: dict[str, Any] | None = None,
    base: dict[str, str] = GOOD_HEADERS,
    body: bytes = BODY,
) -> Exchange:
    """An exchange whose response headers are ``base`` with ``changes`` applied (None removes a header)."""
    headers = dict(base)
    for name, value in (changes or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return Exchange.build(
        method=method,
        url=URL,
        status=status,
        request_headers=request,
        response_headers=headers,
        response_body=body,
    )


def preflight(changes: dict[str, Any] | None = None, *, status: int = 200, body: bytes = b"") -> Exchange:
    return exchange(
        method="OPTIONS",
        status=status,
        request=PREFLIGHT_REQUEST,
        changes=changes,
        base=PREFLIGHT_HEADERS,
        body=body,
    )


def cross_origin(changes: dict[str, Any] | None = None) -> Exchange:
    return exchange(request={"Origin": ORIGIN}, changes=CORS_HEADERS | (changes or {}))


def codes(found: list[Any]) -> list[str]:
    return [v.code for v in found]


# ------------------------------------------------------------------------------------------------------
# Standard headers

STANDARD_CONFORMING = {
    "generated id": exchange(),
    "echoed id": exchange(
        request={"X-Correlation-Id": CORRELATION_ID}, changes={"X-Correlation-Id": CORRELATION_ID}
    ),
    "echoed id, request header in lower case": exchange(
        request={"x-correlation-id": CORRELATION_ID}, changes={"X-Correlation-Id": CORRELATION_ID}
    ),
    "echoed id, response header in odd case": exchange(
        request={"X-Correlation-ID": CORRELATION_ID},
        changes={"X-Correlation-Id": None, "x-CORRELATION-id": CORRELATION_ID},
    ),
    "cross-origin request": cross_origin(),
    "OPTIONS with Origin is not given CORS headers": exchange(method="OPTIONS", request={"Origin": ORIGIN}),
}


@pytest.mark.parametrize("ex", STANDARD_CONFORMING.values(), ids=STANDARD_CONFORMING.keys())
def test_conforming_standard_headers(ex: Exchange) -> None:
    assert check_standard_headers(ex) == []


STANDARD_VIOLATING: dict[str, tuple[Exchange, list[str]]] = {
    "no correlation id": (exchange(changes={"X-Correlation-Id": None}), ["HDR-001"]),
    "empty generated correlation id": (exchange(changes={"X-Correlation-Id": ""}), ["HDR-001"]),
    "sent id not returned": (
        exchange(request={"X-Correlation-Id": CORRELATION_ID}, changes={"X-Correlation-Id": None}),
        ["HDR-001"],
    ),
    "sent id replaced": (exchange(request={"X-Correlation-Id": CORRELATION_ID}), ["HDR-002"]),
    "sent id changed in case": (
        exchange(request={"X-Correlation-Id": "abc"}, changes={"X-Correlation-Id": "ABC"}),
        ["HDR-002"],
    ),
    "generated id not from the gateway": (exchange(changes={"X-Correlation-Id": "5f1c0a"}), ["HDR-003"]),
    "cache-control missing": (exchange(changes={"Cache-Control": None}), ["HDR-004"]),
    "cache-control different": (exchange(changes={"Cache-Control": "no-cache"}), ["HDR-004"]),
    "nosniff missing": (exchange(changes={"X-Content-Type-Options": None}), ["HDR-005"]),
    "aws trace header": (exchange(changes={"X-Amzn-Trace-Id": "Root=1-abc"}), ["HDR-006"]),
    "aws header in lower case": (exchange(changes={"x-amz-apigw-id": "abc"}), ["HDR-006"]),
    "allow-origin missing": (cross_origin({"Access-Control-Allow-Origin": None}), ["HDR-007"]),
    "allow-origin wildcard": (cross_origin({"Access-Control-Allow-Origin": "*"}), ["HDR-007"]),
    "expose-headers wrong": (
        cross_origin({"Access-Control-Expose-Headers": "X-Correlation-Id"}),
        ["HDR-008"],
    ),
    "resource policy missing": (cross_origin({"Cross-Origin-Resource-Policy": None}), ["HDR-009"]),
}


@pytest.mark.parametrize(("ex", "expected"), STANDARD_VIOLATING.values(), ids=STANDARD_VIOLATING.keys())
def test_non_conforming_standard_headers(ex: Exchange, expected: list[str]) -> None:
    assert codes(check_standard_headers(ex)) == expected


def test_a_non_gateway_generated_id_is_only_informational() -> None:
    [found] = check_standard_headers(exchange(changes={"X-Correlation-Id": "5f1c0a"}))
    assert found.severity is Severity.INFO
    assert all(RULES[code].severity is Severity.ERROR for code in RULES if code != "HDR-003")


# ------------------------------------------------------------------------------------------------------
# CORS preflight


def test_conforming_preflight() -> None:
    assert check_preflight(preflight()) == []


PREFLIGHT_VIOLATING: dict[str, tuple[Exchange, list[str]]] = {
    "answered 204": (preflight(status=204), ["CORS-001"]),
    "routed like a normal request": (preflight(status=404), ["CORS-001"]),
    "allow-origin wildcard": (preflight({"Access-Control-Allow-Origin": "*"}), ["CORS-002"]),
    "allow-headers reordered": (
        preflight({"Access-Control-Allow-Headers": "authorization, origin, x-requested-with, accept"}),
        ["CORS-003"],
    ),
    "max-age missing": (preflight({"Access-Control-Max-Age": None}), ["CORS-004"]),
    "allow-methods with OPTIONS": (
        preflight({"Access-Control-Allow-Methods": "GET, PUT, POST, PATCH, DELETE, OPTIONS"}),
        ["CORS-005"],
    ),
    "resource policy missing": (preflight({"Cross-Origin-Resource-Policy": None}), ["CORS-006"]),
    "allows credentials": (preflight({"Access-Control-Allow-Credentials": "true"}), ["CORS-007"]),
    "has a body": (preflight(body=b"{}"), ["CORS-008"]),
}


@pytest.mark.parametrize(("ex", "expected"), PREFLIGHT_VIOLATING.values(), ids=PREFLIGHT_VIOLATING.keys())
def test_non_conforming_preflight(ex: Exchange, expected: list[str]) -> None:
    assert codes(check_preflight(ex)) == expected


@pytest.mark.parametrize(
    ("method", "request_headers", "expected"),
    [
        ("OPTIONS", PREFLIGHT_REQUEST, True),
        ("OPTIONS", {"origin": ORIGIN, "access-control-request-method": "GET"}, True),
        ("OPTIONS", {"Origin": ORIGIN}, False),
        ("OPTIONS", {"Access-Control-Request-Method": "POST"}, False),
        ("GET", PREFLIGHT_REQUEST, False),
    ],
)
def test_what_counts_as_a_preflight(method: str, request_headers: dict[str, str], expected: bool) -> None:
    assert is_preflight(exchange(method=method, request=request_headers)) is expected


# ------------------------------------------------------------------------------------------------------
# Negotiated Content-Type


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/json", "application/json"),
        ("application/vnd.api+json", "application/vnd.api+json"),
        ("*/*", "application/vnd.api+json"),
        (None, "application/vnd.api+json"),
        ("", "application/vnd.api+json"),  # a 406 answer
        ("application/json; charset=utf-9", "application/vnd.api+json"),  # not exactly application/json
        ("xyz/abc", "application/vnd.api+json"),
    ],
)
def test_conforming_content_type(accept: str | None, content_type: str) -> None:
    request = {"Accept": accept} if accept is not None else {}
    assert check_content_type(exchange(request=request, changes={"Content-Type": content_type})) == []


def test_content_type_is_not_judged_without_a_body() -> None:
    assert check_content_type(exchange(method="HEAD", changes={"Content-Type": None}, body=b"")) == []


CONTENT_TYPE_VIOLATING: dict[str, tuple[Exchange, list[str]]] = {
    "missing": (exchange(changes={"Content-Type": None}), ["CT-001"]),
    "json when JSON:API was negotiated": (exchange(changes={"Content-Type": "application/json"}), ["CT-002"]),
    "JSON:API when json was asked for": (
        exchange(
            request={"Accept": "application/json"}, changes={"Content-Type": "application/vnd.api+json"}
        ),
        ["CT-002"],
    ),
    "json for a wildcard accept": (
        exchange(request={"Accept": "*/*"}, changes={"Content-Type": "application/json"}),
        ["CT-002"],
    ),
    "upper case media type": (exchange(changes={"Content-Type": "Application/Vnd.Api+Json"}), ["CT-002"]),
    "charset parameter": (
        exchange(changes={"Content-Type": "application/vnd.api+json; charset=utf-8"}),
        ["CT-003"],
    ),
    "wrong type with charset": (
        exchange(changes={"Content-Type": "text/html; charset=utf-8"}),
        ["CT-002", "CT-003"],
    ),
}


@pytest.mark.parametrize(
    ("ex", "expected"), CONTENT_TYPE_VIOLATING.values(), ids=CONTENT_TYPE_VIOLATING.keys()
)
def test_non_conforming_content_type(ex: Exchange, expected: list[str]) -> None:
    assert codes(check_content_type(ex)) == expected


def test_every_header_rule_has_a_violating_case() -> None:
    cases = [*STANDARD_VIOLATING.values(), *PREFLIGHT_VIOLATING.values(), *CONTENT_TYPE_VIOLATING.values()]
    covered = {code for _, expected in cases for code in expected}
    assert covered == {code for code in RULES if code.startswith(("HDR-", "CORS-", "CT-"))}


# ------------------------------------------------------------------------------------------------------
# The combined check the client runs on every response


def test_check_exchange_passes_a_conforming_response() -> None:
    assert check_exchange(cross_origin()) == []


def test_check_exchange_combines_document_header_and_content_type_rules() -> None:
    bad = exchange(changes={"Cache-Control": None, "Content-Type": "text/plain"}, body=b"oops")
    assert codes(check_exchange(bad)) == ["JSONAPI-002", "JSONAPI-001", "HDR-004", "CT-002"]


def test_check_exchange_judges_a_preflight_only_by_the_preflight_rules() -> None:
    # No correlation id, cache headers or body: none of that is asked of a preflight answer.
    assert check_exchange(preflight()) == []
    assert codes(check_exchange(preflight({"Access-Control-Max-Age": "60"}))) == ["CORS-004"]
