"""The gateway's route table (api-behaviour.md §3.7): path suffix + method -> operation, 404 or 405.

Patterns are matched against the whole suffix after ``/comms``, case-sensitively. ``/v1/messages/``
followed by anything on one line (even nothing, even more slashes) is the get-message route. The four
scenario paths exist in sandbox mode only. A 405 carries no ``Allow`` header, as upstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from conformance.reference.catalogue import NOT_ALLOWED, NOT_FOUND, ErrorKind
from conformance.reference.config import Mode


class Operation(Enum):
    CREATE_MESSAGE = "create-message"
    CREATE_BATCH = "create-message-batch"
    GET_MESSAGE = "get-message"
    NHSAPP_ACCOUNTS = "get-nhsapp-account-details"
    TIMEOUT = "_timeout"
    TIMEOUT_504 = "_timeout_504"
    TIMEOUT_408 = "_timeout_408"
    INVALID_CERTIFICATE = "_invalid_certificate"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    operation: Operation


MESSAGE_ID_PREFIX = "/v1/messages/"

# JavaScript's "." stops at line terminators; so does this class.
_ANY_ON_ONE_LINE = "[^\n\r\u2028\u2029]*"

_ROUTES = (
    Route(re.compile(r"/v1/message-batches"), frozenset({"POST"}), Operation.CREATE_BATCH),
    Route(re.compile(r"/v1/messages"), frozenset({"POST"}), Operation.CREATE_MESSAGE),
    Route(re.compile("/v1/messages/" + _ANY_ON_ONE_LINE), frozenset({"GET", "HEAD"}), Operation.GET_MESSAGE),
    Route(re.compile(r"/channels/nhsapp/accounts"), frozenset({"GET"}), Operation.NHSAPP_ACCOUNTS),
)
_SANDBOX_ROUTES = (
    Route(re.compile(r"/_timeout"), frozenset({"GET"}), Operation.TIMEOUT),
    Route(re.compile(r"/_timeout_504"), frozenset({"GET"}), Operation.TIMEOUT_504),
    Route(re.compile(r"/_timeout_408"), frozenset({"GET"}), Operation.TIMEOUT_408),
    Route(re.compile(r"/_invalid_certificate"), frozenset({"GET"}), Operation.INVALID_CERTIFICATE),
)


def resolve(mode: Mode, suffix: str, method: str) -> Operation | ErrorKind:
    """The operation for this path and method, or NOT_FOUND (no path matched) / NOT_ALLOWED."""
    routes = _ROUTES + _SANDBOX_ROUTES if mode == "sandbox" else _ROUTES
    path_matched = False
    for route in routes:
        if route.pattern.fullmatch(suffix):
            if method in route.methods:
                return route.operation
            path_matched = True
    return NOT_ALLOWED if path_matched else NOT_FOUND
