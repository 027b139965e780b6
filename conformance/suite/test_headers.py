"""Headers on every response: correlation id, CORS, caching and sniffing, and no AWS leakage.

Proves behaviour §1.7 (headers on every gateway response), §3.5 (CORS preflight and response
headers) and §3.6 (correlation id echoed or generated), and the rows of upstream §3.3
(test_cors_options, test_cors, test_request_with_x_correlation_id, test_request_with_x_amz_is_removed)
and §1.8 point 3-4 (the same headers on error responses).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite._expect import (
    ALL_OPERATIONS,
    GET_MESSAGE,
    NO_CACHE,
    ORIGIN,
    UNKNOWN_PATH,
    correlation_id,
    describe,
    expect_correlation_id,
    expect_error,
    expect_status,
    new_correlation_id,
    send,
)
from conformance.suite._labels import for_module

AREA = "headers"
EVERY_OPERATION = "every operation"
#: this module's labels: a test about one operation or CORS preflights names that feature
behaviour = for_module(area=AREA, feature=EVERY_OPERATION)

CORS_ALLOW_HEADERS = (
    "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
)
CORS_ALLOW_METHODS = "GET, PUT, POST, PATCH, DELETE"
CORS_MAX_AGE = "3628800"
CORS_EXPOSE_HEADERS = "x-correlation-id"
CORS_RESOURCE_POLICY = "cross-origin"

_OPERATIONS = {operation.id: operation for operation in ALL_OPERATIONS}
#: Requests that only read, including two the gateway refuses (the headers must be there on errors too).
READ_PROBES = ("get-message", "get-nhsapp-account-details", "not-found", "not-acceptable")
#: Requests that create messages (their cases carry the ``writes`` marker).
CREATE_PROBES = ("create-message", "create-message-batch")

every_probe = pytest.mark.parametrize(
    "probe", [*READ_PROBES, *(pytest.param(probe, marks=pytest.mark.writes) for probe in CREATE_PROBES)]
)


def send_probe(
    api: ApiClient, env: Environment, probe: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """Send the named probe request and check it got the answer a conforming API gives it."""
    if probe == "not-found":
        response = api.get(UNKNOWN_PATH, headers=headers)
        expect_error(response, 404, "not_found")
    elif probe == "not-acceptable":
        response = send(api, GET_MESSAGE, env, accept="xyz/abc", headers=headers)
        expect_error(response, 406, "not_acceptable")
    else:
        operation = _OPERATIONS[probe]
        response = send(api, operation, env, headers=headers)
        expect_status(response, operation.usual_status)
    return response


def assert_header(response: httpx.Response, name: str, wanted: str) -> None:
    got = response.headers.get(name)
    assert got == wanted, f"{name} should be {wanted!r}, got {got!r}: {describe(response)}"


# ------------------------------------------------------------------------------------------------------
# X-Correlation-Id


@behaviour(
    severity="critical",
    ref="behaviour §3.6; upstream §3.3 test_request_with_x_correlation_id",
)
@every_probe
def test_correlation_id_echoed(api: ApiClient, notify_environment: Environment, probe: str) -> None:
    """The client's X-Correlation-Id comes back unchanged on every operation and on errors."""
    corr = new_correlation_id()
    expect_correlation_id(send_probe(api, notify_environment, probe, {"X-Correlation-Id": corr}), corr)


@behaviour(ref="behaviour §3.6; upstream §3.3 test_request_with_x_correlation_id")
@every_probe
def test_correlation_id_generated(api: ApiClient, notify_environment: Environment, probe: str) -> None:
    """Without a client X-Correlation-Id, each request, refused or not, gets its own generated one."""
    first = send_probe(api, notify_environment, probe)
    second = send_probe(api, notify_environment, probe)
    expect_correlation_id(first, None)
    expect_correlation_id(second, None)
    assert correlation_id(first) != correlation_id(second), (
        f"two requests got the same generated X-Correlation-Id {correlation_id(first)!r}"
    )


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §1.1, §3.6")
@pytest.mark.parametrize("name", ["x-correlation-id", "X-CORRELATION-ID", "X-Correlation-ID"])
def test_correlation_id_header_name_case(api: ApiClient, notify_environment: Environment, name: str) -> None:
    """The X-Correlation-Id header is recognised whatever the case of its name."""
    corr = new_correlation_id()
    expect_correlation_id(send_probe(api, notify_environment, "get-message", {name: corr}), corr)


@behaviour(feature=GET_MESSAGE.label, severity="minor", ref="behaviour §1.1; upstream §1.8")
def test_generated_correlation_id_is_gateway_message_id(
    api: ApiClient, notify_environment: Environment
) -> None:
    """A generated X-Correlation-Id is the gateway's message id, which starts 'rrt'."""
    response = send_probe(api, notify_environment, "get-message")
    generated = correlation_id(response) or ""
    assert generated.startswith("rrt"), f"generated X-Correlation-Id {generated!r} does not start 'rrt'"


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §3.6; upstream §3.3 test_request_with_x_correlation_id")
@pytest.mark.parametrize("sent", [True, False], ids=["echoed", "generated"])
@pytest.mark.parametrize("method", ["HEAD", "preflight"])
def test_correlation_id_on_head_and_preflight(
    api: ApiClient, notify_environment: Environment, method: str, sent: bool
) -> None:
    """HEAD and CORS preflight responses carry the X-Correlation-Id too, echoed or generated."""
    corr = new_correlation_id() if sent else None
    headers = {"X-Correlation-Id": corr} if corr else {}
    if method == "HEAD":
        response = send(api, GET_MESSAGE, notify_environment, method="HEAD", headers=headers, check=False)
        expect_status(response, 404)
    else:
        preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET", **headers}
        response = api.request("OPTIONS", GET_MESSAGE.path, headers=preflight, authenticated=False)
        expect_status(response, 200)
    expect_correlation_id(response, corr)


@behaviour(feature="POST /v1/messages", severity="minor", ref="behaviour §3.1, §3.6")
@pytest.mark.undeclared_method
@pytest.mark.parametrize("sent", [True, False], ids=["echoed", "generated"])
def test_correlation_id_on_plain_options(api: ApiClient, sent: bool) -> None:
    """An OPTIONS request that is not a CORS preflight (405) carries the X-Correlation-Id too."""
    corr = new_correlation_id() if sent else None
    headers = {"X-Correlation-Id": corr} if corr else {}
    response = api.request("OPTIONS", "/v1/messages", headers=headers, check=False)
    expect_error(response, 405, "not_allowed")
    expect_correlation_id(response, corr)


# ------------------------------------------------------------------------------------------------------
# CORS


PREFLIGHTS = [
    pytest.param("/v1/messages", "POST", id="POST-messages"),
    pytest.param("/v1/message-batches", "POST", id="POST-message-batches"),
    pytest.param(GET_MESSAGE.path, "GET", id="GET-get-message"),
    pytest.param("/channels/nhsapp/accounts", "GET", id="GET-nhsapp-accounts"),
    pytest.param("/v1/messages", "PUT", id="PUT-messages"),
    pytest.param("/v1/messages", "PATCH", id="PATCH-messages"),
    pytest.param("/v1/messages", "DELETE", id="DELETE-messages"),
    pytest.param(UNKNOWN_PATH, "GET", id="GET-unknown-path"),
]


def assert_preflight_answer(response: httpx.Response) -> None:
    expect_status(response, 200)
    assert_header(response, "Access-Control-Allow-Origin", ORIGIN)
    assert_header(response, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
    assert_header(response, "Access-Control-Allow-Methods", CORS_ALLOW_METHODS)
    assert_header(response, "Access-Control-Max-Age", CORS_MAX_AGE)
    assert_header(response, "Cross-Origin-Resource-Policy", CORS_RESOURCE_POLICY)
    assert "Access-Control-Allow-Credentials" not in response.headers, (
        f"a preflight must not allow credentials: {describe(response)}"
    )
    assert response.content == b"", f"a preflight answer has no body: {describe(response)}"


@behaviour(
    feature="CORS preflight", severity="critical", ref="behaviour §3.5; upstream §3.3 test_cors_options"
)
@pytest.mark.parametrize(("path", "request_method"), PREFLIGHTS)
def test_cors_preflight(api: ApiClient, path: str, request_method: str) -> None:
    """A CORS preflight is answered 200 with exactly the documented Access-Control headers."""
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": request_method}
    assert_preflight_answer(api.request("OPTIONS", path, headers=headers, accept="*/*"))


@behaviour(feature="CORS preflight", ref="behaviour §3.1, §3.5")
def test_cors_preflight_precedes_everything(api: ApiClient) -> None:
    """A CORS preflight is answered before auth, negotiation and routing checks."""
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    response = api.request("OPTIONS", UNKNOWN_PATH, headers=headers, accept="xyz/abc", authenticated=False)
    assert_preflight_answer(response)


@behaviour(severity="critical", ref="behaviour §1.7, §3.5; upstream §3.3 test_cors")
@every_probe
def test_cors_response_headers(api: ApiClient, notify_environment: Environment, probe: str) -> None:
    """A request with an Origin gets the CORS response headers on every operation, on success and on error."""
    response = send_probe(api, notify_environment, probe, {"Origin": ORIGIN})
    assert_header(response, "Access-Control-Allow-Origin", ORIGIN)
    assert_header(response, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS)
    assert_header(response, "Cross-Origin-Resource-Policy", CORS_RESOURCE_POLICY)


# ------------------------------------------------------------------------------------------------------
# Caching, sniffing, AWS headers


@behaviour(
    severity="critical",
    ref="behaviour §1.7; upstream §1.8, §3.3 test_request_with_x_amz_is_removed",
)
@every_probe
def test_standard_headers(api: ApiClient, notify_environment: Environment, probe: str) -> None:
    """Responses and errors of every operation forbid caching and MIME sniffing, and leak no x-amz headers."""
    response = send_probe(api, notify_environment, probe)
    assert_header(response, "Cache-Control", NO_CACHE)
    assert_header(response, "X-Content-Type-Options", "nosniff")
    leaked = [name for name in response.headers if name.lower().startswith("x-amz")]
    assert not leaked, f"AWS headers leaked: {leaked}: {describe(response)}"


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §1.7")
def test_standard_headers_on_head(api: ApiClient, notify_environment: Environment) -> None:
    """HEAD responses forbid caching and MIME sniffing too."""
    response = send(api, GET_MESSAGE, notify_environment, method="HEAD", check=False)
    assert_header(response, "Cache-Control", NO_CACHE)
    assert_header(response, "X-Content-Type-Options", "nosniff")
