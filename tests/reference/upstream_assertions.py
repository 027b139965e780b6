"""What the upstream sandbox suite shares between its tests, written once for our acceptance tests.

The upstream suite (NHSDigital/communications-manager-api, ``tests/sandbox``) is reproduced against our
reference API in the ``test_upstream_*`` modules. They all lean on the same things, kept here so a fix lands
in one place: the request matrices, the canned request bodies, the exact error objects
(upstream-tests.md §2) and the common assertion contract (§1.8), plus the success-shape checks of §3.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from conformance._resources import fixtures_dir

# --------------------------------------------------------------------------------------------------------
# Request matrices and trigger values used across the suite

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# `/v1/api/send` is deliberately not a route upstream: it only passes because auth, 406 and 415 fire first.
VALID_ENDPOINTS = ("/v1/message-batches", "/v1/messages", "/v1/api/send", "/v1/messages/1234")
CORRELATION_IDS = (None, "76491414-d0cf-4655-ae20-a4d1368472f3")
ORIGIN = "https://my.website"

VND_JSON = "application/vnd.api+json"
PLAIN_JSON = "application/json"
JSON_HEADERS = {"Accept": PLAIN_JSON, "Content-Type": PLAIN_JSON}

NO_BODY_METHODS = frozenset({"HEAD", "OPTIONS"})
# Upstream reruns a test on these statuses, so its header and negotiation tests can never pass on them.
RETRY_STATUSES = frozenset({401, 429, 502, 504})
MAX_ERRORS = 100

VALID_NHS_NUMBER = "9990548609"
INVALID_NHS_NUMBERS: tuple[object, ...] = ("999054860", "99905486090", "abcdefghij", "", [], {}, 5, 0.1)
INVALID_PERSONALISATIONS: tuple[object, ...] = (5, "", "some-string", [])
INVALID_MESSAGE_ELEMENTS: tuple[object, ...] = ("", [], 5, 0.1)
VALID_SMS_NUMBERS = (
    "+7 (8) (495) 123-45-67",
    "007 (8) (495) 123-45-67",
    "+33122334455",
    "07723456789",
    "+447723456789",
)
GLOBAL_NHSAPP_PLAN = "00000000-0000-0000-0000-000000000001"
SANDBOX_ROUTING_PLANS = (
    "b838b13c-f98c-4def-93f0-515d4e4f4ee1",
    "49e43b98-70cb-47a9-a55e-fe70c9a6f77c",
    "b402cd20-b62a-4357-8e02-2952959531c8",
    "936e9d45-15de-4a95-bb36-ae163c33ae53",
    "9ba00d23-cd6f-4aca-8688-00abc85a7980",
)
MISSING_TEMPLATE_PLANS = ("c8857ccf-06ec-483f-9b3a-7fc732d9ad48", "aeb16ab8-cb9c-4d23-92e9-87c78119175c")
INVALID_CONFIG_PLAN = "4ead415a-c033-4b39-9b05-326ac237a3be"
RETRY_TOO_EARLY_PLAN = "d895ade5-0029-4fc3-9fb5-86e1e5370854"

CORS_ALLOW_METHODS = "GET, PUT, POST, PATCH, DELETE"
CORS_MAX_AGE = "3628800"
CORS_ALLOW_HEADERS = (
    "origin, x-requested-with, accept, content-type, nhsd-session-urid, x-correlation-id, authorization"
)
CORS_EXPOSE_HEADERS = "x-correlation-id"
CORS_RESOURCE_POLICY = "cross-origin"

NO_CACHE = "no-cache, no-store, must-revalidate"
KSUID = re.compile(r"^[a-zA-Z0-9]{27}$")
MESSAGE_STATUSES = frozenset({"created", "pending_enrichment", "enriched", "sending", "delivered", "failed"})
CHANNEL_TYPES = frozenset({"nhsapp", "email", "sms", "letter"})
CASCADE_TYPES = frozenset({"primary", "secondary"})
CHANNEL_STATUSES = frozenset({"created", "sending", "delivered", "failed", "skipped"})


def correlation_label(correlation_id: str | None) -> str:
    """Readable test id for a correlation-id parameter."""
    return "no-corr" if correlation_id is None else "corr"


# --------------------------------------------------------------------------------------------------------
# Exact error objects (upstream-tests.md §2, api-behaviour.md §3.12)

ABOUT_LINK = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
NHS_NUMBER_LINK = "https://www.datadictionary.nhs.uk/attributes/nhs_number.html"


@dataclass(frozen=True)
class ErrorSpec:
    """One expected JSON:API error object, minus its generated ``id``."""

    code: str
    status: int
    title: str
    detail: str
    source: tuple[str, str] | None = None  # ("pointer", "/data") or ("header", "Accept")
    extra_links: tuple[tuple[str, str], ...] = ()

    def at(self, pointer: str) -> ErrorSpec:
        """The same error reported at a different JSON pointer."""
        return replace(self, source=("pointer", pointer))

    def saying(self, detail: str) -> ErrorSpec:
        """The same error with a backend-supplied detail."""
        return replace(self, detail=detail)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "links": {"about": ABOUT_LINK, **dict(self.extra_links)},
            "status": str(self.status),
            "title": self.title,
            "detail": self.detail,
        }
        if self.source is not None:
            body["source"] = {self.source[0]: self.source[1]}
        return body


INVALID_VALUE = ErrorSpec(
    "CM_INVALID_VALUE",
    400,
    "Invalid value",
    "The property at the specified location does not allow this value.",
)
MISSING_VALUE = ErrorSpec(
    "CM_MISSING_VALUE",
    400,
    "Missing property",
    "The property at the specified location is required, but was not present in the request.",
)
NULL_VALUE = ErrorSpec(
    "CM_NULL_VALUE",
    400,
    "Property cannot be null",
    "The property at the specified location is required, but a null value was passed in the request.",
)
DUPLICATE_VALUE = ErrorSpec(
    "CM_DUPLICATE_VALUE",
    400,
    "Duplicate value",
    "The property at the specified location is a duplicate, duplicated values are not allowed.",
)
TOO_FEW_ITEMS = ErrorSpec(
    "CM_TOO_FEW_ITEMS", 400, "Too few items", "The property at the specified location contains too few items."
)
INVALID_NHS_NUMBER = ErrorSpec(
    "CM_INVALID_NHS_NUMBER",
    400,
    "Invalid nhs number",
    "The value provided in this nhsNumber field is not a valid NHS number.",
    extra_links=(("nhsNumbers", NHS_NUMBER_LINK),),
)
CANNOT_SET_CONTACT_DETAILS = ErrorSpec(
    "CM_CANNOT_SET_CONTACT_DETAILS",
    400,
    "Cannot set contact details",
    "Client is not allowed to provide alternative contact details.",
)
SMS_NOT_A_STRING = "'sms' is not a string"
EMAIL_NOT_A_STRING = "'email' is not a string"
TOO_MANY_ADDRESS_LINES = "Too many address lines were provided"
LINES_NOT_STRINGS = "'lines' is not a string array"

NHSAPP_MISSING_ODS = ErrorSpec("CM_INVALID_REQUEST", 400, "Invalid Request", "Missing ODS Code")
NHSAPP_INVALID_ODS = NHSAPP_MISSING_ODS.saying("Invalid ODS Code")
NHSAPP_INVALID_PAGE = NHSAPP_MISSING_ODS.saying("page must be a positive non-zero integer")

DENIED = ErrorSpec(
    "CM_DENIED",
    401,
    "Access denied",
    "Access token missing, invalid or expired, or calling application not configured for this operation.",
    source=("header", "Authorization"),
)
FORBIDDEN = ErrorSpec(
    "CM_FORBIDDEN",
    403,
    "Forbidden",
    "Client not recognised or not yet onboarded.",
    source=("header", "Authorization"),
)
SERVICE_BAN = ErrorSpec(
    "CM_SERVICE_BAN",
    403,
    "Service ban in effect",
    "A service ban is in effect on your account.",
    source=("header", "Authorization"),
)
NOT_FOUND = ErrorSpec(
    "CM_NOT_FOUND", 404, "Resource not found", "The resource at the requested URI was not found."
)
NHSAPP_REPORT_NOT_FOUND = NOT_FOUND.saying("Report not found")
NO_SUCH_ROUTING_PLAN = ErrorSpec(
    "CM_NO_SUCH_ROUTING_PLAN",
    404,
    "No such routing plan",
    "The routing plan specified either does not exist or is not in a usable state.",
    source=("pointer", "/data/attributes/routingPlanId"),
)
NOT_ALLOWED = ErrorSpec(
    "CM_NOT_ALLOWED", 405, "Method not allowed", "The method at the requested URI was not allowed."
)
NOT_ACCEPTABLE = ErrorSpec(
    "CM_NOT_ACCEPTABLE",
    406,
    "Not acceptable",
    "This service can only generate application/vnd.api+json or application/json.",
    source=("header", "Accept"),
)
REQUEST_TIMEOUT = ErrorSpec(
    "CM_TIMEOUT",
    408,
    "Request timeout",
    "The service was unable to receive your request within the timeout period.",
)
TOO_LARGE = ErrorSpec(
    "CM_TOO_LARGE",
    413,
    "Request too large",
    "Request message was larger than the service limit",
    source=("pointer", "/"),
)
TOO_MANY_ITEMS = ErrorSpec(
    "CM_TOO_MANY_ITEMS",
    413,
    "Too many items",
    "The property at the specified location contains too many items.",
    source=("pointer", "/data/attributes/messages"),
)
UNSUPPORTED_MEDIA = ErrorSpec(
    "CM_UNSUPPORTED_MEDIA",
    415,
    "Unsupported media",
    "Invalid content-type, this API only supports application/vnd.api+json or application/json.",
    source=("header", "Content-Type"),
)
DUPLICATE_MESSAGE_REQUEST = ErrorSpec(
    "CM_DUPLICATE_REQUEST",
    422,
    "Duplicate message request",
    "Request exists with identical messageReference",
    source=("pointer", "/data/attributes/messageReference"),
)
DUPLICATE_BATCH_REQUEST = ErrorSpec(
    "CM_DUPLICATE_REQUEST",
    422,
    "Duplicate batch request",
    "Request exists with identical messageBatchReference",
    source=("pointer", "/data/attributes/messageBatchReference"),
)
RETRY_TOO_EARLY = ErrorSpec(
    "CM_RETRY_TOO_EARLY",
    425,
    "Retried too early",
    "You have retried this request too early, the previous request is still being processed. "
    "Re-send the request after the time (in seconds) specified `Retry-After` header.",
)
QUOTA = ErrorSpec(
    "CM_QUOTA",
    429,
    "Too many requests",
    "You have made too many requests. "
    "Re-send the request after the time (in seconds) specified `Retry-After` header.",
)
NHSAPP_QUOTA = QUOTA.saying(
    "This endpoint is currently receiving a high volume of requests and is being rate limited."
)
INTERNAL_SERVER_ERROR = ErrorSpec(
    "CM_INTERNAL_SERVER_ERROR",
    500,
    "Error processing request",
    "There was an internal error whilst processing this request.",
)
MISSING_ROUTING_PLAN_TEMPLATE = ErrorSpec(
    "CM_MISSING_ROUTING_PLAN_TEMPLATE",
    500,
    "Templates missing",
    "The templates required to use the routing plan were not found.",
    source=("pointer", "/data/attributes/routingPlanId"),
)
BAD_GATEWAY = ErrorSpec(
    "CM_BAD_GATEWAY", 502, "Unable to call service", "A downstream service is not responding."
)
SERVICE_UNAVAILABLE = ErrorSpec(
    "CM_SERVICE_UNAVAILABLE",
    503,
    "The service is currently unavailable",
    "The service is currently not able to process this request, try again later.",
)
SERVICE_TIMEOUT = ErrorSpec(
    "CM_TIMEOUT",
    504,
    "Unable to call service",
    "The downstream service has not responded within the configured timeout period.",
)


# --------------------------------------------------------------------------------------------------------
# Sending requests

REQUEST_TIMEOUT_S = 30.0


def open_client() -> httpx.Client:
    """One keep-alive client per module: the matrices run thousands of requests, so reuse the connection."""
    return httpx.Client(timeout=REQUEST_TIMEOUT_S)


def send(
    client: httpx.Client,
    method: str,
    url: str,
    headers: Mapping[str, str | None] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send like ``requests`` does upstream: a header whose value is ``None`` is simply not sent."""
    present = {name: value for name, value in (headers or {}).items() if value is not None}
    return client.request(method, url, headers=present, **kwargs)


def with_correlation(correlation_id: str | None, **headers: str) -> dict[str, str | None]:
    """Headers plus an optional ``X-Correlation-Id``."""
    return {**headers, "X-Correlation-Id": correlation_id}


def describe(response: httpx.Response) -> str:
    """A one-line account of an exchange, for assertion messages."""
    request = response.request
    return f"{request.method} {request.url} -> {response.status_code} {response.text[:600]!r}"


# --------------------------------------------------------------------------------------------------------
# Canned request bodies (upstream `Generators`) and key-wise mutations (upstream `Permutations`)


def new_reference() -> str:
    return str(uuid.uuid1())


def message_body(routing_plan_id: str = GLOBAL_NHSAPP_PLAN) -> dict[str, Any]:
    """The valid single-message body the upstream suite starts every message test from."""
    return {
        "data": {
            "type": "Message",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageReference": new_reference(),
                "recipient": {"nhsNumber": VALID_NHS_NUMBER},
                "originator": {"odsCode": "X26"},
                "personalisation": {"body": "test"},
            },
        }
    }


def batch_message(reference: str | None = None) -> dict[str, Any]:
    return {
        "messageReference": reference or new_reference(),
        "recipient": {"nhsNumber": VALID_NHS_NUMBER},
        "originator": {"odsCode": "X26"},
        "personalisation": {"body": "test"},
    }


def batch_body(routing_plan_id: str = GLOBAL_NHSAPP_PLAN, count: int = 3) -> dict[str, Any]:
    """The valid three-message batch body the upstream suite starts every batch test from."""
    return {
        "data": {
            "type": "MessageBatch",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageBatchReference": new_reference(),
                "messages": [batch_message() for _ in range(count)],
            },
        }
    }


def valid_contact_details(sms: str = "07723456789") -> dict[str, Any]:
    return {
        "sms": sms,
        "email": "ab@cd.co.uk",
        "address": {"lines": ["Line 1", "Line 2"], "postcode": "LS7 1BN"},
    }


def _map_key(node: Any, key: str, change: Any, remove: bool) -> Any:
    if isinstance(node, dict):
        result: dict[str, Any] = {}
        for name, value in node.items():
            if name == key:
                if not remove:
                    result[name] = copy.deepcopy(change)
                continue
            result[name] = _map_key(value, key, change, remove)
        return result
    if isinstance(node, list):
        return [_map_key(item, key, change, remove) for item in node]
    return node


def without_key(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A copy with ``key`` removed wherever it occurs (every batch message included), as upstream does."""
    result: dict[str, Any] = _map_key(body, key, None, remove=True)
    return result


def with_value(body: Mapping[str, Any], key: str, value: object) -> dict[str, Any]:
    """A copy with every occurrence of ``key`` set to ``value``."""
    result: dict[str, Any] = _map_key(body, key, value, remove=False)
    return result


def requests_style_json(body: object) -> bytes:
    """Serialise like ``requests``' ``json=`` (spaced separators) so large bodies keep the upstream size."""
    return json.dumps(body).encode()


# --------------------------------------------------------------------------------------------------------
# The common assertion contract (upstream-tests.md §1.8)


def error_objects(response: httpx.Response) -> list[dict[str, Any]]:
    """The response's errors with their ids checked (suffix .0, .1, .2, ...) and then removed."""
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("errors"), list), describe(response)
    errors: list[dict[str, Any]] = []
    for index, error in enumerate(body["errors"]):
        assert isinstance(error, dict), describe(response)
        error_id = error.get("id")
        assert isinstance(error_id, str), f"error {index} has no string id: {error!r}"
        assert error_id.split(".")[-1] == str(index), f"error {index} has id {error_id!r}"
        errors.append({name: value for name, value in error.items() if name != "id"})
    return errors


def assert_correlation_id(response: httpx.Response, sent: str | None) -> None:
    """Echoed exactly when the client sent one; otherwise generated, starting ``rrt`` like Apigee's ids."""
    received = response.headers.get("X-Correlation-Id")
    if sent is None:
        assert received is not None and received.startswith("rrt"), f"generated id {received!r}"
    else:
        assert received == sent, f"sent {sent!r}, got back {received!r}"


def assert_hygiene_headers(response: httpx.Response) -> None:
    assert response.headers.get("X-Content-Type-Options") == "nosniff", describe(response)
    assert response.headers.get("Cache-Control") == NO_CACHE, describe(response)


def assert_not_retry_status(response: httpx.Response) -> None:
    """Upstream's header and negotiation tests fail outright on 401, 429, 502 and 504."""
    assert response.status_code not in RETRY_STATUSES, (
        f"Unexpected {response.status_code}: {describe(response)}"
    )


def assert_error(
    response: httpx.Response,
    status: int,
    expected: ErrorSpec | None,
    correlation_id: str | None,
) -> None:
    """The status, the error object (exact when alone, else one of many), correlation id and hygiene headers.

    The body is not inspected for HEAD and OPTIONS (there is none) or when ``expected`` is None.
    """
    assert response.status_code == status, f"expected {status}: {describe(response)}"
    if expected is not None and response.request.method not in NO_BODY_METHODS:
        errors = error_objects(response)
        wanted = expected.as_json()
        if len(errors) == 1:
            assert errors[0] == wanted
        else:
            assert wanted in errors, f"{wanted!r} not among {errors!r}"
    assert_correlation_id(response, correlation_id)
    assert_hygiene_headers(response)


# --------------------------------------------------------------------------------------------------------
# Success shapes (upstream-tests.md §3.6, §3.8, §3.12, §3.13)


def assert_iso_datetime(value: object) -> None:
    assert isinstance(value, str), f"not a timestamp string: {value!r}"
    datetime.fromisoformat(value)


def assert_non_empty_string(value: object) -> None:
    assert isinstance(value, str) and value != "", f"expected a non-empty string, got {value!r}"


def assert_routing_plan(plan: object) -> None:
    assert isinstance(plan, dict), f"routingPlan is {plan!r}"
    assert_non_empty_string(plan.get("id"))
    assert_non_empty_string(plan.get("version"))
    assert isinstance(plan.get("name"), str)
    assert_iso_datetime(plan.get("createdDate"))


def assert_message_created(response: httpx.Response, base_url: str) -> str:
    """201 for POST /v1/messages; returns the new message id."""
    assert response.status_code == 201, describe(response)
    data = response.json()["data"]
    assert data["type"] == "Message"
    message_id = data["id"]
    assert isinstance(message_id, str) and KSUID.match(message_id), f"id {message_id!r}"
    attributes = data["attributes"]
    assert_routing_plan(attributes["routingPlan"])
    assert attributes["messageStatus"] == "created"
    assert_iso_datetime(attributes["timestamps"]["created"])
    self_link = data["links"]["self"]
    assert self_link.startswith(base_url) and self_link.endswith(f"/v1/messages/{message_id}"), self_link
    assert response.headers.get("Location") == f"/v1/messages/{message_id}"
    return message_id


def assert_batch_created(response: httpx.Response, request_body: Mapping[str, Any]) -> None:
    """201 for POST /v1/message-batches, checking every requested message came back with an id."""
    assert response.status_code == 201, describe(response)
    sent = request_body["data"]["attributes"]
    data = response.json()["data"]
    assert data["type"] == "MessageBatch"
    assert isinstance(data["id"], str) and KSUID.match(data["id"]), f"id {data['id']!r}"
    attributes = data["attributes"]
    assert attributes["messageBatchReference"] == sent["messageBatchReference"]
    assert_routing_plan(attributes["routingPlan"])
    assert attributes["routingPlan"]["id"] == sent["routingPlanId"]
    returned = sorted(attributes["messages"], key=lambda message: str(message["messageReference"]))
    requested = sorted(message["messageReference"] for message in sent["messages"])
    assert [message["messageReference"] for message in returned] == requested
    for message in returned:
        assert isinstance(message["id"], str) and KSUID.match(message["id"]), f"message id {message!r}"
    assert_hygiene_headers(response)


def assert_message_status(response: httpx.Response, base_url: str) -> None:
    """200 for GET /v1/messages/{id}: the field rules of upstream's ``assert_200_response_message``."""
    assert response.status_code == 200, describe(response)
    data = response.json()["data"]
    assert data["type"] == "Message"
    assert isinstance(data["id"], str) and KSUID.match(data["id"]), f"id {data['id']!r}"
    attributes = data["attributes"]
    status = attributes["messageStatus"]
    assert status in MESSAGE_STATUSES, status
    assert_non_empty_string(attributes["messageReference"])
    assert_routing_plan(attributes["routingPlan"])
    assert_iso_datetime(attributes["timestamps"]["created"])
    if status != "pending_enrichment":
        metadata = attributes["metadata"][0]
        assert_iso_datetime(metadata["queriedAt"])
        assert isinstance(metadata["source"], str)
        assert isinstance(metadata["version"], str)
        labels = metadata["labels"]
        assert isinstance(labels, list) and all(isinstance(label, str) for label in labels), labels
    if status in ("sending", "delivered"):
        channels = attributes["channels"]
        assert isinstance(channels, list) and channels, "a sending/delivered message lists its channels"
        for channel in channels:
            assert channel["type"] in CHANNEL_TYPES, channel
            assert channel["cascadeType"] in CASCADE_TYPES, channel
            order = channel["cascadeOrder"]
            assert isinstance(order, int) and not isinstance(order, bool) and order > 0, channel
            assert channel["channelStatus"] in CHANNEL_STATUSES, channel
            assert_iso_datetime(channel["timestamps"]["created"])
            for field in ("id", "type", "version"):
                assert isinstance(channel["routingPlan"][field], str), channel
    self_link = data["links"]["self"]
    assert self_link.startswith(base_url) and self_link.endswith(f"/v1/messages/{data['id']}"), self_link


def _accounts_link_suffix(ods_code: str, page: int) -> str:
    return f"/channels/nhsapp/accounts?ods-organisation-code={ods_code}&page={page}"


def assert_nhsapp_accounts(
    response: httpx.Response, base_url: str, ods_code: str, page: int, last_page: int
) -> None:
    """200 for GET /channels/nhsapp/accounts, with self/last/next pagination links."""
    assert response.status_code == 200, describe(response)
    body = response.json()
    data = body["data"]
    assert data["type"] == "NhsAppAccounts"
    assert data["id"] == ods_code
    accounts = data["attributes"]["accounts"]
    assert isinstance(accounts, list) and accounts, "accounts must not be empty"
    for account in accounts:
        assert isinstance(account["nhsNumber"], str) and len(account["nhsNumber"]) == 10, account
        assert isinstance(account["notificationsEnabled"], bool), account
    links = body["links"]
    for name, expected_page in (("self", page), ("last", last_page)):
        link = links[name]
        assert link.startswith(base_url), f"{name} link {link!r}"
        assert link.endswith(_accounts_link_suffix(ods_code, expected_page)), f"{name} link {link!r}"
    if page < last_page:
        assert links["next"].startswith(base_url), links
        assert links["next"].endswith(_accounts_link_suffix(ods_code, page + 1)), links
    else:
        assert links.get("next") is None, links


# --------------------------------------------------------------------------------------------------------
# Stored sandbox data


def stored_message_ids() -> Sequence[str]:
    """The 29 message ids the sandbox serves, named after the fixture files."""
    return sorted(path.stem for path in (fixtures_dir() / "sandbox" / "messages").glob("*.json"))


def stored_message(message_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (fixtures_dir() / "sandbox" / "messages" / f"{message_id}.json").read_text(encoding="utf-8")
    )
    return body
