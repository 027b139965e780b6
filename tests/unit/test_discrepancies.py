"""Known-failure rules recognise exactly their shape (pure functions; a stand-in failure object carries
the two things the rules read: the stable code and the text)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conformance.environments import Target
from conformance.properties.discrepancies import classify

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
        (StandIn("ST101", "Server error"), "get-message", SANDBOX, "", None),
    ],
)  # fmt: skip
def test_classify(failure: StandIn, operation: str, target: Target, url: str, expected: str | None) -> None:
    rule = classify(failure, operation, target, url)  # type: ignore[arg-type]
    assert (rule.id if rule else None) == expected
