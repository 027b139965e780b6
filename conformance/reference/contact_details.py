"""Backend checks of ``recipient.contactDetails`` (behaviour §4.4).

The gateway does not look at contact details; the backend type-checks them and reports every failing
field, one CM_INVALID_VALUE each, with its own detail text. Falsy values (JavaScript sense) count as
absent. Formats (email pattern, phone numbers, postcodes, minimum address lines) are not enforced,
matching the sandbox backend.
"""

from __future__ import annotations

from typing import Any

from conformance.reference.catalogue import CANNOT_SET_CONTACT_DETAILS, INVALID_VALUE, Problem
from conformance.reference.jsvalues import js_falsy

MAX_ADDRESS_LINES = 5
NAME_FIELDS = ("prefix", "firstName", "middleNames", "lastName", "suffix")


def contact_details_of(message: Any) -> Any:
    """``message.recipient.contactDetails``, or None when any step is missing or not an object."""
    recipient = message.get("recipient") if isinstance(message, dict) else None
    return recipient.get("contactDetails") if isinstance(recipient, dict) else None


def has_contact_details(message: Any) -> bool:
    return not js_falsy(contact_details_of(message))


def not_allowed(prefix: str) -> Problem:
    """The client may not override contact details (the ``notAllowedContactDetailOverride`` scenario)."""
    return Problem(CANNOT_SET_CONTACT_DETAILS, f"{prefix}/recipient/contactDetails")


def _invalid(pointer: str, detail: str) -> Problem:
    return Problem(INVALID_VALUE, pointer, detail=detail)


def _address_problems(address: Any, pointer: str) -> list[Problem]:
    if not isinstance(address, dict):
        return [_invalid(pointer, "Invalid")]
    problems = []
    lines = address.get("lines")
    if not js_falsy(lines):
        if not isinstance(lines, list) or any(not isinstance(line, str) for line in lines):
            problems.append(_invalid(pointer, "'lines' is not a string array"))
        elif len(lines) > MAX_ADDRESS_LINES:
            problems.append(_invalid(pointer, "Too many address lines were provided"))
    if (
        "postcode" in address
        and not js_falsy(address["postcode"])
        and not isinstance(address["postcode"], str)
    ):
        problems.append(_invalid(pointer, "'postcode' is not a string"))
    return problems


def _name_problems(name: Any, pointer: str) -> list[Problem]:
    if not isinstance(name, dict):
        return [_invalid(pointer, "Invalid")]
    return [
        _invalid(pointer, f"'{field}' is not a string")
        for field in NAME_FIELDS
        if field in name and not js_falsy(name[field]) and not isinstance(name[field], str)
    ]


def contact_detail_problems(message: Any, prefix: str) -> list[Problem]:
    """Every type problem in one message's contact details; ``prefix`` is the message's pointer."""
    details = contact_details_of(message)
    if js_falsy(details) or not isinstance(details, dict):
        return []
    base = f"{prefix}/recipient/contactDetails"
    problems = []
    for channel in ("sms", "email"):
        value = details.get(channel)
        if not js_falsy(value) and not isinstance(value, str):
            problems.append(_invalid(f"{base}/{channel}", f"'{channel}' is not a string"))
    address = details.get("address")
    if not js_falsy(address):
        problems.extend(_address_problems(address, f"{base}/address"))
    name = details.get("name")
    if not js_falsy(name):
        problems.extend(_name_problems(name, f"{base}/name"))
    return problems
