"""Routing: which paths exist, which methods each allows, and what anything else gets.

Proves behaviour §3.7 (route table, 404 CM_NOT_FOUND, 405 CM_NOT_ALLOWED, trailing slashes), §1.4/§7.9
(HEAD on get-message), §3.1/§4.1 (sandbox Prefer triggers answer before routing) and §3.9 rules 11-14/§4.7
(the sandbox's fault paths), and upstream §3.5 and the rows of upstream §3.4 (test_404_not_found,
test_405_message_batch_invalid_method), whose double-slash URLs the gateway collapses (§7).
"""

from __future__ import annotations

import pytest

from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies
from conformance.suite._bodies import message
from conformance.suite._expect import (
    CREATE_BATCH,
    CREATE_MESSAGE,
    DISCREPANCY_HEAD_GET_MESSAGE,
    GET_MESSAGE,
    UNKNOWN_MESSAGE_ID,
    UNKNOWN_PATH,
    describe,
    expect_correlation_id,
    expect_error,
    expect_retry_after,
    expect_status,
    new_correlation_id,
    note_known_discrepancy,
    send,
)
from conformance.suite._labels import case, for_module

AREA = "routing"
#: this module's labels: each test names its feature (the operation or paths it proves)
behaviour = for_module(area=AREA)

#: Paths no route matches. Matching is exact and case-sensitive, and backend paths are not exposed.
UNKNOWN_PATHS = {
    "unknown": UNKNOWN_PATH,
    "root": "/",
    "bare-base": "",
    "singular-message": "/v1/message",
    "version-2": "/v2/messages",
    "upper-case": f"/V1/MESSAGES/{UNKNOWN_MESSAGE_ID}",
    "batch-with-id": "/v1/message-batches/some-batch-id",
    "accounts-with-suffix": "/channels/nhsapp/accounts/X26",
    "channels-prefix": "/channels/nhsapp",
    "backend-path": f"/api/v1/messages/{UNKNOWN_MESSAGE_ID}",
    "upstream-non-route": "/v1/api/send",
}
#: Each documented route with every method it does not allow.
WRONG_METHODS = {
    "/v1/messages": ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    "/v1/message-batches": ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
    GET_MESSAGE.path: ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
    "/channels/nhsapp/accounts": ("POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"),
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Methods whose answer has no body to judge (HEAD never has one; OPTIONS errors need not).
STATUS_ONLY_METHODS = frozenset({"HEAD", "OPTIONS"})
#: A message the sandbox stores (fixtures/sandbox/messages), so GET and HEAD find it.
STORED_MESSAGE_ID = "2WL3qFTEFM0qMY8xjRbt1LIKCzM"


def _route_label(path: str) -> str:
    return "get-message" if path == GET_MESSAGE.path else path.strip("/").replace("/", "-")


def expect_routing_error(api: ApiClient, method: str, path: str, status: int, name: str) -> None:
    """``method`` on ``path``, with well-formed headers (and a valid body where a body is usual), gets the
    catalogue error ``name`` and its correlation id back; a HEAD answer has no body."""
    corr = new_correlation_id()
    headers = {"X-Correlation-Id": corr}
    check = method not in STATUS_ONLY_METHODS
    if method in BODY_METHODS:
        body = message(api.target.routing_plan_id)
        response = api.request(method, path, json=body, content_type=JSONAPI, headers=headers, check=check)
    else:
        response = api.request(method, path, headers=headers, check=check)
    expect_error(response, status, name)
    expect_correlation_id(response, corr)
    if method == "HEAD":
        assert response.content == b"", f"a HEAD response must have no body: {describe(response)}"


@behaviour(
    feature="unknown path", severity="critical", ref="behaviour §3.7; upstream §3.4 test_404_not_found"
)
@pytest.mark.parametrize("path", list(UNKNOWN_PATHS.values()), ids=list(UNKNOWN_PATHS))
def test_unknown_path_not_found(api: ApiClient, path: str) -> None:
    """A path that is not part of the API is answered 404 Resource not found."""
    expect_routing_error(api, "GET", path, 404, "not_found")


@behaviour(feature="unknown path", ref="behaviour §3.7; upstream §3.4 test_404_not_found")
@pytest.mark.undeclared_method
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_unknown_path_not_found_for_every_method(api: ApiClient, method: str) -> None:
    """An unknown path is answered 404 whatever the method."""
    expect_routing_error(api, method, UNKNOWN_PATH, 404, "not_found")


@behaviour(
    feature="every operation",
    severity="critical",
    ref="behaviour §3.7; upstream §3.4 test_405_message_batch_invalid_method",
)
@pytest.mark.undeclared_method
@pytest.mark.parametrize(
    ("path", "method"),
    [
        pytest.param(path, method, id=f"{method}-{_route_label(path)}")
        for path, methods in WRONG_METHODS.items()
        for method in methods
    ],
)
def test_wrong_method_not_allowed(api: ApiClient, path: str, method: str) -> None:
    """A documented path called with a method it does not allow is answered 405 Method not allowed."""
    expect_routing_error(api, method, path, 405, "not_allowed")


@behaviour(area=None, feature=None, ref="behaviour §3.7")
@pytest.mark.undeclared_method
@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        case(
            "/v1/message-batches/", 404, "not_found", id="batch-route", area=AREA, feature=CREATE_BATCH.label
        ),
        case(
            "/v1/messages/", 405, "not_allowed", id="messages-route", area=AREA, feature=CREATE_MESSAGE.label
        ),
    ],
)
def test_trailing_slash_is_another_path(api: ApiClient, path: str, status: int, error: str) -> None:
    """A trailing slash makes another path: POST there is 404 on the batch route and, on the messages route,
    which then falls under GET /v1/messages/{messageId}, 405; nothing is created."""
    expect_routing_error(api, "POST", path, status, error)


@behaviour(feature="POST /v1/message-batches", severity="minor", ref="upstream §1.9, §7")
@pytest.mark.undeclared_method
def test_double_slash_is_collapsed(api: ApiClient) -> None:
    """A doubled slash in the path is treated as a single one (GET on the batch route is still 405)."""
    expect_routing_error(api, "GET", "//v1/message-batches", 405, "not_allowed")


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §1.4, §3.7, §7.9")
def test_head_get_message(api: ApiClient, notify_environment: Environment) -> None:
    """HEAD is allowed on the get-message route: same status as GET, and no body."""
    note_known_discrepancy(
        DISCREPANCY_HEAD_GET_MESSAGE,
        "the contract describes only GET; the gateway's route table also allows HEAD but documents no "
        "result for it. This test holds HEAD to GET's status with an empty body.",
    )
    get = send(api, GET_MESSAGE, notify_environment)
    expect_error(get, 404, "not_found")
    corr = new_correlation_id()
    head = send(
        api, GET_MESSAGE, notify_environment, method="HEAD", headers={"X-Correlation-Id": corr}, check=False
    )
    expect_status(head, get.status_code)
    assert head.content == b"", f"a HEAD response must have no body: {describe(head)}"
    expect_correlation_id(head, corr)


@behaviour(feature=GET_MESSAGE.label, severity="minor", ref="behaviour §4.5, §7.9")
@pytest.mark.scenario
def test_head_stored_sandbox_message(api: ApiClient) -> None:
    """HEAD on a message the sandbox stores is answered 200 with no body."""
    path = f"/v1/messages/{STORED_MESSAGE_ID}"
    expect_status(api.get(path), 200)
    head = api.request("HEAD", path, check=False)
    expect_status(head, 200)
    assert head.content == b"", f"a HEAD response must have no body: {describe(head)}"


# ---- sandbox scenarios --------------------------------------------------------------------------------


@behaviour(
    feature="bare base URL and unknown paths",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.1, §4.1; upstream §3.5 (requests to {base})",
)
@pytest.mark.scenario
@pytest.mark.parametrize("path", ["", UNKNOWN_PATH], ids=["bare-base", "unknown-path"])
@pytest.mark.parametrize("code", list(_bodies.ALL_PREFER_TRIGGERS), ids=lambda code: f"code={code}")
def test_prefer_trigger_precedes_routing(api: ApiClient, path: str, code: str) -> None:
    """Sandbox Prefer triggers answer before routing: the bare base URL and unknown paths get them too."""
    status, error, retry_after = _bodies.ALL_PREFER_TRIGGERS[code]
    response = api.get(path, headers={"Prefer": f"code={code}"}, judge=(status,))
    expect_error(response, status, error)
    expect_retry_after(response, retry_after)


@behaviour(
    feature="sandbox fault paths",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.9 rules 11-14, §4.7; upstream §3.5",
)
@pytest.mark.scenario
@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        ("/_timeout", {"sleep": "13000"}, 504, "gateway_timeout"),
        ("/_timeout_504", None, 504, "gateway_timeout"),
        ("/_timeout_408", None, 504, "gateway_timeout"),
        ("/_invalid_certificate", None, 503, "service_unavailable"),
    ],
    ids=["timeout-13s", "backend-504", "backend-408", "invalid-certificate"],
)
def test_sandbox_fault_paths(
    api: ApiClient, path: str, params: dict[str, str] | None, status: int, error: str
) -> None:
    """The sandbox's fault paths show how downstream failures reach a client: timeouts become 504, a refused
    certificate 503."""
    expect_error(api.get(path, params=params, judge=(status,)), status, error)
