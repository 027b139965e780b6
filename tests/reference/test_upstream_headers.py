"""Upstream sandbox suite, response headers (upstream-tests.md §3.3): CORS, X-Correlation-Id, x-amz removal.

The x-amz test keeps upstream's double-slash URL (`{base}//v1/...`). Every row of §3.3 runs in the
sandbox suite, so nothing is skipped here.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


@pytest.mark.parametrize("requested_method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("endpoint", up.VALID_ENDPOINTS)
def test_cors_options(http: httpx.Client, base: str, endpoint: str, requested_method: str) -> None:
    """A preflight is answered before routing, so even the non-route `/v1/api/send` gets a 200."""
    headers = {"Accept": "*/*", "Origin": up.ORIGIN, "Access-Control-Request-Method": requested_method}
    response = up.send(http, "OPTIONS", f"{base}{endpoint}", headers)
    up.assert_not_retry_status(response)
    assert response.status_code == 200, up.describe(response)
    assert response.headers.get("Access-Control-Allow-Origin") == up.ORIGIN
    assert response.headers.get("Access-Control-Allow-Methods") == up.CORS_ALLOW_METHODS
    assert response.headers.get("Access-Control-Max-Age") == up.CORS_MAX_AGE
    assert response.headers.get("Access-Control-Allow-Headers") == up.CORS_ALLOW_HEADERS
    assert response.headers.get("Cross-Origin-Resource-Policy") == up.CORS_RESOURCE_POLICY


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("endpoint", up.VALID_ENDPOINTS)
def test_cors(http: httpx.Client, base: str, endpoint: str, method: str) -> None:
    """Ordinary (mostly error) responses to a request with Origin still carry the CORS headers."""
    response = up.send(http, method, f"{base}{endpoint}", {"Accept": "*/*", "Origin": up.ORIGIN})
    up.assert_not_retry_status(response)
    assert response.headers.get("Access-Control-Allow-Origin") == up.ORIGIN, up.describe(response)
    assert response.headers.get("Access-Control-Expose-Headers") == up.CORS_EXPOSE_HEADERS
    assert response.headers.get("Cross-Origin-Resource-Policy") == up.CORS_RESOURCE_POLICY


@pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)
@pytest.mark.parametrize("method", up.METHODS)
@pytest.mark.parametrize("endpoint", up.VALID_ENDPOINTS)
def test_request_with_x_correlation_id(
    http: httpx.Client, base: str, endpoint: str, method: str, correlation_id: str | None
) -> None:
    """Sent with a lower-case header name; echoed (or generated) on every method, HEAD and OPTIONS too."""
    response = up.send(http, method, f"{base}{endpoint}", {"x-correlation-id": correlation_id})
    up.assert_not_retry_status(response)
    up.assert_correlation_id(response, correlation_id)


@pytest.mark.parametrize("method", up.METHODS)
@pytest.mark.parametrize("endpoint", up.VALID_ENDPOINTS)
def test_request_with_x_amz_is_removed(http: httpx.Client, base: str, endpoint: str, method: str) -> None:
    response = up.send(http, method, f"{base}/{endpoint}", {"Accept": "*/*", "Origin": up.ORIGIN})
    up.assert_hygiene_headers(response)  # proves a gateway answered, so the absence below means something
    for name in ("X-Amzn-Trace-Id", "x-amzn-RequestId", "x-amz-apigw-id"):
        assert name not in response.headers, up.describe(response)
    leaked = [name for name in response.headers if name.lower().startswith("x-amz")]
    assert not leaked, f"x-amz headers leaked: {leaked}"
