"""The reference receiver, spoken to directly: what it accepts, what it refuses and with which status,
duplicates, bounded memory, and ``GET /callbacks/received``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.reference import receiver as receiver_module
from conformance.reference.receiver import ReceiverConfig, RunningReceiver, start
from conformance.reference.receiver_faults import FAULTS, check_known

KEY = "receiver-test-key-0001"
APP = "receiver-test-app"
ITEM: dict[str, Any] = {
    "type": "ChannelStatus",
    "attributes": {
        "messageId": "2WL3qFTEFM0qMY8xjRbt1LIKCzM",
        "messageReference": "ref-1",
        "cascadeType": "primary",
        "cascadeOrder": 1,
        "channel": "letter",
        "channelStatus": "sending",
        "supplierStatus": "printed",
        "timestamp": "2025-01-01T00:00:00.000Z",
        "retryCount": 0,
    },
    "links": {"message": "https://api.service.nhs.uk/comms/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM"},
    "meta": {"idempotencyKey": "k" * 64},
}


@pytest.fixture
def running() -> Iterator[RunningReceiver]:
    with start(ReceiverConfig(api_key=KEY, application_id=APP, keep=3, remember_keys=2)) as receiver:
        yield receiver


def body_of(*items: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"data": list(items), **extra}, separators=(",", ":")).encode()


def signed(body: bytes, secret: str = f"{APP}.{KEY}") -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(
    receiver: RunningReceiver,
    body: bytes,
    *,
    key: str | None = KEY,
    signature: str | None = None,
    content_type: str = "application/vnd.api+json",
    channel: bool = True,
) -> httpx.Response:
    headers = {"content-type": content_type}
    if key is not None:
        headers["x-api-key"] = key
    headers["x-hmac-sha256-signature"] = signed(body) if signature is None else signature
    url = receiver.channel_status_url if channel else receiver.message_status_url
    return httpx.post(url, content=body, headers=headers, trust_env=False)


def test_a_genuine_callback_gets_202_and_no_body(running: RunningReceiver) -> None:
    response = post(running, body_of(ITEM))
    assert response.status_code == 202 and response.content == b""
    assert running.snapshot()["callbacks"][0]["items"][0]["supplierStatus"] == "printed"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_plain_json_is_accepted(running: RunningReceiver, content_type: str) -> None:
    assert post(running, body_of(ITEM), content_type=content_type).status_code == 202


def test_another_content_type_is_415(running: RunningReceiver) -> None:
    assert post(running, body_of(ITEM), content_type="text/plain").status_code == 415


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY.upper()])
def test_a_missing_or_wrong_key_is_401(running: RunningReceiver, key: str | None) -> None:
    assert post(running, body_of(ITEM), key=key).status_code == 401


def test_bad_signatures_are_403(running: RunningReceiver) -> None:
    body = body_of(ITEM)
    reserialised = json.dumps(json.loads(body), sort_keys=True).encode()
    for signature in ("", signed(body).upper(), signed(body, KEY), signed(reserialised), "0" * 64):
        assert post(running, body, signature=signature).status_code == 403, signature
    tampered = body.replace(b"ref-1", b"ref-2")
    assert post(running, tampered, signature=signed(body)).status_code == 403


def test_the_key_is_checked_before_the_signature(running: RunningReceiver) -> None:
    assert post(running, body_of(ITEM), key="wrong", signature="0" * 64).status_code == 401


def test_unknown_members_and_values_are_tolerated(running: RunningReceiver) -> None:
    item = json.loads(json.dumps(ITEM))
    item["attributes"]["futureAttribute"] = {"x": 1}
    item["attributes"]["channelStatus"] = "some_new_status"
    item["relationships"] = {}
    assert post(running, body_of(item, futureMember=True)).status_code == 202


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"data":[]}', b'{"data":{}}', b'{"data":[1]}'])
def test_what_is_not_a_callback_is_400(running: RunningReceiver, body: bytes) -> None:
    assert post(running, body).status_code == 400


def test_duplicates_are_accepted_and_recognised(running: RunningReceiver) -> None:
    body = body_of(ITEM)
    assert post(running, body).status_code == 202
    assert post(running, body).status_code == 202
    snapshot = running.snapshot()
    assert snapshot["total"] == 2 and snapshot["duplicates"] == 1
    assert [callback["duplicate"] for callback in snapshot["callbacks"]] == [False, True]


def test_memory_is_bounded(running: RunningReceiver) -> None:
    for number in range(5):
        item = json.loads(json.dumps(ITEM))
        item["meta"]["idempotencyKey"] = f"{number:064d}"
        assert post(running, body_of(item)).status_code == 202
    # only the last 2 keys are remembered: the first is no longer a duplicate
    first = json.loads(json.dumps(ITEM))
    first["meta"]["idempotencyKey"] = f"{0:064d}"
    assert post(running, body_of(first)).status_code == 202
    shown = httpx.get(running.received_url, trust_env=False).json()
    assert shown["total"] == 6 and shown["duplicates"] == 0
    assert len(shown["callbacks"]) == shown["kept"] == 3


def test_received_shows_refusals_without_secrets(running: RunningReceiver) -> None:
    post(running, body_of(ITEM), key="nope")
    post(running, body_of(ITEM), signature="")
    shown = httpx.get(running.received_url, trust_env=False)
    assert shown.json()["refused"] == {"401": 1, "403": 1}
    assert KEY not in shown.text and APP not in shown.text


def test_the_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert receiver_module.key_matches(KEY, KEY) and not receiver_module.key_matches("x", KEY)
    expected = signed(b"{}")
    assert receiver_module.signature_matches(expected, expected)
    assert len(compared) == 3


def test_unknown_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown receiver fault 'nope'"):
        check_known(["nope"])
    with pytest.raises(ValueError):
        start(ReceiverConfig(api_key=KEY, application_id=APP, faults=frozenset({"nope"})))
    assert len(FAULTS) >= 10
