"""What the contract says about callbacks: the two kinds, their body schemas, enums and examples.

Everything is read from ``components.callbacks`` of ``specs/notify-api.yaml`` (behaviour §5), so a change
to the contract changes what is sent; nothing here keeps its own copy of a schema.
"""

from __future__ import annotations

import copy
import functools
from enum import StrEnum
from typing import Any, cast

from conformance.spec import JSON_API, Spec, load_spec

#: the media type the delivery engine really sends, beside the contract's ``application/vnd.api+json``
#: (ops §1.1)
JSON = "application/json"


class Kind(StrEnum):
    """The two kinds of callback; each goes to its own URL agreed at onboarding (ops §1.1)."""

    MESSAGE_STATUS = "message-status"
    CHANNEL_STATUS = "channel-status"

    @property
    def component(self) -> str:
        """The name under ``components.callbacks`` and the items' ``type``."""
        return "MessageStatus" if self is Kind.MESSAGE_STATUS else "ChannelStatus"

    @property
    def words(self) -> str:
        return "message status" if self is Kind.MESSAGE_STATUS else "channel status"


def _operation(kind: Kind, spec: Spec) -> dict[str, Any]:
    callbacks = spec.resolved()["components"]["callbacks"][kind.component]
    (path_item,) = callbacks.values()
    return cast(dict[str, Any], path_item["post"])


@functools.cache
def _media(kind: Kind) -> dict[str, Any]:
    return cast(dict[str, Any], _operation(kind, load_spec())["requestBody"]["content"][JSON_API])


def callback_schema(kind: Kind) -> dict[str, Any]:
    """The resolved schema of a whole callback body (``{"data": [item, ...]}``); shared, so read-only."""
    return cast(dict[str, Any], _media(kind)["schema"])


def item_schema(kind: Kind) -> dict[str, Any]:
    """The resolved schema of one item of ``data``."""
    return cast(dict[str, Any], callback_schema(kind)["properties"]["data"]["items"])


def enum(kind: Kind, attribute: str) -> tuple[str, ...]:
    """The values the contract lists for an attribute (``messageStatus``, ``supplierStatus``, ...)."""
    schema = item_schema(kind)["properties"]["attributes"]["properties"][attribute]
    return tuple(str(value) for value in schema["enum"])


def channel_summary_enum(member: str) -> tuple[str, ...]:
    """The values of a message status item's ``channels[].type`` or ``channels[].channelStatus``."""
    attributes = item_schema(Kind.MESSAGE_STATUS)["properties"]["attributes"]["properties"]
    return tuple(str(value) for value in attributes["channels"]["items"]["properties"][member]["enum"])


def example_document(kind: Kind) -> dict[str, Any]:
    """A fresh copy of the contract's example callback of this kind."""
    (example,) = _media(kind)["examples"].values()
    return cast(dict[str, Any], copy.deepcopy(example["value"]))
