"""Callback bodies: items built from the contract's example, made fresh for each run, and serialised the
way the sender serialises them.

The sender signs the serialised JSON string and sends that same string (ops §1.1); it is a JavaScript
service, so the string is ``JSON.stringify``'s: no spaces, members in insertion order, non-ASCII as
UTF-8. :func:`serialise` writes exactly that. :data:`RESERIALISATIONS` are the other ways a receiver
might turn the parsed body back into bytes, which must never make a signature valid.

``meta.idempotencyKey`` is the SHA-256 (hex) of the item without its timestamp, as the new delivery engine
computes it (ops §1.2), so two deliveries of one event carry one key and two events never share one.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from conformance.callbacks.schema import Kind, channel_summary_enum, enum, example_document

#: where ``links.message`` points: the message's resource in production (behaviour §5)
MESSAGE_URL = "https://api.service.nhs.uk/comms/v1/messages/"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

#: values the sender already uses that the contract does not list yet (ops §1.2): letter supplier
#: statuses of the delivery engine, and the letter status of NHS Notify's web content
UNLISTED_SUPPLIER_STATUSES = (
    "dispatched",
    "enclosed",
    "printed",
    "returned",
    "forwarded",
    "pending",
    "sent",
    "virus_scan_failed",
)

Document = dict[str, Any]


def serialise(document: Any) -> bytes:
    """The body as the sender writes it: compact JSON (``JSON.stringify``), UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


#: other serialisations of the same document, none of which is the body that was sent
RESERIALISATIONS: dict[str, Callable[[Any], bytes]] = {
    "keys sorted, spaces after separators": lambda doc: json.dumps(doc, sort_keys=True).encode("utf-8"),
    "spaces after separators": lambda doc: json.dumps(doc, ensure_ascii=False).encode("utf-8"),
    "indented by two spaces": lambda doc: json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"),
}


def ksuid() -> str:
    """A fresh, syntactically valid KSUID (27 base62 characters)."""
    return "".join(secrets.choice(_BASE62) for _ in range(27))


def idempotency_key(item: Any) -> str:
    """SHA-256 (hex) of the item without ``attributes.timestamp`` and without ``meta``."""
    content = copy.deepcopy(item) if isinstance(item, dict) else item
    if isinstance(content, dict):
        content.pop("meta", None)
        attributes = content.get("attributes")
        if isinstance(attributes, dict):
            attributes.pop("timestamp", None)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def complete_item(item: Document, *, meta: bool = True) -> Document:
    """Point ``links.message`` at the item's message and, when ``meta``, set ``meta.idempotencyKey``."""
    attributes = item.get("attributes")
    if isinstance(attributes, dict) and isinstance(attributes.get("messageId"), str):
        item["links"] = {"message": MESSAGE_URL + attributes["messageId"]}
    if meta:
        item["meta"] = {"idempotencyKey": idempotency_key(item)}
    return item


def refresh_key(item: Document) -> Document:
    """Recompute ``meta.idempotencyKey`` after an edit, leaving everything else as it is."""
    meta = item.get("meta")
    if isinstance(meta, dict) and "idempotencyKey" in meta:
        meta["idempotencyKey"] = idempotency_key(item)
    return item


def document(*items: Document) -> Document:
    return {"data": list(items)}


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the sender writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Builder:
    """Fresh callback items: new message ids and references for every message, timestamps that move on."""

    def __init__(self, now: datetime | None = None) -> None:
        self._clock = now or datetime.now(UTC)
        self._example = {kind: example_document(kind)["data"][0] for kind in Kind}

    def _tick(self, seconds: float = 1.0) -> str:
        self._clock += timedelta(seconds=seconds)
        return timestamp(self._clock)

    @staticmethod
    def new_message() -> tuple[str, str]:
        """A new message: its id and its reference."""
        return ksuid(), str(uuid.uuid4())

    def message_status(
        self,
        status: str = "delivered",
        *,
        message: tuple[str, str] | None = None,
        channels: Sequence[tuple[str, str]] | None = None,
        optional: bool = True,
    ) -> Document:
        """A message status item; ``optional=False`` leaves out every member the contract does not require
        (``meta`` included: the contract does not require it on message status items)."""
        message_id, reference = message or self.new_message()
        example = copy.deepcopy(self._example[Kind.MESSAGE_STATUS])
        attributes: Document = {
            "messageId": message_id,
            "messageReference": reference,
            "messageStatus": status,
        }
        if optional:
            if status == "failed":
                attributes["messageStatusDescription"] = "No channels were successful"
                attributes["messageFailureReasonCode"] = "CFR_FAILED"
            else:
                attributes["messageStatusDescription"] = f"The message is {status.replace('_', ' ')}"
            attributes["channels"] = [
                {"type": channel, "channelStatus": channel_status}
                for channel, channel_status in (channels or [("nhsapp", "delivered")])
            ]
        attributes["timestamp"] = self._tick()
        routing_plan = example["attributes"]["routingPlan"]
        if not optional:
            routing_plan.pop("version", None)
        attributes["routingPlan"] = routing_plan
        if optional:
            attributes["metadata"] = [{"queriedAt": self._tick(0.001), "source": "pds", "version": "23"}]
        item: Document = {"type": Kind.MESSAGE_STATUS.component, "attributes": attributes}
        return complete_item(item, meta=optional)

    def channel_status(
        self,
        channel_status: str = "delivered",
        *,
        message: tuple[str, str] | None = None,
        channel: str = "nhsapp",
        supplier_status: str | None = "read",
        cascade_type: str = "primary",
        cascade_order: int = 1,
        optional: bool = True,
    ) -> Document:
        """A channel status item; ``optional=False`` leaves out every member the contract does not require."""
        message_id, reference = message or self.new_message()
        attributes: Document = {
            "messageId": message_id,
            "messageReference": reference,
            "cascadeType": cascade_type,
            "cascadeOrder": cascade_order,
            "channel": channel,
            "channelStatus": channel_status,
        }
        if optional:
            attributes["channelStatusDescription"] = f"The {channel} channel is {channel_status}"
            if channel_status == "failed":
                attributes["channelFailureReasonCode"] = "CFR_PDSV_0002"
            if supplier_status is not None:
                attributes["supplierStatus"] = supplier_status
        attributes["timestamp"] = self._tick()
        attributes["retryCount"] = 0
        if optional:
            attributes["metadata"] = [{"id": "a1b2c3d4", "source": "pds", "label": "recipient_contact"}]
        item: Document = {"type": Kind.CHANNEL_STATUS.component, "attributes": attributes}
        return complete_item(item)

    def item(self, kind: Kind, **options: Any) -> Document:
        if kind is Kind.MESSAGE_STATUS:
            return self.message_status(**options)
        return self.channel_status(**options)

    def every_status(self, kind: Kind) -> Iterator[tuple[str, Document]]:
        """Items that between them use every value of every enum the contract lists for the kind."""
        if kind is Kind.MESSAGE_STATUS:
            channel_types = channel_summary_enum("type")
            channel_statuses = channel_summary_enum("channelStatus")
            for index, status in enumerate(enum(kind, "messageStatus")):
                channels = [
                    (channel, channel_statuses[(index + n) % len(channel_statuses)])
                    for n, channel in enumerate(channel_types)
                ]
                yield f"messageStatus={status}", self.message_status(status, channels=channels)
            return
        channel_names = enum(kind, "channel")
        statuses = enum(kind, "channelStatus")
        cascades = enum(kind, "cascadeType")
        suppliers = enum(kind, "supplierStatus")
        for index in range(max(len(channel_names), len(statuses), len(cascades), len(suppliers))):
            supplier = suppliers[index % len(suppliers)]
            status = statuses[index % len(statuses)]
            channel = channel_names[index % len(channel_names)]
            cascade = cascades[index % len(cascades)]
            yield (
                f"channel={channel} channelStatus={status} supplierStatus={supplier} cascadeType={cascade}",
                self.channel_status(
                    status,
                    channel=channel,
                    supplier_status=supplier,
                    cascade_type=cascade,
                    cascade_order=index % 3 + 1,
                ),
            )

    def out_of_order(self, kind: Kind) -> list[tuple[str, Document]]:
        """One message's statuses, made in order and returned latest first: the order a retried delivery
        can produce (ops §1.3)."""
        message = self.new_message()
        if kind is Kind.MESSAGE_STATUS:
            made = [
                self.message_status(status, message=message) for status in ("created", "sending", "delivered")
            ]
            member = "messageStatus"
        else:
            made = [
                self.channel_status("sending", message=message, supplier_status="notified"),
                self.channel_status("delivered", message=message),
            ]
            member = "channelStatus"
        return [
            (f"{item['attributes'][member]} (made at {item['attributes']['timestamp']})", item)
            for item in reversed(made)
        ]


def unknown_member_places(kind: Kind, builder: Builder) -> list[tuple[str, bool, Document]]:
    """Documents with one member the contract does not define, one per place it can appear.

    Each entry is ``(where, closed, document)``; ``closed`` says the contract closes that object
    (``additionalProperties: false``), so rejecting the member there conforms to the contract as written
    but breaks on the additive changes NHS Notify reserves (ops §1.2).
    """
    value: Any = {"addedLater": True, "values": [1, "two", None]}
    places: list[tuple[str, bool, Document]] = []

    def add(where: str, closed: bool, edit: Callable[[Document], None]) -> None:
        item = builder.item(kind)
        body = document(item)
        edit(body)
        refresh_key(item)
        places.append((where, closed, body))

    add("the top level, beside data", False, lambda body: body.update(futureMember=value))
    add("the item, beside type and attributes", False, lambda body: body["data"][0].update(relationships={}))
    add("attributes", False, lambda body: body["data"][0]["attributes"].update(futureAttribute="x"))
    add("links", False, lambda body: body["data"][0]["links"].update(futureLink="https://example.invalid/"))
    add("meta", False, lambda body: body["data"][0]["meta"].update(futureMeta=value))
    if kind is Kind.MESSAGE_STATUS:
        add("channels[]", False, lambda body: body["data"][0]["attributes"]["channels"][0].update(reason="x"))
        add(
            "routingPlan (closed in the contract)",
            True,
            lambda body: body["data"][0]["attributes"]["routingPlan"].update(futureMember="x"),
        )
    add(
        "metadata[] (closed in the contract)",
        True,
        lambda body: body["data"][0]["attributes"]["metadata"][0].update(futureMember="x"),
    )
    return places
