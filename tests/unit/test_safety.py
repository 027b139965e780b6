from __future__ import annotations

import json

import pytest

from conformance.errors import SafetyRefusal
from conformance.safety import SafetyPolicy

BASE = "https://api.service.nhs.uk/comms"
TOKEN = "https://api.service.nhs.uk/oauth2/token"
PATIENT = "9990548609"


def _message(nhs: str, **recipient: object) -> bytes:
    return json.dumps(
        {"data": {"type": "Message", "attributes": {"recipient": {"nhsNumber": nhs, **recipient}}}}
    ).encode()


def _batch(*numbers: str) -> bytes:
    messages = [{"messageReference": str(i), "recipient": {"nhsNumber": n}} for i, n in enumerate(numbers)]
    return json.dumps({"data": {"type": "MessageBatch", "attributes": {"messages": messages}}}).encode()


def _production(patient: str | None = PATIENT, budget: int | None = None) -> SafetyPolicy:
    return SafetyPolicy.production(test_patient=patient, token_url=TOKEN, request_budget=budget)


def test_open_policy_allows_everything() -> None:
    policy = SafetyPolicy.open()
    policy.check("DELETE", BASE + "/v1/messages", b"anything")
    assert policy.sent == 1


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_production_allows_reads(method: str) -> None:
    _production().check(method, BASE + "/v1/messages/abc", b"")


def test_production_allows_the_token_request() -> None:
    _production(patient=None).check("POST", TOKEN, b"grant_type=client_credentials")


@pytest.mark.parametrize(
    "path", ["/v1/messages", "//v1/messages", "/v1/messages/", "/v1/message-batches"], ids=str
)
def test_production_refuses_creates_without_a_named_patient(path: str) -> None:
    policy = _production(patient=None)
    with pytest.raises(SafetyRefusal, match="no production test patient"):
        policy.check("POST", BASE + path, _message(PATIENT))
    assert policy.sent == 0 and len(policy.refusals) == 1


def test_production_allows_a_create_for_the_test_patient_only() -> None:
    policy = _production()
    policy.check("POST", BASE + "/v1/messages", _message(PATIENT))
    with pytest.raises(SafetyRefusal, match="not the named production test patient"):
        policy.check("POST", BASE + "/v1/messages", _message("9074662803"))


def test_production_checks_every_message_of_a_batch() -> None:
    policy = _production()
    policy.check("POST", BASE + "/v1/message-batches", _batch(PATIENT, PATIENT))
    with pytest.raises(SafetyRefusal):
        policy.check("POST", BASE + "/v1/message-batches", _batch(PATIENT, "9074662803"))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"data": null}', _message(PATIENT, contactDetails={"sms": "07700900000"})],
    ids=["garbage", "array", "no-attributes", "contact-details"],
)
def test_production_refuses_bodies_it_cannot_prove_safe(body: bytes) -> None:
    with pytest.raises(SafetyRefusal):
        _production().check("POST", BASE + "/v1/messages", body)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_production_refuses_other_methods(method: str) -> None:
    with pytest.raises(SafetyRefusal, match="not sent to production"):
        _production().check(method, BASE + "/v1/messages/abc", b"")


def test_request_budget_is_enforced() -> None:
    policy = _production(budget=2)
    policy.check("GET", BASE + "/a", b"")
    policy.check("GET", BASE + "/b", b"")
    with pytest.raises(SafetyRefusal, match="budget"):
        policy.check("GET", BASE + "/c", b"")
