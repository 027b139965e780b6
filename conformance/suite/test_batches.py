"""POST /v1/message-batches: a batch is created with one id for every message sent, and every malformed
batch is refused with the exact errors at the exact fields, within the documented limits.

Proves api-behaviour.md §1.3 (the 201 answer, limits, duplicates), §3.8 (body validation, the 100-error
cap, CM_TOO_MANY_ITEMS) and §3.9 rule 6, and upstream-tests.md §3.8, §3.9, §3.11 and the batch rows of
§3.10. Unlike the upstream check, every messageReference of the request must come back exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import expected_error
from conformance.client import ApiClient
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

#: The most errors one answer carries (api-behaviour §2, §3.8).
MAX_ERRORS = 100
#: The most messages one batch may hold (api-behaviour §1.3).
MAX_MESSAGES = 45_000
#: The large batch upstream proves is accepted.
LARGE_BATCH = 40_000
#: The documented payload limit: a large batch must stay under it to prove the message count alone.
PAYLOAD_LIMIT_BYTES = 5_200_000
UNKNOWN_ROUTING_PLAN = "0badf00d-0000-4000-8000-000000000000"
REPLAY_PAUSE_S = 5.0
JSON = "application/json"
JSONAPI = "application/vnd.api+json"


def pointer_id(pointer: str) -> str:
    """A readable test id for a JSON pointer: ``/data/attributes/messages/0`` -> ``messages.0``."""
    return (
        pointer.removeprefix(ATTRIBUTES + "/").removeprefix("/data/").strip("/").replace("/", ".") or "data"
    )


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
    ref="api-behaviour §1.3; upstream-tests §3.8",
)
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, JSON], ids=["jsonapi", "plain-json"])
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
    ref="api-behaviour §1.6; upstream-tests §3.8 (undefined nhs number)",
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
    ref="api-behaviour §1.3 (limits); upstream-tests §3.11 (large valid payload)",
)
@pytest.mark.writes
def test_forty_thousand_messages_are_accepted(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = large_batch(api.target.routing_plan_id, LARGE_BATCH)
    size = len(json.dumps(body, separators=(",", ":")))
    assert size < PAYLOAD_LIMIT_BYTES, f"the test body ({size} bytes) should stay under the payload limit"
    assert_batch_created(send(api, body), body)


# ---- body validation ----------------------------------------------------------------------------------

REQUIRED = (
    "/data",
    "/data/type",
    ATTRIBUTES,
    f"{ATTRIBUTES}/routingPlanId",
    f"{ATTRIBUTES}/messageBatchReference",
    MESSAGES,
    f"{FIRST}/messageReference",
    f"{FIRST}/recipient",
)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A body that is not JSON is refused with CM_INVALID_VALUE at '/'",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.9 (invalid body)",
)
def test_unparseable_body_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    response = api.post(PATH, content="{}SF{}NOTVALID", content_type=JSONAPI)
    _expect.expect_error(response, 400, "invalid_body")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Each missing required member is reported as CM_MISSING_VALUE at its own pointer",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.9 (property missing)",
)
@pytest.mark.parametrize("pointer", REQUIRED, ids=pointer_id)
def test_missing_member_is_reported(api: ApiClient, notify_environment: Environment, pointer: str) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(valid_body(api, notify_environment), pointer)
    _expect.expect_error(send(api, body), 400, "missing_value", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A member missing from every message is reported once per message, at each message's index",
    section=SECTION,
    ref="api-behaviour §3.8 (per-message checks); upstream-tests §3.9 (multi-error cases)",
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


NULLABLE = (
    *REQUIRED,
    FIRST,
    f"{FIRST}/recipient/nhsNumber",
    f"{FIRST}/originator",
    f"{FIRST}/personalisation",
)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A member or message sent as null is reported as CM_NULL_VALUE at its pointer",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.9 (null, null message element, null personalisation)",
)
@pytest.mark.parametrize("pointer", NULLABLE, ids=pointer_id)
def test_null_member_is_reported(api: ApiClient, notify_environment: Environment, pointer: str) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), pointer, None)
    _expect.expect_error(send(api, body), 400, "null_value", pointer=pointer)


INVALID_VALUES: list[tuple[str, Any, str]] = [
    ("/data", "invalid string", "data-string"),
    ("/data/type", "Message", "type-message"),
    ("/data/type", "invalid string", "type-unknown"),
    (ATTRIBUTES, [], "attributes-array"),
    (f"{ATTRIBUTES}/routingPlanId", "invalid", "routingPlanId-not-uuid"),
    (f"{ATTRIBUTES}/messageBatchReference", ["invalid"], "messageBatchReference-array"),
    (f"{ATTRIBUTES}/messageBatchReference", "  ", "messageBatchReference-blank"),
    (MESSAGES, "invalid string", "messages-string"),
    (MESSAGES, {}, "messages-object"),
    (FIRST, "", "message-empty-string"),
    (FIRST, [], "message-array"),
    (FIRST, 5, "message-number"),
    (FIRST, 0.1, "message-fraction"),
    (f"{FIRST}/messageReference", ["invalid"], "messageReference-array"),
    (f"{FIRST}/recipient", "invalid string", "recipient-string"),
    (f"{FIRST}/originator", "X26", "originator-string"),
    (f"{FIRST}/originator/odsCode", 5, "odsCode-number"),
    (f"{FIRST}/personalisation", 5, "personalisation-number"),
    (f"{FIRST}/personalisation", "", "personalisation-empty-string"),
    (f"{FIRST}/personalisation", "some-string", "personalisation-string"),
    (f"{FIRST}/personalisation", [], "personalisation-array"),
]


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A member or message of the wrong type or form is reported as CM_INVALID_VALUE at its pointer",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.9 (invalid, invalid message element, personalisation)",
)
@pytest.mark.parametrize(
    ("pointer", "value"),
    [(pointer, value) for pointer, value, _ in INVALID_VALUES],
    ids=[name for _, _, name in INVALID_VALUES],
)
def test_invalid_member_is_reported(
    api: ApiClient, notify_environment: Environment, pointer: str, value: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), pointer, value)
    _expect.expect_error(send(api, body), 400, "invalid_value", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="An invalid NHS number in a batch is refused at that message's nhsNumber",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §1.6, §3.8; upstream-tests §3.9 (invalid NHS number)",
)
@pytest.mark.parametrize("nhs_number", _bodies.INVALID_NHS_NUMBERS, ids=json.dumps)
def test_invalid_nhs_number_is_refused(
    api: ApiClient, notify_environment: Environment, nhs_number: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    pointer = f"{FIRST}/recipient/nhsNumber"
    body = _bodies.replaced(valid_body(api, notify_environment), pointer, nhs_number)
    _expect.expect_error(send(api, body), 400, "invalid_nhs_number", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Problems in different messages are all reported, in order, each at its own message index",
    section=SECTION,
    ref="api-behaviour §3.8 (errors accumulate; batch order)",
)
def test_problems_across_messages_are_reported_in_order(
    api: ApiClient, notify_environment: Environment
) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    body = _bodies.replaced(body, f"{ATTRIBUTES}/routingPlanId", "invalid")
    body = _bodies.without(body, f"{MESSAGES}/1/recipient")
    body = _bodies.replaced(body, f"{MESSAGES}/2/recipient/nhsNumber", "9990548608")
    body = _bodies.replaced(body, f"{MESSAGES}/2/personalisation", "text")
    _expect.expect_error_list(
        send(api, body),
        400,
        [
            expected_error("invalid_value", pointer=f"{ATTRIBUTES}/routingPlanId"),
            expected_error("missing_value", pointer=f"{MESSAGES}/1/recipient"),
            expected_error("invalid_nhs_number", pointer=f"{MESSAGES}/2/recipient/nhsNumber"),
            expected_error("invalid_value", pointer=f"{MESSAGES}/2/personalisation"),
        ],
    )


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A messageReference repeated within a batch is refused at the repeat (the first use is fine)",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.8 (duplicate messageReference); upstream-tests §3.9",
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
    ref="api-behaviour §3.8; upstream-tests §3.9 (too few items)",
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
    ref="api-behaviour §2, §3.8 (100-error cap); upstream-tests §3.9 (max errors), §3.11",
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
    ref="api-behaviour §3.8 (duplicates, 100-error cap); upstream-tests §3.11 (large not-unique payload)",
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
    ref="api-behaviour §1.3, §3.8, §3.11; upstream-tests §3.11 (too many messages)",
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
    ref="api-behaviour §3.8, §3.11; upstream-tests §3.11 (payload too large)",
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


# ---- routing plans and duplicates ---------------------------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A well-formed routing plan id that names no plan of this client is refused with "
    "CM_NO_SUCH_ROUTING_PLAN",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.9 rule 6; upstream-tests §3.10",
)
@pytest.mark.writes
def test_unknown_routing_plan_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    _expect.note_known_discrepancy(
        "D2",
        "the contract's pointer enum names /data/attributes/routingPlan; the gateway reports "
        "/data/attributes/routingPlanId, which this test asserts.",
    )
    body = _bodies.replaced(
        valid_body(api, notify_environment), f"{ATTRIBUTES}/routingPlanId", UNKNOWN_ROUTING_PLAN
    )
    _expect.expect_error(send(api, body), 404, "no_such_routing_plan")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Sending the same messageBatchReference twice is refused the second time with 422 "
    "CM_DUPLICATE_REQUEST",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §1.3 (duplicate batch); upstream-tests §3.8 (422 duplicate batch)",
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
