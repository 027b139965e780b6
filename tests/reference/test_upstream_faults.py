"""Upstream sandbox suite, simulated faults (upstream-tests.md §3.5): Prefer triggers and /_timeout paths.

Several of these go to the bare base URL (`{base}` with no path): the Prefer triggers fire before routing,
so the unknown path never matters. Every row of §3.5 is sandbox-only, so nothing is skipped here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.server import ReferenceConfig, RunningReference, start
from tests.reference import upstream_assertions as up

# The sandbox's simulated upstream timeout is 10 s; a /_timeout asking for longer must give up by then.
SIMULATED_TIMEOUT_BUDGET_S = 11.0
# A second sandbox with a short upstream timeout runs the same path in a fraction of a second.
SHORT_UPSTREAM_TIMEOUT_S = 0.3


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


@pytest.fixture(scope="module")
def impatient_base() -> Iterator[str]:
    with start(ReferenceConfig(mode="sandbox", upstream_timeout_s=SHORT_UPSTREAM_TIMEOUT_S)) as server:
        yield server.base_url


by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)
by_method_and_correlation = pytest.mark.parametrize(
    ("method", "correlation_id"),
    [
        pytest.param(method, corr, id=f"{method}-{up.correlation_label(corr)}")
        for method in up.METHODS
        for corr in up.CORRELATION_IDS
    ],
)


@by_correlation
def test_408_timeout_prefer(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "GET", base, up.with_correlation(correlation_id, Prefer="code=408"))
    up.assert_error(response, 408, up.REQUEST_TIMEOUT, correlation_id)


@by_method_and_correlation
def test_too_many_requests_get(
    http: httpx.Client, base: str, method: str, correlation_id: str | None
) -> None:
    """429 comes after the 406/415 checks, hence the acceptable Accept and Content-Type."""
    headers = up.with_correlation(
        correlation_id, Prefer="code=429", Accept="*/*", **{"Content-Type": up.PLAIN_JSON}
    )
    response = up.send(http, method, base, headers)
    up.assert_error(response, 429, up.QUOTA, correlation_id)
    assert response.headers.get("Retry-After") == "5"


@by_method_and_correlation
def test_internal_server_error_get(
    http: httpx.Client, base: str, method: str, correlation_id: str | None
) -> None:
    headers = up.with_correlation(
        correlation_id, Prefer="code=500", Accept="*/*", **{"Content-Type": up.PLAIN_JSON}
    )
    response = up.send(http, method, base, headers)
    up.assert_error(response, 500, up.INTERNAL_SERVER_ERROR, correlation_id)


@by_correlation
def test_503_service_unavailable(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "GET", base, up.with_correlation(correlation_id, Prefer="code=503"))
    up.assert_error(response, 503, up.SERVICE_UNAVAILABLE, correlation_id)


@by_correlation
def test_503_for_invalid_certificate(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """The backend's AWS-style 403 {"message":"Forbidden"} is reported as the service being unavailable."""
    response = up.send(http, "GET", f"{base}/_invalid_certificate", up.with_correlation(correlation_id))
    up.assert_error(response, 503, up.SERVICE_UNAVAILABLE, correlation_id)


@by_correlation
def test_504_timeout(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "GET", f"{base}/_timeout_504", up.with_correlation(correlation_id))
    up.assert_error(response, 504, up.SERVICE_TIMEOUT, correlation_id)


@pytest.mark.slow
@by_correlation
def test_504_timeout_simulate(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """Asking the backend to sleep 13 s trips the 10 s upstream timeout; the answer must not take 13 s."""
    started = time.monotonic()
    response = up.send(
        http, "GET", f"{base}/_timeout", up.with_correlation(correlation_id), params={"sleep": "13000"}
    )
    elapsed = time.monotonic() - started
    up.assert_error(response, 504, up.SERVICE_TIMEOUT, correlation_id)
    assert elapsed < SIMULATED_TIMEOUT_BUDGET_S, f"took {elapsed:.1f} s"


def test_timeout_within_upstream_timeout_succeeds(http: httpx.Client, impatient_base: str) -> None:
    """Beyond upstream: a sleep shorter than the upstream timeout is simply waited out, 200 `{}`."""
    response = up.send(http, "GET", f"{impatient_base}/_timeout", params={"sleep": "50"})
    assert response.status_code == 200, up.describe(response)
    assert response.json() == {}
    up.assert_correlation_id(response, None)


@by_correlation
def test_504_timeout_beyond_short_upstream_timeout(
    http: httpx.Client, impatient_base: str, correlation_id: str | None
) -> None:
    """Beyond upstream: the 13 s case in miniature, so the fast run covers the 504 path and its timing."""
    started = time.monotonic()
    response = up.send(
        http,
        "GET",
        f"{impatient_base}/_timeout",
        up.with_correlation(correlation_id),
        params={"sleep": "5000"},
    )
    elapsed = time.monotonic() - started
    up.assert_error(response, 504, up.SERVICE_TIMEOUT, correlation_id)
    assert elapsed < SHORT_UPSTREAM_TIMEOUT_S + 1.0, f"took {elapsed:.1f} s"


@by_correlation
def test_504_timeout_prefer(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "GET", base, up.with_correlation(correlation_id, Prefer="code=504"))
    up.assert_error(response, 504, up.SERVICE_TIMEOUT, correlation_id)


@by_correlation
def test_408_server_timeout_rethrown_504(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """A backend 408 is the gateway's upstream timing out, so the client sees 504, not 408."""
    response = up.send(http, "GET", f"{base}/_timeout_408", up.with_correlation(correlation_id))
    up.assert_error(response, 504, up.SERVICE_TIMEOUT, correlation_id)


@by_correlation
def test_duplicate_message_request(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "POST", base, up.with_correlation(correlation_id, Prefer="code=422_message"))
    up.assert_error(response, 422, up.DUPLICATE_MESSAGE_REQUEST, correlation_id)


@by_correlation
def test_duplicate_batch_request(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    response = up.send(http, "POST", base, up.with_correlation(correlation_id, Prefer="code=422_batch"))
    up.assert_error(response, 422, up.DUPLICATE_BATCH_REQUEST, correlation_id)


@by_correlation
def test_425_retry_too_early(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """Retry-After: 300 is not asserted upstream; api-behaviour.md §3.9 and §4.3 say the gateway adds it."""
    headers = up.with_correlation(correlation_id, **up.JSON_HEADERS)
    body = up.batch_body(routing_plan_id=up.RETRY_TOO_EARLY_PLAN)
    response = up.send(http, "POST", f"{base}/v1/message-batches", headers, json=body)
    up.assert_error(response, 425, up.RETRY_TOO_EARLY, correlation_id)
    assert response.headers.get("Retry-After") == "300"


@by_correlation
def test_prefer_425_retry_too_early(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    headers = up.with_correlation(correlation_id, Prefer="code=425", **up.JSON_HEADERS)
    response = up.send(http, "POST", f"{base}/v1/message-batches", headers, json=up.batch_body())
    up.assert_error(response, 425, up.RETRY_TOO_EARLY, correlation_id)
    assert response.headers.get("Retry-After") == "300"
