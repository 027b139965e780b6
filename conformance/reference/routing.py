"""The gateway's route table (behaviour §3.7): path suffix + method -> destination, 404 or 405.

Patterns are matched against the whole suffix after ``/comms``, case-sensitively. ``/v1/messages/``
followed by anything on one line (even nothing, even more slashes) is the get-message route. The four
scenario paths exist in sandbox mode only. A 405 carries no ``Allow`` header, as upstream.

A route leads to one of the contract's operations, named by :class:`conformance.spec.OperationId` (the
contract's operationIds; tests/reference check that each contract operation routes to itself), or to one
of the sandbox's scenario paths, which the contract does not describe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from conformance.reference.catalogue import NOT_ALLOWED, NOT_FOUND, ErrorKind
from conformance.reference.config import Mode
from conformance.spec import OperationId


class ScenarioPath(Enum):
    """The sandbox's simulated upstream trouble (behaviour §4.7): reference routes, not in the contract."""

    TIMEOUT = "/_timeout"
    TIMEOUT_504 = "/_timeout_504"
    TIMEOUT_408 = "/_timeout_408"
    INVALID_CERTIFICATE = "/_invalid_certificate"


#: What a route leads to.
Destination = OperationId | ScenarioPath


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    destination: Destination


MESSAGE_ID_PREFIX = "/v1/messages/"

# JavaScript's "." stops at line terminators; so does this class.
_ANY_ON_ONE_LINE = "[^\n\r\u2028\u2029]*"

_ROUTES = (
    Route(re.compile(r"/v1/message-batches"), frozenset({"POST"}), OperationId.CREATE_MESSAGE_BATCH),
    Route(re.compile(r"/v1/messages"), frozenset({"POST"}), OperationId.CREATE_MESSAGE),
    Route(
        re.compile(MESSAGE_ID_PREFIX + _ANY_ON_ONE_LINE), frozenset({"GET", "HEAD"}), OperationId.GET_MESSAGE
    ),
    Route(
        re.compile(r"/channels/nhsapp/accounts"), frozenset({"GET"}), OperationId.GET_NHSAPP_ACCOUNT_DETAILS
    ),
)
_SANDBOX_ROUTES = tuple(
    Route(re.compile(re.escape(path.value)), frozenset({"GET"}), path) for path in ScenarioPath
)


def resolve(mode: Mode, suffix: str, method: str) -> Destination | ErrorKind:
    """Where this path and method lead, or NOT_FOUND (no path matched) / NOT_ALLOWED."""
    routes = _ROUTES + _SANDBOX_ROUTES if mode == "sandbox" else _ROUTES
    path_matched = False
    for route in routes:
        if route.pattern.fullmatch(suffix):
            if method in route.methods:
                return route.destination
            path_matched = True
    return NOT_ALLOWED if path_matched else NOT_FOUND
