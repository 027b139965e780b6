"""Gateway body validation (api-behaviour.md §3.8): the pure functions first, then the same rules over HTTP,
including the size limits (10 MiB hard limit, configurable backend limit, 45,000 messages)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.reference.catalogue import Problem
from conformance.reference.oauth import generate_client
from conformance.reference.server import ReferenceConfig, RunningReference, start
from conformance.reference.validation import problems_in, validate_batch, validate_message
from tests.reference.conftest import (
    EXPECTED_ERRORS,
    assert_error,
    assert_errors,
    batch_body,
    batch_message,
    fetch_token,
    field_error,
    message_body,
)

A = "/data/attributes"
M0 = "/data/attributes/messages/0"
INVALID_NHS_NUMBERS: list[Any] = ["999054860", "99905486090", "abcdefghij", "", [], {}, 5, 0.1]


def found(problems: list[Problem]) -> list[tuple[str, str | None]]:
    return [(problem.kind.code, problem.pointer) for problem in problems]


def message_problems(**attributes: Any) -> list[tuple[str, str | None]]:
    return found(validate_message(message_body(**attributes)))


# ---- single message: pure function


def test_a_valid_message_has_no_problems() -> None:
    assert message_problems() == []
    assert message_problems(originator=..., personalisation=..., billingReference=5, unknown={"x": 1}) == []
    assert message_problems(recipient={}) == [], "nhsNumber is optional"
    assert message_problems(routingPlanId="B838B13C-F98C-4DEF-93F0-515D4E4F4EE1") == [], (
        "UUIDs are case-insensitive"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("CM_MISSING_VALUE", "/data")]),
        ({"data": None}, [("CM_NULL_VALUE", "/data")]),
        ({"data": []}, [("CM_INVALID_VALUE", "/data")]),
        ({"data": "x"}, [("CM_INVALID_VALUE", "/data")]),
        (
            {"data": {}},
            [("CM_MISSING_VALUE", "/data/type"), ("CM_MISSING_VALUE", "/data/attributes")],
        ),
        (
            {"data": {"type": "MessageBatch", "attributes": None}},
            [("CM_INVALID_VALUE", "/data/type"), ("CM_NULL_VALUE", "/data/attributes")],
        ),
        (
            {"data": {"type": None, "attributes": {}}},
            [
                ("CM_NULL_VALUE", "/data/type"),
                ("CM_MISSING_VALUE", f"{A}/routingPlanId"),
                ("CM_MISSING_VALUE", f"{A}/messageReference"),
                ("CM_MISSING_VALUE", f"{A}/recipient"),
            ],
        ),
    ],
)
def test_structure_problems_in_order(body: Any, expected: list[tuple[str, str]]) -> None:
    assert found(validate_message(body)) == expected


@pytest.mark.parametrize("body", [None, False, 0, 0.0, ""])
def test_falsy_top_level_json_is_invalid_at_root(body: Any) -> None:
    assert found(validate_message(body)) == [("CM_INVALID_VALUE", "/")]
    assert found(validate_batch(body)) == [("CM_INVALID_VALUE", "/")]


@pytest.mark.parametrize("body", [[], [1], 5, "text", True])
def test_other_non_object_top_level_json_misses_data(body: Any) -> None:
    assert found(validate_message(body)) == [("CM_MISSING_VALUE", "/data")]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{}SF{}NOTVALID",
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"data":{}}',
        b'{"a": NaN}',
        b"[Infinity]",
        b"[" * 100_000,
    ],
)
def test_unparseable_bodies_are_one_invalid_value_at_root(raw: bytes) -> None:
    for batch in (False, True):
        assert found(problems_in(raw, batch=batch)[1]) == [("CM_INVALID_VALUE", "/")]


def test_all_attribute_problems_accumulate_in_gateway_order() -> None:
    problems = message_problems(
        routingPlanId="not-a-uuid",
        messageReference=["x"],
        recipient={"nhsNumber": "1234567890"},
        originator={"odsCode": None},
        personalisation=[],
    )
    assert problems == [
        ("CM_INVALID_VALUE", f"{A}/routingPlanId"),
        ("CM_INVALID_VALUE", f"{A}/messageReference"),
        ("CM_INVALID_NHS_NUMBER", f"{A}/recipient/nhsNumber"),
        ("CM_INVALID_VALUE", f"{A}/originator/odsCode"),
        ("CM_INVALID_VALUE", f"{A}/personalisation"),
    ]


@pytest.mark.parametrize(
    "value", [*INVALID_NHS_NUMBERS, "9990548608", "9990548609\n", "٩٩٩٠٥٤٨٦٠٩", " 9990548609"]
)
def test_invalid_nhs_numbers(value: Any) -> None:
    assert message_problems(recipient={"nhsNumber": value}) == [
        ("CM_INVALID_NHS_NUMBER", f"{A}/recipient/nhsNumber")
    ]


def test_null_nhs_number_is_a_null_error() -> None:
    assert message_problems(recipient={"nhsNumber": None}) == [("CM_NULL_VALUE", f"{A}/recipient/nhsNumber")]


@pytest.mark.parametrize("reference", ["", "   ", "\t\n", "\ufeff", "\u00a0", 5, [], {}, True])
def test_blank_or_non_string_references_are_invalid(reference: Any) -> None:
    assert message_problems(messageReference=reference) == [("CM_INVALID_VALUE", f"{A}/messageReference")]


@pytest.mark.parametrize(
    "plan",
    ["invalid", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-000000000001\n", 1, {}],
)
def test_routing_plan_must_be_a_uuid_string(plan: Any) -> None:
    assert message_problems(routingPlanId=plan) == [("CM_INVALID_VALUE", f"{A}/routingPlanId")]


def test_children_are_skipped_when_the_parent_fails() -> None:
    assert message_problems(recipient="invalid string") == [("CM_INVALID_VALUE", f"{A}/recipient")]
    assert message_problems(recipient=None) == [("CM_NULL_VALUE", f"{A}/recipient")]
    assert message_problems(originator=None) == [("CM_NULL_VALUE", f"{A}/originator")]
    assert message_problems(originator=[]) == [("CM_INVALID_VALUE", f"{A}/originator")]
    assert message_problems(originator={}) == [], "odsCode is optional"


@pytest.mark.parametrize(
    ("value", "code"), [(None, "CM_NULL_VALUE"), (5, "CM_INVALID_VALUE"), ("", "CM_INVALID_VALUE")]
)
def test_personalisation_must_be_an_object_when_present(value: Any, code: str) -> None:
    assert message_problems(personalisation=value) == [(code, f"{A}/personalisation")]


def test_contact_details_are_not_the_gateways_business() -> None:
    assert message_problems(recipient={"contactDetails": {"sms": 1234, "email": []}}) == []


# ---- batch: pure function


def batch_problems(**kwargs: Any) -> list[tuple[str, str | None]]:
    return found(validate_batch(batch_body(**kwargs)))


def test_a_valid_batch_has_no_problems() -> None:
    assert batch_problems() == []


def test_batch_attribute_problems_in_order() -> None:
    problems = found(
        validate_batch({"data": {"type": "Message", "attributes": {"routingPlanId": None, "messages": {}}}})
    )
    assert problems == [
        ("CM_INVALID_VALUE", "/data/type"),
        ("CM_NULL_VALUE", f"{A}/routingPlanId"),
        ("CM_MISSING_VALUE", f"{A}/messageBatchReference"),
        ("CM_INVALID_VALUE", f"{A}/messages"),
    ]


def test_empty_messages_are_too_few() -> None:
    assert batch_problems(messages=[]) == [("CM_TOO_FEW_ITEMS", f"{A}/messages")]


@pytest.mark.parametrize(
    ("element", "code"),
    [
        (None, "CM_NULL_VALUE"),
        ("", "CM_INVALID_VALUE"),
        ([], "CM_INVALID_VALUE"),
        (5, "CM_INVALID_VALUE"),
        (0.1, "CM_INVALID_VALUE"),
    ],
)
def test_message_elements_must_be_objects(element: Any, code: str) -> None:
    assert batch_problems(messages=[element, batch_message()]) == [(code, M0)]


def test_per_message_problems_in_order() -> None:
    message = {
        "recipient": {"nhsNumber": None},
        "originator": {"odsCode": 5},
        "personalisation": "x",
    }
    assert batch_problems(messages=[batch_message(), message]) == [
        ("CM_MISSING_VALUE", f"{A}/messages/1/messageReference"),
        ("CM_NULL_VALUE", f"{A}/messages/1/recipient/nhsNumber"),
        ("CM_INVALID_VALUE", f"{A}/messages/1/originator/odsCode"),
        ("CM_INVALID_VALUE", f"{A}/messages/1/personalisation"),
    ]


def test_repeated_references_are_flagged_after_the_first() -> None:
    first = batch_message(messageReference="same")
    messages = [first, batch_message(), dict(first), dict(first)]
    assert batch_problems(messages=messages) == [
        ("CM_DUPLICATE_VALUE", f"{A}/messages/2/messageReference"),
        ("CM_DUPLICATE_VALUE", f"{A}/messages/3/messageReference"),
    ]


def test_errors_are_capped_at_100() -> None:
    messages = [batch_message(messageReference="same") for _ in range(150)]
    problems = batch_problems(messages=messages)
    assert len(problems) == 100
    assert problems[-1] == ("CM_DUPLICATE_VALUE", f"{A}/messages/100/messageReference")


def test_the_message_that_crosses_100_is_finished_then_the_list_is_cut() -> None:
    # 98 duplicates (messages 1..98) then one message with three problems: 101 found, 100 kept
    messages: list[Any] = [batch_message(messageReference="same") for _ in range(99)]
    messages.append({"messageReference": "same", "recipient": None, "personalisation": 1})
    messages.append({})
    problems = batch_problems(messages=messages)
    assert len(problems) == 100
    assert problems[-2:] == [
        ("CM_DUPLICATE_VALUE", f"{A}/messages/99/messageReference"),
        ("CM_NULL_VALUE", f"{A}/messages/99/recipient"),
    ]


def test_more_than_45000_messages_is_one_413_problem_and_no_per_message_checks() -> None:
    problems = validate_batch(batch_body(messages=[None] * 45_001, routingPlanId="bad"))
    assert found(problems) == [
        ("CM_INVALID_VALUE", f"{A}/routingPlanId"),
        ("CM_TOO_MANY_ITEMS", f"{A}/messages"),
    ]
    assert [problem.status for problem in problems] == [400, 413]
    assert found(validate_batch(batch_body(messages=[None] * 45_000)))[:1] == [("CM_NULL_VALUE", M0)]


# ---- over HTTP


def post(http: httpx.Client, server: RunningReference, path: str, raw: bytes | str) -> httpx.Response:
    return http.post(server.base_url + path, content=raw, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/message-batches"])
@pytest.mark.parametrize("raw", [b"{}SF{}NOTVALID", b"", b"\xc3\x28", b"null", b"0", b'""'])
def test_unparseable_and_falsy_bodies_are_400_at_root(
    http: httpx.Client, sandbox_server: RunningReference, path: str, raw: bytes
) -> None:
    assert_error(post(http, sandbox_server, path, raw), 400, field_error("invalid", "/"))


def test_several_errors_are_numbered_in_order(http: httpx.Client, sandbox_server: RunningReference) -> None:
    body = {"data": {"type": "Message", "attributes": {"messageReference": "x", "recipient": None}}}
    response = post(http, sandbox_server, "/v1/messages", json.dumps(body))
    assert_errors(
        response,
        400,
        [field_error("missing", f"{A}/routingPlanId"), field_error("null", f"{A}/recipient")],
    )


def test_invalid_nhs_number_error_links_to_the_data_dictionary(
    http: httpx.Client, integration_server: RunningReference, access_token: str
) -> None:
    response = http.post(
        integration_server.base_url + "/v1/messages",
        json=message_body(recipient={"nhsNumber": "999054860"}),
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert_error(response, 400, field_error("nhs_number", f"{A}/recipient/nhsNumber"))


def test_http_cap_of_100_errors(http: httpx.Client, sandbox_server: RunningReference) -> None:
    body = batch_body(messages=[batch_message(messageReference="same") for _ in range(200)])
    response = post(http, sandbox_server, "/v1/message-batches", json.dumps(body))
    assert response.status_code == 400
    ids = [error["id"].rsplit(".", 1)[1] for error in response.json()["errors"]]
    assert ids == [str(index) for index in range(100)]


def test_too_many_messages_status_is_the_first_errors(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    url_path = "/v1/message-batches"
    only_too_many = post(http, sandbox_server, url_path, json.dumps(batch_body(messages=[{}] * 45_001)))
    assert_error(only_too_many, 413, EXPECTED_ERRORS["too_many_items"])
    with_plan_error = post(
        http, sandbox_server, url_path, json.dumps(batch_body(messages=[{}] * 45_001, routingPlanId=None))
    )
    assert_errors(
        with_plan_error, 400, [field_error("null", f"{A}/routingPlanId"), EXPECTED_ERRORS["too_many_items"]]
    )


def test_bodies_over_10_mib_are_refused_before_validation(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    raw = b"x" * (10 * 1024 * 1024 + 1)
    assert_error(post(http, sandbox_server, "/v1/messages", raw), 413, EXPECTED_ERRORS["too_large"])


@pytest.fixture(scope="module")
def small_limit_server(key_dir: Path) -> Iterator[tuple[RunningReference, dict[str, str]]]:
    with start(ReferenceConfig(mode="integration", max_body_bytes=2000)) as server:
        token = fetch_token(server, generate_client(server.registry, key_dir))
        yield server, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_valid_bodies_over_the_backend_limit_are_413_in_integration(
    http: httpx.Client, small_limit_server: tuple[RunningReference, dict[str, str]]
) -> None:
    server, headers = small_limit_server
    url = server.base_url + "/v1/messages"
    big = json.dumps(message_body(personalisation={"body": "x" * 3000}))
    assert_error(http.post(url, content=big, headers=headers), 413, EXPECTED_ERRORS["too_large"])
    invalid_and_big = json.dumps(message_body(personalisation={"body": "x" * 3000}, routingPlanId="x"))
    response = http.post(url, content=invalid_and_big, headers=headers)
    assert_error(response, 400, field_error("invalid", f"{A}/routingPlanId"))
    assert http.post(url, content=json.dumps(message_body()), headers=headers).status_code == 201


def test_the_sandbox_takes_valid_bodies_up_to_the_gateway_limit(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    big = json.dumps(message_body(personalisation={"body": "x" * (7 * 1024 * 1024)}))
    assert post(http, sandbox_server, "/v1/messages", big).status_code == 201
