"""The rules a callback receiver is judged by, with stable codes (``CB-...``) that are never reused.

``ERROR`` rules fail the receiver; ``INFO`` rules are deviations from the documented answers that the
sender copes with (reported as warnings, never as failures).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from conformance.checks import Rule, Severity, Violation

_ALL = (
    Rule("CB-001", "A valid callback should be accepted with a 2xx answer"),
    Rule("CB-002", "A valid callback should be answered 202 Accepted, the documented status", Severity.INFO),
    Rule("CB-003", "A valid callback should never get a server error (5xx)"),
    Rule("CB-004", "A callback with a missing or wrong API key should get 401"),
    Rule("CB-005", "A callback with a wrong signature should get 403"),
    Rule("CB-006", "A 429 should carry a usable Retry-After (whole seconds or an HTTP date)"),
    Rule("CB-007", "A 429's Retry-After should be between 5 and 43,200 seconds", Severity.INFO),
    Rule("CB-008", "The receiver should answer within the sender's timeout"),
    Rule("CB-009", "The receiver should answer every callback in HTTP"),
    Rule(
        "CB-010",
        "A member the contract does not define should be tolerated, even in an object the contract closes",
        Severity.INFO,
    ),
)

#: every rule by code
RULES: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _ALL})


def violation(code: str, detail: str) -> Violation:
    """A violation of the rule ``code`` (a KeyError for an unknown code is a bug)."""
    return RULES[code].violation(detail)
