"""Known differences between the published contract and the real gateway, applied to property-test
failures by name. A filtered failure is counted under its reason and shown in the report; it never
disappears silently, and no check is switched off wholesale.

A rule here only recognises the shape of a failure and names the discrepancy of the contract's
``x-known-discrepancies`` that explains it, by id. What the discrepancy says and which operations it
affects come from the contract (:class:`conformance.spec.KnownDiscrepancy`), so a rule applies only to
the operations the contract lists, and an id the contract lacks is an error, not a silent pass. One rule
is no discrepancy but a documented fact of an environment (the sandbox does not enforce
authentication); it carries an ``ENV-`` id and its reason here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from schemathesis.core.failures import Failure

from conformance.environments import Target
from conformance.spec import Spec, load_spec

#: ``(failure, operation id, target, request URL) -> whether the failure has the rule's shape``
Shape = Callable[[Failure, str, Target, str], bool]


@dataclass(frozen=True)
class KnownFailure:
    """A failure shape and why it is expected: a contract discrepancy or a documented environment fact."""

    id: str
    reason: str
    #: the operations the rule may explain (None: every operation)
    operations: frozenset[str] | None
    shape: Shape

    def explains(self, failure: Failure, operation: str, target: Target, url: str) -> bool:
        """Whether this rule explains ``failure`` of ``operation``'s request sent to ``url``."""
        if self.operations is not None and operation not in self.operations:
            return False
        return self.shape(failure, operation, target, url)


def _unsupported_method_without_allow(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return failure.code == "ST204" and "Allow" in str(failure)


def _head_on_get_message(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return failure.code == "ST204" and operation == "get-message" and "HEAD" in str(failure)


_UNENFORCED = ("/contactDetails", "billingReference", "`additionalProperties`")


def _unenforced_request_constraint(failure: Failure, operation: str, target: Target, url: str) -> bool:
    text = str(failure)
    return failure.code == "ST201" and "in body" in text and any(marker in text for marker in _UNENFORCED)


def _empty_page_is_absent(failure: Failure, operation: str, target: Target, url: str) -> bool:
    sent = parse_qs(urlsplit(url).query, keep_blank_values=True).get("page") or []
    # a repeated page is read by its last value (as the reference does; the gateway's reading of a
    # repeated parameter is undocumented), so "page=false&page=" is the empty page of D30 too
    return failure.code == "ST201" and "parameter `page` in query" in str(failure) and sent[-1:] == [""]


def _sandbox_open_access(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return not target.auth_required and failure.code == "ST203" and "Authorization" in str(failure)


#: Failure shapes by the id of the contract discrepancy that explains them, in the order they are tried.
DISCREPANCY_SHAPES: tuple[tuple[str, Shape], ...] = (
    ("D19", _head_on_get_message),
    ("D28", _unsupported_method_without_allow),
    ("D16", _unenforced_request_constraint),
    ("D30", _empty_page_is_absent),
)

#: Documented facts of an environment, not differences between the contract and the gateway.
ENVIRONMENT_FACTS: tuple[KnownFailure, ...] = (
    KnownFailure(
        "ENV-SANDBOX",
        "the sandbox does not enforce authentication (documented), so a missing Authorization is accepted",
        None,
        _sandbox_open_access,
    ),
)


@functools.cache
def known_failures(spec: Spec) -> tuple[KnownFailure, ...]:
    """Every rule, with the reason and operations of each discrepancy read from ``spec``.

    Raises :class:`conformance.spec.SpecError` when ``spec`` lacks a discrepancy a rule names.
    """
    rules = []
    for discrepancy_id, shape in DISCREPANCY_SHAPES:
        discrepancy = spec.discrepancy(discrepancy_id)
        rules.append(KnownFailure(discrepancy.id, discrepancy.title, frozenset(discrepancy.affects), shape))
    return (*rules, *ENVIRONMENT_FACTS)


def classify(
    failure: Failure, operation: str, target: Target, url: str, spec: Spec | None = None
) -> KnownFailure | None:
    """The known-failure rule that explains ``failure`` of the request sent to ``url``, if any (the rules
    of ``spec``, the shipped contract unless given)."""
    rules = known_failures(spec if spec is not None else load_spec())
    return next((rule for rule in rules if rule.explains(failure, operation, target, url)), None)
