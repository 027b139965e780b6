"""Known-failure rules recognise exactly their shape (pure functions; a stand-in failure object carries
the two things the rules read: the stable code and the text), and take what they say from the contract."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.environments import Target
from conformance.properties.discrepancies import DISCREPANCY_SHAPES, classify, known_failures
from conformance.spec import SpecError, load_spec

SANDBOX = Target(kind="sandbox", base_url="http://127.0.0.1:1/comms", scenarios=True)
INTEGRATION = Target(kind="integration", base_url="http://127.0.0.1:2/comms", auth_required=True)
ACCOUNTS = "http://127.0.0.1:1/comms/channels/nhsapp/accounts"


@dataclass
class StandIn:
    code: str
    text: str

    def __str__(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("failure", "operation", "target", "url", "expected"),
    [
        (StandIn("ST204", "TRACE returned 405 without required `Allow` header"), "create-message", SANDBOX, "", "D28"),
        (StandIn("ST204", "HEAD returned 404"), "get-message", SANDBOX, "", "D19"),
        (StandIn("ST204", "HEAD returned 404"), "create-message", SANDBOX, "", None),
        (StandIn("ST203", "Got 201 when missing required 'Authorization' header"), "create-message", SANDBOX, "", "ENV-SANDBOX"),
        (StandIn("ST203", "Got 201 when missing required 'Authorization' header"), "create-message", INTEGRATION, "", None),
        (StandIn("ST201", "in body - violates `maxLength` at .../contactDetails/email"), "create-message", SANDBOX, "", "D16"),
        (StandIn("ST201", "in body - violates `type` at .../routingPlanId"), "create-message", SANDBOX, "", None),
        (StandIn("ST201", "parameter `page` in query - violates `type`"), "get-nhsapp-account-details", SANDBOX, ACCOUNTS + "?ods-organisation-code=X26&page=", "D30"),
        (StandIn("ST201", "parameter `page` in query - violates `type`"), "get-nhsapp-account-details", SANDBOX, ACCOUNTS + "?page=0x1", None),
        (StandIn("ST201", "parameter `page` in query - violates `type`"), "get-nhsapp-account-details", INTEGRATION, ACCOUNTS + "?page=false&page=&page=", "D30"),
        (StandIn("ST201", "parameter `page` in query - violates `type`"), "get-nhsapp-account-details", SANDBOX, ACCOUNTS + "?page=&page=false", None),
        (StandIn("ST101", "Server error"), "get-message", SANDBOX, "", None),
    ],
)  # fmt: skip
def test_classify(failure: StandIn, operation: str, target: Target, url: str, expected: str | None) -> None:
    rule = classify(failure, operation, target, url)  # type: ignore[arg-type]
    assert (rule.id if rule else None) == expected


def test_rule_reasons_and_operations_come_from_the_contract() -> None:
    spec = load_spec()
    rules = {rule.id: rule for rule in known_failures(spec)}
    for discrepancy_id, _shape in DISCREPANCY_SHAPES:
        discrepancy = spec.discrepancy(discrepancy_id)
        assert rules[discrepancy_id].reason == discrepancy.title
        assert rules[discrepancy_id].operations == frozenset(discrepancy.affects)
    assert rules["ENV-SANDBOX"].operations is None


def test_a_rule_explains_only_the_operations_its_discrepancy_affects() -> None:
    unenforced = StandIn("ST201", "in body - violates `maxLength` at .../contactDetails/email")
    assert classify(unenforced, "create-message-batch", SANDBOX, "") is not None  # type: ignore[arg-type]
    assert "get-message" not in load_spec().discrepancy("D16").affects
    assert classify(unenforced, "get-message", SANDBOX, "") is None  # type: ignore[arg-type]


def test_a_rule_naming_a_discrepancy_the_contract_lacks_is_an_error(tmp_path: Path) -> None:
    document = {"openapi": "3.0.3", "info": {"version": "9"}, "paths": {}, "x-known-discrepancies": []}
    bare = tmp_path / "bare.yaml"
    bare.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SpecError, match="D19"):
        classify(StandIn("ST101", "x"), "get-message", SANDBOX, "", load_spec(bare))  # type: ignore[arg-type]
