"""The integration reference's state is bounded: stored messages (and the references that made them),
issued tokens and remembered ``jti`` values are forgotten by age and by count, and what the suite relies
on still holds up to those limits (a message reads back, a repeated reference is 425 then 422, a
replayed assertion is refused while it could be valid)."""

from __future__ import annotations

import copy
import itertools
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.reference.config import (
    DEFAULT_MAX_STORED_MESSAGES,
    DEFAULT_MESSAGE_RETENTION_S,
    ReferenceConfig,
)
from conformance.reference.oauth import ClientRegistry, generate_client
from conformance.reference.server import start
from conformance.reference.store import PACKED_BATCH_MIN, Claim, MessageStore
from conformance.reference.validation import MAX_BATCH_MESSAGES
from tests.reference.conftest import EXPECTED_ERRORS, assert_error, fetch_token, message_body

OWNER = "api-key-of-one-client"
_SERIAL = itertools.count()
PLAN = {"id": "00000000-0000-0000-0000-000000000001", "name": "Plan", "version": "v1", "createdDate": "x"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(reference: str | None = None, batch_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A message's ``data`` shaped as the integration backend stores it."""
    data: dict[str, Any] = {
        "type": "Message",
        "id": f"message-{next(_SERIAL):08d}",
        "attributes": {
            "messageReference": reference or f"reference-{next(_SERIAL)}",
            "messageStatus": "pending_enrichment",
            "routingPlan": PLAN,
            "timestamps": {"created": "2026-01-01T10:00:00.000Z"},
            **extra,
        },
    }
    if batch_id is not None:
        data["relationships"] = {"messageBatch": {"data": {"type": "MessageBatch", "id": batch_id}}}
    return data


def batch(count: int) -> list[dict[str, Any]]:
    batch_id = uuid.uuid4().hex
    return [stored(batch_id=batch_id) for _ in range(count)]


def readable(store: MessageStore, messages: list[dict[str, Any]]) -> list[bool]:
    return [store.message(OWNER, data["id"]) is not None for data in messages]


# ---- messages and references: by age


def test_a_message_and_its_reference_are_kept_until_the_retention_ends() -> None:
    clock = Clock()
    store = MessageStore(0.5, clock, retention_s=60.0)
    data = stored("ref-1")
    assert store.add_message(OWNER, "ref-1", data) is Claim.NEW
    clock.now += 0.4
    assert store.add_message(OWNER, "ref-1", stored("ref-1")) is Claim.IN_FLIGHT
    clock.now += 59.5  # 59.9 s after the create
    assert store.message(OWNER, data["id"]) == data
    assert store.add_message(OWNER, "ref-1", stored("ref-1")) is Claim.USED
    clock.now += 0.1  # the retention has ended
    assert store.message(OWNER, data["id"]) is None
    again = stored("ref-1")
    assert store.add_message(OWNER, "ref-1", again) is Claim.NEW, "a forgotten reference may be used again"
    assert store.message(OWNER, again["id"]) == again
    assert len(store) == 1


def test_a_batch_is_forgotten_whole_with_its_reference() -> None:
    clock = Clock()
    store = MessageStore(0.0, clock, retention_s=10.0)
    messages = batch(3)
    assert store.add_batch(OWNER, "batch-1", messages) is Claim.NEW
    clock.now += 5
    later = stored("single")
    store.add_message(OWNER, "single", later)
    clock.now += 5
    assert readable(store, messages) == [False, False, False]
    assert readable(store, [later]) == [True]
    assert store.add_batch(OWNER, "batch-1", batch(1)) is Claim.NEW


# ---- messages and references: by count


def test_over_the_cap_the_oldest_creates_go_first() -> None:
    store = MessageStore(0.0, Clock(), max_messages=5)
    first, single, last = batch(3), stored("single"), batch(2)
    store.add_batch(OWNER, "first", first)
    store.add_message(OWNER, "single", single)
    assert readable(store, [*first, single]) == [True] * 4
    store.add_batch(OWNER, "last", last)  # 6 messages: the first batch goes, all of it
    assert readable(store, first) == [False, False, False]
    assert readable(store, [single, *last]) == [True, True, True]
    assert len(store) == 3
    assert store.add_batch(OWNER, "first", batch(1)) is Claim.NEW, "its reference went with it"
    assert store.add_message(OWNER, "single", stored("single")) is Claim.USED


def test_the_newest_create_is_kept_whole_even_above_the_cap() -> None:
    store = MessageStore(0.0, Clock(), max_messages=3)
    large = batch(5)
    store.add_batch(OWNER, "large", large)
    assert readable(store, large) == [True] * 5
    store.add_message(OWNER, "next", stored("next"))
    assert readable(store, large) == [False] * 5
    assert len(store) == 1


def test_the_default_cap_holds_the_largest_batch() -> None:
    assert DEFAULT_MAX_STORED_MESSAGES >= MAX_BATCH_MESSAGES
    assert DEFAULT_MESSAGE_RETENTION_S >= 3600
    config = ReferenceConfig(mode="integration")
    store = MessageStore.for_config(config)
    assert (store.max_messages, store.retention_s) == (config.max_stored_messages, config.message_retention_s)


# ---- what is stored reads back exactly, and compactly


def test_batch_messages_read_back_exactly_and_as_copies() -> None:
    store = MessageStore(0.0, Clock())
    messages = batch(4)
    messages[2]["attributes"]["extra"] = {"only": "this one"}  # does not fit the batch's shape
    del messages[3]["relationships"]
    store.add_batch(OWNER, "mixed", messages)
    for data in messages:
        copy = store.message(OWNER, data["id"])
        assert copy == data
        assert copy is not None
        copy["attributes"]["messageStatus"] = "changed by the reader"
        assert store.message(OWNER, data["id"]) == data
    assert store.message("another client", messages[0]["id"]) is None


@pytest.mark.parametrize("width", ["fixed", "varying"], ids=["packed", "indexed"])
def test_every_message_of_a_large_batch_reads_back(width: str) -> None:
    """A large batch is packed into two strings when its ids all have one length (as KSUIDs do)."""
    store = MessageStore(0.0, Clock())
    messages = batch(PACKED_BATCH_MIN + 1)
    if width == "varying":
        messages[0]["id"] += "-longer"
    store.add_batch(OWNER, "large", messages)
    assert [store.message(OWNER, data["id"]) for data in messages] == messages
    assert store.message(OWNER, "message-99999999") is None, "an id of the same length it does not hold"
    assert store.message(OWNER, messages[0]["id"][:-1]) is None
    assert store.message("another client", messages[-1]["id"]) is None
    assert len(store) == PACKED_BATCH_MIN + 1
    store.add_message(OWNER, "after", stored("after"))
    assert store.message(OWNER, messages[5]["id"]) == messages[5]


def test_a_large_batch_is_not_kept_as_dicts() -> None:
    store = MessageStore(0.0, Clock())
    tracemalloc.start()
    try:
        messages = batch(10_000)
        last = copy.deepcopy(messages[-1])
        store.add_batch(OWNER, "large", messages)
        del messages  # the request is over: only what the store keeps is left
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # kept as the dicts they came in as, these messages hold ~11 MB (a batch of 40,000: ~45 MB)
    assert held < 3 * 1024 * 1024, f"the store holds {held / 1e6:.1f} MB for 10,000 messages"
    assert store.message(OWNER, last["id"]) == last


# ---- tokens and jti values


def test_a_jti_is_remembered_until_its_assertion_expires() -> None:
    registry = ClientRegistry()
    assert registry.use_jti("key", "jti-1", valid_until=1300.0, now=1000.0)
    assert not registry.use_jti("key", "jti-1", valid_until=1300.0, now=1299.9), "a replay is refused"
    # from its exp on the assertion itself is refused as expired; its jti need not be kept any longer
    assert registry.use_jti("key", "jti-2", valid_until=1600.0, now=1300.0)
    assert registry.use_jti("key", "jti-1", valid_until=1600.0, now=1300.0)


def test_over_the_jti_cap_the_oldest_is_forgotten() -> None:
    registry = ClientRegistry(max_jtis=2)
    for jti in ("a", "b", "c"):
        assert registry.use_jti("key", jti, valid_until=1300.0, now=1000.0)
    assert not registry.use_jti("key", "c", valid_until=1300.0, now=1000.0)
    assert not registry.use_jti("key", "b", valid_until=1300.0, now=1000.0)
    assert registry.use_jti("key", "a", valid_until=1300.0, now=1000.0)


def test_expired_tokens_are_refused_then_forgotten(tmp_path: Path) -> None:
    registry = ClientRegistry(default_token_lifetime_s=100, expired_token_memory_s=50.0)
    creds = generate_client(registry, tmp_path)
    record = registry.client_for_kid(creds.kid)
    assert record is not None
    token = registry.issue_token(record, now=1000.0)
    registry.issue_token(record, now=1149.9)
    # judged at its issue time the token is still known (what the expired-token-accepted fault relies on)
    assert registry.client_for_token(token, now=1000.0) == record
    registry.issue_token(record, now=1150.0)  # 50 s after it expired: forgotten
    assert registry.client_for_token(token, now=1000.0) is None


def test_over_the_token_cap_the_oldest_is_forgotten(tmp_path: Path) -> None:
    registry = ClientRegistry(default_token_lifetime_s=100, max_tokens=2)
    creds = generate_client(registry, tmp_path)
    record = registry.client_for_kid(creds.kid)
    assert record is not None
    tokens = [registry.issue_token(record, now=1000.0) for _ in range(3)]
    assert [registry.client_for_token(token, now=1001.0) for token in tokens] == [None, record, record]


@pytest.mark.parametrize(
    "limits",
    [
        {"max_stored_messages": 0},
        {"message_retention_s": 0},
        {"max_issued_tokens": 0},
        {"max_remembered_jtis": 0},
        {"expired_token_memory_s": -1},
    ],
)
def test_limits_must_be_usable(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ReferenceConfig(mode="integration", **limits)


# ---- over HTTP: the configured limits are the server's


def test_the_server_applies_its_configured_limits(tmp_path: Path) -> None:
    config = ReferenceConfig(mode="integration", in_flight_s=0.0, max_stored_messages=2, max_issued_tokens=3)
    with start(config) as server, httpx.Client(timeout=30.0) as http:
        assert server.registry.max_tokens == 3
        headers = {
            "Authorization": f"Bearer {fetch_token(server, generate_client(server.registry, tmp_path))}"
        }
        bodies = [message_body() for _ in range(3)]
        ids = []
        for body in bodies:
            created = http.post(server.base_url + "/v1/messages", json=body, headers=headers)
            assert created.status_code == 201, created.text
            ids.append(created.json()["data"]["id"])
        statuses = [
            http.get(f"{server.base_url}/v1/messages/{id_}", headers=headers).status_code for id_ in ids
        ]
        assert statuses == [404, 200, 200]
        first_again = http.post(server.base_url + "/v1/messages", json=bodies[0], headers=headers)
        assert first_again.status_code == 201, "the forgotten message's reference is free again"
        last_again = http.post(server.base_url + "/v1/messages", json=bodies[2], headers=headers)
        assert_error(last_again, 422, EXPECTED_ERRORS["duplicate_message"])
