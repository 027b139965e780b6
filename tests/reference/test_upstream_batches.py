"""Upstream sandbox suite, POST /v1/message-batches (upstream-tests.md §3.8, §3.9 and §3.11).

The large-payload cases (40,000 and 45,001 messages) are marked slow. Their bodies are serialised with
spaced separators like requests' `json=`, so the 40k batch keeps its upstream size (about 5.6 MB).

Not reproduced here (api suite only, or unreachable in the stateless sandbox):
- "undefined nhs number", "missing Accept header" and "terminal failed status": api suite only.
- "422 duplicate batch" (the same body twice): the sandbox is stateless; see `Prefer: code=422_batch`
  in test_upstream_faults.py.
- contact-details cases on messages 1 and 2 and the postcode-not-a-string case: api suite only.
- "payload too large" (45,000 messages of about 7.6 MB → 413 CM_TOO_LARGE): the live AWS limit, with no
  sandbox equivalent upstream.
- The routing-plan rows of §3.10 live in test_upstream_routing_plans.py; 425 ones in test_upstream_faults.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up

ATTRIBUTES = "/data/attributes"
MESSAGES = f"{ATTRIBUTES}/messages"
FIRST = f"{MESSAGES}/0"
CONTACT_DETAILS = f"{FIRST}/recipient/contactDetails"
LARGE_BATCH = 40_000
MESSAGE_LIMIT = 45_000


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


@pytest.fixture(scope="module")
def batches_url(base: str) -> str:
    return f"{base}/v1/message-batches"


by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)


def post(
    http: httpx.Client, url: str, body: Any, correlation_id: str | None = None, **headers: str
) -> httpx.Response:
    return up.send(
        http, "POST", url, up.with_correlation(correlation_id, **(headers or up.JSON_HEADERS)), json=body
    )


def post_large(http: httpx.Client, url: str, body: Any) -> httpx.Response:
    return up.send(http, "POST", url, up.JSON_HEADERS, content=up.requests_style_json(body))


def with_first_message(**changes: Any) -> dict[str, Any]:
    body = up.batch_body()
    body["data"]["attributes"]["messages"][0].update(changes)
    return body


def with_messages(messages: list[Any]) -> dict[str, Any]:
    body = up.batch_body()
    body["data"]["attributes"]["messages"] = messages
    return body


# ---- §3.8 success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["*/*", up.VND_JSON])
def test_201_message_batch_valid_accept_headers(http: httpx.Client, batches_url: str, accept: str) -> None:
    body = up.batch_body()
    response = post(http, batches_url, body, Accept=accept, **{"Content-Type": up.PLAIN_JSON})
    up.assert_batch_created(response, body)


def test_201_message_batch_valid_content_type_headers(http: httpx.Client, batches_url: str) -> None:
    body = up.batch_body()
    response = post(http, batches_url, body, Accept=up.VND_JSON, **{"Content-Type": up.VND_JSON})
    up.assert_batch_created(response, body)


@pytest.mark.parametrize("routing_plan_id", up.SANDBOX_ROUTING_PLANS)
def test_201_message_batch_valid_routing_plan_id(
    http: httpx.Client, batches_url: str, routing_plan_id: str
) -> None:
    body = up.batch_body(routing_plan_id=routing_plan_id)
    up.assert_batch_created(post(http, batches_url, body), body)


def test_201_message_batch_valid_nhs_number(http: httpx.Client, batches_url: str) -> None:
    body = with_first_message(recipient={"nhsNumber": up.VALID_NHS_NUMBER})
    up.assert_batch_created(post(http, batches_url, body), body)


@pytest.mark.parametrize("sms", up.VALID_SMS_NUMBERS)
def test_201_message_batch_valid_contact_details(http: httpx.Client, batches_url: str, sms: str) -> None:
    recipient = {"nhsNumber": up.VALID_NHS_NUMBER, "contactDetails": up.valid_contact_details(sms)}
    body = with_first_message(recipient=recipient)
    up.assert_batch_created(post(http, batches_url, body), body)


# ---- §3.9 validation -----------------------------------------------------------------------------------


@by_correlation
def test_invalid_body(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    headers = up.with_correlation(correlation_id, **up.JSON_HEADERS)
    response = up.send(http, "POST", batches_url, headers, content=b"{}SF{}NOTVALID")
    up.assert_error(response, 400, up.INVALID_VALUE.at("/"), correlation_id)


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("data", "/data"),
        ("type", "/data/type"),
        ("attributes", ATTRIBUTES),
        ("routingPlanId", f"{ATTRIBUTES}/routingPlanId"),
        ("messageBatchReference", f"{ATTRIBUTES}/messageBatchReference"),
        ("messages", MESSAGES),
        ("messageReference", f"{FIRST}/messageReference"),
        ("recipient", f"{FIRST}/recipient"),
    ],
)
@by_correlation
def test_property_missing(
    http: httpx.Client, batches_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    """Per-message keys vanish from all three messages, so those cases get three errors, ids .0 .1 .2."""
    response = post(http, batches_url, up.without_key(up.batch_body(), key), correlation_id)
    up.assert_error(response, 400, up.MISSING_VALUE.at(pointer), correlation_id)
    if key in ("messageReference", "recipient"):
        assert len(up.error_objects(response)) == 3


@pytest.mark.parametrize(
    ("key", "pointer"), [("data", "/data"), ("attributes", ATTRIBUTES), ("recipient", f"{FIRST}/recipient")]
)
@by_correlation
def test_data_null(
    http: httpx.Client, batches_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    response = post(http, batches_url, up.with_value(up.batch_body(), key, None), correlation_id)
    up.assert_error(response, 400, up.NULL_VALUE.at(pointer), correlation_id)


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("type", "/data/type"),
        ("recipient", f"{FIRST}/recipient"),
        ("personalisation", f"{FIRST}/personalisation"),
    ],
)
@by_correlation
def test_data_invalid(
    http: httpx.Client, batches_url: str, key: str, pointer: str, correlation_id: str | None
) -> None:
    body = up.with_value(up.batch_body(), key, "invalid string")
    up.assert_error(
        post(http, batches_url, body, correlation_id), 400, up.INVALID_VALUE.at(pointer), correlation_id
    )


@by_correlation
def test_data_duplicate(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    """Only the repeat is flagged, at its own index, never the first occurrence."""
    body = up.batch_body()
    messages = body["data"]["attributes"]["messages"]
    messages.append(dict(messages[0]))
    response = post(http, batches_url, body, correlation_id)
    up.assert_error(response, 400, up.DUPLICATE_VALUE.at(f"{MESSAGES}/3/messageReference"), correlation_id)


@by_correlation
def test_data_too_few_items(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    response = post(http, batches_url, with_messages([]), correlation_id)
    up.assert_error(response, 400, up.TOO_FEW_ITEMS.at(MESSAGES), correlation_id)


@pytest.mark.parametrize("nhs_number", up.INVALID_NHS_NUMBERS, ids=repr)
@by_correlation
def test_invalid_nhs_number(
    http: httpx.Client, batches_url: str, nhs_number: object, correlation_id: str | None
) -> None:
    body = with_first_message(recipient={"nhsNumber": nhs_number})
    response = post(http, batches_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_NHS_NUMBER.at(f"{FIRST}/recipient/nhsNumber"), correlation_id)


@by_correlation
def test_invalid_routing_plan(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    body = up.with_value(up.batch_body(), "routingPlanId", "invalid")
    response = post(http, batches_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{ATTRIBUTES}/routingPlanId"), correlation_id)


@by_correlation
def test_invalid_message_batch_reference(
    http: httpx.Client, batches_url: str, correlation_id: str | None
) -> None:
    body = up.with_value(up.batch_body(), "messageBatchReference", ["invalid"])
    response = post(http, batches_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{ATTRIBUTES}/messageBatchReference"), correlation_id)


@by_correlation
def test_invalid_message_reference(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    body = with_first_message(messageReference=["invalid"])
    response = post(http, batches_url, body, correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{FIRST}/messageReference"), correlation_id)


@pytest.mark.parametrize("element", up.INVALID_MESSAGE_ELEMENTS, ids=repr)
@by_correlation
def test_blank_value_under_messages(
    http: httpx.Client, batches_url: str, element: object, correlation_id: str | None
) -> None:
    response = post(http, batches_url, with_messages([element]), correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(FIRST), correlation_id)


@by_correlation
def test_null_value_under_messages(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    response = post(http, batches_url, with_messages([None]), correlation_id)
    up.assert_error(response, 400, up.NULL_VALUE.at(FIRST), correlation_id)


@pytest.mark.parametrize("personalisation", up.INVALID_PERSONALISATIONS, ids=repr)
@by_correlation
def test_invalid_personalisation(
    http: httpx.Client, batches_url: str, personalisation: object, correlation_id: str | None
) -> None:
    response = post(http, batches_url, with_first_message(personalisation=personalisation), correlation_id)
    up.assert_error(response, 400, up.INVALID_VALUE.at(f"{FIRST}/personalisation"), correlation_id)


@by_correlation
def test_null_personalisation(http: httpx.Client, batches_url: str, correlation_id: str | None) -> None:
    response = post(http, batches_url, with_first_message(personalisation=None), correlation_id)
    up.assert_error(response, 400, up.NULL_VALUE.at(f"{FIRST}/personalisation"), correlation_id)


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
    http: httpx.Client, batches_url: str, contact_details: dict[str, Any], pointer: str, detail: str
) -> None:
    body = with_first_message(recipient={"nhsNumber": up.VALID_NHS_NUMBER, "contactDetails": contact_details})
    up.assert_error(post(http, batches_url, body), 400, up.INVALID_VALUE.at(pointer).saying(detail), None)


def test_not_permitted_to_set_contact_details(http: httpx.Client, batches_url: str) -> None:
    recipient = {"nhsNumber": up.VALID_NHS_NUMBER, "contactDetails": up.valid_contact_details()}
    response = post(
        http,
        batches_url,
        with_first_message(recipient=recipient),
        Authorization="notAllowedContactDetailOverride",
        **up.JSON_HEADERS,
    )
    up.assert_error(response, 400, up.CANNOT_SET_CONTACT_DETAILS.at(CONTACT_DETAILS), None)


@pytest.mark.parametrize("message_count", [99, 100, 101, 150, 200])
@by_correlation
def test_validation_returns_at_max_errors(
    http: httpx.Client, batches_url: str, message_count: int, correlation_id: str | None
) -> None:
    """Upstream only checks `<= 100`; the gateway rules also fix the status and which errors appear."""
    shared = str(uuid.uuid4())
    response = post(
        http,
        batches_url,
        with_messages([up.batch_message(shared) for _ in range(message_count)]),
        correlation_id,
    )
    up.assert_error(response, 400, up.DUPLICATE_VALUE.at(f"{MESSAGES}/1/messageReference"), correlation_id)
    errors = up.error_objects(response)
    assert len(errors) == min(message_count - 1, up.MAX_ERRORS)
    expected = [up.DUPLICATE_VALUE.at(f"{MESSAGES}/{i}/messageReference").as_json() for i in range(1, 101)]
    assert errors == expected[: len(errors)]


# ---- §3.11 batch size ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_create_messages_large_valid_payload(http: httpx.Client, batches_url: str) -> None:
    body = with_messages(
        [
            {
                "messageReference": up.new_reference(),
                "recipient": {"nhsNumber": up.VALID_NHS_NUMBER},
                "personalisation": {},
            }
            for _ in range(LARGE_BATCH)
        ]
    )
    up.assert_batch_created(post_large(http, batches_url, body), body)


@pytest.mark.slow
def test_create_messages_large_invalid_payload(http: httpx.Client, batches_url: str) -> None:
    body = with_messages(
        [
            {
                "messageReference": up.new_reference(),
                "recipient": {"nhsNumber": "not valid"},
                "personalisation": {},
            }
            for _ in range(LARGE_BATCH)
        ]
    )
    response = post_large(http, batches_url, body)
    up.assert_error(response, 400, up.INVALID_NHS_NUMBER.at(f"{FIRST}/recipient/nhsNumber"), None)
    assert len(up.error_objects(response)) == up.MAX_ERRORS


@pytest.mark.slow
def test_create_messages_large_not_unique_payload(http: httpx.Client, batches_url: str) -> None:
    shared = up.new_reference()
    body = with_messages(
        [
            {"messageReference": shared, "recipient": {"nhsNumber": "not valid"}, "personalisation": {}}
            for _ in range(LARGE_BATCH)
        ]
    )
    response = post_large(http, batches_url, body)
    up.assert_error(response, 400, up.INVALID_NHS_NUMBER.at(f"{FIRST}/recipient/nhsNumber"), None)
    assert len(up.error_objects(response)) == up.MAX_ERRORS


@pytest.mark.slow
def test_too_many_messages(http: httpx.Client, batches_url: str) -> None:
    """The count limit is checked before any per-message rule, so one 413 error and nothing else."""
    body = with_messages(
        [
            {"messageReference": up.new_reference(), "recipient": {"nhsNumber": "x"}}
            for _ in range(MESSAGE_LIMIT + 1)
        ]
    )
    assert len(up.requests_style_json(body)) < 6_000_000, "the body must stay under the size limit"
    response = post_large(http, batches_url, body)
    up.assert_error(response, 413, up.TOO_MANY_ITEMS, None)
    assert len(up.error_objects(response)) == 1
