"""Deliberate faults of the reference callback receiver: each breaks exactly one documented behaviour of a
receiver by replacing exactly one of its :class:`~conformance.reference.receiver.Hooks`.

They prove ``notify-conformance callbacks`` works: against the clean receiver nothing may fail, and against
each fault at least one of the checks it names in ``caught_by`` must fail (``tests/callbacks/``). Several
are mistakes real receivers have made (ops §1.1): upper-casing the digest, hashing a re-serialised body.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.spec import JSON_API, load_spec

if TYPE_CHECKING:
    from conformance.reference.receiver import Hooks, ReceiverConfig

Install = Callable[["Hooks", "ReceiverConfig"], "Hooks"]


@dataclass(frozen=True)
class ReceiverFault:
    """One deliberate misbehaviour: what it breaks, where that is documented, which checks must see it."""

    name: str
    #: the documented behaviour it breaks, in one line
    breaks: str
    #: where docs/behaviour.md documents that behaviour
    section: str
    #: checks of ``notify-conformance callbacks``, at least one of which must fail against it
    caught_by: tuple[str, ...]
    install: Install


def _replace(**changes: Any) -> Install:
    return lambda hooks, config: dataclasses.replace(hooks, **changes)


# --- signatures ------------------------------------------------------------------------------------------


def _upper_case(raw: bytes, key: bytes) -> str:
    return hmac.new(key, raw, hashlib.sha256).hexdigest().upper()


def _over_reserialised(raw: bytes, key: bytes) -> str:
    try:
        body = json.dumps(json.loads(raw), sort_keys=True).encode("utf-8")
    except ValueError:
        body = raw
    return hmac.new(key, body, hashlib.sha256).hexdigest()


# --- bodies ----------------------------------------------------------------------------------------------


def _item_schemas() -> dict[str, Mapping[str, Any]]:
    """The contract's schema of one item, by the item's ``type``."""
    found = {}
    for name, callback in load_spec().resolved()["components"]["callbacks"].items():
        (path_item,) = callback.values()
        schema = path_item["post"]["requestBody"]["content"][JSON_API]["schema"]
        found[name] = schema["properties"]["data"]["items"]
    return found


def _walk(node: Any, schema: Mapping[str, Any], where: str, *, members: bool, values: bool) -> str | None:
    """The first place where ``node`` has a member (``members``) or an enum value (``values``) the schema
    does not list; None when there is none."""
    if values and "enum" in schema and node not in schema["enum"]:
        return f"{where}: {node!r} is not one of the values the contract lists"
    if schema.get("type") == "object" and isinstance(node, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name, value in node.items():
            if name not in properties:
                if members:
                    return f"{where}/{name}: unknown member"
                continue
            found = _walk(value, properties[name], f"{where}/{name}", members=members, values=values)
            if found:
                return found
    if schema.get("type") == "array" and isinstance(node, list):
        for index, value in enumerate(node):
            found = _walk(value, schema["items"], f"{where}/{index}", members=members, values=values)
            if found:
                return found
    return None


def _strict(members: bool, values: bool) -> Install:
    def install(hooks: Hooks, config: ReceiverConfig) -> Hooks:
        structure = hooks.problem
        schemas = _item_schemas()

        def problem(document: Any) -> str | None:
            found = structure(document)
            if found is not None:
                return found
            if members and set(document) - {"data"}:
                return f"/{sorted(set(document) - {'data'})[0]}: unknown member"
            for index, item in enumerate(document["data"]):
                schema = schemas.get(str(item.get("type")))
                if schema is not None:
                    found = _walk(item, schema, f"/data/{index}", members=members, values=values)
                    if found:
                        return found
            return None

        return dataclasses.replace(hooks, problem=problem)

    return install


def _one_item_only(hooks: Hooks, config: ReceiverConfig) -> Hooks:
    structure = hooks.problem

    def problem(document: Any) -> str | None:
        found = structure(document)
        if found is None and len(document["data"]) > 1:
            return "only one item per callback is supported"
        return found

    return dataclasses.replace(hooks, problem=problem)


def _needs_idempotency_key(hooks: Hooks, config: ReceiverConfig) -> Hooks:
    structure = hooks.problem

    def problem(document: Any) -> str | None:
        found = structure(document)
        if found is None:
            for item in document["data"]:
                _ = item["meta"]["idempotencyKey"]  # a KeyError: the receiver crashes (500)
        return found

    return dataclasses.replace(hooks, problem=problem)


# --- answers ---------------------------------------------------------------------------------------------

_MESSAGE_RANKS = {
    "created": 0,
    "pending_enrichment": 1,
    "enriched": 2,
    "sending": 3,
    "delivered": 4,
    "failed": 4,
}
_CHANNEL_RANKS = {"created": 0, "sending": 1, "delivered": 2, "failed": 2, "skipped": 2}


def _in_order_only(last_seen: MutableMapping[str, int], document: Any) -> bool:
    for item in document["data"]:
        attributes = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
        if "messageStatus" in attributes:
            rank = _MESSAGE_RANKS.get(str(attributes["messageStatus"]))
            key = f"message {attributes.get('messageId')}"
        else:
            rank = _CHANNEL_RANKS.get(str(attributes.get("channelStatus")))
            key = f"channel {attributes.get('messageId')} {attributes.get('channel')}"
        if rank is None:
            continue
        if rank < last_seen.get(key, -1):
            return False
        last_seen[key] = rank
    return True


def _slow_for_several_items(hooks: Hooks, config: ReceiverConfig) -> Hooks:
    def delay(document: Any) -> float:
        return config.slow_s if len(document["data"]) > 1 else 0.0

    return dataclasses.replace(hooks, delay_s=delay)


def _throttles_without_retry_after(hooks: Hooks, config: ReceiverConfig) -> Hooks:
    def throttle(count: int) -> dict[str, str] | None:
        return {} if count % config.throttle_every == 0 else None

    return dataclasses.replace(hooks, throttle=throttle)


def _vnd_api_only(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/vnd.api+json"


_SIGNATURE_CHECKS = (
    "signature-wrong-secret",
    "signature-body-changed",
    "signature-reserialised",
    "signature-empty",
    "signature-missing",
)

_ALL = (
    ReceiverFault(
        "accepts_bad_signature",
        "takes any signature: a forged or tampered callback is accepted (403 expected)",
        "behaviour §5",
        _SIGNATURE_CHECKS,
        _replace(signature_ok=lambda sent, expected: True),
    ),
    ReceiverFault(
        "uppercase_signature",
        "compares the signature with an upper-case digest, so every genuine (lowercase) one is refused",
        "ops §1.1",
        ("valid-example", "every-status"),
        _replace(expected_signature=_upper_case),
    ),
    ReceiverFault(
        "reserialised_body",
        "verifies the signature over a re-serialised body (keys sorted) instead of the raw bytes",
        "ops §1.1",
        ("valid-example", "signature-reserialised"),
        _replace(expected_signature=_over_reserialised),
    ),
    ReceiverFault(
        "accepts_any_api_key",
        "does not check x-api-key: a missing or wrong key is accepted (401 expected)",
        "behaviour §5",
        ("api-key-missing", "api-key-wrong"),
        _replace(key_ok=lambda sent, agreed: True),
    ),
    ReceiverFault(
        "swapped_401_403",
        "answers 403 to a bad key and 401 to a bad signature",
        "behaviour §5",
        ("api-key-missing", "api-key-wrong", *_SIGNATURE_CHECKS),
        _replace(key_status=403, signature_status=401),
    ),
    ReceiverFault(
        "rejects_unknown_members",
        "answers 400 to a member the contract does not define (additive changes break it)",
        "ops §1.2",
        ("unknown-members",),
        _strict(members=True, values=False),
    ),
    ReceiverFault(
        "rejects_unlisted_values",
        "answers 400 to a status the contract does not list yet (the letter supplier statuses)",
        "ops §1.2",
        ("unlisted-values",),
        _strict(members=False, values=True),
    ),
    ReceiverFault(
        "duplicate_500",
        "answers 500 to a callback it has seen before, instead of accepting the repeat",
        "ops §1.3",
        ("duplicate", "no-server-errors"),
        _replace(duplicate_status=500),
    ),
    ReceiverFault(
        "rejects_out_of_order",
        "answers 409 to a status older than one already received for the message",
        "ops §1.3",
        ("out-of-order",),
        _replace(order_ok=_in_order_only),
    ),
    ReceiverFault(
        "rejects_plain_json",
        "answers 415 to application/json, the content type the delivery engine sends",
        "ops §1.1",
        ("plain-json",),
        _replace(media_type_ok=_vnd_api_only),
    ),
    ReceiverFault(
        "one_item_only",
        "answers 400 to a callback with several items in data",
        "ops §1.2",
        ("several-items",),
        _one_item_only,
    ),
    ReceiverFault(
        "needs_idempotency_key",
        "crashes (500) on a message status callback without meta, which the contract does not require",
        "behaviour §5",
        ("optional-members", "no-server-errors"),
        _needs_idempotency_key,
    ),
    ReceiverFault(
        "slow_answer",
        "answers a callback with several items later than the sender's 30 s timeout",
        "ops §1.3",
        ("several-items", "answers-in-time"),
        _slow_for_several_items,
    ),
    ReceiverFault(
        "throttles_without_retry_after",
        "now and then answers 429 without Retry-After, so the sender cannot tell when to come back",
        "behaviour §5",
        ("retry-after",),
        _throttles_without_retry_after,
    ),
)

#: every receiver fault, by name
FAULTS: Mapping[str, ReceiverFault] = {fault.name: fault for fault in _ALL}


def check_known(names: Iterable[str]) -> None:
    """Raises ValueError naming the first fault that does not exist."""
    for name in names:
        if name not in FAULTS:
            raise ValueError(f"unknown receiver fault {name!r} (see 'serve --mode receiver --list-faults')")
