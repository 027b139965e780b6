"""Sandbox-mode scenarios (api-behaviour.md §4): Prefer and Authorization triggers, the routing-plan table,
contact-detail checks, stored messages, NHS App accounts and the simulated upstream trouble."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance._resources import fixtures_dir
from conformance.reference.server import ReferenceConfig, RunningReference, start
from tests.reference.conftest import (
    ABOUT_LINK,
    EXPECTED_ERRORS,
    assert_error,
    assert_errors,
    batch_body,
    batch_message,
    message_body,
    with_detail,
)

MESSAGES = "/v1/messages"
BATCHES = "/v1/message-batches"
ACCOUNTS = "/channels/nhsapp/accounts"
STORED_DIR = fixtures_dir() / "sandbox" / "messages"
STORED_IDS = sorted(path.stem for path in STORED_DIR.glob("*.json"))
INVALID = {
    "code": "CM_INVALID_VALUE",
    "links": {"about": ABOUT_LINK},
    "status": "400",
    "title": "Invalid value",
}
ODS_REQUIRED = {
    "code": "CM_ODS_CODE_REQUIRED",
    "links": {"about": ABOUT_LINK},
    "status": "400",
    "title": "Originator odsCode must be provided",
    "detail": (
        "An originator with odsCode must be provided, as your account does not have a default ODS code."
    ),
    "source": {"pointer": "/data/attributes/messages"},
}
CANNOT_SET_ODS = {
    "code": "CM_CANNOT_SET_ODS_CODE",
    "links": {"about": ABOUT_LINK},
    "status": "400",
    "title": "Cannot set ODS code",
    "detail": "Your account is not permitted to set originator ODS codes.",
    "source": {"pointer": "/data/attributes/messages"},
}


def cannot_set_contact_details(pointer: str) -> dict[str, object]:
    return {
        "code": "CM_CANNOT_SET_CONTACT_DETAILS",
        "links": {"about": ABOUT_LINK},
        "status": "400",
        "title": "Cannot set contact details",
        "detail": "Client is not allowed to provide alternative contact details.",
        "source": {"pointer": pointer},
    }


def invalid_request(detail: str) -> dict[str, object]:
    return {
        "code": "CM_INVALID_REQUEST",
        "links": {"about": ABOUT_LINK},
        "status": "400",
        "title": "Invalid Request",
        "detail": detail,
    }


def post(
    http: httpx.Client, server: RunningReference, path: str, body: Any, **headers: str
) -> httpx.Response:
    return http.post(server.base_url + path, json=body, headers=headers)


# ---- Prefer and mock-token triggers


@pytest.mark.parametrize(
    ("prefer", "status", "expected", "retry_after"),
    [
        ("code=408", 408, "request_timeout", None),
        ("code=504", 504, "gateway_timeout", None),
        ("code=503", 503, "service_unavailable", None),
        ("code=500", 500, "internal", None),
        ("code=401", 401, "denied", None),
        ("code=403", 403, "forbidden", None),
        ("code=403.1", 403, "service_ban", None),
        ("code=425", 425, "retry_too_early", "300"),
        ("code=422_batch", 422, "duplicate_batch", None),
        ("code=422_message", 422, "duplicate_message", None),
        ("code=429", 429, "quota", "5"),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("GET", ""), ("POST", ""), ("DELETE", "/v1/messages/x")])
def test_prefer_triggers_on_any_path_and_method(
    http: httpx.Client,
    sandbox_server: RunningReference,
    prefer: str,
    status: int,
    expected: str,
    retry_after: str | None,
    method: str,
    path: str,
) -> None:
    headers = {"Prefer": prefer, "Content-Type": "application/json"}
    response = http.request(method, sandbox_server.base_url + path, headers=headers)
    assert_error(response, status, EXPECTED_ERRORS[expected])
    assert response.headers.get("retry-after") == retry_after


@pytest.mark.parametrize(
    "prefer", ["CODE=500", "code=5000", "code=500, respond-async", "code=404", "code=502"]
)
def test_prefer_must_match_exactly(http: httpx.Client, sandbox_server: RunningReference, prefer: str) -> None:
    response = http.get(
        sandbox_server.base_url + "/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM", headers={"Prefer": prefer}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("authorization", "status", "expected"),
    [("Bearer InvalidMockToken", 401, "denied"), ("Bearer ClientNotRecognised", 403, "forbidden")],
)
def test_mock_tokens(
    http: httpx.Client, sandbox_server: RunningReference, authorization: str, status: int, expected: str
) -> None:
    response = http.options(
        sandbox_server.base_url + "/v1/api/send", headers={"Authorization": authorization}
    )
    assert_error(response, status, EXPECTED_ERRORS[expected])


def test_triggers_are_checked_in_the_documented_order(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    url = sandbox_server.base_url + MESSAGES
    mock_401 = {"Authorization": "Bearer InvalidMockToken"}
    assert http.get(url, headers={**mock_401, "Prefer": "code=403.1"}).status_code == 401
    assert http.get(url, headers={**mock_401, "Prefer": "code=500"}).status_code == 500
    assert (
        http.get(
            url, headers={"Authorization": "Bearer ClientNotRecognised", "Prefer": "code=401"}
        ).status_code
        == 401
    )


def test_no_authorization_is_fine_in_sandbox(http: httpx.Client, sandbox_server: RunningReference) -> None:
    assert post(http, sandbox_server, MESSAGES, message_body()).status_code == 201


# ---- Authorization scenario values


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", MESSAGES, message_body()),
        ("POST", BATCHES, batch_body()),
        ("GET", "/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM", None),
        ("GET", ACCOUNTS + "?ods-organisation-code=X26", None),
    ],
)
def test_banned_client(
    http: httpx.Client, sandbox_server: RunningReference, method: str, path: str, body: Any
) -> None:
    response = http.request(
        method, sandbox_server.base_url + path, json=body, headers={"Authorization": "banned"}
    )
    assert_error(response, 403, EXPECTED_ERRORS["service_ban"])


def test_no_default_ods(http: httpx.Client, sandbox_server: RunningReference) -> None:
    headers = {"Authorization": "noDefaultOds"}
    assert_error(
        post(http, sandbox_server, MESSAGES, message_body(originator=...), **headers), 400, ODS_REQUIRED
    )
    assert_error(
        post(http, sandbox_server, MESSAGES, message_body(originator={"odsCode": ""}), **headers),
        400,
        ODS_REQUIRED,
    )
    assert post(http, sandbox_server, MESSAGES, message_body(), **headers).status_code == 201
    batch = batch_body(messages=[batch_message(), batch_message(originator=...)])
    assert_error(post(http, sandbox_server, BATCHES, batch, **headers), 400, ODS_REQUIRED)


def test_no_ods_change(http: httpx.Client, sandbox_server: RunningReference) -> None:
    headers = {"Authorization": "noOdsChange"}
    assert_error(post(http, sandbox_server, MESSAGES, message_body(), **headers), 400, CANNOT_SET_ODS)
    assert post(http, sandbox_server, MESSAGES, message_body(originator=...), **headers).status_code == 201
    batch = batch_body(messages=[batch_message(originator=...), batch_message()])
    assert_error(post(http, sandbox_server, BATCHES, batch, **headers), 400, CANNOT_SET_ODS)


def test_contact_details_not_allowed(http: httpx.Client, sandbox_server: RunningReference) -> None:
    headers = {"Authorization": "notAllowedContactDetailOverride"}
    details = {"contactDetails": {"sms": "07723456789"}}
    single = post(http, sandbox_server, MESSAGES, message_body(recipient=details), **headers)
    assert_error(single, 400, cannot_set_contact_details("/data/attributes/recipient/contactDetails"))
    batch = batch_body(messages=[batch_message(), batch_message(recipient=details)])
    assert_error(
        post(http, sandbox_server, BATCHES, batch, **headers),
        400,
        cannot_set_contact_details("/data/attributes/messages/1/recipient/contactDetails"),
    )
    assert post(http, sandbox_server, MESSAGES, message_body(), **headers).status_code == 201


def test_backend_check_order_differs_between_single_and_batch(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    headers = {"Authorization": "noDefaultOds"}
    unknown_plan = "0aaaaaaa-0000-4000-8000-000000000000"
    single = post(
        http, sandbox_server, MESSAGES, message_body(originator=..., routingPlanId=unknown_plan), **headers
    )
    assert_error(single, 404, EXPECTED_ERRORS["no_such_routing_plan"])
    batch = batch_body(messages=[batch_message(originator=...)], routingPlanId=unknown_plan)
    assert_error(post(http, sandbox_server, BATCHES, batch, **headers), 400, ODS_REQUIRED)


# ---- contact-detail type checks


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"sms": 1234}, [("/sms", "'sms' is not a string")]),
        ({"email": 1234}, [("/email", "'email' is not a string")]),
        (
            {"sms": True, "email": ["x"]},
            [("/sms", "'sms' is not a string"), ("/email", "'email' is not a string")],
        ),
        ({"address": "Line 1"}, [("/address", "Invalid")]),
        ({"address": ["Line 1"]}, [("/address", "Invalid")]),
        ({"address": {"lines": [1, 2, 3]}}, [("/address", "'lines' is not a string array")]),
        ({"address": {"lines": "Line 1"}}, [("/address", "'lines' is not a string array")]),
        (
            {"address": {"lines": ["l"] * 6, "postcode": "LS7 1BN"}},
            [("/address", "Too many address lines were provided")],
        ),
        ({"address": {"lines": ["a", "b"], "postcode": []}}, [("/address", "'postcode' is not a string")]),
        ({"name": "Jo"}, [("/name", "Invalid")]),
        (
            {"name": {"firstName": 1, "lastName": ["x"]}},
            [("/name", "'firstName' is not a string"), ("/name", "'lastName' is not a string")],
        ),
    ],
)
def test_contact_detail_type_errors(
    http: httpx.Client,
    sandbox_server: RunningReference,
    details: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    prefix = "/data/attributes/recipient/contactDetails"
    response = post(http, sandbox_server, MESSAGES, message_body(recipient={"contactDetails": details}))
    assert_errors(
        response, 400, [with_detail(INVALID, detail, pointer=prefix + suffix) for suffix, detail in expected]
    )


@pytest.mark.parametrize(
    "details",
    [
        {
            "sms": "+447723456789",
            "email": "ab@cd.co.uk",
            "address": {"lines": ["Line 1", "Line 2"], "postcode": "LS7 1BN"},
        },
        {"sms": 0, "email": "", "address": None, "name": False},
        {"address": {"lines": ["only one"]}},
        [],
    ],
)
def test_acceptable_contact_details(
    http: httpx.Client, sandbox_server: RunningReference, details: Any
) -> None:
    response = post(http, sandbox_server, MESSAGES, message_body(recipient={"contactDetails": details}))
    assert response.status_code == 201, response.text


def test_only_the_first_failing_batch_message_is_reported(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    bad = batch_message(recipient={"contactDetails": {"sms": 1}})
    response = post(
        http,
        sandbox_server,
        BATCHES,
        batch_body(messages=[batch_message(), bad, dict(bad, messageReference="z")]),
    )
    pointer = "/data/attributes/messages/1/recipient/contactDetails/sms"
    assert_errors(response, 400, [with_detail(INVALID, "'sms' is not a string", pointer=pointer)])


# ---- routing-plan table


@pytest.mark.parametrize(
    ("plan", "version"),
    [
        ("b838b13c-f98c-4def-93f0-515d4e4f4ee1", "ztoe2qRAM8M8vS0bqajhyEBcvXacrGPp"),
        ("49e43b98-70cb-47a9-a55e-fe70c9a6f77c", "G.uwELAFAGMsKEBk2iIeRCBOB6kj6OkE"),
        ("b402cd20-b62a-4357-8e02-2952959531c8", "J7ZPQIf1yyUB4CiBpUBoy.1ahfOTCCQ7"),
        ("936e9d45-15de-4a95-bb36-ae163c33ae53", "riOAKoN4ajoVyUf9U2xwHVNRHc5V52A."),
        ("9ba00d23-cd6f-4aca-8688-00abc85a7980", "nkz2osS_oc8IZ5GqeN_1yXKSXe9VEUjV"),
        ("00000000-0000-0000-0000-000000000001", "odbGpMQvYRM7sp7jueU2lRHQiueKujVO"),
        ("00000000-0000-0000-0000-000000000002", "HXdzlIX2Rv2qy7j9MR3FxbPHhJM7Jjzt"),
        ("00000000-0000-0000-0000-000000000003", "xoERWoahq12cq8WMXya4yed9hZtZbMxJ"),
    ],
)
def test_usable_plans_and_their_versions(
    http: httpx.Client, sandbox_server: RunningReference, plan: str, version: str
) -> None:
    expected_plan = {"id": plan, "name": "routing-plan-name", "createdDate": "2022-01-01T00:00:00.000Z"}
    single = post(http, sandbox_server, MESSAGES, message_body(routingPlanId=plan))
    assert single.status_code == 201
    assert single.json()["data"]["attributes"]["routingPlan"] == {**expected_plan, "version": version}
    batch = post(http, sandbox_server, BATCHES, batch_body(routingPlanId=plan))
    assert batch.status_code == 201
    assert batch.json()["data"]["attributes"]["routingPlan"] == {**expected_plan, "version": "1"}


@pytest.mark.parametrize("path", [MESSAGES, BATCHES])
def test_plan_triggers(http: httpx.Client, sandbox_server: RunningReference, path: str) -> None:
    def send(plan: str) -> httpx.Response:
        body = message_body(routingPlanId=plan) if path == MESSAGES else batch_body(routingPlanId=plan)
        return post(http, sandbox_server, path, body)

    plan_pointer = "/data/attributes/routingPlanId"
    assert_error(
        send("4ead415a-c033-4b39-9b05-326ac237a3be"),
        400,
        dict(
            INVALID,
            detail="The property at the specified location does not allow this value.",
            source={"pointer": plan_pointer},
        ),
    )
    assert_error(send("c8857ccf-06ec-483f-9b3a-7fc732d9ad48"), 500, EXPECTED_ERRORS["missing_templates"])
    assert_error(send("aeb16ab8-cb9c-4d23-92e9-87c78119175c"), 500, EXPECTED_ERRORS["missing_templates"])
    assert_error(send("3bb82e6a-9873-4683-b2b9-fdf33c9ba86f"), 500, EXPECTED_ERRORS["internal"])
    too_early = send("d895ade5-0029-4fc3-9fb5-86e1e5370854")
    assert_error(too_early, 425, EXPECTED_ERRORS["retry_too_early"])
    assert too_early.headers["retry-after"] == "300"
    for unknown in ("00000000-0000-0000-0000-000000000004", "0fffffff-ffff-4fff-8fff-ffffffffffff"):
        assert_error(send(unknown), 404, EXPECTED_ERRORS["no_such_routing_plan"])
    duplicates = send("a3a4e55d-7a21-45a6-9286-8eb595c872a8")
    assert_error(
        duplicates,
        500,
        {
            "code": "CM_ROUTING_PLAN_DUPLICATE_TEMPLATES",
            "links": {"about": ABOUT_LINK},
            "status": "500",
            "title": "Duplicate templates",
            "detail": "The routing plan specified contains duplicate templates.",
            "source": {"pointer": plan_pointer},
            "meta": {
                "duplicateTemplates": [
                    {"name": "EMAIL_TEMPLATE", "type": "EMAIL"},
                    {"name": "SMS_TEMPLATE", "type": "SMS"},
                    {"name": "LETTER_TEMPLATE", "type": "LETTER"},
                    {"name": "LETTER_PDF_TEMPLATE", "type": "LETTER_PDF"},
                    {"name": "NHSAPP_TEMPLATE", "type": "NHSAPP"},
                ]
            },
        },
    )


# ---- stored messages


def test_every_stored_message_is_served_with_its_own_url(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    assert len(STORED_IDS) == 29
    for message_id in STORED_IDS:
        url = f"{sandbox_server.base_url}/v1/messages/{message_id}"
        response = http.get(url + "?with=query")
        assert response.status_code == 200
        expected = json.loads((STORED_DIR / f"{message_id}.json").read_text())["data"]
        expected["links"]["self"] = url
        assert response.json() == {"data": expected}


def test_created_messages_are_not_stored(http: httpx.Client, sandbox_server: RunningReference) -> None:
    message_id = post(http, sandbox_server, MESSAGES, message_body()).json()["data"]["id"]
    assert_error(
        http.get(f"{sandbox_server.base_url}/v1/messages/{message_id}"), 404, EXPECTED_ERRORS["not_found"]
    )
    assert_error(http.get(f"{sandbox_server.base_url}/v1/messages/blank"), 404, EXPECTED_ERRORS["not_found"])


def test_created_batch_echoes_references_in_order(
    http: httpx.Client, sandbox_server: RunningReference
) -> None:
    body = batch_body(4)
    data = post(http, sandbox_server, BATCHES, body).json()["data"]
    sent = [m["messageReference"] for m in body["data"]["attributes"]["messages"]]  # type: ignore[index]
    assert [m["messageReference"] for m in data["attributes"]["messages"]] == sent
    assert data["attributes"]["messageBatchReference"] == body["data"]["attributes"]["messageBatchReference"]  # type: ignore[index]


# ---- NHS App accounts


def accounts(http: httpx.Client, server: RunningReference, query: str) -> httpx.Response:
    return http.get(f"{server.base_url}{ACCOUNTS}{query}")


@pytest.mark.parametrize("code", ["X26", "Y00001", "x12345", "A1B2C"])
@pytest.mark.parametrize("page", ["", "&page=1", "&page="])
def test_single_page_practices(
    http: httpx.Client, sandbox_server: RunningReference, code: str, page: str
) -> None:
    response = accounts(http, sandbox_server, f"?ods-organisation-code={code}{page}")
    assert response.status_code == 200, response.text
    link = f"{sandbox_server.base_url}{ACCOUNTS}?ods-organisation-code={code.upper()}&page=1"
    assert response.json() == {
        "data": {
            "id": code.upper(),
            "type": "NhsAppAccounts",
            "attributes": {
                "accounts": [
                    {"nhsNumber": "9074662803", "notificationsEnabled": True},
                    {"nhsNumber": "9903002157", "notificationsEnabled": False},
                ]
            },
        },
        "links": {"last": link, "self": link},
    }


@pytest.mark.parametrize("page", range(1, 9))
def test_the_paginated_practice(http: httpx.Client, sandbox_server: RunningReference, page: int) -> None:
    response = accounts(http, sandbox_server, f"?ods-organisation-code=t00001&page={page}")
    assert response.status_code == 200
    body = response.json()
    base = f"{sandbox_server.base_url}{ACCOUNTS}?ods-organisation-code=T00001&page="
    assert body["data"]["id"] == "T00001"
    assert len(body["data"]["attributes"]["accounts"]) == 10
    assert body["links"]["self"] == f"{base}{page}"
    assert body["links"]["last"] == f"{base}8"
    assert body["links"].get("next") == (f"{base}{page + 1}" if page < 8 else None)


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("", 400, invalid_request("Missing ODS Code")),
        ("?ods-organisation-code=", 400, invalid_request("Missing ODS Code")),
        ("?page=1", 400, invalid_request("Missing ODS Code")),
        ("?ods-organisation-code=NOT_A_VALID_CODE", 400, invalid_request("Invalid ODS Code")),
        ("?ods-organisation-code=X25", 400, invalid_request("Invalid ODS Code")),
        ("?ods-organisation-code=Y123456", 400, invalid_request("Invalid ODS Code")),
        (
            "?ods-organisation-code=T00001&page=page1",
            400,
            invalid_request("page must be a positive non-zero integer"),
        ),
        (
            "?ods-organisation-code=T00001&page=0",
            400,
            invalid_request("page must be a positive non-zero integer"),
        ),
        (
            "?ods-organisation-code=T00001&page=-20",
            400,
            invalid_request("page must be a positive non-zero integer"),
        ),
        ("?ods-organisation-code=T00001&page=9", 404, EXPECTED_ERRORS["report_not_found"]),
        ("?ods-organisation-code=T00001&page=01", 404, EXPECTED_ERRORS["report_not_found"]),
        ("?ods-organisation-code=X26&page=2", 404, EXPECTED_ERRORS["report_not_found"]),
        ("?ods-organisation-code=X26&page=1.0", 404, EXPECTED_ERRORS["report_not_found"]),
        ("?ods-organisation-code=T00404", 404, EXPECTED_ERRORS["report_not_found"]),
        ("?ods-organisation-code=t00429", 429, EXPECTED_ERRORS["nhsapp_quota"]),
        ("?ods-organisation-code=T00502&page=zzz", 502, EXPECTED_ERRORS["bad_gateway"]),
    ],
)
def test_account_errors(
    http: httpx.Client, sandbox_server: RunningReference, query: str, status: int, expected: dict[str, object]
) -> None:
    assert_error(accounts(http, sandbox_server, query), status, expected)


# ---- simulated upstream trouble


@pytest.fixture(scope="module")
def impatient_sandbox() -> Iterator[RunningReference]:
    with start(ReferenceConfig(mode="sandbox", upstream_timeout_s=0.3)) as server:
        yield server


def test_timeout_path_sleeps_then_answers(http: httpx.Client, impatient_sandbox: RunningReference) -> None:
    started = time.monotonic()
    response = http.get(impatient_sandbox.base_url + "/_timeout?sleep=100")
    assert response.status_code == 200 and response.json() == {}
    assert time.monotonic() - started >= 0.1
    assert http.get(impatient_sandbox.base_url + "/_timeout?sleep=nonsense").status_code == 200


def test_timeout_path_gives_504_once_the_upstream_timeout_passes(
    http: httpx.Client, impatient_sandbox: RunningReference
) -> None:
    started = time.monotonic()
    response = http.get(impatient_sandbox.base_url + "/_timeout?sleep=13000")
    elapsed = time.monotonic() - started
    assert_error(response, 504, EXPECTED_ERRORS["gateway_timeout"])
    assert 0.3 <= elapsed < 5, "answers at the upstream timeout, without sleeping the full 13 s"


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/_timeout_504", 504, "gateway_timeout"),
        ("/_timeout_408", 504, "gateway_timeout"),
        ("/_invalid_certificate", 503, "service_unavailable"),
    ],
)
def test_scenario_paths(
    http: httpx.Client, sandbox_server: RunningReference, path: str, status: int, expected: str
) -> None:
    assert_error(http.get(sandbox_server.base_url + path), status, EXPECTED_ERRORS[expected])
