"""Known differences between the published contract and the real gateway, applied to property-test
failures by name. A filtered failure is counted under its reason and shown in the report; it never
disappears silently, and no check is switched off wholesale."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from schemathesis.core.failures import Failure

from conformance.environments import Target


@dataclass(frozen=True)
class KnownFailure:
    """A rule that recognises one known failure shape and names why it is expected."""

    id: str
    reason: str
    applies: Callable[[Failure, str, Target, str], bool]


def _unsupported_method_without_allow(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return failure.code == "ST204" and "Allow" in str(failure)


def _head_on_get_message(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return failure.code == "ST204" and operation == "get-message" and "HEAD" in str(failure)


_UNENFORCED = ("/contactDetails", "billingReference", "`additionalProperties`")


def _unenforced_request_constraint(failure: Failure, operation: str, target: Target, url: str) -> bool:
    text = str(failure)
    return failure.code == "ST201" and "in body" in text and any(marker in text for marker in _UNENFORCED)


def _empty_page_is_absent(failure: Failure, operation: str, target: Target, url: str) -> bool:
    sent = parse_qs(urlsplit(url).query, keep_blank_values=True).get("page")
    return failure.code == "ST201" and "parameter `page` in query" in str(failure) and sent == [""]


def _sandbox_open_access(failure: Failure, operation: str, target: Target, url: str) -> bool:
    return not target.auth_required and failure.code == "ST203" and "Authorization" in str(failure)


KNOWN_FAILURES: tuple[KnownFailure, ...] = (
    KnownFailure(
        "D19",
        "HEAD on get-message is routed by the gateway (undefined upstream), so it is not a 405",
        _head_on_get_message,
    ),
    KnownFailure(
        "D28",
        "the gateway's 405 answer carries no Allow header",
        _unsupported_method_without_allow,
    ),
    KnownFailure(
        "D16",
        "the gateway does not enforce contact detail formats, billingReference's type or unknown properties",
        _unenforced_request_constraint,
    ),
    KnownFailure(
        "D30",
        "an empty page query parameter is treated as absent (the first page), not rejected",
        _empty_page_is_absent,
    ),
    KnownFailure(
        "ENV-SANDBOX",
        "the sandbox does not enforce authentication (documented), so a missing Authorization is accepted",
        _sandbox_open_access,
    ),
)


def classify(failure: Failure, operation: str, target: Target, url: str) -> KnownFailure | None:
    """The known-failure rule that explains ``failure`` of the request sent to ``url``, if any."""
    return next((rule for rule in KNOWN_FAILURES if rule.applies(failure, operation, target, url)), None)
