"""Success bodies shared by both backends: message and batch created (behaviour §1.2, §1.3), timestamps."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def iso_now(now: float | None = None) -> str:
    """UTC now as ISO-8601 with milliseconds and ``Z``, as JavaScript's ``Date.toJSON`` writes it."""
    moment = time.time() if now is None else now
    seconds = int(moment)
    millis = int((moment - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def message_created(
    message_id: str, reference: Any, routing_plan: dict[str, str], created: str, self_link: str
) -> dict[str, Any]:
    """The 201 body for one message: status ``created`` and an absolute ``links.self``."""
    return {
        "data": {
            "type": "Message",
            "id": message_id,
            "attributes": {
                "messageReference": reference,
                "messageStatus": "created",
                "timestamps": {"created": created},
                "routingPlan": routing_plan,
            },
            "links": {"self": self_link},
        }
    }


def batch_created(
    batch_id: str, batch_reference: Any, routing_plan: dict[str, str], messages: Iterable[tuple[Any, str]]
) -> dict[str, Any]:
    """The 201 body for a batch: the request's references paired with new ids; no links."""
    return {
        "data": {
            "type": "MessageBatch",
            "id": batch_id,
            "attributes": {
                "messageBatchReference": batch_reference,
                "routingPlan": routing_plan,
                "messages": [
                    {"messageReference": reference, "id": message_id} for reference, message_id in messages
                ],
            },
        }
    }


def location_of(message_id: str) -> str:
    """The ``Location`` of a created message: relative, as the gateway sends it (behaviour §7.4)."""
    return f"/v1/messages/{message_id}"
