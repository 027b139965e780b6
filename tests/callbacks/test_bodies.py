"""Bodies, signatures and the plan: what is sent is what the sender sends, and the generated callbacks
conform to the contract's schemas."""

from __future__ import annotations

import hashlib
import hmac
import json

import jsonschema
import pytest

from conformance.callbacks import strategies
from conformance.callbacks.deliveries import Expect
from conformance.callbacks.payloads import RESERIALISATIONS, Builder, document, idempotency_key, serialise
from conformance.callbacks.plan import Credentials, build_plan, minimum_callbacks
from conformance.callbacks.schema import Kind, callback_schema, channel_summary_enum, enum
from conformance.callbacks.signing import SIGNATURE_HEADER, sign, signing_key
from conformance.errors import UsageError

CREDENTIALS = Credentials("app-id-bodies", "key-for-bodies-123")


def validator(kind: Kind) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(callback_schema(kind), format_checker=jsonschema.FormatChecker())


def test_the_signature_is_lowercase_hex_hmac_sha256() -> None:
    # RFC 4231 test case 2
    assert sign(b"what do ya want for nothing?", b"Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert signing_key("app", "key-123456") == b"app.key-123456"


def test_bodies_are_compact_json_as_the_sender_writes_them() -> None:
    body = serialise({"data": [{"a": "é", "b": [1, 2]}]})
    assert body == '{"data":[{"a":"é","b":[1,2]}]}'.encode()
    for reserialise in RESERIALISATIONS.values():
        assert reserialise(json.loads(body)) != body


def test_the_idempotency_key_ignores_the_timestamp_only() -> None:
    build = Builder()
    message = build.new_message()
    first = build.channel_status("delivered", message=message)
    again = build.channel_status("delivered", message=message)
    assert first["attributes"]["timestamp"] != again["attributes"]["timestamp"]
    assert first["meta"]["idempotencyKey"] == again["meta"]["idempotencyKey"] == idempotency_key(first)
    other = build.channel_status("failed", message=message)
    assert other["meta"]["idempotencyKey"] != first["meta"]["idempotencyKey"]


@pytest.mark.parametrize("kind", list(Kind))
def test_built_items_conform_to_the_contract(kind: Kind) -> None:
    build = Builder()
    check = validator(kind)
    items = [item for _, item in build.every_status(kind)]
    items += [build.item(kind), build.item(kind, optional=False)]
    for item in items:
        assert list(check.iter_errors(document(item))) == []


def test_every_status_uses_every_value_the_contract_lists() -> None:
    build = Builder()
    messages = [item["attributes"] for _, item in build.every_status(Kind.MESSAGE_STATUS)]
    assert {a["messageStatus"] for a in messages} == set(enum(Kind.MESSAGE_STATUS, "messageStatus"))
    summary = [channel for a in messages for channel in a["channels"]]
    assert {c["type"] for c in summary} == set(channel_summary_enum("type"))
    assert {c["channelStatus"] for c in summary} == set(channel_summary_enum("channelStatus"))
    channels = [item["attributes"] for _, item in build.every_status(Kind.CHANNEL_STATUS)]
    for attribute in ("channel", "channelStatus", "supplierStatus", "cascadeType"):
        assert {a[attribute] for a in channels} == set(enum(Kind.CHANNEL_STATUS, attribute)), attribute


@pytest.mark.parametrize("kind", list(Kind))
def test_generated_callbacks_conform_to_the_contract(kind: Kind) -> None:
    docs = strategies.draw(strategies.documents(kind), 60, 3)
    assert len(docs) == 60
    check = validator(kind)
    for doc in docs:
        assert list(check.iter_errors(doc)) == [], doc
        for item in doc["data"]:
            assert item["links"]["message"].endswith(item["attributes"]["messageId"])
            if "idempotencyKey" in item.get("meta", {}):
                assert item["meta"]["idempotencyKey"] == idempotency_key(item)
    sizes = {len(doc["data"]) for doc in docs}
    assert 1 in sizes and max(sizes) > 1  # one item and several items per request
    # optional members are sometimes present and sometimes absent
    optional = "supplierStatus" if kind is Kind.CHANNEL_STATUS else "channels"
    present = [optional in item["attributes"] for doc in docs for item in doc["data"]]
    assert any(present) and not all(present)


def test_generation_is_reproducible() -> None:
    first = strategies.draw(strategies.documents(Kind.CHANNEL_STATUS), 10, 42)
    assert first == strategies.draw(strategies.documents(Kind.CHANNEL_STATUS), 10, 42)


def test_an_unknown_schema_feature_is_refused() -> None:
    with pytest.raises(strategies.UnsupportedSchema, match="oneOf"):
        strategies.from_schema({"oneOf": [{"type": "string"}]})


def test_the_plan_fits_its_budget() -> None:
    plan = build_plan(CREDENTIALS, 300, 1)
    assert plan.callbacks <= 300
    assert all(check.deliveries for check in plan.checks)
    assert minimum_callbacks(CREDENTIALS) <= 110
    with pytest.raises(UsageError, match="too few"):
        build_plan(CREDENTIALS, minimum_callbacks(CREDENTIALS) - 1, 1)


def test_signatures_in_the_plan_are_genuine_only_where_the_callback_is_valid() -> None:
    key = CREDENTIALS.key
    plan = build_plan(CREDENTIALS, 110, 1)
    for check in plan.checks:
        for delivery in check.deliveries:
            headers = dict(delivery.headers)
            signature = headers.get(SIGNATURE_HEADER)
            genuine = signature is not None and hmac.compare_digest(
                signature, hmac.new(key, delivery.body, hashlib.sha256).hexdigest()
            )
            if delivery.expect is Expect.SIGNATURE_REJECTED:
                assert not genuine, (check.name, delivery.label)
                assert headers.get("x-api-key") == CREDENTIALS.api_key
            else:
                assert genuine, (check.name, delivery.label)
            if delivery.expect is Expect.KEY_REJECTED:
                assert headers.get("x-api-key") != CREDENTIALS.api_key
            json.loads(delivery.body)  # every body, tampered ones included, is still JSON


def test_the_credentials_never_show_in_a_repr() -> None:
    plan = build_plan(CREDENTIALS, 110, 1)
    shown = repr(CREDENTIALS) + repr(plan.checks[0].deliveries[0])
    assert CREDENTIALS.api_key not in shown and CREDENTIALS.application_id not in shown
