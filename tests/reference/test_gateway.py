"""The gateway layer of the reference API: standard headers, CORS, correlation ids, content negotiation,
routing and the order in which those checks fire, in both modes (api-behaviour.md §1.7, §3.1-§3.7)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference.conftest import (
    CACHE_CONTROL,
    EXPECTED_ERRORS,
    assert_error,
    assert_standard_headers,
    message_body,
)

VND = "application/vnd.api+json"
JSON = "application/json"
STORED_MESSAGE = "2WL3qFTEFM0qMY8xjRbt1LIKCzM"
ORIGIN = "https://my.website"
PREFLIGHT_HEADERS = {
    "access-control-allow-origin": ORIGIN,
    "access-control-allow-headers": (
        "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
    ),
    "access-control-max-age": "3628800",
    "access-control-allow-methods": "GET, PUT, POST, PATCH, DELETE",
    "cross-origin-resource-policy": "cross-origin",
}
GENERATED_ID = re.compile(r"rrt-[0-9]{19}-c-geu2-[0-9]{5}-[0-9]{7}-[0-9]+")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- standard headers and correlation ids


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/messages/{STORED_MESSAGE}"),
        ("HEAD", f"/v1/messages/{STORED_MESSAGE}"),
        ("GET", "/v1/messages/unknown"),
        ("OPTIONS", "/v1/messages"),
        ("DELETE", "/v1/messages"),
        ("GET", "/_ping"),
        ("GET", "/no/such/path"),
    ],
)
def test_every_response_carries_the_standard_headers(
    http: httpx.Client, sandbox_server: RunningReference, method: str, path: str
) -> None:
    response = http.request(method, sandbox_server.base_url + path)
    assert_standard_headers(response)
    assert GENERATED_ID.fullmatch(response.headers["x-correlation-id"])
    assert response.headers["content-type"] == VND
    assert "server" not in response.headers


@pytest.mark.parametrize("header_name", ["X-Correlation-Id", "x-correlation-id", "X-CORRELATION-ID"])
def test_correlation_id_is_echoed_whatever_the_header_case(
    http: httpx.Client, sandbox_server: RunningReference, header_name: str
) -> None:
    value = "76491414-d0cf-4655-ae20-a4d1368472f3 with spaces"
    response = http.get(sandbox_server.base_url + "/v1/messages/nope", headers={header_name: value})
    assert response.headers["x-correlation-id"] == value
    error_id = response.json()["errors"][0]["id"]
    assert error_id.startswith("rrt-") and error_id.endswith(".0"), (
        "error ids use the gateway id, not the client's"
    )


def test_generated_ids_differ_per_request_and_match_the_error_ids(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    first = http.get(sandbox_server.base_url + "/nope")
    second = http.get(sandbox_server.base_url + "/nope")
    assert first.headers["x-correlation-id"] != second.headers["x-correlation-id"]
    assert first.json()["errors"][0]["id"] == first.headers["x-correlation-id"] + ".0"


def test_integration_errors_carry_the_standard_headers_before_auth(
    http: httpx.Client, integration_server: RunningReference
) -> None:
    response = http.post(
        integration_server.base_url + "/v1/messages", json={}, headers={"X-Correlation-Id": "abc"}
    )
    assert_error(response, 401, EXPECTED_ERRORS["denied"])
    assert response.headers["x-correlation-id"] == "abc"


def test_paths_outside_the_base_are_404_with_standard_headers(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    for path in ("/", "/v1/messages", "/commsX/v1/messages", "/oauth2/token"):
        response = http.get(sandbox_server.origin + path)
        assert_error(response, 404, EXPECTED_ERRORS["not_found"])


# ---- CORS


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/api/send", "/", ""])
def test_cors_preflight_is_answered_before_anything_else(
    http: httpx.Client, integration_server: RunningReference, path: str
) -> None:
    response = http.options(
        integration_server.base_url + path,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Accept": "text/html"},
    )
    assert response.status_code == 200
    assert response.content == b""
    for name, value in PREFLIGHT_HEADERS.items():
        assert response.headers[name] == value
    assert "access-control-allow-credentials" not in response.headers
    assert "access-control-expose-headers" not in response.headers
    assert_standard_headers(response)


def test_options_without_request_method_is_an_ordinary_request(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    response = http.options(sandbox_server.base_url + "/v1/messages", headers={"Origin": ORIGIN})
    assert_error(response, 405, EXPECTED_ERRORS["not_allowed"])
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_requests_with_origin_get_the_cors_response_headers(
    http: httpx.Client, sandbox_server: RunningReference, method: str
) -> None:
    response = http.request(method, sandbox_server.base_url + "/v1/messages/x", headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "x-correlation-id"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"


def test_requests_without_origin_get_no_cors_headers(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    response = http.get(sandbox_server.base_url + f"/v1/messages/{STORED_MESSAGE}")
    assert not [name for name in response.headers if name.startswith("access-control-")]


# ---- content negotiation


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [(None, VND), ("*/*", VND), (VND, VND), (JSON, JSON)],
)
def test_response_content_type_follows_accept(
    http: httpx.Client, sandbox_server: RunningReference, accept: str | None, content_type: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    for path in (f"/v1/messages/{STORED_MESSAGE}", "/v1/messages/unknown"):
        response = http.get(sandbox_server.base_url + path, headers=headers)
        assert response.headers["content-type"] == content_type


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "xyz/abc",
        "application/xml",
        "application/json; charset=utf-8",
        "application/json; charset=utf-9",
        "*/*,",
    ],
)
@pytest.mark.parametrize("header_name", ["accept", "AcCePt"])
def test_406_for_any_other_accept(
    http: httpx.Client, sandbox_server: RunningReference, accept: str, header_name: str
) -> None:
    response = http.get(
        sandbox_server.base_url + f"/v1/messages/{STORED_MESSAGE}", headers={header_name: accept}
    )
    assert_error(response, 406, EXPECTED_ERRORS["not_acceptable"])
    assert response.headers["content-type"] == VND


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    "content_type", [None, "", "xyz/abc", "image/png", "application/json; charset=utf-8"]
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/1234", "/v1/api/send"])
def test_415_for_body_methods_on_any_path(
    http: httpx.Client, sandbox_server: RunningReference, method: str, content_type: str | None, path: str
) -> None:
    headers = {"Accept": JSON}
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = http.request(method, sandbox_server.base_url + path, headers=headers)
    assert_error(response, 415, EXPECTED_ERRORS["unsupported_media"])
    assert response.headers["content-type"] == JSON


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD"])
def test_methods_without_body_never_check_content_type(
    http: httpx.Client, sandbox_server: RunningReference, method: str
) -> None:
    response = http.request(
        method,
        sandbox_server.base_url + f"/v1/messages/{STORED_MESSAGE}",
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == (405 if method == "DELETE" else 200)


def test_both_content_types_are_accepted(http: httpx.Client, sandbox_server: RunningReference) -> None:
    for content_type in (JSON, VND):
        response = http.post(
            sandbox_server.base_url + "/v1/messages",
            content=json.dumps(message_body()),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 201, response.text


# ---- routing


@pytest.mark.parametrize("path", ["/", "", "/v1/ignore/i-dont-exist", "/V1/messages", "/v1/message-batches/"])
def test_unknown_paths_are_404(http: httpx.Client, sandbox_server: RunningReference, path: str) -> None:
    response = http.post(sandbox_server.base_url + path, json=message_body())
    assert_error(response, 404, EXPECTED_ERRORS["not_found"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/messages"),
        ("PUT", "/v1/messages"),
        ("DELETE", "/v1/message-batches"),
        ("PATCH", "/v1/message-batches"),
        ("POST", "/v1/messages/dummy-id"),
        ("POST", "/v1/messages/"),
        ("PUT", "/v1/messages/a/b/c"),
        ("POST", "/channels/nhsapp/accounts"),
        ("OPTIONS", "/v1/messages"),
        ("POST", "/_timeout_504"),
    ],
)
def test_known_paths_with_the_wrong_method_are_405(
    http: httpx.Client, sandbox_server: RunningReference, method: str, path: str
) -> None:
    response = http.request(method, sandbox_server.base_url + path, json=message_body())
    assert_error(response, 405, EXPECTED_ERRORS["not_allowed"])
    assert "allow" not in response.headers


def test_head_on_post_routes_is_405_without_body(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    response = http.head(sandbox_server.base_url + "/v1/messages")
    assert response.status_code == 405
    assert response.content == b""
    assert_standard_headers(response)


def test_head_answers_like_get_without_a_body(http: httpx.Client, sandbox_server: RunningReference) -> None:
    url = sandbox_server.base_url + f"/v1/messages/{STORED_MESSAGE}"
    get, head = http.get(url), http.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]


def test_double_slashes_collapse(http: httpx.Client, sandbox_server: RunningReference) -> None:
    response = http.post(sandbox_server.base_url + "//v1//messages", json=message_body())
    assert response.status_code == 201, response.text
    assert response.json()["data"]["links"]["self"].startswith(sandbox_server.base_url + "/v1/messages/")


def test_nested_and_odd_message_ids_route_to_get_message(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    for suffix in ("a/b", "%20", "x.y"):
        response = http.get(sandbox_server.base_url + "/v1/messages/" + suffix)
        assert_error(response, 404, EXPECTED_ERRORS["not_found"])


def test_scenario_paths_are_not_routes_in_integration(
    http: httpx.Client, integration_server: RunningReference, access_token: str
) -> None:
    for path in ("/_timeout", "/_timeout_504", "/_timeout_408", "/_invalid_certificate"):
        response = http.get(integration_server.base_url + path, headers=bearer(access_token))
        assert_error(response, 404, EXPECTED_ERRORS["not_found"])


# ---- processing order


def test_406_beats_415_beats_404(http: httpx.Client, sandbox_server: RunningReference) -> None:
    url = sandbox_server.base_url + "/no/such/path"
    both = http.post(url, headers={"Accept": "text/html", "Content-Type": "text/plain"})
    assert_error(both, 406, EXPECTED_ERRORS["not_acceptable"])
    media = http.post(url, headers={"Content-Type": "text/plain"})
    assert_error(media, 415, EXPECTED_ERRORS["unsupported_media"])


def test_sandbox_prefer_triggers_beat_negotiation_and_routing(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    response = http.put(
        sandbox_server.base_url + "/no/such/path", headers={"Prefer": "code=503", "Accept": "text/html"}
    )
    assert_error(response, 503, EXPECTED_ERRORS["service_unavailable"])


def test_sandbox_prefer_429_comes_after_negotiation_but_before_routing(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    url = sandbox_server.base_url + "/no/such/path"
    assert http.get(url, headers={"Prefer": "code=429", "Accept": "text/html"}).status_code == 406
    assert http.post(url, headers={"Prefer": "code=429"}).status_code == 415
    throttled = http.get(url, headers={"Prefer": "code=429"})
    assert_error(throttled, 429, EXPECTED_ERRORS["quota"])
    assert throttled.headers["retry-after"] == "5"


def test_integration_auth_beats_negotiation_and_routing(
    http: httpx.Client, integration_server: RunningReference
) -> None:
    response = http.post(
        integration_server.base_url + "/no/such/path", headers={"Accept": "text/html", "Content-Type": "x/y"}
    )
    assert_error(response, 401, EXPECTED_ERRORS["denied"])


def test_integration_negotiation_after_auth(
    http: httpx.Client, integration_server: RunningReference, access_token: str
) -> None:
    url = integration_server.base_url + "/no/such/path"
    assert http.get(url, headers={**bearer(access_token), "Accept": "text/html"}).status_code == 406
    assert http.post(url, headers={**bearer(access_token), "Content-Type": "x/y"}).status_code == 415
    assert_error(http.get(url, headers=bearer(access_token)), 404, EXPECTED_ERRORS["not_found"])


def test_integration_ignores_sandbox_triggers(
    http: httpx.Client, integration_server: RunningReference, access_token: str
) -> None:
    url = integration_server.base_url + "/v1/messages/unknown-id"
    response = http.get(url, headers={**bearer(access_token), "Prefer": "code=500"})
    assert_error(response, 404, EXPECTED_ERRORS["not_found"])


# ---- health endpoints


@pytest.mark.parametrize("server_name", ["sandbox_server", "integration_server"])
def test_ping_needs_no_auth_and_ignores_triggers(
    http: httpx.Client, request: pytest.FixtureRequest, server_name: str
) -> None:
    server: RunningReference = request.getfixturevalue(server_name)
    response = http.get(server.base_url + "/_ping", headers={"Prefer": "code=500", "Accept": "text/html"})
    assert response.status_code == 200
    assert set(response.json()) == {"version", "revision", "releaseId", "commitId"}
    assert_standard_headers(response)
    assert http.head(server.base_url + "/_ping").status_code == 200


def test_ping_with_another_method_goes_through_the_pipeline(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    response = http.post(sandbox_server.base_url + "/_ping", json={})
    assert_error(response, 404, EXPECTED_ERRORS["not_found"])


def test_status_needs_the_status_key(http: httpx.Client, integration_server: RunningReference) -> None:
    url = integration_server.base_url + "/_status"
    assert_error(http.get(url), 401, EXPECTED_ERRORS["denied"])
    assert_error(http.get(url, headers={"apikey": "wrong"}), 401, EXPECTED_ERRORS["denied"])
    response = http.get(url, headers={"apikey": integration_server.status_key})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pass"
    assert {"version", "revision", "releaseId", "commitId", "checks"} <= set(body)
    assert body["checks"]["healthcheck"]["status"] == "pass"


# ---- robustness


def test_an_unexpected_failure_is_a_json_api_500(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch, sandbox_server: RunningReference
) -> None:
    from conformance.reference.sandbox import SandboxBackend

    async def explode(self: SandboxBackend, *args: object) -> None:
        raise RuntimeError("deliberate test failure")

    monkeypatch.setattr(SandboxBackend, "get_message", explode)
    response = http.get(
        sandbox_server.base_url + f"/v1/messages/{STORED_MESSAGE}", headers={"X-Correlation-Id": "c"}
    )
    assert_error(response, 500, EXPECTED_ERRORS["internal"])
    assert response.headers["cache-control"] == CACHE_CONTROL
