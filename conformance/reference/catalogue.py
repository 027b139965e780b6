"""The public error catalogue (one table) and the JSON:API error documents built from it.

Every error the reference can answer is a row here, so a status, code, title or detail string exists in
exactly one place. Rows that share a code (``CM_TIMEOUT`` at 408 and 504, the NHS App and rate-limiter
variants of ``CM_NOT_FOUND`` and ``CM_QUOTA``, the two ``CM_DUPLICATE_REQUEST`` titles) are separate rows.
A detail with ``{placeholders}`` is a template, filled in per occurrence by :func:`filled`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ABOUT_LINK = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
NHS_NUMBERS_LINK = "https://www.datadictionary.nhs.uk/attributes/nhs_number.html"
MAX_ERRORS = 100


@dataclass(frozen=True)
class ErrorKind:
    """One catalogue row; ``pointer``/``header`` give the default source, a problem may override it."""

    code: str
    status: int
    title: str
    detail: str
    pointer: str | None = None
    header: str | None = None
    nhs_numbers_link: bool = False


ROUTING_PLAN_POINTER = "/data/attributes/routingPlanId"
#: the gateway sends this ``Retry-After`` with every CM_RETRY_TOO_EARLY
RETRY_AFTER_TOO_EARLY = "300"
#: the gateway's ``Retry-After`` after an application breaches its quota, and its spike arrest
#: (behaviour §3.10)
RETRY_AFTER_APP_QUOTA = "60"
RETRY_AFTER_APP_SPIKE_ARREST = "1"
MESSAGES_POINTER = "/data/attributes/messages"

MISSING_VALUE = ErrorKind(
    "CM_MISSING_VALUE",
    400,
    "Missing property",
    "The property at the specified location is required, but was not present in the request.",
)
NULL_VALUE = ErrorKind(
    "CM_NULL_VALUE",
    400,
    "Property cannot be null",
    "The property at the specified location is required, but a null value was passed in the request.",
)
INVALID_VALUE = ErrorKind(
    "CM_INVALID_VALUE",
    400,
    "Invalid value",
    "The property at the specified location does not allow this value.",
)
DUPLICATE_VALUE = ErrorKind(
    "CM_DUPLICATE_VALUE",
    400,
    "Duplicate value",
    "The property at the specified location is a duplicate, duplicated values are not allowed.",
)
TOO_FEW_ITEMS = ErrorKind(
    "CM_TOO_FEW_ITEMS", 400, "Too few items", "The property at the specified location contains too few items."
)
TOO_MANY_ITEMS = ErrorKind(
    "CM_TOO_MANY_ITEMS",
    413,
    "Too many items",
    "The property at the specified location contains too many items.",
    pointer=MESSAGES_POINTER,
)
INVALID_NHS_NUMBER = ErrorKind(
    "CM_INVALID_NHS_NUMBER",
    400,
    "Invalid nhs number",
    "The value provided in this nhsNumber field is not a valid NHS number.",
    nhs_numbers_link=True,
)
ODS_CODE_REQUIRED = ErrorKind(
    "CM_ODS_CODE_REQUIRED",
    400,
    "Originator odsCode must be provided",
    "An originator with odsCode must be provided, as your account does not have a default ODS code.",
    pointer=MESSAGES_POINTER,
)
CANNOT_SET_ODS_CODE = ErrorKind(
    "CM_CANNOT_SET_ODS_CODE",
    400,
    "Cannot set ODS code",
    "Your account is not permitted to set originator ODS codes.",
    pointer=MESSAGES_POINTER,
)
CANNOT_SET_CONTACT_DETAILS = ErrorKind(
    "CM_CANNOT_SET_CONTACT_DETAILS",
    400,
    "Cannot set contact details",
    "Client is not allowed to provide alternative contact details.",
)
INVALID_REQUEST = ErrorKind("CM_INVALID_REQUEST", 400, "Invalid Request", "Invalid Request")
DENIED = ErrorKind(
    "CM_DENIED",
    401,
    "Access denied",
    "Access token missing, invalid or expired, or calling application not configured for this operation.",
    header="Authorization",
)
FORBIDDEN = ErrorKind(
    "CM_FORBIDDEN", 403, "Forbidden", "Client not recognised or not yet onboarded.", header="Authorization"
)
SERVICE_BAN = ErrorKind(
    "CM_SERVICE_BAN",
    403,
    "Service ban in effect",
    "A service ban is in effect on your account.",
    header="Authorization",
)
NOT_FOUND = ErrorKind(
    "CM_NOT_FOUND", 404, "Resource not found", "The resource at the requested URI was not found."
)
REPORT_NOT_FOUND = ErrorKind("CM_NOT_FOUND", 404, "Resource not found", "Report not found")
NO_SUCH_ROUTING_PLAN = ErrorKind(
    "CM_NO_SUCH_ROUTING_PLAN",
    404,
    "No such routing plan",
    "The routing plan specified either does not exist or is not in a usable state.",
    pointer=ROUTING_PLAN_POINTER,
)
NOT_ALLOWED = ErrorKind(
    "CM_NOT_ALLOWED", 405, "Method not allowed", "The method at the requested URI was not allowed."
)
NOT_ACCEPTABLE = ErrorKind(
    "CM_NOT_ACCEPTABLE",
    406,
    "Not acceptable",
    "This service can only generate application/vnd.api+json or application/json.",
    header="Accept",
)
REQUEST_TIMEOUT = ErrorKind(
    "CM_TIMEOUT",
    408,
    "Request timeout",
    "The service was unable to receive your request within the timeout period.",
)
TOO_LARGE = ErrorKind(
    "CM_TOO_LARGE",
    413,
    "Request too large",
    "Request message was larger than the service limit",
    pointer="/",
)
UNSUPPORTED_MEDIA = ErrorKind(
    "CM_UNSUPPORTED_MEDIA",
    415,
    "Unsupported media",
    "Invalid content-type, this API only supports application/vnd.api+json or application/json.",
    header="Content-Type",
)
DUPLICATE_MESSAGE_REQUEST = ErrorKind(
    "CM_DUPLICATE_REQUEST",
    422,
    "Duplicate message request",
    "Request exists with identical messageReference",
    pointer="/data/attributes/messageReference",
)
DUPLICATE_BATCH_REQUEST = ErrorKind(
    "CM_DUPLICATE_REQUEST",
    422,
    "Duplicate batch request",
    "Request exists with identical messageBatchReference",
    pointer="/data/attributes/messageBatchReference",
)
RETRY_TOO_EARLY = ErrorKind(
    "CM_RETRY_TOO_EARLY",
    425,
    "Retried too early",
    "You have retried this request too early, the previous request is still being processed. "
    "Re-send the request after the time (in seconds) specified `Retry-After` header.",
)
QUOTA = ErrorKind(
    "CM_QUOTA",
    429,
    "Too many requests",
    "You have made too many requests. Re-send the request after the time (in seconds) specified "
    "`Retry-After` header.",
)
APP_QUOTA = ErrorKind(
    "CM_QUOTA",
    429,
    "Too many requests",
    "Your application, {app_name}, has exceeded its quota of {limit} requests every 1 minute(s) and is "
    "being rate limited.",
)
APP_SPIKE_ARREST = ErrorKind(
    "CM_QUOTA",
    429,
    "Too many requests",
    "Your application, {app_name}, has created a spike in traffic and is being rate limited. Please "
    "reduce the frequency of your requests.",
)
NHSAPP_QUOTA = ErrorKind(
    "CM_QUOTA",
    429,
    "Too many requests",
    "This endpoint is currently receiving a high volume of requests and is being rate limited.",
)
INTERNAL_SERVER_ERROR = ErrorKind(
    "CM_INTERNAL_SERVER_ERROR",
    500,
    "Error processing request",
    "There was an internal error whilst processing this request.",
)
MISSING_ROUTING_PLAN_TEMPLATE = ErrorKind(
    "CM_MISSING_ROUTING_PLAN_TEMPLATE",
    500,
    "Templates missing",
    "The templates required to use the routing plan were not found.",
    pointer=ROUTING_PLAN_POINTER,
)
ROUTING_PLAN_DUPLICATE_TEMPLATES = ErrorKind(
    "CM_ROUTING_PLAN_DUPLICATE_TEMPLATES",
    500,
    "Duplicate templates",
    "The routing plan specified contains duplicate templates.",
    pointer=ROUTING_PLAN_POINTER,
)
BAD_GATEWAY = ErrorKind(
    "CM_BAD_GATEWAY", 502, "Unable to call service", "A downstream service is not responding."
)
SERVICE_UNAVAILABLE = ErrorKind(
    "CM_SERVICE_UNAVAILABLE",
    503,
    "The service is currently unavailable",
    "The service is currently not able to process this request, try again later.",
)
GATEWAY_TIMEOUT = ErrorKind(
    "CM_TIMEOUT",
    504,
    "Unable to call service",
    "The downstream service has not responded within the configured timeout period.",
)

#: Every row, for tests and for the fault layer to look rows up by code and status.
CATALOGUE: tuple[ErrorKind, ...] = (
    MISSING_VALUE,
    NULL_VALUE,
    INVALID_VALUE,
    DUPLICATE_VALUE,
    TOO_FEW_ITEMS,
    TOO_MANY_ITEMS,
    INVALID_NHS_NUMBER,
    ODS_CODE_REQUIRED,
    CANNOT_SET_ODS_CODE,
    CANNOT_SET_CONTACT_DETAILS,
    INVALID_REQUEST,
    DENIED,
    FORBIDDEN,
    SERVICE_BAN,
    NOT_FOUND,
    REPORT_NOT_FOUND,
    NO_SUCH_ROUTING_PLAN,
    NOT_ALLOWED,
    NOT_ACCEPTABLE,
    REQUEST_TIMEOUT,
    TOO_LARGE,
    UNSUPPORTED_MEDIA,
    DUPLICATE_MESSAGE_REQUEST,
    DUPLICATE_BATCH_REQUEST,
    RETRY_TOO_EARLY,
    QUOTA,
    APP_QUOTA,
    APP_SPIKE_ARREST,
    NHSAPP_QUOTA,
    INTERNAL_SERVER_ERROR,
    MISSING_ROUTING_PLAN_TEMPLATE,
    ROUTING_PLAN_DUPLICATE_TEMPLATES,
    BAD_GATEWAY,
    SERVICE_UNAVAILABLE,
    GATEWAY_TIMEOUT,
)


@dataclass(frozen=True)
class Problem:
    """One error to report: a catalogue row plus what this occurrence adds (pointer, detail, meta)."""

    kind: ErrorKind
    pointer: str | None = None
    detail: str | None = None
    meta: Mapping[str, Any] | None = None

    @property
    def status(self) -> int:
        return self.kind.status


def filled(kind: ErrorKind, **values: object) -> Problem:
    """A problem whose detail is the row's template with ``values`` filled in (the rate-limiter texts)."""
    return Problem(kind, detail=kind.detail.format(**values))


def error_object(problem: Problem, error_id: str) -> dict[str, Any]:
    """The public JSON:API error object for one problem."""
    kind = problem.kind
    links: dict[str, str] = {"about": ABOUT_LINK}
    if kind.nhs_numbers_link:
        links["nhsNumbers"] = NHS_NUMBERS_LINK
    error: dict[str, Any] = {
        "id": error_id,
        "code": kind.code,
        "links": links,
        "status": str(kind.status),
        "title": kind.title,
        "detail": problem.detail if problem.detail is not None else kind.detail,
    }
    pointer = problem.pointer if problem.pointer is not None else kind.pointer
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    elif kind.header is not None:
        error["source"] = {"header": kind.header}
    if problem.meta is not None:
        error["meta"] = dict(problem.meta)
    return error


def error_document(problems: Sequence[Problem], message_id: str) -> dict[str, Any]:
    """``{"errors": [...]}`` with ids ``<gateway message id>.<index>``, capped at the gateway's 100."""
    return {
        "errors": [
            error_object(problem, f"{message_id}.{index}")
            for index, problem in enumerate(problems[:MAX_ERRORS])
        ]
    }


def response_status(problems: Sequence[Problem]) -> int:
    """The HTTP status of an error response: the status of its first error, as the gateway sets it."""
    return problems[0].status
