"""Content negotiation: which Accept values the API serves, and which Content-Type it answers with.

Proves api-behaviour.md §3.2 (406 CM_NOT_ACCEPTABLE), §1.7 (response Content-Type mapping) and §3.1
(406 is decided before routing), the known charset discrepancy of §7.1, and the rows of
upstream-tests.md §3.2 (test_406, test_application_response_type, test_missing_accept_header).
"""

from __future__ import annotations

import httpx
import pytest

from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite._expect import (
    CREATE_OPERATIONS,
    DISCREPANCY_CHARSET,
    GET_MESSAGE,
    JSONAPI,
    PLAIN_JSON,
    READ_OPERATIONS,
    UNKNOWN_PATH,
    Operation,
    describe,
    expect_error,
    expect_status,
    note_known_discrepancy,
    operation_id,
    send,
)
from conformance.suite._labels import behaviour

AREA = "negotiation"
EVERY_OPERATION = "every operation"

#: The Accept values the API serves, and the Content-Type each one gets back.
ALLOWED_ACCEPTS = {
    "*/*": JSONAPI,
    "application/json": PLAIN_JSON,
    "application/vnd.api+json": JSONAPI,
}
#: Accept values the gateway refuses: it compares the whole value, so ranges and parameters fail too.
UNSUPPORTED_ACCEPTS = {
    "empty": "",
    "xyz-abc": "xyz/abc",
    "xml": "application/xml",
    "html": "text/html",
    "application-range": "application/*",
    "json-charset-utf-9": "application/json; charset=utf-9",
    "vnd-charset-utf-9": "application/vnd.api+json; charset=utf-9",
}
#: The documentation lists these as valid; the gateway's exact comparison refuses them (§7.1).
CHARSET_UTF8_ACCEPTS = ("application/json; charset=utf-8", "application/vnd.api+json; charset=utf-8")
UNSUPPORTED = "xyz/abc"

allowed_accepts = pytest.mark.parametrize("accept", list(ALLOWED_ACCEPTS), ids=lambda a: f"accept={a}")
read_operations = pytest.mark.parametrize("operation", READ_OPERATIONS, ids=operation_id)
create_operations = pytest.mark.parametrize("operation", CREATE_OPERATIONS, ids=operation_id)


def assert_content_type(response: httpx.Response, wanted: str) -> None:
    got = response.headers.get("Content-Type")
    assert got == wanted, f"Content-Type should be exactly {wanted!r}, got {got!r}: {describe(response)}"


def assert_served(api: ApiClient, operation: Operation, env: Environment, accept: str | None) -> None:
    """The operation gets its usual answer, in the Content-Type that ``accept`` maps to."""
    response = send(api, operation, env, accept=accept)
    expect_status(response, operation.usual_status)
    assert_content_type(response, ALLOWED_ACCEPTS.get(accept or "", JSONAPI))


def assert_not_acceptable(response: httpx.Response) -> None:
    """406 CM_NOT_ACCEPTABLE, itself served as JSON:API whatever the client asked for."""
    expect_error(response, 406, "not_acceptable")
    assert_content_type(response, JSONAPI)


# ------------------------------------------------------------------------------------------------------
# Accepted values and the Content-Type they get


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="Each allowed Accept value is served by the read operations, and decides the response Content-Type",
    severity="critical",
    ref="api-behaviour §1.7, §3.2",
)
@allowed_accepts
@read_operations
def test_allowed_accept_on_reads(
    api: ApiClient, notify_environment: Environment, operation: Operation, accept: str
) -> None:
    assert_served(api, operation, notify_environment, accept)


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="Each allowed Accept value is served by the create operations, and decides the response type",
    severity="critical",
    ref="api-behaviour §1.7, §3.2",
)
@pytest.mark.writes
@allowed_accepts
@create_operations
def test_allowed_accept_on_creates(
    api: ApiClient, notify_environment: Environment, operation: Operation, accept: str
) -> None:
    assert_served(api, operation, notify_environment, accept)


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="A request without an Accept header is served, as JSON:API",
    severity="critical",
    ref="api-behaviour §3.2; upstream-tests §3.2 test_missing_accept_header",
)
@read_operations
def test_missing_accept_on_reads(
    api: ApiClient, notify_environment: Environment, operation: Operation
) -> None:
    assert_served(api, operation, notify_environment, None)


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="A create request without an Accept header succeeds (201), answered as JSON:API",
    severity="critical",
    ref="api-behaviour §3.2; upstream-tests §3.2 test_missing_accept_header",
)
@pytest.mark.writes
@create_operations
def test_missing_accept_on_creates(
    api: ApiClient, notify_environment: Environment, operation: Operation
) -> None:
    assert_served(api, operation, notify_environment, None)


@behaviour(
    area=AREA,
    feature=GET_MESSAGE.label,
    story="The Accept header is recognised whatever the case of its name",
    ref="api-behaviour §3.2",
)
@pytest.mark.parametrize("name", ["accept", "ACCEPT", "AcCePt"])
@pytest.mark.parametrize(
    "value", [PLAIN_JSON, UNSUPPORTED], ids=["allowed-application-json", "unsupported-xyz-abc"]
)
def test_accept_header_name_case(
    api: ApiClient, notify_environment: Environment, name: str, value: str
) -> None:
    response = send(api, GET_MESSAGE, notify_environment, accept=None, headers={name: value})
    if value == UNSUPPORTED:
        assert_not_acceptable(response)
    else:
        expect_status(response, GET_MESSAGE.usual_status)
        assert_content_type(response, PLAIN_JSON)


# ------------------------------------------------------------------------------------------------------
# Refused values: 406


@behaviour(
    area=AREA,
    feature=GET_MESSAGE.label,
    story="An Accept value other than */*, application/json or application/vnd.api+json is refused with 406",
    severity="critical",
    ref="api-behaviour §3.2; upstream-tests §3.2 test_406",
)
@pytest.mark.parametrize("accept", list(UNSUPPORTED_ACCEPTS.values()), ids=list(UNSUPPORTED_ACCEPTS))
def test_unsupported_accept_value(api: ApiClient, notify_environment: Environment, accept: str) -> None:
    assert_not_acceptable(send(api, GET_MESSAGE, notify_environment, accept=accept))


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="Every read operation refuses an unsupported Accept value with 406",
    severity="critical",
    ref="api-behaviour §3.2; upstream-tests §3.2 test_406",
)
@read_operations
def test_unsupported_accept_on_reads(
    api: ApiClient, notify_environment: Environment, operation: Operation
) -> None:
    assert_not_acceptable(send(api, operation, notify_environment, accept=UNSUPPORTED))


@behaviour(
    area=AREA,
    feature=EVERY_OPERATION,
    story="Every create operation refuses an unsupported Accept value with 406, creating nothing",
    severity="critical",
    ref="api-behaviour §3.2; upstream-tests §3.2 test_406",
)
@pytest.mark.writes
@create_operations
def test_unsupported_accept_on_creates(
    api: ApiClient, notify_environment: Environment, operation: Operation
) -> None:
    assert_not_acceptable(send(api, operation, notify_environment, accept=UNSUPPORTED))


@behaviour(
    area=AREA,
    feature="unknown path",
    story="An unsupported Accept value is refused with 406 even on a path that does not exist",
    ref="api-behaviour §3.1",
)
def test_not_acceptable_precedes_not_found(api: ApiClient) -> None:
    assert_not_acceptable(api.get(UNKNOWN_PATH, accept=UNSUPPORTED))


@behaviour(
    area=AREA,
    feature="POST /v1/messages",
    story="An unsupported Accept value is refused with 406 even with a method the path does not allow",
    ref="api-behaviour §3.1",
)
@pytest.mark.undeclared_method
def test_not_acceptable_precedes_not_allowed(api: ApiClient) -> None:
    assert_not_acceptable(api.get("/v1/messages", accept=UNSUPPORTED))


@behaviour(
    area=AREA,
    feature=GET_MESSAGE.label,
    story=(
        f"Known discrepancy {DISCREPANCY_CHARSET}: the documentation allows '; charset=utf-8' on Accept, "
        "but the gateway refuses it with 406"
    ),
    severity="minor",
    ref="api-behaviour §7.1",
)
@pytest.mark.parametrize("accept", CHARSET_UTF8_ACCEPTS, ids=["json-charset-utf-8", "vnd-charset-utf-8"])
def test_charset_utf8_accept_known_discrepancy(
    api: ApiClient, notify_environment: Environment, accept: str
) -> None:
    note_known_discrepancy(
        DISCREPANCY_CHARSET,
        f"the documentation lists {accept!r} as a valid Accept value; the gateway compares the whole "
        "value and answers 406. This test asserts the gateway's behaviour and fails if it changes.",
    )
    assert_not_acceptable(send(api, GET_MESSAGE, notify_environment, accept=accept))
