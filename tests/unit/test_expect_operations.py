"""The suite's operations are the contract's, and its discrepancy notes say what the contract says."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.spec import SpecError, load_spec
from conformance.suite import _expect


def test_the_suites_requests_cover_the_contracts_operations() -> None:
    spec = load_spec()
    assert [request.id for request in _expect.ALL_OPERATIONS] == list(spec.operations)
    for request in _expect.ALL_OPERATIONS:
        operation = spec.operation(request.id)
        assert request.operation is operation
        assert (request.method, request.label) == (operation.method, operation.label)
        assert operation.documents(request.usual_status)
    assert _expect.GET_MESSAGE.path == f"/v1/messages/{_expect.UNKNOWN_MESSAGE_ID}"
    assert [_expect.operation_id(op) for op in _expect.CREATE_OPERATIONS] == [
        "create-message",
        "create-message-batch",
    ]


def test_a_request_must_expect_a_documented_status() -> None:
    with pytest.raises(ValueError, match="documents no 201 for get-message"):
        _expect.OperationRequest(load_spec().operation("get-message"), "/v1/messages/x", 201)


class _Dynamic:
    def __init__(self) -> None:
        self.tags: list[str] = []
        self.descriptions: list[str] = []

    def tag(self, *tags: str) -> None:
        self.tags += tags

    def description(self, text: str) -> None:
        self.descriptions.append(text)


@pytest.mark.parametrize("reason", [None, "a hand-written reason, which is not shown"])
def test_a_note_takes_its_text_from_the_contract(monkeypatch: pytest.MonkeyPatch, reason: Any) -> None:
    dynamic = _Dynamic()
    monkeypatch.setattr(_expect.allure, "dynamic", dynamic)
    _expect.note_known_discrepancy("D3", reason)
    discrepancy = load_spec().discrepancy("D3")
    assert dynamic.tags == ["known discrepancy D3"]
    (text,) = dynamic.descriptions
    assert discrepancy.title in text and discrepancy.gateway in text and discrepancy.upstream_spec in text
    assert "hand-written" not in text


def test_a_note_naming_an_unknown_discrepancy_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_expect.allure, "dynamic", _Dynamic())
    with pytest.raises(SpecError, match="D999"):
        _expect.note_known_discrepancy("D999")
