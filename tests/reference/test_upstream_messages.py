"""Upstream sandbox suite, POST /v1/messages (upstream-tests.md §3.6 success, §3.7 validation).

Not reproduced here (api suite only, or unreachable in the stateless sandbox):
- "undefined nhs number" (recipient without nhsNumber → 201): only in the api suite.
- "terminal failed status" (polls GET until MFR_CFGV_0005): needs the live pipeline; the sandbox
  stores nothing.
- "422 duplicate" (the same body twice): the sandbox is stateless; its 422 comes from
  `Prefer: code=422_message` (see test_upstream_faults.py).
- The routing-plan rows of §3.10 live in test_upstream_routing_plans.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up

ATTRIBUTES = "/data/attributes"
RECIPIENT = f"{ATTRIBUTES}/recipient"
CONTACT_DETAILS = f"{RECIPIENT}/contactDetails"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


@pytest.fixture(scope="module")
def messages_url(base: str) -> str:
    return f"{base}/v1/messages"


by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)


def post(
    http: httpx.Client, url: str, body: Any, correlation_id: str | None = None, **headers: str
) -> httpx.Response:
    return up.send(
        http, "POST", url, up.with_correlation(correlation_id, **(headers or up.JSON_HEADERS)), json=body
    )


def with_recipient(**recipient: Any) -> dict[str, Any]:
    body = up.message_body()
    body["data"]["attributes"]["recipient"] = recipient
    return body


# ---- §3.6 success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["*/*", up.VND_JSON])
def test_201_message_valid_accept_headers(
    http: httpx.Client, base: str, messages_url: str, accept: str
) -> None:
    response = post(http, messages_url, up.message_body(), Accept=accept, **{"Content-Type": up.PLAIN_JSON})
    up.assert_message_created(response, base)


def test_201_message_valid_content_type_headers(http: httpx.Client, base: str, messages_url: str) -> None:
    response = post(
        http, messages_url, up.message_body(), Accept=up.VND_JSON, **{"Content-Type": up.VND_JSON}
    )
    up.assert_message_created(response, base)


def test_201_message_valid_nhs_number(http: httpx.Client, base: str, messages_url: str) -> None:
    response = post(http, messages_url, with_recipient(nhsNumber=up.VALID_NHS_NUMBER))
    up.assert_message_created(response, base)


@pytest.mark.parametrize("sms", up.VALID_SMS_NUMBERS)
def test_201_message_valid_contact_details(
    http: httpx.Client, base: str, messages_url: str, sms: str
) -> None:
    body = with_recipient(nhsNumber=up.VALID_NHS_NUMBER, contactDetails=up.valid_contact_details(sms))
    up.assert_message_created(post(http, messages_url, body), base)


# ---- §3.7 validation -----------------------------------------------------------------------------------


@by_correlation
def test_invalid_body(http: httpx.Client, messages_url: str, correlation_id: str | None) -> None:
    headers = up.with_correlation(correlation_id, **up.JSON_HEADERS)
    response = up.send(http, "POST", messages_url, headers, content=b"{}SF{}NOTVALID")
    up.assert_error(response, 400, up.INVALID_VALUE.at("/"), correlation_id)


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("data", "/data"),
        ("type", "/data/type"),
        ("attributes", ATTRIBUTES),
        ("routingPlanId", f"{ATTRIBUTES}/routingPlanId"),
        ("messageReference", f"{ATTRIBUTES}/messageReference"),
        ("recipient", RECIPIENT),
    ],
)
@by_correlation
def test_property_missing(
    http: httpx.Client, messages_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    response = post(http, messages_url, up.without_key(up.message_body(), key), correlation_id)
    up.assert_error(response, 400, up.MISSING_VALUE.at(pointer), correlation_id)


@pytest.mark.parametrize(
    ("key", "pointer"), [("data", "/data"), ("attributes", ATTRIBUTES), ("recipient", RECIPIENT)]
)
@by_correlation
def test_data_null(
    http: httpx.Client, messages_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    response = post(http, messages_url, up.with_value(up.message_body(), key, None), correlation_id)
    up.assert_error(response, 400, up.NULL_VALUE.at(pointer), correlation_id)


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("type", "/data/type"),
        ("routingPlanId", f"{ATTRIBUTES}/routingPlanId"),
        ("recipient", RECIPIENT),
        ("personalisation", f"{ATTRIBUTES}/personalisation"),
    ],
)
@by_correlation
def test_data_invalid(
    http: httpx.Client, messages_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    body = up.with_value(up.message_body(), key, "invalid string")
    up.assert_error(
        post(http, messages_url, body, correlation_id), 400, up.INVALID_VALUE.at(pointer), correlation_id
    )


@pytest.mark.parametrize("nhs_number", up.INVALID_NHS_NUMBERS, ids=repr)
@by_correlation
def test_invalid_nhs_number(
    http: httpx.Client, messages_url: str, nhs_number: object, correlation_id: str | None
) -> None:
    response = post(http, messages_url, with_recipient(nhsNumber=nhs_number), correlation_id)
    up.assert_error(response, 400, up.INVALID_NHS_NUMBER.at(f"{RECIPIENT}/nhsNumber"), correlation_id)


@by_correlation
def test_invalid_routing_plan(http: httpx.Client, messages_url: str, correlation_id: str | None) -> None:
    body = up.with_value(up.message_body(), "routingPlanId", "invalid")
    response = post(http, messages_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{ATTRIBUTES}/routingPlanId"), correlation_id)


@by_correlation
def test_invalid_message_reference(http: httpx.Client, messages_url: str, correlation_id: str | None) -> None:
    body = up.with_value(up.message_body(), "messageReference", ["invalid"])
    response = post(http, messages_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{ATTRIBUTES}/messageReference"), correlation_id)


@pytest.mark.parametrize("personalisation", up.INVALID_PERSONALISATIONS, ids=repr)
@by_correlation
def test_invalid_personalisation(
    http: httpx.Client, messages_url: str, personalisation: object, correlation_id: str | None
) -> None:
    body = up.with_value(up.message_body(), "personalisation", personalisation)
    response = post(http, messages_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{ATTRIBUTES}/personalisation"), correlation_id)


@by_correlation
def test_null_personalisation(http: httpx.Client, messages_url: str, correlation_id: str | None) -> None:
    body = up.with_value(up.message_body(), "personalisation", None)
    response = post(http, messages_url, body, correlation_id)
    up.assert_error(response, 400, up.NULL_VALUE.at(f"{ATTRIBUTES}/personalisation"), correlation_id)


@pytest.mark.parametrize(
    ("contact_details", "pointer", "detail"),
    [
        pytest.param({"sms": 1234}, f"{CONTACT_DETAILS}/sms", up.SMS_NOT_A_STRING, id="sms-not-string"),
        pytest.param(
            {"email": 1234}, f"{CONTACT_DETAILS}/email", up.EMAIL_NOT_A_STRING, id="email-not-string"
        ),
        pytest.param(
            {"address": {"lines": [f"Line {n}" for n in range(1, 7)], "postcode": "LS7 1BN"}},
            f"{CONTACT_DETAILS}/address",
            up.TOO_MANY_ADDRESS_LINES,
            id="address-too-many-lines",
        ),
        pytest.param(
            {"address": {"lines": [1, 2, 3], "postcode": "LS7 1BN"}},
            f"{CONTACT_DETAILS}/address",
            up.LINES_NOT_STRINGS,
            id="address-lines-not-strings",
        ),
    ],
)
def test_invalid_contact_details(
    http: httpx.Client, messages_url: str, contact_details: dict[str, Any], pointer: str, detail: str
) -> None:
    """These come from the sandbox backend, with details that name the offending field."""
    body = with_recipient(nhsNumber=up.VALID_NHS_NUMBER, contactDetails=contact_details)
    up.assert_error(post(http, messages_url, body), 400, up.INVALID_VALUE.at(pointer).saying(detail), None)


def test_not_permitted_to_set_contact_details(http: httpx.Client, messages_url: str) -> None:
    body = with_recipient(nhsNumber=up.VALID_NHS_NUMBER, contactDetails=up.valid_contact_details())
    response = post(
        http, messages_url, body, Authorization="notAllowedContactDetailOverride", **up.JSON_HEADERS
    )
    up.assert_error(response, 400, up.CANNOT_SET_CONTACT_DETAILS.at(CONTACT_DETAILS), None)
