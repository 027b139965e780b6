"""Integration-mode rate limiting (api-behaviour §3.10), the traffic counters, the 425 window for a
repeated reference, and the special-purpose ``throttled`` client.

Real servers on loopback; the only timing relied on is inherent (two back-to-back requests are closer
than a second apart, a sleep is at least as long as asked). The throttle's arithmetic is also checked
with a fake clock, where it can be exact.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.reference.oauth import (
    THROTTLED_CLIENT_LIMITS,
    ClientCredentials,
    generate_client,
    generate_special_clients,
)
from conformance.reference.server import ReferenceConfig, RunningReference, start
from conformance.reference.throttle import Limits, Throttle
from tests.reference.conftest import (
    EXPECTED_ERRORS,
    assert_error,
    batch_body,
    fetch_token,
    message_body,
    with_detail,
)

UNKNOWN_MESSAGE = "/v1/messages/NotifyConformanceUnknownId0"
QUOTA_DETAIL = (
    "Your application, {app}, has exceeded its quota of {limit} requests every 1 minute(s) and is being "
    "rate limited."
)
SPIKE_DETAIL = (
    "Your application, {app}, has created a spike in traffic and is being rate limited. Please reduce "
    "the frequency of your requests."
)


def quota_error(app: str, limit: int) -> dict[str, object]:
    return with_detail(EXPECTED_ERRORS["quota"], QUOTA_DETAIL.format(app=app, limit=limit))


def spike_error(app: str) -> dict[str, object]:
    return with_detail(EXPECTED_ERRORS["quota"], SPIKE_DETAIL.format(app=app))


class App:
    """One client of one server, authenticated once."""

    def __init__(self, http: httpx.Client, server: RunningReference, creds: ClientCredentials) -> None:
        self.http = http
        self.server = server
        self.creds = creds
        self.name = creds.app_name
        self.headers = {"Authorization": f"Bearer {fetch_token(server, creds)}"}

    def get(self, path: str = UNKNOWN_MESSAGE) -> httpx.Response:
        return self.http.get(self.server.base_url + path, headers=self.headers)

    def post(self, path: str, body: object) -> httpx.Response:
        return self.http.post(self.server.base_url + path, json=body, headers=self.headers)


@pytest.fixture(scope="module")
def spiky_server() -> Iterator[RunningReference]:
    """Throttling on with a spike arrest of one request a second (and live's quota)."""
    with start(ReferenceConfig(mode="integration", throttle=True, spike_arrest_per_minute=60)) as server:
        yield server


@pytest.fixture(scope="module")
def quota_server() -> Iterator[RunningReference]:
    """Throttling on with a quota of 2 a minute and a spike arrest no sequential client can trip."""
    config = ReferenceConfig(
        mode="integration", throttle=True, quota_per_minute=2, spike_arrest_per_minute=6_000_000
    )
    with start(config) as server:
        yield server


def new_app(http: httpx.Client, server: RunningReference, key_dir: Path) -> App:
    return App(http, server, generate_client(server.registry, key_dir))


# ---- the gateway's two limits, on a throttled server


def test_two_requests_closer_than_the_spike_interval(
    http: httpx.Client, spiky_server: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, spiky_server, key_dir)
    assert_error(app.get(), 404, EXPECTED_ERRORS["not_found"])
    refused = app.get()
    assert_error(refused, 429, spike_error(app.name))
    assert refused.headers["retry-after"] == "1"


def test_the_quota_refuses_the_request_over_it(
    http: httpx.Client, quota_server: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, quota_server, key_dir)
    assert [app.get().status_code for _ in range(2)] == [404, 404]
    refused = app.get()
    assert_error(refused, 429, quota_error(app.name, 2))
    assert refused.headers["retry-after"] == "60"
    assert app.post("/v1/messages", message_body()).status_code == 429  # every operation counts


def test_limits_are_per_application(
    http: httpx.Client, quota_server: RunningReference, key_dir: Path
) -> None:
    first, second = new_app(http, quota_server, key_dir), new_app(http, quota_server, key_dir)
    assert [first.get().status_code for _ in range(3)] == [404, 404, 429]
    assert second.get().status_code == 404


def test_token_requests_count_for_nothing(
    http: httpx.Client, spiky_server: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, spiky_server, key_dir)  # fetched a token just now
    fetch_token(spiky_server, app.creds)
    assert app.get().status_code == 404  # the spike arrest has seen no request of this app yet


def test_health_checks_and_refused_tokens_are_not_throttled(
    http: httpx.Client, spiky_server: RunningReference
) -> None:
    before = spiky_server.traffic.requests
    assert [http.get(spiky_server.base_url + "/_ping").status_code for _ in range(3)] == [200] * 3
    denied = http.get(spiky_server.base_url + UNKNOWN_MESSAGE, headers={"Authorization": "Bearer nope"})
    assert_error(denied, 401, EXPECTED_ERRORS["denied"])
    assert spiky_server.traffic.requests == before


# ---- the throttled client


@pytest.fixture(scope="module")
def unthrottled_server() -> Iterator[RunningReference]:
    with start(ReferenceConfig(mode="integration", throttle=False)) as server:
        yield server


def test_the_throttled_client_is_limited_when_the_server_is_not(
    http: httpx.Client, unthrottled_server: RunningReference, key_dir: Path
) -> None:
    special = generate_special_clients(unthrottled_server.registry, key_dir)
    throttled = App(http, unthrottled_server, special["throttled"])
    assert throttled.get().status_code == 404
    assert_error(throttled.get(), 429, spike_error(throttled.name))
    ordinary = new_app(http, unthrottled_server, key_dir)
    assert [ordinary.get().status_code for _ in range(20)] == [404] * 20


def test_the_special_clients(unthrottled_server: RunningReference, key_dir: Path) -> None:
    special = generate_special_clients(unthrottled_server.registry, key_dir)
    assert set(special) == {"short_lived", "not_onboarded", "throttled"}
    records = {name: unthrottled_server.registry.client_for_kid(c.kid) for name, c in special.items()}
    assert records["short_lived"] is not None and records["short_lived"].token_lifetime_s == 2
    assert records["not_onboarded"] is not None and not records["not_onboarded"].onboarded
    assert records["throttled"] is not None and records["throttled"].limits == THROTTLED_CLIENT_LIMITS
    assert THROTTLED_CLIENT_LIMITS == Limits(quota_per_minute=3, spike_arrest_per_minute=60)
    for credentials in special.values():
        assert credentials.api_key not in credentials.app_name


# ---- traffic counters


def test_counters_in_process_and_over_http(
    http: httpx.Client, spiky_server: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, spiky_server, key_dir)
    statuses = [app.get().status_code for _ in range(3)]
    assert statuses == [404, 429, 429]
    counted = spiky_server.traffic.apps[app.name]
    assert (counted.requests, counted.accepted, counted.throttled) == (3, 1, 2)
    assert (counted.peak_per_second, counted.peak_per_minute) == (1, 1)

    response = http.get(spiky_server.traffic_url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["limits"] == {"quota_per_minute": 1200, "spike_arrest_per_minute": 60}
    assert document["apps"][app.name] == {
        "app": app.name,
        "requests": 3,
        "accepted": 1,
        "throttled": 2,
        "peak_per_second": 1,
        "peak_per_minute": 1,
    }
    assert app.creds.api_key not in response.text
    assert http.post(spiky_server.traffic_url).status_code == 405


def test_counters_are_kept_with_throttling_off(
    http: httpx.Client, unthrottled_server: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, unthrottled_server, key_dir)
    for _ in range(5):
        assert app.get().status_code == 404
    counted = unthrottled_server.traffic.apps[app.name]
    assert (counted.requests, counted.accepted, counted.throttled) == (5, 5, 0)
    assert counted.peak_per_minute == 5 and 1 <= counted.peak_per_second <= 5
    assert http.get(unthrottled_server.traffic_url).json()["limits"] is None
    assert unthrottled_server.traffic.summary().startswith("traffic: ")


def test_the_traffic_path_is_not_part_of_the_api(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    assert http.get(sandbox_server.traffic_url).json() == {"limits": None, "apps": {}}
    assert_error(http.get(sandbox_server.base_url + "/_reference/traffic"), 404, EXPECTED_ERRORS["not_found"])


# ---- 425 while a repeated reference is still in flight


@pytest.fixture(scope="module")
def slow_backend() -> Iterator[RunningReference]:
    """A first request stays "in flight" for a minute: every repeat within the test is early."""
    with start(ReferenceConfig(mode="integration", in_flight_s=60.0)) as server:
        yield server


def test_a_repeat_in_flight_is_425_with_retry_after(
    http: httpx.Client, slow_backend: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, slow_backend, key_dir)
    body = message_body()
    assert app.post("/v1/messages", body).status_code == 201
    stored = len(slow_backend.store)
    early = app.post("/v1/messages", body)
    assert_error(early, 425, EXPECTED_ERRORS["retry_too_early"])
    assert early.headers["retry-after"] == "300"
    assert len(slow_backend.store) == stored


def test_a_batch_repeat_in_flight_is_425(
    http: httpx.Client, slow_backend: RunningReference, key_dir: Path
) -> None:
    app = new_app(http, slow_backend, key_dir)
    body = batch_body(2)
    assert app.post("/v1/message-batches", body).status_code == 201
    early = app.post("/v1/message-batches", body)
    assert_error(early, 425, EXPECTED_ERRORS["retry_too_early"])
    assert early.headers["retry-after"] == "300"


def test_the_window_is_per_client(http: httpx.Client, slow_backend: RunningReference, key_dir: Path) -> None:
    body = message_body()
    assert new_app(http, slow_backend, key_dir).post("/v1/messages", body).status_code == 201
    assert new_app(http, slow_backend, key_dir).post("/v1/messages", body).status_code == 201


def test_after_the_window_a_repeat_is_422(http: httpx.Client, key_dir: Path) -> None:
    with start(ReferenceConfig(mode="integration", in_flight_s=0.05)) as server:
        app = new_app(http, server, key_dir)
        message, batch = message_body(), batch_body(1)
        assert app.post("/v1/messages", message).status_code == 201
        assert app.post("/v1/message-batches", batch).status_code == 201
        time.sleep(0.1)
        assert_error(app.post("/v1/messages", message), 422, EXPECTED_ERRORS["duplicate_message"])
        assert_error(app.post("/v1/message-batches", batch), 422, EXPECTED_ERRORS["duplicate_batch"])


def test_the_default_window_is_short() -> None:
    # the suite's duplicate tests wait 5 s after a 425 before expecting 422
    assert 0 < ReferenceConfig(mode="integration").in_flight_s < 5.0


# ---- the deliberate faults on the throttle's Retry-After


@pytest.mark.parametrize(
    ("fault", "expected"),
    [("throttle-429-without-retry-after", None), ("throttle-429-malformed-retry-after", "soon")],
)
def test_retry_after_faults(http: httpx.Client, key_dir: Path, fault: str, expected: str | None) -> None:
    config = ReferenceConfig(mode="integration", faults=frozenset({fault}))
    with start(config) as server:
        special = generate_special_clients(server.registry, key_dir)
        throttled = App(http, server, special["throttled"])
        assert throttled.get().status_code == 404
        refused = throttled.get()
        assert_error(refused, 429, spike_error(throttled.name))
        assert refused.headers.get("retry-after") == expected


# ---- the throttle's arithmetic, with a fake clock


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_spike_arrest_is_smoothed() -> None:
    clock = Clock()
    throttle = Throttle(Limits(quota_per_minute=1000, spike_arrest_per_minute=6000), clock)
    assert throttle.admit("a") is None
    clock.now += 0.009
    assert throttle.admit("a") is not None  # sooner than 10 ms after the last one let through
    clock.now += 0.001
    assert throttle.admit("a") is None  # 10 ms after it: the refused one did not count
    assert throttle.admit("b") is None  # another application


def test_quota_is_a_sliding_minute() -> None:
    clock = Clock()
    throttle = Throttle(Limits(quota_per_minute=3, spike_arrest_per_minute=60), clock)
    outcomes = []
    for _ in range(4):
        outcomes.append(throttle.admit("a"))
        clock.now += 1.0
    assert outcomes[:3] == [None, None, None]
    refusal = outcomes[3]
    assert refusal is not None and refusal.retry_after == "60"
    assert refusal.problem.detail == QUOTA_DETAIL.format(app="a", limit=3)
    clock.now = 1000.0 + 60.0  # the first acceptance has just left the window
    assert throttle.admit("a") is None
    assert throttle.admit("a") is not None  # spike arrest (and the quota would refuse it too)


def test_a_request_the_quota_refuses_still_counts_for_the_spike_arrest() -> None:
    clock = Clock()
    throttle = Throttle(Limits(quota_per_minute=1, spike_arrest_per_minute=60), clock)
    assert throttle.admit("a") is None
    clock.now += 2.0
    quota = throttle.admit("a")
    assert quota is not None and quota.retry_after == "60"
    spike = throttle.admit("a")
    assert spike is not None and spike.retry_after == "1"


def test_own_limits_apply_when_throttling_is_off() -> None:
    clock = Clock()
    throttle = Throttle(None, clock)
    own = Limits(quota_per_minute=3, spike_arrest_per_minute=60)
    assert throttle.admit("a", own) is None
    assert throttle.admit("a", own) is not None
    assert all(throttle.admit("b") is None for _ in range(100))


def test_peaks_and_bounded_memory() -> None:
    clock = Clock()
    throttle = Throttle(None, clock)
    for _ in range(5):  # a burst of five in one instant
        throttle.admit("a")
    for _ in range(120):  # then one every half second for a minute
        clock.now += 0.5
        throttle.admit("a")
    traffic = throttle.traffic().apps["a"]
    assert traffic.peak_per_second == 6  # the burst and the next one, half a second later
    assert traffic.peak_per_minute == 5 + 119
    assert (traffic.requests, traffic.accepted, traffic.throttled) == (125, 125, 0)
    clock.now += 61
    throttle.admit("a")
    assert throttle.traffic().apps["a"].peak_per_minute == 124
    assert len(throttle._apps["a"].last_minute) == 1  # older times are forgotten
