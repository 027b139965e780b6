"""How a message created in the integration reference moves through the documented statuses: one
timeline, read both by ``GET /v1/messages/{id}`` and by the callbacks sent about it, so the two never
disagree.

The timeline is the reference's own, short and deterministic (live takes minutes to days). Step ``k``
happens ``k × step`` seconds after the message's ``timestamps.created``:

* step 0: ``pending_enrichment`` (what the message is stored with; the 201 itself says ``created``);
* step 1: ``enriched`` (PDS metadata appears);
* step 2: the first channel of the routing plan is ``created`` and the message is ``sending``;
* then, for each channel in cascade order: ``sending``, then ``delivered`` for the last channel and
  ``failed`` for the others (the reference cascades through every channel), the next channel ``created``
  a step later;
* with the last channel's ``delivered``, the message is ``delivered``.

Everything follows from the stored message (id, reference, routing plan, creation time) and the step, so
nothing per message is remembered here. Statuses and members are those of behaviour §1.4 (GET) and §5
(callbacks).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from conformance.reference.bodies import iso_now

Kind = Literal["message-status", "channel-status"]

#: channels of the global routing plans, in cascade order (behaviour §1.6); other plans use the NHS App
_PLAN_CHANNELS: Mapping[str, tuple[str, ...]] = {
    "00000000-0000-0000-0000-000000000001": ("nhsapp",),
    "00000000-0000-0000-0000-000000000002": ("email",),
    "00000000-0000-0000-0000-000000000003": ("sms",),
    "00000000-0000-0000-0000-000000000004": ("nhsapp", "email"),
    "00000000-0000-0000-0000-000000000005": ("nhsapp", "email"),
    "00000000-0000-0000-0000-000000000006": ("nhsapp", "sms"),
    "00000000-0000-0000-0000-000000000007": ("nhsapp", "sms"),
}
_DEFAULT_CHANNELS = ("nhsapp",)
#: the supplier status a channel ends with (behaviour §1.4 lists the values)
_DELIVERED_SUPPLIER_STATUS = "delivered"
_FAILED_SUPPLIER_STATUS = {"nhsapp": "unnotified"}
_FAILED_SUPPLIER_DEFAULT = "permanent_failure"
_PDS_VERSION = "1"


def channels_of(plan_id: str) -> tuple[str, ...]:
    """The channels a routing plan tries, in cascade order."""
    return _PLAN_CHANNELS.get(plan_id, _DEFAULT_CHANNELS)


@dataclass(frozen=True)
class Change:
    """One status change: a message status, or a channel's (``channel`` indexes the cascade)."""

    step: int
    kind: Kind
    status: str
    channel: int | None = None
    supplier_status: str | None = None


def changes_for(channels: Sequence[str]) -> tuple[Change, ...]:
    """Every change of a message routed to ``channels``, in the order they happen."""
    changes = [Change(0, "message-status", "pending_enrichment"), Change(1, "message-status", "enriched")]
    step = 2
    for index, channel in enumerate(channels):
        last = index == len(channels) - 1
        changes.append(Change(step, "channel-status", "created", index))
        if index == 0:
            changes.append(Change(step, "message-status", "sending"))
        changes.append(Change(step + 1, "channel-status", "sending", index))
        if last:
            changes.append(Change(step + 2, "channel-status", "delivered", index, _DELIVERED_SUPPLIER_STATUS))
            changes.append(Change(step + 2, "message-status", "delivered"))
        else:
            supplier = _FAILED_SUPPLIER_STATUS.get(channel, _FAILED_SUPPLIER_DEFAULT)
            changes.append(Change(step + 2, "channel-status", "failed", index, supplier))
        step += 3
    return tuple(changes)


def epoch_of(timestamp: str) -> float:
    """``2026-01-01T10:00:00.123Z`` (as :func:`~.bodies.iso_now` writes it) as seconds since the epoch."""
    moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class _Channel:
    type: str
    order: int
    status: str
    created: str
    supplier_status: str | None = None
    ended: str | None = None


class Progression:
    """One stored message's timeline (``data`` is the GET body's ``data`` as :mod:`.store` keeps it)."""

    def __init__(self, data: Mapping[str, Any], step_s: float) -> None:
        attributes = data["attributes"]
        self.message_id: str = data["id"]
        self.reference: str = attributes["messageReference"]
        self.routing_plan: dict[str, str] = dict(attributes["routingPlan"])
        self.created: str = attributes["timestamps"]["created"]
        self.step_s = step_s
        self.channels = channels_of(self.routing_plan["id"])
        self.changes = changes_for(self.channels)
        self._start = epoch_of(self.created)

    def at(self, change: Change) -> float:
        """When ``change`` happens, in seconds since the epoch."""
        return self._start + change.step * self.step_s

    def timestamp(self, change: Change) -> str:
        return iso_now(self.at(change))

    def _replay(self, upto: int, channels: list[_Channel]) -> Iterator[tuple[Change, str]]:
        """The first ``upto`` changes and when each happens; ``channels`` follows them (as they are once
        the change yielded has happened)."""
        for change in self.changes[:upto]:
            when = self.timestamp(change)
            if change.kind == "channel-status":
                assert change.channel is not None
                if change.status == "created":
                    channels.append(
                        _Channel(self.channels[change.channel], change.channel + 1, "created", when)
                    )
                else:
                    channel = channels[change.channel]
                    channel.status = change.status
                    channel.supplier_status = change.supplier_status or channel.supplier_status
                    if change.status in ("delivered", "failed"):
                        channel.ended = when
            yield change, when

    def reached(self, now: float) -> int:
        """How many changes have happened by ``now`` (seconds since the epoch)."""
        return sum(1 for change in self.changes if self.at(change) <= now)

    # --------------------------------------------------------------------------------------------------
    # GET /v1/messages/{id}

    def view(self, data: dict[str, Any], now: float) -> dict[str, Any]:
        """``data`` (a copy the caller owns) as GET shows it at ``now``."""
        attributes = data["attributes"]
        timestamps = attributes["timestamps"]
        channels: list[_Channel] = []
        for change, when in self._replay(self.reached(now), channels):
            if change.kind != "message-status":
                continue
            attributes["messageStatus"] = change.status
            if change.status == "enriched":
                timestamps["enriched"] = when
                attributes["metadata"] = [
                    {
                        "queriedAt": when,
                        "source": "pds",
                        "version": _PDS_VERSION,
                        "labels": list(self.channels),
                    }
                ]
            elif change.status in ("delivered", "failed"):
                timestamps[change.status] = when
        if channels:
            attributes["channels"] = [self._channel_record(channel) for channel in channels]
        return data

    def _channel_record(self, channel: _Channel) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": channel.type,
            "cascadeType": "primary",
            "cascadeOrder": channel.order,
            "channelStatus": channel.status,
        }
        if channel.supplier_status is not None:
            record["supplierStatus"] = channel.supplier_status
        times = {"created": channel.created}
        if channel.ended is not None:
            times[channel.status] = channel.ended
        record["timestamps"] = times
        record["routingPlan"] = {
            "id": self.routing_plan["id"],
            "type": "original",
            "version": self.routing_plan["version"],
        }
        return record

    # --------------------------------------------------------------------------------------------------
    # Callbacks

    def callback_items(self, message_url: str) -> list[tuple[Change, dict[str, Any]]]:
        """Every change as the callback item that reports it (behaviour §5), without ``meta``."""
        items: list[tuple[Change, dict[str, Any]]] = []
        enriched_at: str | None = None
        channels: list[_Channel] = []
        for change, when in self._replay(len(self.changes), channels):
            if change.kind == "message-status":
                if change.status == "enriched":
                    enriched_at = when
                items.append((change, self._message_item(change, when, channels, enriched_at, message_url)))
            else:
                assert change.channel is not None
                items.append(
                    (change, self._channel_item(change, when, channels[change.channel], message_url))
                )
        return items

    def _message_item(
        self, change: Change, when: str, channels: list[_Channel], enriched_at: str | None, message_url: str
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messageId": self.message_id,
            "messageReference": self.reference,
            "messageStatus": change.status,
        }
        if channels:
            attributes["channels"] = [{"type": c.type, "channelStatus": c.status} for c in channels]
        attributes["timestamp"] = when
        attributes["routingPlan"] = copy.deepcopy(self.routing_plan)
        if enriched_at is not None:
            attributes["metadata"] = [{"queriedAt": enriched_at, "source": "pds", "version": _PDS_VERSION}]
        return {"type": "MessageStatus", "attributes": attributes, "links": {"message": message_url}}

    def _channel_item(self, change: Change, when: str, channel: _Channel, message_url: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messageId": self.message_id,
            "messageReference": self.reference,
            "cascadeType": "primary",
            "cascadeOrder": channel.order,
            "channel": channel.type,
            "channelStatus": change.status,
        }
        if change.supplier_status is not None:
            attributes["supplierStatus"] = change.supplier_status
        attributes["timestamp"] = when
        attributes["retryCount"] = 0
        return {"type": "ChannelStatus", "attributes": attributes, "links": {"message": message_url}}
