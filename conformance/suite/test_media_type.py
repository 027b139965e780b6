"""Request media type: which Content-Type a request body may have, and where that is decided.

Proves behaviour §3.3 (415 CM_UNSUPPORTED_MEDIA on POST/PUT/PATCH, on any path) and §3.1 (406
before 415, and both before 404/405), the known charset discrepancy of §7.1, and the rows of
upstream §3.2 (test_415_invalid, the valid content type successes).
"""

from __future__ import annotations

import httpx
import pytest

from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite._bodies import message
from conformance.suite._expect import (
    CREATE_MESSAGE,
    CREATE_OPERATIONS,
    DISCREPANCY_CHARSET,
    GET_MESSAGE,
    GET_NHSAPP_ACCOUNTS,
    PLAIN_JSON,
    UNKNOWN_PATH,
    OperationRequest,
    expect_error,
    expect_status,
    note_known_discrepancy,
    operation_id,
    send,
)
from conformance.suite._labels import for_module

AREA = "media type"
EVERY_PATH = "every path"
#: this module's labels: each test names its feature (the operation or paths it proves)
behaviour = for_module(area=AREA)

#: Content-Type values the gateway refuses (None: no header at all). It compares the whole value.
UNSUPPORTED_CONTENT_TYPES: dict[str, str | None] = {
    "missing": None,
    "empty": "",
    "xyz-abc": "xyz/abc",
    "image-png": "image/png",
    "text-plain": "text/plain",
    "form": "application/x-www-form-urlencoded",
    "json-charset-utf-9": f"{PLAIN_JSON}; charset=utf-9",
    "vnd-ext-parameter": f'{JSONAPI}; ext="https://jsonapi.org/ext/atomic"',
}
CHARSET_UTF8_CONTENT_TYPES = (f"{PLAIN_JSON}; charset=utf-8", f"{JSONAPI}; charset=utf-8")

#: Paths that are not create routes: the 415 must come before the 404 (unknown) or 405 (wrong method).
NON_CREATE_PATHS = {
    "get-message-path": GET_MESSAGE.path,
    "nhsapp-accounts-path": GET_NHSAPP_ACCOUNTS.path,
    "unknown-path": UNKNOWN_PATH,
    "base-root": "/",
}
CREATE_PATHS = {operation.id: operation.path for operation in CREATE_OPERATIONS}
BODY_METHODS = ("POST", "PUT", "PATCH")

create_operations = pytest.mark.parametrize("operation", CREATE_OPERATIONS, ids=operation_id)


def body_request(
    api: ApiClient, method: str, path: str, content_type: str | None, accept: str = JSONAPI
) -> httpx.Response:
    """A request carrying a valid message body under the given Content-Type (None: no header)."""
    body = message(api.target.routing_plan_id)
    return api.request(method, path, json=body, content_type=content_type, accept=accept)


# ------------------------------------------------------------------------------------------------------
# Accepted media types


@behaviour(feature="every create operation", severity="critical", ref="behaviour §1.1, §3.3")
@pytest.mark.writes
@pytest.mark.parametrize("content_type", [PLAIN_JSON, JSONAPI])
@create_operations
def test_supported_content_type(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest, content_type: str
) -> None:
    """A create request is accepted with Content-Type application/json or application/vnd.api+json."""
    expect_status(send(api, operation, notify_environment, content_type=content_type), 201)


@behaviour(feature=CREATE_MESSAGE.label, ref="behaviour §3.3")
@pytest.mark.writes
@pytest.mark.parametrize("name", ["content-type", "CONTENT-TYPE", "CoNtEnT-TyPe"])
def test_content_type_header_name_case(api: ApiClient, notify_environment: Environment, name: str) -> None:
    """The Content-Type header is recognised whatever the case of its name."""
    response = send(api, CREATE_MESSAGE, notify_environment, content_type=None, headers={name: PLAIN_JSON})
    expect_status(response, 201)


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §3.3")
def test_get_ignores_content_type(api: ApiClient, notify_environment: Environment) -> None:
    """Requests without a body (GET) are not refused for their Content-Type."""
    response = send(api, GET_MESSAGE, notify_environment, content_type="xyz/abc")
    expect_error(response, 404, "not_found")


# ------------------------------------------------------------------------------------------------------
# Refused media types: 415


@behaviour(
    feature=CREATE_MESSAGE.label, severity="critical", ref="behaviour §3.3; upstream §3.2 test_415_invalid"
)
@pytest.mark.writes
@pytest.mark.parametrize(
    "content_type", list(UNSUPPORTED_CONTENT_TYPES.values()), ids=list(UNSUPPORTED_CONTENT_TYPES)
)
def test_unsupported_content_type_value(
    api: ApiClient, notify_environment: Environment, content_type: str | None
) -> None:
    """A body with a missing, empty or unsupported Content-Type is refused with 415, creating nothing."""
    response = send(api, CREATE_MESSAGE, notify_environment, content_type=content_type)
    expect_error(response, 415, "unsupported_media")


@behaviour(
    feature="POST /v1/message-batches",
    severity="critical",
    ref="behaviour §3.3; upstream §3.2 test_415_invalid",
)
@pytest.mark.writes
@create_operations
def test_unsupported_content_type_on_creates(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest
) -> None:
    """Both create operations refuse a body without a Content-Type with 415, creating nothing."""
    expect_error(send(api, operation, notify_environment, content_type=None), 415, "unsupported_media")


@behaviour(feature=EVERY_PATH, ref="behaviour §3.1, §3.3; upstream §3.2 test_415_invalid")
@pytest.mark.undeclared_method
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("path", list(CREATE_PATHS.values()), ids=list(CREATE_PATHS))
def test_unsupported_content_type_precedes_not_allowed(api: ApiClient, path: str, method: str) -> None:
    """PUT and PATCH with an unsupported Content-Type are refused with 415 before routing, even where the
    method is not allowed (405)."""
    expect_error(body_request(api, method, path, "xyz/abc"), 415, "unsupported_media")


@behaviour(feature=EVERY_PATH, ref="behaviour §3.1, §3.3; upstream §3.2 test_415_invalid")
@pytest.mark.undeclared_method
@pytest.mark.parametrize("method", BODY_METHODS)
@pytest.mark.parametrize("path", list(NON_CREATE_PATHS.values()), ids=list(NON_CREATE_PATHS))
def test_unsupported_content_type_precedes_routing(api: ApiClient, path: str, method: str) -> None:
    """POST, PUT and PATCH with an unsupported Content-Type are refused with 415 on paths that are not create
    routes, before the 404 or 405 those paths would otherwise give."""
    expect_error(body_request(api, method, path, None), 415, "unsupported_media")


@behaviour(feature=CREATE_MESSAGE.label, ref="behaviour §3.1")
@pytest.mark.writes
def test_not_acceptable_precedes_unsupported_media(api: ApiClient, notify_environment: Environment) -> None:
    """When both Accept and Content-Type are unsupported, the Accept problem (406) is reported."""
    response = send(api, CREATE_MESSAGE, notify_environment, accept="xyz/abc", content_type="xyz/abc")
    expect_error(response, 406, "not_acceptable")


@behaviour(feature="unknown path", ref="behaviour §3.1")
@pytest.mark.undeclared_method
def test_not_acceptable_precedes_unsupported_media_on_unknown_path(api: ApiClient) -> None:
    """On an unknown path, an unsupported Accept (406) still wins over an unsupported Content-Type (415)."""
    response = body_request(api, "PATCH", UNKNOWN_PATH, "xyz/abc", accept="xyz/abc")
    expect_error(response, 406, "not_acceptable")


@behaviour(feature=CREATE_MESSAGE.label, severity="minor", ref="behaviour §7.1")
@pytest.mark.writes
@pytest.mark.parametrize(
    "content_type", CHARSET_UTF8_CONTENT_TYPES, ids=["json-charset-utf-8", "vnd-charset-utf-8"]
)
def test_charset_utf8_content_type_known_discrepancy(
    api: ApiClient, notify_environment: Environment, content_type: str
) -> None:
    """Known discrepancy D3: the documentation allows '; charset=utf-8' on Content-Type, but the gateway
    refuses it with 415."""
    note_known_discrepancy(
        DISCREPANCY_CHARSET,
        f"the documentation lists {content_type!r} as a valid Content-Type; the gateway compares the "
        "whole value and answers 415. This test asserts the gateway's behaviour and fails if it changes.",
    )
    response = send(api, CREATE_MESSAGE, notify_environment, content_type=content_type)
    expect_error(response, 415, "unsupported_media")
