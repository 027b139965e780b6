"""Upstream sandbox suite, authentication (upstream-tests.md §3.1), against our sandbox mode.

The sandbox has no OAuth: magic Authorization values and Prefer codes stand in for auth failures, and
they fire before negotiation and routing, so even the non-route `/v1/api/send` answers 401/403.

Not reproduced here (api suite only, they need the live OAuth layer):
- test_401_invalid with `Authorization: invalid` (the sandbox accepts any other Authorization value).
- test_401_invalid_level (an Apigee level0 application token).
- test_user_token_get (a CIS2 user-restricted token).
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


every_request = pytest.mark.parametrize(
    ("endpoint", "method", "correlation_id"),
    [
        pytest.param(endpoint, method, corr, id=f"{method}-{endpoint}-{up.correlation_label(corr)}")
        for endpoint in up.VALID_ENDPOINTS
        for method in up.METHODS
        for corr in up.CORRELATION_IDS
    ],
)
by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)


@every_request
def test_401_invalid(
    http: httpx.Client, base: str, endpoint: str, method: str, correlation_id: str | None
) -> None:
    headers = up.with_correlation(correlation_id, Authorization="Bearer InvalidMockToken")
    response = up.send(http, method, f"{base}{endpoint}", headers)
    up.assert_error(response, 401, up.DENIED, correlation_id)


@every_request
def test_401_invalid_prefer(
    http: httpx.Client, base: str, endpoint: str, method: str, correlation_id: str | None
) -> None:
    response = up.send(
        http, method, f"{base}{endpoint}", up.with_correlation(correlation_id, Prefer="code=401")
    )
    up.assert_error(response, 401, up.DENIED, correlation_id)


@every_request
def test_403_forbidden(
    http: httpx.Client, base: str, endpoint: str, method: str, correlation_id: str | None
) -> None:
    headers = up.with_correlation(correlation_id, Authorization="Bearer ClientNotRecognised")
    response = up.send(http, method, f"{base}{endpoint}", headers)
    up.assert_error(response, 403, up.FORBIDDEN, correlation_id)


@every_request
def test_403_forbidden_prefer(
    http: httpx.Client, base: str, endpoint: str, method: str, correlation_id: str | None
) -> None:
    response = up.send(
        http, method, f"{base}{endpoint}", up.with_correlation(correlation_id, Prefer="code=403")
    )
    up.assert_error(response, 403, up.FORBIDDEN, correlation_id)


@by_correlation
def test_403_service_ban(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """`Authorization: banned` is a backend trigger, so it only bites on a request that gets that far."""
    headers = up.with_correlation(correlation_id, Authorization="banned", **up.JSON_HEADERS)
    response = up.send(http, "POST", f"{base}/v1/message-batches", headers, json=up.batch_body())
    up.assert_error(response, 403, up.SERVICE_BAN, correlation_id)


@by_correlation
def test_prefer_403_service_ban(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    headers = up.with_correlation(correlation_id, Prefer="code=403.1", **up.JSON_HEADERS)
    response = up.send(http, "POST", f"{base}/v1/message-batches", headers, json=up.batch_body())
    up.assert_error(response, 403, up.SERVICE_BAN, correlation_id)
