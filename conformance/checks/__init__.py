"""Pure checks that judge one HTTP exchange against NHS Notify's published behaviour.

Each check takes an :class:`~conformance.exchange.Exchange` (plus, at most, a little explicit context)
and returns a list of :class:`Violation`; none sends a request. Every violation names a rule by a
stable code (``JSONAPI-...``, ``HDR-...``, ``CORS-...``, ``CT-...``, ``ERR-...``); :data:`RULES` maps
each code to the one-line description reports show next to it.
"""

from __future__ import annotations

from conformance.checks._exchange_kinds import is_preflight
from conformance.checks._rules import RULES, Rule
from conformance.checks._violation import ConformanceViolation, Severity, Violation, assert_no_violations
from conformance.checks.catalogue import (
    ABOUT_LINK,
    CONTACT_DETAIL_PROBLEMS,
    ERRORS,
    NHS_NUMBER_LINK,
    RATE_LIMIT_DETAILS,
    ExpectedError,
    check_error_response,
    expected_error,
)
from conformance.checks.headers import (
    check_content_type,
    check_preflight,
    check_standard_headers,
    expected_content_type,
)
from conformance.checks.jsonapi import check_document
from conformance.exchange import Exchange

__all__ = [
    "ABOUT_LINK",
    "CONTACT_DETAIL_PROBLEMS",
    "ERRORS",
    "NHS_NUMBER_LINK",
    "RATE_LIMIT_DETAILS",
    "RULES",
    "ConformanceViolation",
    "ExpectedError",
    "Rule",
    "Severity",
    "Violation",
    "assert_no_violations",
    "check_content_type",
    "check_document",
    "check_error_response",
    "check_exchange",
    "check_preflight",
    "check_standard_headers",
    "expected_content_type",
    "expected_error",
    "is_preflight",
]


def check_exchange(exchange: Exchange) -> list[Violation]:
    """Every rule that applies to any response: JSON:API structure, standard headers, Content-Type.

    A CORS preflight is answered by the gateway before any of that happens, so it is judged only by
    :func:`check_preflight`.
    """
    if is_preflight(exchange):
        return check_preflight(exchange)
    return [*check_document(exchange), *check_standard_headers(exchange), *check_content_type(exchange)]
