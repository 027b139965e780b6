"""Content negotiation as the gateway does it: exact string comparisons, no parameter parsing.

``Accept`` must be absent or exactly one of three values (406 otherwise); POST/PUT/PATCH must carry a
``Content-Type`` of exactly one of two values (415 otherwise). ``application/json; charset=utf-8`` is
rejected on purpose: the gateway compares whole strings even though the docs list the charset form as
valid (behaviour §7.1). The suite reports that gap as a known discrepancy.
"""

from __future__ import annotations

JSON = "application/json"
JSON_API = "application/vnd.api+json"
ACCEPTABLE = frozenset({"*/*", JSON, JSON_API})
SUPPORTED_CONTENT_TYPES = frozenset({JSON, JSON_API})
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def accept_is_acceptable(accept: str | None) -> bool:
    """A missing Accept is fine; a present one (even empty) must match exactly."""
    return accept is None or accept in ACCEPTABLE


def content_type_is_supported(method: str, content_type: str | None) -> bool:
    """Only POST, PUT and PATCH are checked, on any path; GET/DELETE/HEAD/OPTIONS never are."""
    if method not in METHODS_WITH_BODY:
        return True
    return content_type in SUPPORTED_CONTENT_TYPES


def response_content_type(accept: str | None) -> str:
    """``application/json`` only for an Accept of exactly that; vnd.api+json otherwise (406s included)."""
    return JSON if accept == JSON else JSON_API
