"""Gateway body validation for POST /v1/messages and POST /v1/message-batches (behaviour §3.8).

Pure functions: raw bytes or a parsed body in, an ordered list of :class:`Problem` out (empty = valid).
Errors accumulate in the gateway's order; a child is only checked when its parent object is valid. A
batch stops looking at further messages once 100 errors are collected, and the list is cut to 100.
More than 45,000 messages gives a single 413 CM_TOO_MANY_ITEMS and no per-message checks.

Decisions where the gateway's behaviour is undefined (behaviour §7.10):

* A top-level JSON ``null``, ``false``, ``0`` or ``""`` slips past the live gateway (the backend's answer
  is unknown). Here it is 400 CM_INVALID_VALUE with pointer ``/``, like a body that does not parse.
* An empty body, invalid UTF-8, a UTF-8 byte-order mark, ``NaN``/``Infinity`` or JSON nested too deeply
  to parse are all "unparseable": one CM_INVALID_VALUE at ``/``, as JavaScript's ``JSON.parse`` fails.

The JavaScript semantics that matter are kept: ``undefined`` (absent) differs from ``null``; strings
are checked with ``typeof``; "blank" means empty after JavaScript's ``trim()``; patterns are anchored at
both ends with no trailing-newline leniency and ``\\d`` means ASCII digits only.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Final

from conformance.nhs_number import check_digit
from conformance.reference.catalogue import (
    DUPLICATE_VALUE,
    INVALID_NHS_NUMBER,
    INVALID_VALUE,
    MAX_ERRORS,
    MISSING_VALUE,
    NULL_VALUE,
    TOO_FEW_ITEMS,
    TOO_MANY_ITEMS,
    ErrorKind,
    Problem,
)
from conformance.reference.jsvalues import js_blank, js_falsy

MAX_BATCH_MESSAGES: Final = 45_000


class _Absent:
    """JavaScript's ``undefined``: the property is not there at all (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_TEN_ASCII_DIGITS: Final = re.compile(r"[0-9]{10}")


class Unparseable(Exception):
    """The body is not JSON the gateway's ``JSON.parse`` would accept."""


def _reject_constant(name: str) -> Any:
    raise Unparseable(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Parse a request body strictly (UTF-8, no BOM, no NaN/Infinity); raise :class:`Unparseable`."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unparseable(str(exc)) from exc


def _get(container: dict[str, Any], key: str) -> Any:
    return container.get(key, ABSENT)


# Each ``*_problem`` check returns the catalogue row to report, or None when the value passes.


def object_problem(value: Any) -> ErrorKind | None:
    if value is ABSENT:
        return MISSING_VALUE
    if value is None:
        return NULL_VALUE
    return None if isinstance(value, dict) else INVALID_VALUE


def constant_problem(value: Any, required: str) -> ErrorKind | None:
    if value is ABSENT:
        return MISSING_VALUE
    if value is None:
        return NULL_VALUE
    return None if isinstance(value, str) and value == required else INVALID_VALUE


def uuid_problem(value: Any) -> ErrorKind | None:
    if value is ABSENT:
        return MISSING_VALUE
    if value is None:
        return NULL_VALUE
    return None if isinstance(value, str) and _UUID.fullmatch(value) else INVALID_VALUE


def string_problem(value: Any) -> ErrorKind | None:
    if value is ABSENT:
        return MISSING_VALUE
    if value is None:
        return NULL_VALUE
    return None if isinstance(value, str) and not js_blank(value) else INVALID_VALUE


def array_problem(value: Any, min_items: int = 1) -> ErrorKind | None:
    if value is ABSENT:
        return MISSING_VALUE
    if value is None:
        return NULL_VALUE
    if not isinstance(value, list):
        return INVALID_VALUE
    return TOO_FEW_ITEMS if len(value) < min_items else None


@lru_cache(maxsize=4096)
def valid_nhs_number(value: str) -> bool:
    """Ten ASCII digits whose last is the Modulus 11 check digit (cached: big batches repeat numbers)."""
    return bool(_TEN_ASCII_DIGITS.fullmatch(value)) and check_digit(value[:9]) == int(value[9])


def nhs_number_problem(value: Any) -> ErrorKind | None:
    """Optional; null is a NULL error, anything else that is not a valid number an NHS-number error."""
    if value is ABSENT:
        return None
    if value is None:
        return NULL_VALUE
    return None if isinstance(value, str) and valid_nhs_number(value) else INVALID_NHS_NUMBER


def ods_code_problem(value: Any) -> ErrorKind | None:
    """Optional; when present it must be a string (null is INVALID here, not NULL)."""
    if value is ABSENT or isinstance(value, str):
        return None
    return INVALID_VALUE


def _check(errors: list[Problem], kind: ErrorKind | None, pointer: str) -> bool:
    """Record the problem ``kind`` at ``pointer`` (None: the value passed); True when it passed."""
    if kind is None:
        return True
    errors.append(Problem(kind, pointer))
    return False


def _top_level(body: Any) -> tuple[list[Problem], Any]:
    """Problems decided before ``data`` is looked at, and the ``data`` value (ABSENT for non-objects)."""
    if js_falsy(body):
        return [Problem(INVALID_VALUE, "/")], ABSENT
    return [], _get(body, "data") if isinstance(body, dict) else ABSENT


def _recipient_originator_personalisation(
    errors: list[Problem], message: dict[str, Any], prefix: str
) -> None:
    """The per-message checks both endpoints share, after the message reference."""
    recipient = _get(message, "recipient")
    if _check(errors, object_problem(recipient), prefix + "/recipient"):
        _check(errors, nhs_number_problem(_get(recipient, "nhsNumber")), prefix + "/recipient/nhsNumber")
    originator = _get(message, "originator")
    if originator is not ABSENT and _check(errors, object_problem(originator), prefix + "/originator"):
        _check(errors, ods_code_problem(_get(originator, "odsCode")), prefix + "/originator/odsCode")
    personalisation = _get(message, "personalisation")
    if personalisation is not ABSENT:
        _check(errors, object_problem(personalisation), prefix + "/personalisation")


def validate_message(body: Any) -> list[Problem]:
    """Problems in a parsed POST /v1/messages body, in the gateway's order."""
    errors, data = _top_level(body)
    if errors or not _check(errors, object_problem(data), "/data"):
        return errors
    _check(errors, constant_problem(_get(data, "type"), "Message"), "/data/type")
    attributes = _get(data, "attributes")
    if not _check(errors, object_problem(attributes), "/data/attributes"):
        return errors
    _check(errors, uuid_problem(_get(attributes, "routingPlanId")), "/data/attributes/routingPlanId")
    _check(errors, string_problem(_get(attributes, "messageReference")), "/data/attributes/messageReference")
    _recipient_originator_personalisation(errors, attributes, "/data/attributes")
    return errors


def validate_batch(body: Any) -> list[Problem]:
    """Problems in a parsed POST /v1/message-batches body, in the gateway's order, at most 100."""
    errors, data = _top_level(body)
    if errors or not _check(errors, object_problem(data), "/data"):
        return errors
    _check(errors, constant_problem(_get(data, "type"), "MessageBatch"), "/data/type")
    attributes = _get(data, "attributes")
    if not _check(errors, object_problem(attributes), "/data/attributes"):
        return errors
    _check(errors, uuid_problem(_get(attributes, "routingPlanId")), "/data/attributes/routingPlanId")
    _check(
        errors,
        string_problem(_get(attributes, "messageBatchReference")),
        "/data/attributes/messageBatchReference",
    )
    messages = _get(attributes, "messages")
    if not _check(errors, array_problem(messages), "/data/attributes/messages"):
        return errors
    if len(messages) > MAX_BATCH_MESSAGES:
        errors.append(Problem(TOO_MANY_ITEMS, "/data/attributes/messages"))
        return errors
    seen_references: set[str] = set()
    for index, message in enumerate(messages):
        if len(errors) >= MAX_ERRORS:
            break
        prefix = f"/data/attributes/messages/{index}"
        if not _check(errors, object_problem(message), prefix):
            continue
        reference = _get(message, "messageReference")
        if _check(errors, string_problem(reference), prefix + "/messageReference"):
            if reference in seen_references:
                errors.append(Problem(DUPLICATE_VALUE, prefix + "/messageReference"))
            else:
                seen_references.add(reference)
        _recipient_originator_personalisation(errors, message, prefix)
    return errors[:MAX_ERRORS]


def problems_in(raw: bytes, *, batch: bool) -> tuple[Any, list[Problem]]:
    """Parse and validate a raw body into ``(parsed body, problems)``; unparseable = one problem at ``/``."""
    try:
        body = parse_json(raw)
    except Unparseable:
        return ABSENT, [Problem(INVALID_VALUE, "/")]
    return body, (validate_batch(body) if batch else validate_message(body))
