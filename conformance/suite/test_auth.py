"""Access to the API: which requests are refused for their credentials, and how.

Proves behaviour §3.4 (401 CM_DENIED for a missing, malformed, invalid or expired bearer token;
403 CM_FORBIDDEN for a client that is not onboarded; 403 CM_SERVICE_BAN), §3.1 (auth is decided before
negotiation, media type and routing in live), §4.1/§4.2 (the sandbox's magic Authorization values and
Prefer codes) and the rows of upstream §3.1. The token endpoint has its own module.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite._expect import (
    ALL_OPERATIONS,
    GET_MESSAGE,
    UNKNOWN_PATH,
    OperationRequest,
    describe,
    every_operation,
    expect_correlation_id,
    expect_error,
    new_correlation_id,
    operation_id,
    send,
)
from conformance.suite._labels import for_module

AREA = "auth"
EVERY_OPERATION = "every operation"
#: this module's labels: each test names its feature (the operation or path it proves)
behaviour = for_module(area=AREA)

ApiFactory = Callable[[str], ApiClient]

#: A well-formed bearer token the API never issued.
UNKNOWN_TOKEN = "Bearer NotifyConformanceTokenThatWasNeverIssued0000"
#: Credentials tried on every operation (None: no Authorization header at all).
BAD_CREDENTIALS: dict[str, str | None] = {
    "missing": None,
    "not-bearer": "invalid",
    "never-issued": UNKNOWN_TOKEN,
}
#: More Authorization values that are not a usable bearer token.
MALFORMED_AUTHORIZATIONS = {
    "empty-bearer": "Bearer",
    "basic-scheme": "Basic bm90aWZ5OmNvbmZvcm1hbmNl",
    "empty": "",
}
#: How long past the ``short_lived`` client's token lifetime (which its environment states) to wait,
#: so that its token has surely expired.
SHORT_LIVED_EXPIRY_MARGIN_S = 0.2

#: Every operation, unmarked: for tests that only the sandbox or the local reference's special clients
#: receive (see ``_expect.every_operation`` for the marked ones).
all_operations = pytest.mark.parametrize("operation", ALL_OPERATIONS, ids=operation_id)
bad_credentials = pytest.mark.parametrize(
    "authorization", list(BAD_CREDENTIALS.values()), ids=list(BAD_CREDENTIALS)
)


def send_with_authorization(
    api: ApiClient,
    operation: OperationRequest,
    env: Environment,
    authorization: str | None,
    *,
    method: str | None = None,
    check: bool = True,
) -> httpx.Response:
    """The operation's well-formed request with exactly this Authorization (None: no header)."""
    headers = {"X-Correlation-Id": new_correlation_id()}
    if authorization is not None:
        headers["Authorization"] = authorization
    return send(api, operation, env, method=method, authenticated=False, headers=headers, check=check)


def expect_denied(response: httpx.Response) -> None:
    expect_error(response, 401, "denied")
    expect_correlation_id(response, response.request.headers.get("X-Correlation-Id"))


# ------------------------------------------------------------------------------------------------------
# 401 on targets that enforce auth


@behaviour(feature=EVERY_OPERATION, severity="blocker", ref="behaviour §3.4; upstream §3.1 test_401_invalid")
@pytest.mark.needs_auth
@bad_credentials
@every_operation
def test_bad_credentials(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest, authorization: str | None
) -> None:
    """A request with a missing, non-bearer or never-issued access token is refused with 401 on every
    operation, and a create creates nothing."""
    expect_denied(send_with_authorization(api, operation, notify_environment, authorization))


@behaviour(
    feature=GET_MESSAGE.label, severity="critical", ref="behaviour §1.1, §3.4; upstream §3.1 test_401_invalid"
)
@pytest.mark.needs_auth
@pytest.mark.parametrize(
    "authorization", list(MALFORMED_AUTHORIZATIONS.values()), ids=list(MALFORMED_AUTHORIZATIONS)
)
def test_malformed_authorization(api: ApiClient, notify_environment: Environment, authorization: str) -> None:
    """An Authorization header that is not a bearer token is refused with 401."""
    expect_denied(send_with_authorization(api, GET_MESSAGE, notify_environment, authorization))


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §3.4; upstream §3.1")
@pytest.mark.needs_auth
def test_missing_token_on_head(api: ApiClient, notify_environment: Environment) -> None:
    """HEAD without an access token is refused with 401 (no body)."""
    response = send_with_authorization(api, GET_MESSAGE, notify_environment, None, method="HEAD", check=False)
    expect_denied(response)
    assert response.content == b"", f"a HEAD response must have no body: {describe(response)}"


@behaviour(feature=EVERY_OPERATION, severity="blocker", ref="behaviour §3.4")
@pytest.mark.needs_auth
@pytest.mark.extra_client("short_lived")
def test_expired_token(api: ApiClient, extra_api: ApiFactory, notify_environment: Environment) -> None:
    """An access token that has expired is refused with 401 on every operation."""
    short_lived = extra_api("short_lived")
    credentials = short_lived.target.credentials
    lifetime_s = None if credentials is None else credentials.token_lifetime_s
    if lifetime_s is None:
        pytest.skip("the environment does not say how long the short_lived client's tokens last")
    fresh = send(short_lived, GET_MESSAGE, notify_environment)
    expect_error(fresh, 404, "not_found")  # the token works while it is fresh
    token = fresh.request.headers["Authorization"]
    time.sleep(lifetime_s + SHORT_LIVED_EXPIRY_MARGIN_S)  # from after the token was issued
    for operation in ALL_OPERATIONS:
        expect_denied(send_with_authorization(api, operation, notify_environment, token))


# ------------------------------------------------------------------------------------------------------
# Auth comes first in live


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §3.1")
@pytest.mark.needs_auth
@pytest.mark.parametrize("case", ["over-406", "over-404"])
def test_auth_precedes_negotiation_and_routing(api: ApiClient, case: str) -> None:
    """A request without a token is refused with 401 before its Accept header or path is looked at."""
    path = UNKNOWN_PATH if case == "over-404" else GET_MESSAGE.path
    accept = "xyz/abc" if case == "over-406" else "*/*"
    headers = {"X-Correlation-Id": new_correlation_id()}
    expect_denied(api.get(path, accept=accept, authenticated=False, headers=headers))


@behaviour(feature="POST /v1/messages", ref="behaviour §3.1")
@pytest.mark.needs_auth
@pytest.mark.undeclared_method
@pytest.mark.parametrize("case", ["over-415", "over-405"])
def test_auth_precedes_media_type_and_method(api: ApiClient, case: str) -> None:
    """A request without a token is refused with 401 before its Content-Type or method is looked at."""
    method = "PUT" if case == "over-405" else "PATCH"
    content_type = "xyz/abc" if case == "over-415" else None
    response = api.request(
        method,
        "/v1/messages",
        content="{}",
        content_type=content_type or "application/json",
        authenticated=False,
        headers={"X-Correlation-Id": new_correlation_id()},
    )
    expect_denied(response)


# ------------------------------------------------------------------------------------------------------
# 403 for a client that is not onboarded


@behaviour(feature=EVERY_OPERATION, severity="critical", ref="behaviour §3.4")
@pytest.mark.needs_auth
@pytest.mark.extra_client("not_onboarded")
@all_operations
def test_not_onboarded_client(
    extra_api: ApiFactory, notify_environment: Environment, operation: OperationRequest
) -> None:
    """A valid token for a client that is not onboarded is refused with 403 Forbidden on every operation."""
    corr = new_correlation_id()
    response = send(
        extra_api("not_onboarded"), operation, notify_environment, headers={"X-Correlation-Id": corr}
    )
    expect_error(response, 403, "forbidden")
    expect_correlation_id(response, corr)


# ------------------------------------------------------------------------------------------------------
# Sandbox scenario triggers


SANDBOX_AUTH_TRIGGERS = [
    pytest.param({"Authorization": "Bearer InvalidMockToken"}, 401, "denied", id="InvalidMockToken"),
    pytest.param({"Prefer": "code=401"}, 401, "denied", id="prefer-401"),
    pytest.param({"Authorization": "Bearer ClientNotRecognised"}, 403, "forbidden", id="ClientNotRecognised"),
    pytest.param({"Prefer": "code=403"}, 403, "forbidden", id="prefer-403"),
    pytest.param({"Prefer": "code=403.1"}, 403, "service_ban", id="prefer-403.1"),
]


@behaviour(feature=EVERY_OPERATION, ref="behaviour §4.1; upstream §3.1, §4")
@pytest.mark.scenario
@pytest.mark.parametrize(("trigger", "status", "error"), SANDBOX_AUTH_TRIGGERS)
@all_operations
def test_sandbox_auth_trigger(
    api: ApiClient,
    notify_environment: Environment,
    operation: OperationRequest,
    trigger: dict[str, str],
    status: int,
    error: str,
) -> None:
    """The sandbox's auth triggers (mock tokens, Prefer codes) give their 401 or 403 on every operation."""
    corr = new_correlation_id()
    response = send(api, operation, notify_environment, headers={"X-Correlation-Id": corr, **trigger})
    expect_error(response, status, error)
    expect_correlation_id(response, corr)


@behaviour(feature="unknown path", severity="minor", ref="behaviour §3.1, §4.1")
@pytest.mark.scenario
@pytest.mark.parametrize(("trigger", "status", "error"), SANDBOX_AUTH_TRIGGERS)
def test_sandbox_auth_trigger_precedes_routing(
    api: ApiClient, trigger: dict[str, str], status: int, error: str
) -> None:
    """The sandbox's auth triggers fire before routing, so an unknown path gets 401/403 too."""
    expect_error(api.get(UNKNOWN_PATH, headers=trigger), status, error)


@behaviour(feature=EVERY_OPERATION, ref="behaviour §4.2; upstream §3.1 test_403_service_ban")
@pytest.mark.scenario
@all_operations
def test_sandbox_service_ban(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest
) -> None:
    """In the sandbox, 'Authorization: banned' gives 403 Service ban in effect on every operation."""
    corr = new_correlation_id()
    headers = {"Authorization": "banned", "X-Correlation-Id": corr}
    response = send(api, operation, notify_environment, headers=headers)
    expect_error(response, 403, "service_ban")
    expect_correlation_id(response, corr)
