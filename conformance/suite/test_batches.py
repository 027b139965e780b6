"""POST /v1/message-batches: a batch is created with one id for every message sent, and the rules only a
batch has (every message, repeats, the 100-error cap, the size limits) refuse it with the exact errors
at the exact fields.

Proves behaviour §1.3 (the 201 answer, limits, duplicates), §3.8 (the 100-error cap, CM_TOO_MANY_ITEMS)
and upstream §3.8, §3.9 and §3.11. Unlike the upstream check, every messageReference of the request must
come back exactly once. The body validation a batch shares with a message is in
``test_create_validation.py``, and the sandbox's scenarios for a batch in ``test_sandbox_triggers.py``.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import expected_error
from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._expect import BATCH

#: this module's labels: CREATE_BATCH's area, feature and NHS documentation section
behaviour = _expect.operation_labels(_expect.CREATE_BATCH)

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


send = BATCH.send
valid_body = BATCH.valid_body


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


@behaviour(severity="blocker", ref="behaviour §1.3; upstream §3.8")
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, _expect.PLAIN_JSON], ids=["jsonapi", "plain-json"])
def test_valid_batch_is_created(api: ApiClient, notify_environment: Environment, media_type: str) -> None:
    """A valid batch is created: 201, type MessageBatch, the batch reference and routing plan echoed, and
    every message sent back exactly once with its own id."""
    if media_type != JSONAPI:  # production gets as few messages as proves the point
        _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    assert_batch_created(send(api, body, accept=media_type, content_type=media_type), body)


@behaviour(ref="behaviour §1.6; upstream §3.8 (undefined nhs number)")
@pytest.mark.writes
def test_message_without_nhs_number_is_accepted(api: ApiClient, notify_environment: Environment) -> None:
    """A batch whose first message has no NHS number is accepted (the NHS number is optional)."""
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


@behaviour(severity="critical", ref="behaviour §1.3 (limits); upstream §3.11 (large valid payload)")
@pytest.mark.writes
def test_forty_thousand_messages_are_accepted(api: ApiClient, notify_environment: Environment) -> None:
    """A batch of 40,000 messages is accepted and every one of them comes back with an id."""
    _expect.skip_in_production(notify_environment)
    body = large_batch(api.target.routing_plan_id, LARGE_BATCH)
    size = len(json.dumps(body, separators=(",", ":")))
    assert size < PAYLOAD_LIMIT_BYTES, f"the test body ({size} bytes) should stay under the payload limit"
    assert_batch_created(send(api, body), body)


# ---- batch-only rules: every message, repeats, limits -------------------------------------------------


@behaviour(ref="behaviour §3.8 (per-message checks); upstream §3.9 (multi-error cases)")
@pytest.mark.parametrize("member", ["messageReference", "recipient"])
def test_member_missing_from_every_message(
    api: ApiClient, notify_environment: Environment, member: str
) -> None:
    """A member missing from every message is reported once per message, at each message's index."""
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    for index in range(3):
        body = _bodies.without(body, f"{MESSAGES}/{index}/{member}")
    expected = [expected_error("missing_value", pointer=f"{MESSAGES}/{index}/{member}") for index in range(3)]
    _expect.expect_error_list(send(api, body), 400, expected)


@behaviour(severity="critical", ref="behaviour §3.8 (duplicate messageReference); upstream §3.9")
@pytest.mark.parametrize("repeat_at", [1, 3], ids=["next-message", "appended-copy"])
def test_repeated_message_reference_is_refused(
    api: ApiClient, notify_environment: Environment, repeat_at: int
) -> None:
    """A messageReference repeated within a batch is refused at the repeat (the first use is fine)."""
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


@behaviour(ref="behaviour §3.8; upstream §3.9 (too few items)")
def test_empty_batch_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """A batch with no messages is refused with CM_TOO_FEW_ITEMS."""
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), MESSAGES, [])
    _expect.expect_error(send(api, body), 400, "too_few_items")


@behaviour(ref="behaviour §2, §3.8 (100-error cap); upstream §3.9 (max errors), §3.11")
@pytest.mark.parametrize("invalid", [99, 100, 101, 150])
def test_error_list_is_capped_at_one_hundred(
    api: ApiClient, notify_environment: Environment, invalid: int
) -> None:
    """However many messages are invalid, at most 100 errors come back (the first 100, in order)."""
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment, count=invalid)
    for index in range(invalid):
        body["data"]["attributes"]["messages"][index]["recipient"]["nhsNumber"] = "not valid"
    expected = [
        expected_error("invalid_nhs_number", pointer=f"{MESSAGES}/{index}/recipient/nhsNumber")
        for index in range(min(invalid, MAX_ERRORS))
    ]
    _expect.expect_error_list(send(api, body), 400, expected)


@behaviour(ref="behaviour §3.8 (duplicates, 100-error cap); upstream §3.11 (large not-unique payload)")
def test_shared_reference_errors_are_capped(api: ApiClient, notify_environment: Environment) -> None:
    """150 messages sharing one reference give exactly 100 duplicate errors, for messages 1 to 100."""
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


@behaviour(severity="critical", ref="behaviour §1.3, §3.8, §3.11; upstream §3.11 (too many messages)")
def test_more_than_the_maximum_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """A batch of 45,001 messages is refused whole with 413 CM_TOO_MANY_ITEMS before any message is
    checked."""
    _expect.skip_in_production(notify_environment)
    messages = [
        {"messageReference": str(index), "recipient": {"nhsNumber": "x"}} for index in range(MAX_MESSAGES + 1)
    ]
    body = _bodies.replaced(valid_body(api, notify_environment), MESSAGES, messages)
    _expect.expect_error(send(api, body), 413, "too_many_items")


@behaviour(severity="normal", ref="behaviour §3.8, §3.11; upstream §3.11 (payload too large)")
@pytest.mark.needs_auth
def test_body_over_the_size_limit_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """A valid batch whose body is larger than the service limit (about 6 MB) is refused with 413
    CM_TOO_LARGE.

    45,000 valid messages with 32-character personalisation: about 7.6 MB, more than the live backend's
    6 MiB and less than the gateway's 10 MB. The sandbox has no such limit, hence ``needs_auth``."""
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment, count=MAX_MESSAGES)
    for message in body["data"]["attributes"]["messages"]:
        message["personalisation"] = {"body": "x" * 32}
    _expect.expect_error(send(api, body), 413, "too_large")


# ---- duplicates ---------------------------------------------------------------------------------------


@behaviour(severity="critical", ref="behaviour §1.3 (duplicate batch); upstream §3.8 (422 duplicate batch)")
@pytest.mark.stateful
@pytest.mark.writes
def test_duplicate_batch_reference_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """Sending the same messageBatchReference twice is refused the second time with 422
    CM_DUPLICATE_REQUEST."""
    body = valid_body(api, notify_environment)
    assert_batch_created(send(api, body), body)
    _expect.expect_error(BATCH.send_again(api, body), 422, "duplicate_batch_request")
