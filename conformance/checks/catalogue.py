"""The suite's table of expected errors, and the check that an error response matches it.

This is the suite's side of the error catalogue: what a conforming API must send, by name. It is
written independently of the reference API's own table, so a typo on either side shows up as a failing
test rather than agreeing with itself. Strings are the exact ones the gateway sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from conformance.checks._rules import violation
from conformance.checks._violation import Violation
from conformance.exchange import Exchange

#: Every error's ``links.about``.
ABOUT_LINK = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
#: The extra link carried only by CM_INVALID_NHS_NUMBER.
NHS_NUMBER_LINK = "https://www.datadictionary.nhs.uk/attributes/nhs_number.html"

_RETRY_AFTER_DETAIL = "Re-send the request after the time (in seconds) specified `Retry-After` header."

#: Details the backend puts in CM_INVALID_VALUE for contact details of the wrong type.
CONTACT_DETAIL_PROBLEMS: Mapping[str, str] = MappingProxyType(
    {
        "sms_not_string": "'sms' is not a string",
        "email_not_string": "'email' is not a string",
        "address_invalid": "Invalid",
        "lines_not_string_array": "'lines' is not a string array",
        "too_many_address_lines": "Too many address lines were provided",
        "postcode_not_string": "'postcode' is not a string",
        "name_invalid": "Invalid",
    }
)

#: Details of CM_QUOTA from the live rate limiter; the app texts are templates for ``str.format``.
RATE_LIMIT_DETAILS: Mapping[str, str] = MappingProxyType(
    {
        "app_quota": (
            "Your application, {app_name}, has exceeded its quota of {limit} requests every 1 minute(s) "
            "and is being rate limited."
        ),
        "app_spike": (
            "Your application, {app_name}, has created a spike in traffic and is being rate limited. "
            "Please reduce the frequency of your requests."
        ),
        "proxy": "This API is currently receiving a high volume of requests and is being rate limited.",
    }
)

SourceKind = Literal["pointer", "header"]


@dataclass(frozen=True)
class ExpectedError:
    """One error the API may send, without its generated ``id``.

    ``detail`` None means the API fills it in (the caller must say what to expect). A ``pointer``
    source with ``source_value`` None means the field varies (the caller must say which).
    """

    code: str
    status: int
    title: str
    detail: str | None
    source_kind: SourceKind | None = None
    source_value: str | None = None
    extra_links: Mapping[str, str] = field(default_factory=dict)


_ROUTING_PLAN = "/data/attributes/routingPlanId"
_MESSAGES = "/data/attributes/messages"


def _field_error(code: str, title: str, detail: str, default_pointer: str | None = None) -> ExpectedError:
    """A 400 reported at a request field (the caller names it unless there is a usual one)."""
    return ExpectedError(code, 400, title, detail, "pointer", default_pointer)


_ERRORS: dict[str, ExpectedError] = {
    # Request body validation (gateway), reported at the offending field.
    "missing_value": _field_error(
        "CM_MISSING_VALUE",
        "Missing property",
        "The property at the specified location is required, but was not present in the request.",
    ),
    "null_value": _field_error(
        "CM_NULL_VALUE",
        "Property cannot be null",
        "The property at the specified location is required, but a null value was passed in the request.",
    ),
    "invalid_value": _field_error(
        "CM_INVALID_VALUE",
        "Invalid value",
        "The property at the specified location does not allow this value.",
    ),
    "invalid_body": _field_error(
        "CM_INVALID_VALUE",
        "Invalid value",
        "The property at the specified location does not allow this value.",
        "/",
    ),
    "duplicate_value": _field_error(
        "CM_DUPLICATE_VALUE",
        "Duplicate value",
        "The property at the specified location is a duplicate, duplicated values are not allowed.",
    ),
    "too_few_items": _field_error(
        "CM_TOO_FEW_ITEMS",
        "Too few items",
        "The property at the specified location contains too few items.",
        _MESSAGES,
    ),
    "invalid_nhs_number": ExpectedError(
        "CM_INVALID_NHS_NUMBER",
        400,
        "Invalid nhs number",
        "The value provided in this nhsNumber field is not a valid NHS number.",
        "pointer",
        None,
        {"nhsNumbers": NHS_NUMBER_LINK},
    ),
    "too_many_items": ExpectedError(
        "CM_TOO_MANY_ITEMS",
        413,
        "Too many items",
        "The property at the specified location contains too many items.",
        "pointer",
        _MESSAGES,
    ),
    # Backend rejections of a well-formed body.
    "ods_code_required": _field_error(
        "CM_ODS_CODE_REQUIRED",
        "Originator odsCode must be provided",
        "An originator with odsCode must be provided, as your account does not have a default ODS code.",
        _MESSAGES,
    ),
    "cannot_set_ods_code": _field_error(
        "CM_CANNOT_SET_ODS_CODE",
        "Cannot set ODS code",
        "Your account is not permitted to set originator ODS codes.",
        _MESSAGES,
    ),
    "cannot_set_contact_details": _field_error(
        "CM_CANNOT_SET_CONTACT_DETAILS",
        "Cannot set contact details",
        "Client is not allowed to provide alternative contact details.",
        "/data/attributes/recipient/contactDetails",
    ),
    "too_large": ExpectedError(
        "CM_TOO_LARGE",
        413,
        "Request too large",
        "Request message was larger than the service limit",
        "pointer",
        "/",
    ),
    "no_such_routing_plan": ExpectedError(
        "CM_NO_SUCH_ROUTING_PLAN",
        404,
        "No such routing plan",
        "The routing plan specified either does not exist or is not in a usable state.",
        "pointer",
        _ROUTING_PLAN,
    ),
    "duplicate_message_request": ExpectedError(
        "CM_DUPLICATE_REQUEST",
        422,
        "Duplicate message request",
        "Request exists with identical messageReference",
        "pointer",
        "/data/attributes/messageReference",
    ),
    "duplicate_batch_request": ExpectedError(
        "CM_DUPLICATE_REQUEST",
        422,
        "Duplicate batch request",
        "Request exists with identical messageBatchReference",
        "pointer",
        "/data/attributes/messageBatchReference",
    ),
    "missing_routing_plan_template": ExpectedError(
        "CM_MISSING_ROUTING_PLAN_TEMPLATE",
        500,
        "Templates missing",
        "The templates required to use the routing plan were not found.",
        "pointer",
        _ROUTING_PLAN,
    ),
    "routing_plan_duplicate_templates": ExpectedError(
        "CM_ROUTING_PLAN_DUPLICATE_TEMPLATES",
        500,
        "Duplicate templates",
        "The routing plan specified contains duplicate templates.",
        "pointer",
        _ROUTING_PLAN,
    ),
    # Gateway: auth, negotiation, routing.
    "denied": ExpectedError(
        "CM_DENIED",
        401,
        "Access denied",
        "Access token missing, invalid or expired, or calling application not configured for this operation.",
        "header",
        "Authorization",
    ),
    "forbidden": ExpectedError(
        "CM_FORBIDDEN",
        403,
        "Forbidden",
        "Client not recognised or not yet onboarded.",
        "header",
        "Authorization",
    ),
    "service_ban": ExpectedError(
        "CM_SERVICE_BAN",
        403,
        "Service ban in effect",
        "A service ban is in effect on your account.",
        "header",
        "Authorization",
    ),
    "not_found": ExpectedError(
        "CM_NOT_FOUND", 404, "Resource not found", "The resource at the requested URI was not found."
    ),
    "not_allowed": ExpectedError(
        "CM_NOT_ALLOWED", 405, "Method not allowed", "The method at the requested URI was not allowed."
    ),
    "not_acceptable": ExpectedError(
        "CM_NOT_ACCEPTABLE",
        406,
        "Not acceptable",
        "This service can only generate application/vnd.api+json or application/json.",
        "header",
        "Accept",
    ),
    "unsupported_media": ExpectedError(
        "CM_UNSUPPORTED_MEDIA",
        415,
        "Unsupported media",
        "Invalid content-type, this API only supports application/vnd.api+json or application/json.",
        "header",
        "Content-Type",
    ),
    # Time, load and downstream faults.
    "request_timeout": ExpectedError(
        "CM_TIMEOUT",
        408,
        "Request timeout",
        "The service was unable to receive your request within the timeout period.",
    ),
    "retry_too_early": ExpectedError(
        "CM_RETRY_TOO_EARLY",
        425,
        "Retried too early",
        "You have retried this request too early, the previous request is still being processed. "
        + _RETRY_AFTER_DETAIL,
    ),
    "quota": ExpectedError(
        "CM_QUOTA", 429, "Too many requests", "You have made too many requests. " + _RETRY_AFTER_DETAIL
    ),
    "rate_limited": ExpectedError("CM_QUOTA", 429, "Too many requests", None),
    "internal_server_error": ExpectedError(
        "CM_INTERNAL_SERVER_ERROR",
        500,
        "Error processing request",
        "There was an internal error whilst processing this request.",
    ),
    "bad_gateway": ExpectedError(
        "CM_BAD_GATEWAY", 502, "Unable to call service", "A downstream service is not responding."
    ),
    "service_unavailable": ExpectedError(
        "CM_SERVICE_UNAVAILABLE",
        503,
        "The service is currently unavailable",
        "The service is currently not able to process this request, try again later.",
    ),
    "gateway_timeout": ExpectedError(
        "CM_TIMEOUT",
        504,
        "Unable to call service",
        "The downstream service has not responded within the configured timeout period.",
    ),
    # GET /channels/nhsapp/accounts: the backend's message becomes the detail, and there is no source.
    "nhsapp_missing_ods_code": ExpectedError(
        "CM_INVALID_REQUEST", 400, "Invalid Request", "Missing ODS Code"
    ),
    "nhsapp_invalid_ods_code": ExpectedError(
        "CM_INVALID_REQUEST", 400, "Invalid Request", "Invalid ODS Code"
    ),
    "nhsapp_invalid_page": ExpectedError(
        "CM_INVALID_REQUEST", 400, "Invalid Request", "page must be a positive non-zero integer"
    ),
    "nhsapp_report_not_found": ExpectedError("CM_NOT_FOUND", 404, "Resource not found", "Report not found"),
    "nhsapp_quota": ExpectedError(
        "CM_QUOTA",
        429,
        "Too many requests",
        "This endpoint is currently receiving a high volume of requests and is being rate limited.",
    ),
}

#: Every error the suite expects, by name.
ERRORS: Mapping[str, ExpectedError] = MappingProxyType(_ERRORS)


def expected_error(
    name: str,
    *,
    pointer: str | None = None,
    detail: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The exact error object (without ``id``) a conforming API sends for error ``name``.

    ``pointer`` places a field error (required where the field varies, e.g. ``missing_value``);
    ``detail`` replaces a detail the API fills in (contact details, rate-limit texts); ``meta`` is
    added as is (``routing_plan_duplicate_templates`` lists the templates there).
    """
    try:
        template = ERRORS[name]
    except KeyError:
        raise ValueError(f"no expected error named {name!r}; known: {', '.join(sorted(ERRORS))}") from None
    if pointer is not None and template.source_kind != "pointer":
        raise ValueError(f"{name!r} is not reported at a field, so it takes no pointer")
    chosen_detail = detail if detail is not None else template.detail
    if chosen_detail is None:
        raise ValueError(f"{name!r} has a detail that varies; say which with detail=")
    error: dict[str, Any] = {
        "code": template.code,
        "links": {"about": ABOUT_LINK, **template.extra_links},
        "status": str(template.status),
        "title": template.title,
        "detail": chosen_detail,
    }
    if template.source_kind is not None:
        value = pointer if pointer is not None else template.source_value
        if value is None:
            raise ValueError(f"{name!r} is reported at a field that varies; say which with pointer=")
        error["source"] = {template.source_kind: value}
    if meta is not None:
        error["meta"] = dict(meta)
    return error


# ------------------------------------------------------------------------------------------------------
# The upstream common assertion contract for an error response


def _canonical(value: Any) -> str:
    """JSON text for comparison, so that 1 and true, or "400" and 400, never count as equal."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key in expected:
        if key not in actual:
            parts.append(f"'{key}' is missing (expected {_canonical(expected[key])})")
        elif _canonical(expected[key]) != _canonical(actual[key]):
            parts.append(f"'{key}' is {_canonical(actual[key])}, expected {_canonical(expected[key])}")
    parts.extend(
        f"'{key}' should not be there (got {_canonical(actual[key])})"
        for key in actual
        if key not in expected
    )
    return "; ".join(parts)


def _without_id(error: Any) -> Any:
    return {k: v for k, v in error.items() if k != "id"} if isinstance(error, dict) else error


def _label(error: Mapping[str, Any]) -> str:
    source = error.get("source")
    where = f" at {_canonical(source)}" if source else ""
    return f"{error.get('code')} ({error.get('title')}){where}"


def check_error_response(
    exchange: Exchange,
    status: int,
    expected: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> list[Violation]:
    """Judge an error response as the API team's own tests do.

    The status must match. Unless the request was HEAD or OPTIONS (no body to judge), the body must be
    ``{"errors": [...]}`` with ids ending .0, .1, .2, ...; then, ids aside, a lone error must equal the
    expected one exactly, and among several errors every expected one must appear.
    """
    wanted = [dict(expected)] if isinstance(expected, Mapping) else [dict(e) for e in expected]
    violations: list[Violation] = []
    if exchange.status != status:
        violations.append(violation("ERR-001", f"expected HTTP {status}, got HTTP {exchange.status}"))
    if exchange.method in ("HEAD", "OPTIONS"):
        return violations

    body = exchange.response_json
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        shown = exchange.response_body[:200].decode("utf-8", "replace")
        violations.append(
            violation("ERR-002", f"expected an object with a non-empty 'errors' array, got {shown!r}")
        )
        return violations

    for index, error in enumerate(errors):
        error_id = error.get("id") if isinstance(error, dict) else None
        if not isinstance(error_id, str) or error_id.rpartition(".")[2] != str(index):
            violations.append(
                violation("ERR-003", f"error {index} has id {error_id!r}; it should end in '.{index}'")
            )

    actual = [_without_id(error) for error in errors]
    if len(actual) == 1 and len(wanted) == 1:
        if _canonical(actual[0]) != _canonical(wanted[0]):
            got = actual[0] if isinstance(actual[0], dict) else {}
            difference = _differences(wanted[0], got) if got else f"got {_canonical(actual[0])}"
            violations.append(violation("ERR-004", f"expected {_label(wanted[0])}: {difference}"))
        return violations

    present = {_canonical(error) for error in actual}
    for want in wanted:
        if _canonical(want) not in present:
            returned = ", ".join(_label(e) if isinstance(e, dict) else _canonical(e) for e in actual)
            violations.append(
                violation(
                    "ERR-005",
                    f"{_canonical(want)} is not among the {len(actual)} errors returned: {returned}",
                )
            )
    return violations
