"""Content negotiation: which Accept values the API serves, and which Content-Type it answers with.

Proves behaviour §3.2 (406 CM_NOT_ACCEPTABLE), §1.7 (response Content-Type mapping), §3.1 (406 is
decided before routing; the sandbox's order of triggers, 406 and 415) and §4.1, the known charset
discrepancy of §7.1, and the rows of
upstream §3.2 (test_406, test_application_response_type, test_missing_accept_header).
"""

from __future__ import annotations

import httpx
import pytest

from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite._bodies import SANDBOX_SECTION
from conformance.suite._expect import (
    CREATE_MESSAGE,
    DISCREPANCY_CHARSET,
    GET_MESSAGE,
    PLAIN_JSON,
    UNKNOWN_PATH,
    OperationRequest,
    describe,
    every_operation,
    expect_error,
    expect_status,
    note_known_discrepancy,
    send,
)
from conformance.suite._labels import for_module

AREA = "negotiation"
EVERY_OPERATION = "every operation"
#: this module's labels: each test names its feature (the operation or path it proves)
behaviour = for_module(area=AREA)

#: The Accept values the API serves, and the Content-Type each one gets back.
ALLOWED_ACCEPTS = {
    "*/*": JSONAPI,
    PLAIN_JSON: PLAIN_JSON,
    JSONAPI: JSONAPI,
}
#: Accept values the gateway refuses: it compares the whole value, so ranges and parameters fail too.
UNSUPPORTED_ACCEPTS = {
    "empty": "",
    "xyz-abc": "xyz/abc",
    "xml": "application/xml",
    "html": "text/html",
    "application-range": "application/*",
    "json-charset-utf-9": f"{PLAIN_JSON}; charset=utf-9",
    "vnd-charset-utf-9": f"{JSONAPI}; charset=utf-9",
}
#: The documentation lists these as valid; the gateway's exact comparison refuses them (§7.1).
CHARSET_UTF8_ACCEPTS = (f"{PLAIN_JSON}; charset=utf-8", f"{JSONAPI}; charset=utf-8")
UNSUPPORTED = "xyz/abc"

allowed_accepts = pytest.mark.parametrize("accept", list(ALLOWED_ACCEPTS), ids=lambda a: f"accept={a}")


def assert_content_type(response: httpx.Response, wanted: str) -> None:
    got = response.headers.get("Content-Type")
    assert got == wanted, f"Content-Type should be exactly {wanted!r}, got {got!r}: {describe(response)}"


def assert_served(api: ApiClient, operation: OperationRequest, env: Environment, accept: str | None) -> None:
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


@behaviour(feature=EVERY_OPERATION, severity="critical", ref="behaviour §1.7, §3.2")
@allowed_accepts
@every_operation
def test_allowed_accept(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest, accept: str
) -> None:
    """Each allowed Accept value is served by every operation, and decides the response Content-Type."""
    assert_served(api, operation, notify_environment, accept)


@behaviour(
    feature=EVERY_OPERATION,
    severity="critical",
    ref="behaviour §3.2; upstream §3.2 test_missing_accept_header",
)
@every_operation
def test_missing_accept(api: ApiClient, notify_environment: Environment, operation: OperationRequest) -> None:
    """A request without an Accept header is served (a create succeeds with 201), as JSON:API."""
    assert_served(api, operation, notify_environment, None)


@behaviour(feature=GET_MESSAGE.label, ref="behaviour §3.2")
@pytest.mark.parametrize("name", ["accept", "ACCEPT", "AcCePt"])
@pytest.mark.parametrize(
    "value", [PLAIN_JSON, UNSUPPORTED], ids=["allowed-application-json", "unsupported-xyz-abc"]
)
def test_accept_header_name_case(
    api: ApiClient, notify_environment: Environment, name: str, value: str
) -> None:
    """The Accept header is recognised whatever the case of its name."""
    response = send(api, GET_MESSAGE, notify_environment, accept=None, headers={name: value})
    if value == UNSUPPORTED:
        assert_not_acceptable(response)
    else:
        expect_status(response, GET_MESSAGE.usual_status)
        assert_content_type(response, PLAIN_JSON)


# ------------------------------------------------------------------------------------------------------
# Refused values: 406


@behaviour(feature=GET_MESSAGE.label, severity="critical", ref="behaviour §3.2; upstream §3.2 test_406")
@pytest.mark.parametrize("accept", list(UNSUPPORTED_ACCEPTS.values()), ids=list(UNSUPPORTED_ACCEPTS))
def test_unsupported_accept_value(api: ApiClient, notify_environment: Environment, accept: str) -> None:
    """An Accept value other than */*, application/json or application/vnd.api+json is refused with 406."""
    assert_not_acceptable(send(api, GET_MESSAGE, notify_environment, accept=accept))


@behaviour(feature=EVERY_OPERATION, severity="critical", ref="behaviour §3.2; upstream §3.2 test_406")
@every_operation
def test_unsupported_accept(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest
) -> None:
    """Every operation refuses an unsupported Accept value with 406, and a create creates nothing."""
    assert_not_acceptable(send(api, operation, notify_environment, accept=UNSUPPORTED))


@behaviour(feature="unknown path", ref="behaviour §3.1")
def test_not_acceptable_precedes_not_found(api: ApiClient) -> None:
    """An unsupported Accept value is refused with 406 even on a path that does not exist."""
    assert_not_acceptable(api.get(UNKNOWN_PATH, accept=UNSUPPORTED))


@behaviour(feature="POST /v1/messages", ref="behaviour §3.1")
@pytest.mark.undeclared_method
def test_not_acceptable_precedes_not_allowed(api: ApiClient) -> None:
    """An unsupported Accept value is refused with 406 even with a method the path does not allow."""
    assert_not_acceptable(api.get("/v1/messages", accept=UNSUPPORTED))


@behaviour(feature=GET_MESSAGE.label, severity="minor", ref="behaviour §7.1")
@pytest.mark.parametrize("accept", CHARSET_UTF8_ACCEPTS, ids=["json-charset-utf-8", "vnd-charset-utf-8"])
def test_charset_utf8_accept_known_discrepancy(
    api: ApiClient, notify_environment: Environment, accept: str
) -> None:
    """Known discrepancy D3: the documentation allows '; charset=utf-8' on Accept, but the gateway refuses it
    with 406."""
    note_known_discrepancy(
        DISCREPANCY_CHARSET,
        f"the documentation lists {accept!r} as a valid Accept value; the gateway compares the whole "
        "value and answers 406. This test asserts the gateway's behaviour and fails if it changes.",
    )
    assert_not_acceptable(send(api, GET_MESSAGE, notify_environment, accept=accept))


@behaviour(
    feature=EVERY_OPERATION,
    section=SANDBOX_SECTION,
    ref="behaviour §3.1 (sandbox order), §4.1 (429 after the 406/415 checks)",
)
@pytest.mark.scenario
@pytest.mark.parametrize(
    ("code", "accept", "content_type", "status", "error"),
    [
        ("408", UNSUPPORTED, JSONAPI, 408, "request_timeout"),
        ("500", UNSUPPORTED, JSONAPI, 500, "internal_server_error"),
        ("422_message", JSONAPI, UNSUPPORTED, 422, "duplicate_message_request"),
        ("429", UNSUPPORTED, JSONAPI, 406, "not_acceptable"),
        ("429", JSONAPI, UNSUPPORTED, 415, "unsupported_media"),
    ],
    ids=["408-beats-406", "500-beats-406", "422-beats-415", "406-beats-429", "415-beats-429"],
)
def test_prefer_trigger_order(
    api: ApiClient,
    notify_environment: Environment,
    code: str,
    accept: str,
    content_type: str,
    status: int,
    error: str,
) -> None:
    """Sandbox fault triggers win over a refused Accept or Content-Type, but Prefer 429 is decided after 406
    and 415."""
    response = send(
        api,
        CREATE_MESSAGE,
        notify_environment,
        headers={"Prefer": f"code={code}"},
        accept=accept,
        content_type=content_type,
        # the answer the order asks for is judged; a 429 is waited out once, and judged if it comes again:
        # then it is the trigger's own answer (the order broken), not throttling, which passes
        judge=(status,),
        judge_if_repeated=(429,) if code == "429" else (),
    )
    expect_error(response, status, error)
