"""Request bodies the tests start from: the documented minimal valid message and batch."""

from __future__ import annotations

import copy
import uuid
from typing import Any

#: A valid test NHS number (the PDS smoke-test patient used across the documentation).
VALID_NHS_NUMBER = "9990548609"
#: Invalid NHS numbers of every kind the gateway rejects (wrong length, letters, bad types, bad checksum).
INVALID_NHS_NUMBERS: tuple[Any, ...] = (
    "999054860",
    "99905486090",
    "abcdefghij",
    "",
    [],
    {},
    5,
    0.1,
    "9990548608",
)


def reference() -> str:
    """A fresh client reference (messageReference / messageBatchReference)."""
    return str(uuid.uuid4())


def message(routing_plan_id: str, nhs_number: str = VALID_NHS_NUMBER, **attributes: Any) -> dict[str, Any]:
    """A create-message body addressed to ``nhs_number``; extra attributes override the defaults."""
    body: dict[str, Any] = {
        "data": {
            "type": "Message",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageReference": reference(),
                "recipient": {"nhsNumber": nhs_number},
                "originator": {"odsCode": "X26"},
                "personalisation": {"body": "test"},
            },
        }
    }
    body["data"]["attributes"].update(attributes)
    return body


def batch_item(nhs_number: str = VALID_NHS_NUMBER) -> dict[str, Any]:
    return {
        "messageReference": reference(),
        "recipient": {"nhsNumber": nhs_number},
        "originator": {"odsCode": "X26"},
        "personalisation": {"body": "test"},
    }


def batch(routing_plan_id: str, count: int = 3, nhs_number: str = VALID_NHS_NUMBER) -> dict[str, Any]:
    """A create-batch body with ``count`` messages."""
    return {
        "data": {
            "type": "MessageBatch",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageBatchReference": reference(),
                "messages": [batch_item(nhs_number) for _ in range(count)],
            },
        }
    }


def without(body: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of ``body`` with the member at JSON pointer ``pointer`` removed."""
    result = copy.deepcopy(body)
    node, key = _parent(result, pointer)
    del node[key]
    return result


def replaced(body: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the member at JSON pointer ``pointer`` set to ``value``."""
    result = copy.deepcopy(body)
    node, key = _parent(result, pointer)
    node[key] = value
    return result


def _parent(document: Any, pointer: str) -> tuple[Any, Any]:
    """The container holding the member ``pointer`` names, and that member's key or index."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    node = document
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    last = tokens[-1]
    return node, int(last) if isinstance(node, list) else last
