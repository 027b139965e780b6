"""Upstream sandbox suite, routing (upstream-tests.md §3.4): 404 for unknown paths, 405 for wrong methods.

The 405 matrix keeps upstream's double-slash URLs (`{base}//v1/...`) and sends no X-Correlation-Id, so the
generated `rrt...` id is what gets checked.

Not reproduced here (api suite only):
- test_404_not_found with a bearer token (the same request shape, against the live proxy).
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


@pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)
@pytest.mark.parametrize("method", up.METHODS)
def test_404_not_found(http: httpx.Client, base: str, method: str, correlation_id: str | None) -> None:
    headers = up.with_correlation(correlation_id, Accept="*/*", **{"Content-Type": up.PLAIN_JSON})
    response = up.send(http, method, f"{base}/v1/ignore/i-dont-exist", headers)
    up.assert_error(response, 404, up.NOT_FOUND, correlation_id)


WRONG_METHODS = [
    *[
        (endpoint, method)
        for endpoint in ("/v1/message-batches", "/v1/messages")
        for method in ("GET", "PUT", "PATCH", "DELETE", "HEAD")
    ],
    *[("/v1/messages/dummy-id", method) for method in ("POST", "PUT", "PATCH", "DELETE")],
]


@pytest.mark.parametrize(
    ("endpoint", "method"), [pytest.param(e, m, id=f"{m}-{e}") for e, m in WRONG_METHODS]
)
def test_405_message_batch_invalid_method(http: httpx.Client, base: str, endpoint: str, method: str) -> None:
    """A valid message body and a JSON Content-Type, so only the method is wrong."""
    response = up.send(
        http,
        method,
        f"{base}/{endpoint}",
        {"Content-Type": up.PLAIN_JSON},
        content=up.requests_style_json(up.message_body()),
    )
    up.assert_error(response, 405, up.NOT_ALLOWED, None)
