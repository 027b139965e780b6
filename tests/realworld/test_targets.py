"""The misbehaving targets really misbehave as the other tests assume: checked directly with httpx,
over loopback, without the suite (except its independent error catalogue, which judges our 429s)."""

from __future__ import annotations

import email.utils
import time
import uuid

import httpx
import pytest

from conformance.checks import check_error_response, check_exchange, expected_error
from conformance.exchange import Exchange
from conformance.suite import _bodies
from tests.realworld.conftest import StartServer, StartTarget
from tests.support.servers import peak_in_window
from tests.support.targets import (
    KID_COMPLAINT,
    AlwaysQuota,
    Every429,
    HangAfter,
    Slow,
    http_date_in,
    refuses_kid,
    start_proxy,
    token_html_page,
    token_without_access_token,
)

JSONAPI = "application/vnd.api+json"
UNKNOWN_MESSAGE = "/v1/messages/NotifyConformanceUnknownId0"


def _client(timeout: float = 10) -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=timeout)


def _get(client: httpx.Client, url: str, correlation_id: str | None = None) -> httpx.Response:
    headers = {"Accept": JSONAPI, "X-Correlation-Id": correlation_id or f"corr-{uuid.uuid4()}"}
    return client.get(url, headers=headers)


def test_every_fifth_api_request_is_a_catalogue_429(start_target: StartTarget) -> None:
    quota = Every429(nth=5, retry_after="1")
    target = start_target("sandbox", quota)
    with _client() as client:
        answers = [_get(client, target.base_url + UNKNOWN_MESSAGE, f"corr-{i}") for i in range(10)]
    assert [a.status_code for a in answers] == [404, 404, 404, 404, 429] * 2
    assert quota.injected == 2 and target.traffic.statuses() == [a.status_code for a in answers]
    for index in (4, 9):
        answer = answers[index]
        exchange = Exchange.from_httpx(answer)
        assert check_exchange(exchange) == []
        assert check_error_response(exchange, 429, expected_error("quota")) == []
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["x-correlation-id"] == f"corr-{index}"
        assert answer.headers["content-type"] == JSONAPI
        assert answer.headers["cache-control"] == "no-cache, no-store, must-revalidate"


def test_the_injected_429_is_the_one_the_reference_sends_itself(start_target: StartTarget) -> None:
    """Same body (ids aside) and the same headers as the sandbox's own ``Prefer: code=429`` answer."""
    own = start_target("sandbox")
    wrapped = start_target("sandbox", Every429(nth=1, retry_after="5"))
    headers = {"Accept": JSONAPI, "X-Correlation-Id": "same"}
    with _client() as client:
        real = client.get(own.base_url + UNKNOWN_MESSAGE, headers={**headers, "Prefer": "code=429"})
        injected = client.get(wrapped.base_url + UNKNOWN_MESSAGE, headers=headers)
    assert real.status_code == injected.status_code == 429
    strip = [{k: v for k, v in e.items() if k != "id"} for e in real.json()["errors"]]
    assert strip == [{k: v for k, v in e.items() if k != "id"} for e in injected.json()["errors"]]
    ignore = {"date", "content-length"}
    assert {k: v for k, v in real.headers.items() if k not in ignore} == {
        k: v for k, v in injected.headers.items() if k not in ignore
    }


def test_token_requests_are_never_counted_or_limited(start_target: StartTarget) -> None:
    quota = Every429(nth=2)
    target = start_target("integration", quota)
    with _client() as client:
        tokens = [client.post(target.token_url, data={"grant_type": "x"}).status_code for _ in range(4)]
    assert 429 not in tokens and quota.injected == 0


def test_http_date_retry_after_is_one_to_two_seconds_ahead(start_target: StartTarget) -> None:
    target = start_target("sandbox", Every429(nth=1, retry_after=lambda: http_date_in(2)))
    with _client() as client:
        answer = _get(client, target.base_url + "/_ping")
    assert answer.status_code == 429
    when = email.utils.parsedate_to_datetime(answer.headers["retry-after"]).timestamp()
    assert 0.9 <= when - time.time() <= 2.1


def test_always_quota_lets_only_the_first_requests_through(start_target: StartTarget) -> None:
    target = start_target("sandbox", AlwaysQuota(retry_after="1", pass_first=1))
    with _client() as client:
        statuses = [_get(client, target.base_url + "/_ping").status_code for _ in range(4)]
    assert statuses == [200, 429, 429, 429]


def test_hang_after_answers_then_holds_the_connection(start_target: StartTarget) -> None:
    hang = HangAfter(answered=2)
    target = start_target("sandbox", hang)
    with _client(timeout=1) as client:
        assert [_get(client, target.base_url + "/_ping").status_code for _ in range(2)] == [200, 200]
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            _get(client, target.base_url + "/_ping")
    assert time.monotonic() - started >= 0.9
    assert hang.hanging.is_set() and target.traffic.statuses() == [200, 200, None]
    stopping = time.monotonic()
    target.stop()
    assert time.monotonic() - stopping < 5, "a hanging target must still stop promptly"


def test_slow_answers_late(start_target: StartTarget) -> None:
    target = start_target("sandbox", Slow(0.3))
    with _client() as client:
        started = time.monotonic()
        assert _get(client, target.base_url + "/_ping").status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", [400, 401])
def test_refusing_token_endpoint(status: int, start_target: StartTarget) -> None:
    target = start_target("integration", refuses_kid(status))
    with _client() as client:
        answer = client.post(target.token_url, data={"grant_type": "client_credentials"})
        assert _get(client, target.base_url + "/_ping").status_code == 200  # the API is the reference's
    assert answer.status_code == status
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_description"] == KID_COMPLAINT
    assert target.traffic.token_requests == 1


def test_token_endpoint_answers_that_are_no_token(start_target: StartTarget) -> None:
    html = start_target("integration", token_html_page())
    empty = start_target("integration", token_without_access_token())
    with _client() as client:
        page = client.post(html.token_url, data={})
        no_token = client.post(empty.token_url, data={})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert no_token.status_code == 200 and "access_token" not in no_token.json()


def test_servers_that_are_not_the_api(start_server: StartServer, start_target: StartTarget) -> None:
    from tests.support.targets import html_app, plain_404_app, redirect_app

    redirect = start_server(redirect_app("http://127.0.0.9:9/comms"), "redirect")
    page = start_server(html_app(), "html")
    plain = start_server(plain_404_app(), "plain")
    origin_only = start_target("sandbox")
    with _client() as client:
        moved = client.get(redirect.origin + "/comms/_ping")
        html = client.get(page.origin + "/comms/_ping")
        text = client.get(plain.origin + "/comms/_ping")
        wrong_path = client.get(origin_only.origin + "/_ping")
    assert moved.status_code == 302 and moved.headers["location"] == "http://127.0.0.9:9/comms"
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert text.status_code == 404 and text.headers["content-type"].startswith("text/plain")
    assert wrong_path.status_code == 404 and wrong_path.json()["errors"][0]["code"] == "CM_NOT_FOUND"


def test_proxy_forwards_with_the_callers_host(start_target: StartTarget) -> None:
    """Through the recording proxy a created message's links name the proxy, and both sides count."""
    upstream = start_target("sandbox")
    body = _bodies.message(_bodies.SANDBOX_PLAN)
    with start_proxy(upstream.origin) as proxy, _client() as client:
        answer = client.post(
            proxy.origin + "/comms/v1/messages",
            json=body,
            headers={"Accept": JSONAPI, "Content-Type": JSONAPI},
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["links"]["self"].startswith(proxy.origin + "/comms/")
    assert proxy.traffic.count == upstream.traffic.count == 1
    assert proxy.traffic.statuses() == upstream.traffic.statuses() == [201]
    assert proxy.traffic.creates == upstream.traffic.creates == 1


def test_peak_in_window() -> None:
    assert peak_in_window([], 1.0) == 0
    assert peak_in_window([0, 0.1, 0.5, 0.99, 1.0, 1.5, 1.6], 1.0) == 4
    assert peak_in_window([0, 0.25, 0.5, 0.75, 1.0, 1.25], 1.0) == 4
    assert peak_in_window([5.0] * 7, 1.0) == 7
