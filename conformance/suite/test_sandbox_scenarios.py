"""The sandbox's documented scenarios: Prefer triggers, the routing-plan outcome table, contact-detail
checks, the account-permission switches and the simulated downstream faults. They run only where the
target offers scenario triggers (the sandbox, and the local reference in sandbox mode).

Proves api-behaviour.md §3.1 (trigger order), §3.9 (backend error translation), §4.1 (Prefer), §4.2
(Authorization switches), §4.3 (routing plans), §4.4 (contact details) and §4.7 (special paths), and
upstream-tests.md §3.5, §3.6-§3.10 (contact details, not-permitted, routing-plan rows) and §4. The auth
triggers (mock tokens, Prefer 401/403/403.1, ``banned``) are proved in ``test_auth.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import CONTACT_DETAIL_PROBLEMS, expected_error
from conformance.client import ApiClient
from conformance.environments import GLOBAL_NHSAPP_PLAN, Environment
from conformance.suite import _bodies, _expect
from conformance.suite._expect import (
    CREATE_BATCH,
    CREATE_MESSAGE,
    GET_MESSAGE,
    GET_NHSAPP_ACCOUNTS,
    UNKNOWN_PATH,
    Operation,
)
from conformance.suite._labels import behaviour

SECTION = "overview--environments-and-testing"
#: The plan scenario bodies use when the plan is not on trial (the sandbox accepts it).
PLAN = GLOBAL_NHSAPP_PLAN
ATTRIBUTES = "/data/attributes"
MESSAGES = f"{ATTRIBUTES}/messages"
ROUTING_PLAN = f"{ATTRIBUTES}/routingPlanId"

# ---- Prefer triggers ----------------------------------------------------------------------------------

#: Every non-auth Prefer trigger: the status, the catalogue error and the Retry-After it must carry.
PREFER_TRIGGERS: dict[str, tuple[int, str, str | None]] = {
    "408": (408, "request_timeout", None),
    "425": (425, "retry_too_early", "300"),
    "422_batch": (422, "duplicate_batch_request", None),
    "422_message": (422, "duplicate_message_request", None),
    "429": (429, "quota", "5"),
    "500": (500, "internal_server_error", None),
    "503": (503, "service_unavailable", None),
    "504": (504, "gateway_timeout", None),
}
#: The auth triggers, proved on every operation in test_auth.py; here they join the routing-order test.
AUTH_PREFER_TRIGGERS: dict[str, tuple[int, str, str | None]] = {
    "401": (401, "denied", None),
    "403": (403, "forbidden", None),
    "403.1": (403, "service_ban", None),
}
ALL_PREFER_TRIGGERS = {**AUTH_PREFER_TRIGGERS, **PREFER_TRIGGERS}
prefer_codes = pytest.mark.parametrize("code", list(PREFER_TRIGGERS), ids=lambda code: f"code={code}")


def assert_prefer_outcome(response: httpx.Response, code: str) -> None:
    status, error, retry_after = ALL_PREFER_TRIGGERS[code]
    _expect.expect_error(response, status, error)
    if retry_after is not None:
        got = response.headers.get("Retry-After")
        assert got == retry_after, (
            f"Retry-After should be {retry_after}, got {got!r}: {_expect.describe(response)}"
        )


def send_with_prefer(
    api: ApiClient, operation: Operation, environment: Environment, code: str
) -> httpx.Response:
    # retry=False: the 425, 429 and 503 answers are what these tests judge, not something to wait out
    return _expect.send(api, operation, environment, headers={"Prefer": f"code={code}"}, retry=False)


def prefer_story(operation: Operation) -> str:
    return f"Each sandbox Prefer trigger gives its canned error on {operation.label}"


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story=prefer_story(CREATE_MESSAGE),
    section=SECTION,
    ref="api-behaviour §4.1; upstream-tests §3.5, §4",
)
@pytest.mark.scenario
@prefer_codes
def test_prefer_trigger_on_create_message(api: ApiClient, notify_environment: Environment, code: str) -> None:
    assert_prefer_outcome(send_with_prefer(api, CREATE_MESSAGE, notify_environment, code), code)


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story=prefer_story(CREATE_BATCH),
    section=SECTION,
    ref="api-behaviour §4.1; upstream-tests §3.5, §4",
)
@pytest.mark.scenario
@prefer_codes
def test_prefer_trigger_on_create_batch(api: ApiClient, notify_environment: Environment, code: str) -> None:
    assert_prefer_outcome(send_with_prefer(api, CREATE_BATCH, notify_environment, code), code)


@behaviour(
    area="get message",
    feature=GET_MESSAGE.label,
    story=prefer_story(GET_MESSAGE),
    section=SECTION,
    ref="api-behaviour §4.1; upstream-tests §3.5, §4",
)
@pytest.mark.scenario
@prefer_codes
def test_prefer_trigger_on_get_message(api: ApiClient, notify_environment: Environment, code: str) -> None:
    assert_prefer_outcome(send_with_prefer(api, GET_MESSAGE, notify_environment, code), code)


@behaviour(
    area="NHS App accounts",
    feature=GET_NHSAPP_ACCOUNTS.label,
    story=prefer_story(GET_NHSAPP_ACCOUNTS),
    section=SECTION,
    ref="api-behaviour §4.1; upstream-tests §3.5, §4",
)
@pytest.mark.scenario
@prefer_codes
def test_prefer_trigger_on_nhsapp_accounts(
    api: ApiClient, notify_environment: Environment, code: str
) -> None:
    assert_prefer_outcome(send_with_prefer(api, GET_NHSAPP_ACCOUNTS, notify_environment, code), code)


@behaviour(
    area="routing",
    feature="bare base URL and unknown paths",
    story="Sandbox Prefer triggers answer before routing: the bare base URL and unknown paths get them too",
    section=SECTION,
    ref="api-behaviour §3.1, §4.1; upstream-tests §3.5 (requests to {base})",
)
@pytest.mark.scenario
@pytest.mark.parametrize("path", ["", UNKNOWN_PATH], ids=["bare-base", "unknown-path"])
@pytest.mark.parametrize("code", list(ALL_PREFER_TRIGGERS), ids=lambda code: f"code={code}")
def test_prefer_trigger_precedes_routing(api: ApiClient, path: str, code: str) -> None:
    assert_prefer_outcome(api.get(path, headers={"Prefer": f"code={code}"}, retry=False), code)


@behaviour(
    area="negotiation",
    feature="every operation",
    story="Sandbox fault triggers win over a refused Accept or Content-Type, but Prefer 429 is decided "
    "after 406 and 415",
    section=SECTION,
    ref="api-behaviour §3.1 (sandbox order), §4.1 (429 after the 406/415 checks)",
)
@pytest.mark.scenario
@pytest.mark.parametrize(
    ("code", "accept", "content_type", "status", "error"),
    [
        ("408", "xyz/abc", _expect.JSONAPI, 408, "request_timeout"),
        ("500", "xyz/abc", _expect.JSONAPI, 500, "internal_server_error"),
        ("422_message", _expect.JSONAPI, "xyz/abc", 422, "duplicate_message_request"),
        ("429", "xyz/abc", _expect.JSONAPI, 406, "not_acceptable"),
        ("429", _expect.JSONAPI, "xyz/abc", 415, "unsupported_media"),
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
    response = _expect.send(
        api,
        CREATE_MESSAGE,
        notify_environment,
        headers={"Prefer": f"code={code}"},
        accept=accept,
        content_type=content_type,
        retry=False,  # a 429 here is a failure to see, not a wait
    )
    _expect.expect_error(response, status, error)


@behaviour(
    area="get message",
    feature=GET_MESSAGE.label,
    story="A Prefer value that is not exactly a trigger is ignored and the request is answered normally",
    severity="minor",
    section=SECTION,
    ref="api-behaviour §4.1 (exact value match)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("prefer", ["code=5000", "respond-async", "code=500x"])
def test_prefer_value_must_match_exactly(api: ApiClient, prefer: str) -> None:
    response = api.get("/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM", headers={"Prefer": prefer})
    _expect.expect_status(response, 200)


# ---- routing-plan outcome table -----------------------------------------------------------------------

#: Plans the sandbox accepts, with the version a single message reports (api-behaviour §4.3).
ACCEPTED_PLANS = {
    "b838b13c-f98c-4def-93f0-515d4e4f4ee1": "ztoe2qRAM8M8vS0bqajhyEBcvXacrGPp",
    "49e43b98-70cb-47a9-a55e-fe70c9a6f77c": "G.uwELAFAGMsKEBk2iIeRCBOB6kj6OkE",
    "b402cd20-b62a-4357-8e02-2952959531c8": "J7ZPQIf1yyUB4CiBpUBoy.1ahfOTCCQ7",
    "936e9d45-15de-4a95-bb36-ae163c33ae53": "riOAKoN4ajoVyUf9U2xwHVNRHc5V52A.",
    "9ba00d23-cd6f-4aca-8688-00abc85a7980": "nkz2osS_oc8IZ5GqeN_1yXKSXe9VEUjV",
    "00000000-0000-0000-0000-000000000001": "odbGpMQvYRM7sp7jueU2lRHQiueKujVO",
    "00000000-0000-0000-0000-000000000002": "HXdzlIX2Rv2qy7j9MR3FxbPHhJM7Jjzt",
    "00000000-0000-0000-0000-000000000003": "xoERWoahq12cq8WMXya4yed9hZtZbMxJ",
}
SANDBOX_PLAN_NAME = "routing-plan-name"
SANDBOX_PLAN_CREATED = "2022-01-01T00:00:00.000Z"
#: The version every sandbox batch reports, whatever the plan (api-behaviour §7.13).
SANDBOX_BATCH_PLAN_VERSION = "1"
#: Global free-text plans the documentation lists but the sandbox's table lacks (api-behaviour §7.6).
MISSING_GLOBAL_PLANS = tuple(f"00000000-0000-0000-0000-00000000000{n}" for n in range(4, 8))
DUPLICATE_TEMPLATES = [
    {"name": "EMAIL_TEMPLATE", "type": "EMAIL"},
    {"name": "SMS_TEMPLATE", "type": "SMS"},
    {"name": "LETTER_TEMPLATE", "type": "LETTER"},
    {"name": "LETTER_PDF_TEMPLATE", "type": "LETTER_PDF"},
    {"name": "NHSAPP_TEMPLATE", "type": "NHSAPP"},
]
#: Plans that fail, with the status and the exact error each gives.
FAILING_PLANS = [
    pytest.param(
        "4ead415a-c033-4b39-9b05-326ac237a3be",
        400,
        expected_error("invalid_value", pointer=ROUTING_PLAN),
        None,
        id="invalid-config",
    ),
    pytest.param(
        "c8857ccf-06ec-483f-9b3a-7fc732d9ad48",
        500,
        expected_error("missing_routing_plan_template"),
        None,
        id="templates-missing",
    ),
    pytest.param(
        "aeb16ab8-cb9c-4d23-92e9-87c78119175c",
        500,
        expected_error("missing_routing_plan_template"),
        None,
        id="nhsapp-template-missing",
    ),
    pytest.param(
        "a3a4e55d-7a21-45a6-9286-8eb595c872a8",
        500,
        expected_error("routing_plan_duplicate_templates", meta={"duplicateTemplates": DUPLICATE_TEMPLATES}),
        None,
        id="duplicate-templates",
    ),
    pytest.param(
        "3bb82e6a-9873-4683-b2b9-fdf33c9ba86f",
        500,
        expected_error("internal_server_error"),
        None,
        id="internal-error",
    ),
    pytest.param(
        "d895ade5-0029-4fc3-9fb5-86e1e5370854",
        425,
        expected_error("retry_too_early"),
        "300",
        id="retry-too-early",
    ),
    pytest.param(
        "0badf00d-0000-4000-8000-000000000000",
        404,
        expected_error("no_such_routing_plan"),
        None,
        id="unknown",
    ),
]


def message_with_plan(plan_id: str) -> dict[str, Any]:
    return _bodies.message(plan_id)


def batch_with_plan(plan_id: str) -> dict[str, Any]:
    return _bodies.batch(plan_id)


def assert_sandbox_plan(plan: Any, plan_id: str, version: str) -> None:
    expected = {
        "id": plan_id,
        "name": SANDBOX_PLAN_NAME,
        "version": version,
        "createdDate": SANDBOX_PLAN_CREATED,
    }
    assert plan == expected, f"routingPlan should be {expected!r}, got {plan!r}"


def assert_plan_failure(
    response: httpx.Response, status: int, error: Mapping[str, Any], retry_after: str | None
) -> None:
    _expect.expect_errors(response, status, [error])
    if retry_after is not None:
        got = response.headers.get("Retry-After")
        assert got == retry_after, (
            f"Retry-After should be {retry_after}, got {got!r}: {_expect.describe(response)}"
        )


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="Each routing plan the sandbox offers accepts a message and reports its own published version",
    section=SECTION,
    ref="api-behaviour §4.3; upstream-tests §3.8 (valid routing plan ids), §4",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", list(ACCEPTED_PLANS))
def test_sandbox_plan_accepts_message(api: ApiClient, plan_id: str) -> None:
    data = _expect.success_data(api.post("/v1/messages", json=message_with_plan(plan_id)), 201)
    assert_sandbox_plan(data["attributes"]["routingPlan"], plan_id, ACCEPTED_PLANS[plan_id])


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story="Each routing plan the sandbox offers accepts a batch (sandbox batches report plan version '1')",
    section=SECTION,
    ref="api-behaviour §4.3, §7.13; upstream-tests §3.8 (valid routing plan ids)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", list(ACCEPTED_PLANS))
def test_sandbox_plan_accepts_batch(api: ApiClient, plan_id: str) -> None:
    _expect.note_known_discrepancy(
        "D13",
        "sandbox batches report routing plan version '1' while single messages report the plan's version.",
    )
    data = _expect.success_data(api.post("/v1/message-batches", json=batch_with_plan(plan_id)), 201)
    assert_sandbox_plan(data["attributes"]["routingPlan"], plan_id, SANDBOX_BATCH_PLAN_VERSION)


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="The sandbox's failing routing plans give their documented errors for a message",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.9 rules 6, 8-10, §4.3; upstream-tests §3.10",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("plan_id", "status", "error", "retry_after"), FAILING_PLANS)
def test_sandbox_plan_failure_for_message(
    api: ApiClient, plan_id: str, status: int, error: Mapping[str, Any], retry_after: str | None
) -> None:
    response = api.post("/v1/messages", json=message_with_plan(plan_id), retry=False)
    assert_plan_failure(response, status, error, retry_after)


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story="The sandbox's failing routing plans give their documented errors for a batch",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.9 rules 6, 8-10, §4.3; upstream-tests §3.5 (425), §3.10",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("plan_id", "status", "error", "retry_after"), FAILING_PLANS)
def test_sandbox_plan_failure_for_batch(
    api: ApiClient, plan_id: str, status: int, error: Mapping[str, Any], retry_after: str | None
) -> None:
    response = api.post("/v1/message-batches", json=batch_with_plan(plan_id), retry=False)
    assert_plan_failure(response, status, error, retry_after)


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="Known discrepancy D6: the global NHS App cascade plans ...0004 to ...0007 are documented but "
    "the sandbox answers 404 No such routing plan",
    severity="minor",
    section=SECTION,
    ref="api-behaviour §1.6, §4.3, §7.6",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", MISSING_GLOBAL_PLANS, ids=lambda plan: f"plan-{plan[-4:]}")
def test_sandbox_lacks_cascade_global_plans(api: ApiClient, plan_id: str) -> None:
    _expect.note_known_discrepancy(
        "D6",
        "the documentation lists global routing plans ...0004-...0007 as valid everywhere; the "
        "sandbox's table lacks them, so it answers 404 CM_NO_SUCH_ROUTING_PLAN. This test records "
        "the sandbox's answer.",
    )
    response = api.post("/v1/messages", json=message_with_plan(plan_id))
    _expect.expect_error(response, 404, "no_such_routing_plan")


# ---- contact details ----------------------------------------------------------------------------------

VALID_SMS_NUMBERS = (
    "+7 (8) (495) 123-45-67",
    "007 (8) (495) 123-45-67",
    "+33122334455",
    "07723456789",
    "+447723456789",
)


def contact_details(sms: str = "07723456789") -> dict[str, Any]:
    return {
        "sms": sms,
        "email": "ab@cd.co.uk",
        "address": {"lines": ["Line 1", "Line 2"], "postcode": "LS7 1BN"},
    }


def message_with_contact_details(details: Any) -> dict[str, Any]:
    return _bodies.replaced(_bodies.message(PLAN), f"{ATTRIBUTES}/recipient/contactDetails", details)


#: Contact details the backend refuses: the details sent, the field reported and the catalogue problem.
BAD_CONTACT_DETAILS = [
    pytest.param({"sms": 1234}, "sms", "sms_not_string", id="sms-number"),
    pytest.param({"email": 1234}, "email", "email_not_string", id="email-number"),
    pytest.param(
        {"address": {"lines": [f"Line {n}" for n in range(1, 7)], "postcode": "LS7 1BN"}},
        "address",
        "too_many_address_lines",
        id="six-address-lines",
    ),
    pytest.param(
        {"address": {"lines": [1, 2, 3], "postcode": "LS7 1BN"}},
        "address",
        "lines_not_string_array",
        id="lines-numbers",
    ),
    pytest.param(
        {"address": {"lines": ["Line 1", "Line 2"], "postcode": []}},
        "address",
        "postcode_not_string",
        id="postcode-array",
    ),
    pytest.param({"address": "1 High Street"}, "address", "address_invalid", id="address-string"),
    pytest.param({"name": []}, "name", "name_invalid", id="name-array"),
]


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="The sandbox accepts override contact details in each documented phone-number style",
    section=SECTION,
    ref="api-behaviour §1.6, §4.4; upstream-tests §3.6 (valid contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("sms", VALID_SMS_NUMBERS)
def test_contact_details_are_accepted(api: ApiClient, sms: str) -> None:
    response = api.post("/v1/messages", json=message_with_contact_details(contact_details(sms)))
    _expect.success_data(response, 201)


@behaviour(
    area="batches",
    feature="POST /v1/message-batches",
    story="The sandbox accepts override contact details on a batch message in each documented "
    "phone-number style",
    section="post-/v1/message-batches",
    ref="api-behaviour §1.6, §4.4; upstream-tests §3.8 (valid contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("sms", VALID_SMS_NUMBERS)
def test_batch_contact_details_are_accepted(api: ApiClient, sms: str) -> None:
    body = _bodies.replaced(
        _bodies.batch(PLAN), f"{MESSAGES}/0/recipient/contactDetails", contact_details(sms)
    )
    _expect.success_data(api.post("/v1/message-batches", json=body), 201)


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="Contact details of the wrong type are refused with CM_INVALID_VALUE and a detail naming "
    "the problem",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §4.4; upstream-tests §2 (contact details), §3.7",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("details", "field", "problem"), BAD_CONTACT_DETAILS)
def test_bad_contact_details_in_message(api: ApiClient, details: Any, field: str, problem: str) -> None:
    pointer = f"{ATTRIBUTES}/recipient/contactDetails/{field}"
    expected = expected_error("invalid_value", pointer=pointer, detail=CONTACT_DETAIL_PROBLEMS[problem])
    _expect.expect_errors(
        api.post("/v1/messages", json=message_with_contact_details(details)), 400, [expected]
    )


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="Every wrongly typed contact detail is reported, one error per field",
    section=SECTION,
    ref="api-behaviour §4.4 (all failing fields are reported)",
)
@pytest.mark.scenario
def test_every_bad_contact_detail_is_reported(api: ApiClient) -> None:
    details = {"sms": 1234, "email": 1234, "name": {"firstName": 5}}
    prefix = f"{ATTRIBUTES}/recipient/contactDetails"
    expected = [
        expected_error("invalid_value", pointer=f"{prefix}/sms", detail="'sms' is not a string"),
        expected_error("invalid_value", pointer=f"{prefix}/email", detail="'email' is not a string"),
        expected_error("invalid_value", pointer=f"{prefix}/name", detail="'firstName' is not a string"),
    ]
    _expect.expect_error_list(
        api.post("/v1/messages", json=message_with_contact_details(details)), 400, expected
    )


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story="Contact details of the wrong type in a batch are reported at that message's index",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §4.4; upstream-tests §3.9 (contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("details", "field", "problem"), BAD_CONTACT_DETAILS)
def test_bad_contact_details_in_batch(api: ApiClient, details: Any, field: str, problem: str) -> None:
    body = _bodies.replaced(_bodies.batch(PLAN), f"{MESSAGES}/1/recipient/contactDetails", details)
    pointer = f"{MESSAGES}/1/recipient/contactDetails/{field}"
    expected = expected_error("invalid_value", pointer=pointer, detail=CONTACT_DETAIL_PROBLEMS[problem])
    _expect.expect_errors(api.post("/v1/message-batches", json=body), 400, [expected])


# ---- account permission switches (Authorization values the sandbox backend reads) ---------------------


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="A client not allowed to override contact details is refused when it sends them, and "
    "accepted when it does not",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §4.2 (notAllowedContactDetailOverride); upstream-tests §3.7",
)
@pytest.mark.scenario
@pytest.mark.parametrize("with_details", [True, False], ids=["with-contact-details", "without"])
def test_contact_detail_override_not_allowed_for_message(api: ApiClient, with_details: bool) -> None:
    body = message_with_contact_details(contact_details()) if with_details else _bodies.message(PLAN)
    response = api.post(
        "/v1/messages", json=body, headers={"Authorization": "notAllowedContactDetailOverride"}
    )
    if with_details:
        _expect.expect_error(response, 400, "cannot_set_contact_details")
    else:
        _expect.success_data(response, 201)


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story="A client not allowed to override contact details is refused at the message that sends them",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §4.2 (notAllowedContactDetailOverride); upstream-tests §3.9",
)
@pytest.mark.scenario
def test_contact_detail_override_not_allowed_for_batch(api: ApiClient) -> None:
    pointer = f"{MESSAGES}/2/recipient/contactDetails"
    body = _bodies.replaced(_bodies.batch(PLAN), pointer, contact_details())
    response = api.post(
        "/v1/message-batches", json=body, headers={"Authorization": "notAllowedContactDetailOverride"}
    )
    _expect.expect_error(response, 400, "cannot_set_contact_details", pointer=pointer)


#: (Authorization switch, whether the message names an originator ODS code, the error or None for 201)
ODS_SWITCHES = [
    pytest.param("noDefaultOds", False, "ods_code_required", id="noDefaultOds-without-ods"),
    pytest.param("noDefaultOds", True, None, id="noDefaultOds-with-ods"),
    pytest.param("noOdsChange", True, "cannot_set_ods_code", id="noOdsChange-with-ods"),
    pytest.param("noOdsChange", False, None, id="noOdsChange-without-ods"),
]
#: The same switches on a batch: which of its three messages name an ODS code; only message 1 offends.
BATCH_ODS_SWITCHES = [
    pytest.param("noDefaultOds", (True, False, True), "ods_code_required", id="noDefaultOds-one-without"),
    pytest.param("noDefaultOds", (True, True, True), None, id="noDefaultOds-all-with"),
    pytest.param("noOdsChange", (False, True, False), "cannot_set_ods_code", id="noOdsChange-one-with"),
    pytest.param("noOdsChange", (False, False, False), None, id="noOdsChange-none-with"),
]
ODS_DISCREPANCY = "ODS errors point at /data/attributes/messages even for the single-message endpoint."


@behaviour(
    area="messages",
    feature=CREATE_MESSAGE.label,
    story="An account without a default ODS code must name one, and an account that may not change it "
    "must not (the error points at /data/attributes/messages: known discrepancy D3)",
    section=SECTION,
    ref="api-behaviour §3.9 rule 8, §4.2, §7.3",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("switch", "with_ods", "error"), ODS_SWITCHES)
def test_ods_code_switches_for_message(
    api: ApiClient, switch: str, with_ods: bool, error: str | None
) -> None:
    body = _bodies.message(PLAN)
    if not with_ods:
        body = _bodies.without(body, f"{ATTRIBUTES}/originator")
    response = api.post("/v1/messages", json=body, headers={"Authorization": switch})
    if error is None:
        _expect.success_data(response, 201)
    else:
        _expect.note_known_discrepancy("D3", ODS_DISCREPANCY)
        _expect.expect_error(response, 400, error)


@behaviour(
    area="batches",
    feature=CREATE_BATCH.label,
    story="The ODS switches apply to each message of a batch: one offending message refuses the batch",
    section=SECTION,
    ref="api-behaviour §3.9 rule 8, §4.2",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("switch", "named", "error"), BATCH_ODS_SWITCHES)
def test_ods_code_switches_for_batch(
    api: ApiClient, switch: str, named: tuple[bool, ...], error: str | None
) -> None:
    body = _bodies.batch(PLAN, count=len(named))
    for index, has_ods in enumerate(named):
        if not has_ods:
            body = _bodies.without(body, f"{MESSAGES}/{index}/originator")
    response = api.post("/v1/message-batches", json=body, headers={"Authorization": switch})
    if error is None:
        _expect.success_data(response, 201)
    else:
        _expect.expect_error(response, 400, error)


# ---- simulated downstream faults ----------------------------------------------------------------------


@behaviour(
    area="routing",
    feature="sandbox fault paths",
    story="The sandbox's fault paths show how downstream failures reach a client: timeouts become 504, "
    "a refused certificate 503",
    section=SECTION,
    ref="api-behaviour §3.9 rules 11-14, §4.7; upstream-tests §3.5",
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
    _expect.expect_error(api.get(path, params=params, retry=False), status, error)
