"""POST /v1/message-batches: a batch is created with one id for every message sent, the rules only a
batch has (every message, repeats, the 100-error cap, the size limits) refuse it with the exact errors
at the exact fields, and the sandbox's scenarios for a batch give their documented answers.

Proves behaviour §1.3 (the 201 answer, limits, duplicates), §3.8 (the 100-error cap, CM_TOO_MANY_ITEMS),
§4.1-§4.4 (the sandbox's scenarios) and upstream §3.8, §3.9, §3.11 and the batch rows of §3.10. Unlike
the upstream check, every messageReference of the request must come back exactly once. The body
validation a batch shares with a message is in ``test_create_validation.py``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import CONTACT_DETAIL_PROBLEMS, expected_error
from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._labels import behaviour

AREA = "batches"
FEATURE = "POST /v1/message-batches"
SECTION = "post-/v1/message-batches"
PATH = "/v1/message-batches"

ATTRIBUTES = "/data/attributes"
MESSAGES = f"{ATTRIBUTES}/messages"
FIRST = f"{MESSAGES}/0"

#: The most errors one answer carries (behaviour §2, §3.8).
MAX_ERRORS = 100
#: The most messages one batch may hold (behaviour §1.3).
MAX_MESSAGES = 45_000
#: The large batch upstream proves is accepted.
LARGE_BATCH = 40_000
#: The documented payload limit: a large batch must stay under it to prove the message count alone.
PAYLOAD_LIMIT_BYTES = 5_200_000
REPLAY_PAUSE_S = 5.0


def send(api: ApiClient, body: Any, **kwargs: Any) -> httpx.Response:
    return api.post(PATH, json=body, **kwargs)


def valid_body(api: ApiClient, environment: Environment, count: int = 3) -> dict[str, Any]:
    if environment.name == "production-smoke":
        count = 1  # production gets a batch of one: as few messages as proves the point
    return _bodies.batch(api.target.routing_plan_id, count, _expect.recipient_nhs_number(environment))


def references(body: dict[str, Any]) -> list[str]:
    return [str(message["messageReference"]) for message in body["data"]["attributes"]["messages"]]


def assert_batch_created(response: httpx.Response, body: dict[str, Any]) -> None:
    """The documented 201 answer for ``body``: one new id for each message sent, and nothing else."""
    data = _expect.success_data(response, 201)
    sent = body["data"]["attributes"]
    assert data.get("type") == "MessageBatch", f"data.type should be 'MessageBatch', got {data.get('type')!r}"
    _expect.assert_ksuid(data.get("id"), "data.id")
    attributes = data["attributes"]
    assert attributes.get("messageBatchReference") == sent["messageBatchReference"], (
        "messageBatchReference is not echoed"
    )
    _expect.assert_routing_plan(attributes.get("routingPlan"), sent["routingPlanId"])
    returned = attributes.get("messages")
    assert isinstance(returned, list), f"attributes.messages should be a list, got {returned!r}"
    for index, message in enumerate(returned):
        assert isinstance(message, dict), f"messages[{index}] should be an object, got {message!r}"
        _expect.assert_ksuid(message.get("id"), f"messages[{index}].id")
    counts = Counter(str(message.get("messageReference")) for message in returned)
    wanted = Counter(references(body))
    missing = sorted((wanted - counts).elements())
    extra = sorted((counts - wanted).elements())
    assert not missing and not extra, (
        f"each messageReference should come back exactly once: {len(missing)} missing (e.g. {missing[:3]}), "
        f"{len(extra)} unexpected or repeated (e.g. {extra[:3]})"
    )
    ids = Counter(str(message["id"]) for message in returned)
    repeated = [message_id for message_id, seen in ids.items() if seen > 1]
    assert not repeated, f"message ids should be distinct; repeated: {repeated[:3]}"


# ---- success ------------------------------------------------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A valid batch is created: 201, type MessageBatch, the batch reference and routing plan echoed, "
    "and every message sent back exactly once with its own id",
    severity="blocker",
    section=SECTION,
    ref="behaviour §1.3; upstream §3.8",
)
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, _expect.PLAIN_JSON], ids=["jsonapi", "plain-json"])
def test_valid_batch_is_created(api: ApiClient, notify_environment: Environment, media_type: str) -> None:
    if media_type != JSONAPI:  # production gets as few messages as proves the point
        _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    assert_batch_created(send(api, body, accept=media_type, content_type=media_type), body)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A batch whose first message has no NHS number is accepted (the NHS number is optional)",
    section=SECTION,
    ref="behaviour §1.6; upstream §3.8 (undefined nhs number)",
)
@pytest.mark.writes
def test_message_without_nhs_number_is_accepted(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(valid_body(api, notify_environment), f"{FIRST}/recipient/nhsNumber")
    assert_batch_created(send(api, body), body)


def large_batch(routing_plan_id: str, count: int) -> dict[str, Any]:
    """``count`` valid messages kept small (short references, no personalisation) so the body stays
    well under the documented payload limit and only the message count is on trial."""
    prefix = uuid.uuid4().hex[:12]
    messages = [
        {
            "messageReference": f"{prefix}-{index:05d}",
            "recipient": {"nhsNumber": _bodies.VALID_NHS_NUMBER},
            "originator": {"odsCode": "X26"},
        }
        for index in range(count)
    ]
    attributes = {
        "routingPlanId": routing_plan_id,
        "messageBatchReference": _bodies.reference(),
        "messages": messages,
    }
    return {"data": {"type": "MessageBatch", "attributes": attributes}}


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A batch of 40,000 messages is accepted and every one of them comes back with an id",
    severity="critical",
    section=SECTION,
    ref="behaviour §1.3 (limits); upstream §3.11 (large valid payload)",
)
@pytest.mark.writes
def test_forty_thousand_messages_are_accepted(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = large_batch(api.target.routing_plan_id, LARGE_BATCH)
    size = len(json.dumps(body, separators=(",", ":")))
    assert size < PAYLOAD_LIMIT_BYTES, f"the test body ({size} bytes) should stay under the payload limit"
    assert_batch_created(send(api, body), body)


# ---- batch-only rules: every message, repeats, limits -------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A member missing from every message is reported once per message, at each message's index",
    section=SECTION,
    ref="behaviour §3.8 (per-message checks); upstream §3.9 (multi-error cases)",
)
@pytest.mark.parametrize("member", ["messageReference", "recipient"])
def test_member_missing_from_every_message(
    api: ApiClient, notify_environment: Environment, member: str
) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    for index in range(3):
        body = _bodies.without(body, f"{MESSAGES}/{index}/{member}")
    expected = [expected_error("missing_value", pointer=f"{MESSAGES}/{index}/{member}") for index in range(3)]
    _expect.expect_error_list(send(api, body), 400, expected)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A messageReference repeated within a batch is refused at the repeat (the first use is fine)",
    severity="critical",
    section=SECTION,
    ref="behaviour §3.8 (duplicate messageReference); upstream §3.9",
)
@pytest.mark.parametrize("repeat_at", [1, 3], ids=["next-message", "appended-copy"])
def test_repeated_message_reference_is_refused(
    api: ApiClient, notify_environment: Environment, repeat_at: int
) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    messages = body["data"]["attributes"]["messages"]
    first = dict(messages[0])
    if repeat_at < len(messages):
        messages[repeat_at]["messageReference"] = first["messageReference"]
    else:
        messages.append(first)
    pointer = f"{MESSAGES}/{repeat_at}/messageReference"
    _expect.expect_error(send(api, body), 400, "duplicate_value", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A batch with no messages is refused with CM_TOO_FEW_ITEMS",
    section=SECTION,
    ref="behaviour §3.8; upstream §3.9 (too few items)",
)
def test_empty_batch_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), MESSAGES, [])
    _expect.expect_error(send(api, body), 400, "too_few_items")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="However many messages are invalid, at most 100 errors come back (the first 100, in order)",
    section=SECTION,
    ref="behaviour §2, §3.8 (100-error cap); upstream §3.9 (max errors), §3.11",
)
@pytest.mark.parametrize("invalid", [99, 100, 101, 150])
def test_error_list_is_capped_at_one_hundred(
    api: ApiClient, notify_environment: Environment, invalid: int
) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment, count=invalid)
    for index in range(invalid):
        body["data"]["attributes"]["messages"][index]["recipient"]["nhsNumber"] = "not valid"
    expected = [
        expected_error("invalid_nhs_number", pointer=f"{MESSAGES}/{index}/recipient/nhsNumber")
        for index in range(min(invalid, MAX_ERRORS))
    ]
    _expect.expect_error_list(send(api, body), 400, expected)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="150 messages sharing one reference give exactly 100 duplicate errors, for messages 1 to 100",
    section=SECTION,
    ref="behaviour §3.8 (duplicates, 100-error cap); upstream §3.11 (large not-unique payload)",
)
def test_shared_reference_errors_are_capped(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment, count=150)
    shared = body["data"]["attributes"]["messages"][0]["messageReference"]
    for message in body["data"]["attributes"]["messages"]:
        message["messageReference"] = shared
    expected = [
        expected_error("duplicate_value", pointer=f"{MESSAGES}/{index}/messageReference")
        for index in range(1, MAX_ERRORS + 1)
    ]
    _expect.expect_error_list(send(api, body), 400, expected)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A batch of 45,001 messages is refused whole with 413 CM_TOO_MANY_ITEMS before any message "
    "is checked",
    severity="critical",
    section=SECTION,
    ref="behaviour §1.3, §3.8, §3.11; upstream §3.11 (too many messages)",
)
def test_more_than_the_maximum_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    messages = [
        {"messageReference": str(index), "recipient": {"nhsNumber": "x"}} for index in range(MAX_MESSAGES + 1)
    ]
    body = _bodies.replaced(valid_body(api, notify_environment), MESSAGES, messages)
    _expect.expect_error(send(api, body), 413, "too_many_items")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A valid batch whose body is larger than the service limit (about 6 MB) is refused with 413 "
    "CM_TOO_LARGE",
    severity="normal",
    section=SECTION,
    ref="behaviour §3.8, §3.11; upstream §3.11 (payload too large)",
)
@pytest.mark.needs_auth
def test_body_over_the_size_limit_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """45,000 valid messages with 32-character personalisation: about 7.6 MB, more than the live backend's
    6 MiB and less than the gateway's 10 MB. The sandbox has no such limit, hence ``needs_auth``."""
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment, count=MAX_MESSAGES)
    for message in body["data"]["attributes"]["messages"]:
        message["personalisation"] = {"body": "x" * 32}
    _expect.expect_error(send(api, body), 413, "too_large")


# ---- duplicates ---------------------------------------------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Sending the same messageBatchReference twice is refused the second time with 422 "
    "CM_DUPLICATE_REQUEST",
    severity="critical",
    section=SECTION,
    ref="behaviour §1.3 (duplicate batch); upstream §3.8 (422 duplicate batch)",
)
@pytest.mark.stateful
@pytest.mark.writes
def test_duplicate_batch_reference_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    body = valid_body(api, notify_environment)
    assert_batch_created(send(api, body), body)
    replay = send(api, body, retry=False)  # a 425 is an answer this test judges, not one to wait out
    if replay.status_code == 425:  # documented while the first is still being processed; it settles to 422
        _expect.expect_error(replay, 425, "retry_too_early")
        time.sleep(REPLAY_PAUSE_S)
        replay = send(api, body)
    _expect.expect_error(replay, 422, "duplicate_batch_request")


# ---- sandbox scenarios --------------------------------------------------------------------------------
# Prefer triggers, the routing-plan outcome table, contact details and account switches; they run only
# where the target offers scenario triggers (the sandbox, and the local reference in sandbox mode).

#: The version every sandbox batch reports, whatever the plan (behaviour §7.13).
SANDBOX_BATCH_PLAN_VERSION = "1"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story=f"Each sandbox Prefer trigger gives its canned error on {FEATURE}",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.1; upstream §3.5, §4",
)
@pytest.mark.scenario
@pytest.mark.parametrize("code", list(_bodies.PREFER_TRIGGERS), ids=lambda code: f"code={code}")
def test_prefer_trigger_on_create_batch(api: ApiClient, notify_environment: Environment, code: str) -> None:
    status, error, retry_after = _bodies.PREFER_TRIGGERS[code]
    # retry=False: the 425, 429 and 503 answers are what this test judges, not something to wait out
    headers = {"Prefer": f"code={code}"}
    response = _expect.send(api, _expect.CREATE_BATCH, notify_environment, headers=headers, retry=False)
    _expect.expect_error(response, status, error)
    got = response.headers.get("Retry-After")
    assert retry_after in (None, got), f"Retry-After should be {retry_after}, got {got!r}"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Each routing plan the sandbox offers accepts a batch (sandbox batches report plan version '1')",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.3, §7.13; upstream §3.8 (valid routing plan ids)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", list(_bodies.ACCEPTED_PLANS))
def test_sandbox_plan_accepts_batch(api: ApiClient, plan_id: str) -> None:
    _expect.note_known_discrepancy("D31")
    data = _expect.success_data(send(api, _bodies.batch(plan_id)), 201)
    plan = data["attributes"]["routingPlan"]
    expected = _bodies.sandbox_routing_plan(plan_id, SANDBOX_BATCH_PLAN_VERSION)
    assert plan == expected, f"routingPlan should be {expected!r}, got {plan!r}"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="The sandbox's failing routing plans give their documented errors for a batch",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.9 rules 6, 8-10, §4.3; upstream §3.5 (425), §3.10",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("plan_id", "status", "error", "retry_after"), _bodies.FAILING_PLANS)
def test_sandbox_plan_failure_for_batch(
    api: ApiClient, plan_id: str, status: int, error: Mapping[str, Any], retry_after: str | None
) -> None:
    response = send(api, _bodies.batch(plan_id), retry=False)
    _expect.expect_errors(response, status, [error])
    got = response.headers.get("Retry-After")
    assert retry_after in (None, got), f"Retry-After should be {retry_after}, got {got!r}"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="The sandbox accepts override contact details on a batch message in each documented "
    "phone-number style",
    section=SECTION,
    ref="behaviour §1.6, §4.4; upstream §3.8 (valid contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("sms", _bodies.VALID_SMS_NUMBERS)
def test_batch_contact_details_are_accepted(api: ApiClient, sms: str) -> None:
    details = _bodies.contact_details(sms)
    body = _bodies.replaced(_bodies.batch(_bodies.SANDBOX_PLAN), f"{FIRST}/recipient/contactDetails", details)
    _expect.success_data(send(api, body), 201)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Contact details of the wrong type in a batch are reported at that message's index",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.4; upstream §3.9 (contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("details", "field", "problem"), _bodies.BAD_CONTACT_DETAILS)
def test_bad_contact_details_in_batch(api: ApiClient, details: Any, field: str, problem: str) -> None:
    at = f"{MESSAGES}/1/recipient/contactDetails"
    body = _bodies.replaced(_bodies.batch(_bodies.SANDBOX_PLAN), at, details)
    expected = expected_error(
        "invalid_value", pointer=f"{at}/{field}", detail=CONTACT_DETAIL_PROBLEMS[problem]
    )
    _expect.expect_errors(send(api, body), 400, [expected])


# ---- sandbox account switches (Authorization values the sandbox backend reads) -------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A client not allowed to override contact details is refused at the message that sends them",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.2 (notAllowedContactDetailOverride); upstream §3.9",
)
@pytest.mark.scenario
def test_contact_detail_override_not_allowed_for_batch(api: ApiClient) -> None:
    pointer = f"{MESSAGES}/2/recipient/contactDetails"
    body = _bodies.replaced(_bodies.batch(_bodies.SANDBOX_PLAN), pointer, _bodies.contact_details())
    response = send(api, body, headers={"Authorization": "notAllowedContactDetailOverride"})
    _expect.expect_error(response, 400, "cannot_set_contact_details", pointer=pointer)


#: The ODS switches on a batch: which of its three messages name an ODS code; only message 1 offends.
BATCH_ODS_SWITCHES = [
    pytest.param("noDefaultOds", (True, False, True), "ods_code_required", id="noDefaultOds-one-without"),
    pytest.param("noDefaultOds", (True, True, True), None, id="noDefaultOds-all-with"),
    pytest.param("noOdsChange", (False, True, False), "cannot_set_ods_code", id="noOdsChange-one-with"),
    pytest.param("noOdsChange", (False, False, False), None, id="noOdsChange-none-with"),
]


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="The ODS switches apply to each message of a batch: one offending message refuses the batch",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.9 rule 8, §4.2",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("switch", "named", "error"), BATCH_ODS_SWITCHES)
def test_ods_code_switches_for_batch(
    api: ApiClient, switch: str, named: tuple[bool, ...], error: str | None
) -> None:
    body = _bodies.batch(_bodies.SANDBOX_PLAN, count=len(named))
    for index, has_ods in enumerate(named):
        if not has_ods:
            body = _bodies.without(body, f"{MESSAGES}/{index}/originator")
    response = send(api, body, headers={"Authorization": switch})
    if error is None:
        _expect.success_data(response, 201)
    else:
        _expect.expect_error(response, 400, error)
