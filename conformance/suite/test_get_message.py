"""GET /v1/messages/{messageId}: a message can be read back in the documented shape, with a self link
that is the request's own URL, and an id the client does not own is not found.

Proves behaviour §1.4 (the 200 answer, relationships, 404), §4.1 (a Prefer value that is not exactly a
trigger), §4.5 (the sandbox's stored messages) and upstream §3.12 (the shape rules of
``assert_200_response_message``, the stored-message bodies, the 404 tests and the api suite's
create-then-get). The sandbox's Prefer triggers on this operation are in ``test_sandbox_triggers.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance._resources import fixtures_dir
from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect

#: this module's labels: GET_MESSAGE's area, feature and NHS documentation section
behaviour = _expect.operation_labels(_expect.GET_MESSAGE)

MESSAGE_STATUSES = frozenset({"created", "pending_enrichment", "enriched", "sending", "delivered", "failed"})
CHANNEL_TYPES = frozenset({"nhsapp", "email", "sms", "letter"})
CASCADE_TYPES = frozenset({"primary", "secondary"})
CHANNEL_STATUSES = frozenset({"created", "sending", "delivered", "failed", "skipped"})
CHANNEL_PLAN_TYPES = frozenset({"original", "override"})

#: The 29 messages the sandbox stores (behaviour §4.5; their records are in fixtures/sandbox/messages).
STORED_MESSAGE_IDS = (
    "2WL3qFTEFM0qMY8xjRbt1LIKCzM",  # delivered, NHS App
    "2WL3wwFhpZ6blJNIoh747bDEFNv",  # delivered, email
    "2WL3ydEEk37IzREoWRhuAdolFCE",  # delivered, SMS
    "2WL3zxCY9e5vm2VP1ZfYMb53WPF",  # delivered, letter
    "2WL44QP7vrKxKKBZdTtUQoB2bWl",  # sending, NHS App
    "2WL45YuHOLATvC3GspEu0oSioux",  # failed, NHS number not found
    "2WL4GEeFVxXG9S57nRlefBwwKxp",  # sending, email
    "2WL4JXrfauCaQnSFbAujoImSKwo",  # sending, SMS
    "2WL4JtCiOe7l2TT4szwPjNJah3z",  # failed, SMS provider
    "2WL4LuyNMtoGAsJQIpTxZLl8e3e",  # sending, letter
    "2WL4MOuSeCTODDAScFG7KIq9a5r",  # failed, letter provider
    "2WL4QcKGjNHvHFQeKgYbapZJGHK",  # failed, not in PDS (no channels)
    "2WL4W9RgbuLLByXdR77H8vjKSDd",  # failed, email provider
    "2WL4cPfBRuPKa44JxhyXYf2kr1E",  # failed, record invalidated (no channels)
    "2WL4ibGoigirgbH4yQwqbPaJXyQ",  # failed, formally dead (no channels)
    "2WL4khXn32dOOj4bB4bi8Tkllrq",  # failed, informally dead (no channels)
    "2WL4mvx6eBva8dcIK60VEGIfcgZ",  # failed, exit code (no channels)
    "2WL4pcpmKxYYblm3PSKVEqcmEPX",  # failed, malformed contact detail (no channels)
    "2WL4vHFZzInmaYwq6HRNDqTX8dH",  # failed, contact detail missing, NHS App
    "2WL4xcWKvz4F32g0htBEl8DINzn",  # failed, contact detail missing, email
    "2WL50w41YaZXcyFCNT346LY8rlz",  # failed, contact detail missing, SMS
    "2WL54x0XQjCbWeE5lN0DKQZcokU",  # failed, contact detail missing, letter
    "2WL5TWl7F7PondWbZ1vctlEtOZ3",  # delivered by NHS App, later channels still created
    "2WL5eDefrbW31uw1il84WdF8ndH",  # delivered by email after NHS App failed
    "2WL5eYSWGzCHlGmzNxuqVusPxDg",  # delivered by SMS after two failures
    "2WL5f8j4XVxUPgd3OOqXVYvVFIW",  # delivered by letter after three failures
    "2WL5qbEa7TzSWZXU2IAOCCrLXVL",  # delivered, sent in a batch (relationships)
    "2bBBpsiMl2rnQt99qm6JLZ6w1vq",  # failed, override routing plan on the channel
    "2n7C5wdJ9JSOSeCJTyd50GvtZeR",  # delivered, secondary cascade
)


def message_path(message_id: str) -> str:
    return f"/v1/messages/{message_id}"


def assert_channel(channel: Any, where: str) -> None:
    """One channel of a message: type, cascade, status, timestamps and the plan it was routed by."""
    assert isinstance(channel, dict), f"{where} should be an object, got {channel!r}"
    assert channel.get("type") in CHANNEL_TYPES, f"{where}.type {channel.get('type')!r}"
    assert channel.get("cascadeType") in CASCADE_TYPES, f"{where}.cascadeType {channel.get('cascadeType')!r}"
    order = channel.get("cascadeOrder")
    assert isinstance(order, int) and not isinstance(order, bool) and order > 0, (
        f"{where}.cascadeOrder {order!r}"
    )
    assert channel.get("channelStatus") in CHANNEL_STATUSES, (
        f"{where}.channelStatus {channel.get('channelStatus')!r}"
    )
    timestamps = channel.get("timestamps")
    assert isinstance(timestamps, dict), f"{where}.timestamps should be an object"
    for name, value in timestamps.items():
        _expect.assert_timestamp(value, f"{where}.timestamps.{name}")
    assert "created" in timestamps, f"{where}.timestamps.created is missing"
    plan = channel.get("routingPlan")
    assert isinstance(plan, dict), f"{where}.routingPlan should be an object, got {plan!r}"
    for name in ("id", "type", "version"):
        assert isinstance(plan.get(name), str), f"{where}.routingPlan.{name} should be a string: {plan!r}"
    assert plan["type"] in CHANNEL_PLAN_TYPES, f"{where}.routingPlan.type {plan['type']!r}"


def assert_message_record(response: httpx.Response, message_id: str) -> dict[str, Any]:
    """The documented 200 answer for ``message_id``; returns its attributes.

    The rules are upstream's: status from the enum, a reference, a routing plan, ISO timestamps, PDS
    metadata once enrichment has happened, channels once sending has started, and a self link that is
    exactly the URL asked for.
    """
    data = _expect.success_data(response, 200)
    assert data.get("type") == "Message", f"data.type should be 'Message', got {data.get('type')!r}"
    assert data.get("id") == message_id, f"data.id should be {message_id!r}, got {data.get('id')!r}"
    attributes: dict[str, Any] = data["attributes"]
    status = attributes.get("messageStatus")
    assert status in MESSAGE_STATUSES, f"messageStatus {status!r} is not one of the documented statuses"
    reference = attributes.get("messageReference")
    assert isinstance(reference, str) and reference, (
        f"messageReference should be a non-empty string: {reference!r}"
    )
    _expect.assert_routing_plan(attributes.get("routingPlan"))
    timestamps = attributes.get("timestamps")
    assert isinstance(timestamps, dict) and "created" in timestamps, (
        f"timestamps.created is missing: {timestamps!r}"
    )
    for name, value in timestamps.items():
        _expect.assert_timestamp(value, f"timestamps.{name}")
    if status != "pending_enrichment":
        metadata = attributes.get("metadata")
        assert isinstance(metadata, list) and metadata, f"a {status} message should carry PDS metadata"
        first = metadata[0]
        _expect.assert_timestamp(first.get("queriedAt"), "metadata[0].queriedAt")
        assert isinstance(first.get("source"), str), f"metadata[0].source should be a string: {first!r}"
        assert isinstance(first.get("version"), str), f"metadata[0].version should be a string: {first!r}"
        labels = first.get("labels")
        assert isinstance(labels, list) and all(isinstance(label, str) for label in labels), (
            f"metadata[0].labels should be a list of strings: {labels!r}"
        )
    channels = attributes.get("channels")
    if status in ("sending", "delivered"):
        assert isinstance(channels, list) and channels, f"a {status} message should list its channels"
    for index, channel in enumerate(channels or []):
        assert_channel(channel, f"channels[{index}]")
    requested = str(response.request.url).split("?", 1)[0]
    assert data.get("links", {}).get("self") == requested, (
        f"links.self should be the request URL {requested!r}, got {data.get('links')!r}"
    )
    return attributes


# ---- reading back what was created --------------------------------------------------------------------


@behaviour(severity="blocker", ref="behaviour §1.4; upstream §3.12 (api test_200_get_message)")
@pytest.mark.stateful
@pytest.mark.writes
def test_created_message_can_be_read(api: ApiClient, notify_environment: Environment) -> None:
    """A message just created can be read back at its Location, with its reference and routing plan."""
    body = _bodies.message(api.target.routing_plan_id, _expect.recipient_nhs_number(notify_environment))
    created = _expect.success_data(api.post("/v1/messages", json=body), 201)
    location = f"/v1/messages/{created['id']}"
    attributes = assert_message_record(api.get(location), str(created["id"]))
    sent = body["data"]["attributes"]
    assert attributes["messageReference"] == sent["messageReference"], (
        "messageReference differs from the one sent"
    )
    assert attributes["routingPlan"]["id"] == sent["routingPlanId"], (
        "routingPlan.id differs from the one sent"
    )


@behaviour(ref="behaviour §1.4 (relationships)")
@pytest.mark.stateful
@pytest.mark.writes
def test_batch_message_names_its_batch(api: ApiClient, notify_environment: Environment) -> None:
    """A message sent in a batch can be read back and names its batch in relationships.messageBatch."""
    _expect.skip_in_production(notify_environment)
    body = _bodies.batch(api.target.routing_plan_id, 2)
    batch = _expect.success_data(api.post("/v1/message-batches", json=body), 201)
    for message in batch["attributes"]["messages"]:
        response = api.get(message_path(str(message["id"])))
        attributes = assert_message_record(response, str(message["id"]))
        assert attributes["messageReference"] == message["messageReference"], "messageReference differs"
        relationships = response.json()["data"].get("relationships")
        expected = {"messageBatch": {"data": {"type": "MessageBatch", "id": batch["id"]}}}
        assert relationships == expected, (
            f"relationships should name batch {batch['id']}, got {relationships!r}"
        )


# ---- not found ----------------------------------------------------------------------------------------


@behaviour(severity="critical", ref="behaviour §1.4; upstream §3.12 (404 message id not found)")
@pytest.mark.parametrize(
    "message_id",
    [_expect.UNKNOWN_MESSAGE_ID, "does-not-exist", "blank"],
    ids=["ksuid-shaped", "words", "blank"],
)
def test_unknown_message_is_not_found(api: ApiClient, message_id: str) -> None:
    """An id that names no message of this client is answered 404 CM_NOT_FOUND, whatever its form."""
    _expect.expect_error(api.get(message_path(message_id)), 404, "not_found")


# ---- the sandbox's stored messages --------------------------------------------------------------------


def stored_record(message_id: str) -> dict[str, Any]:
    path = fixtures_dir() / "sandbox" / "messages" / f"{message_id}.json"
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["data"]
    return record


@behaviour(
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.5; upstream §3.12 (valid accept headers)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("message_id", STORED_MESSAGE_IDS)
def test_stored_message_has_documented_shape(api: ApiClient, message_id: str) -> None:
    """Each message the sandbox stores is served with the documented shape."""
    assert_message_record(api.get(message_path(message_id)), message_id)


@behaviour(section=_bodies.SANDBOX_SECTION, ref="behaviour §4.5; upstream §3.12 (valid response bodies)")
@pytest.mark.scenario
@pytest.mark.parametrize("message_id", STORED_MESSAGE_IDS)
def test_stored_message_is_served_as_published(api: ApiClient, message_id: str) -> None:
    """Each message the sandbox stores is served exactly as published, its self link the request URL."""
    response = api.get(message_path(message_id))
    _expect.expect_status(response, 200)
    expected = stored_record(message_id)
    expected["links"] = {"self": api.url(message_path(message_id))}
    assert response.json()["data"] == expected, f"the record of {message_id} differs from the published one"


# ---- sandbox Prefer values ----------------------------------------------------------------------------


@behaviour(severity="minor", section=_bodies.SANDBOX_SECTION, ref="behaviour §4.1 (exact value match)")
@pytest.mark.scenario
@pytest.mark.parametrize("prefer", ["code=5000", "respond-async", "code=500x"])
def test_prefer_value_must_match_exactly(api: ApiClient, prefer: str) -> None:
    """A Prefer value that is not exactly a trigger is ignored and the request is answered normally."""
    response = api.get(message_path(STORED_MESSAGE_IDS[0]), headers={"Prefer": prefer})
    _expect.expect_status(response, 200)
