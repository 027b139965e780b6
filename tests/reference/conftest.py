"""Fixtures that start the embedded reference API for real, on loopback, once per test session."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from conformance.reference.oauth import ClientCredentials, generate_client
from conformance.reference.server import ReferenceConfig, RunningReference, start

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningReference]:
    with start(ReferenceConfig(mode="sandbox")) as server:
        yield server


@pytest.fixture(scope="session")
def integration_server() -> Iterator[RunningReference]:
    """No 425 window (a repeated reference is 422 at once) and no server-wide throttling; the tests of
    those two start servers of their own."""
    with start(ReferenceConfig(mode="integration", in_flight_s=0.0)) as server:
        yield server


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def integration_credentials(integration_server: RunningReference, key_dir: Path) -> ClientCredentials:
    return generate_client(integration_server.registry, key_dir)


def client_assertion(
    creds: ClientCredentials,
    token_url: str,
    *,
    lifetime_s: int = 180,
    jti: str | None = None,
    **overrides: object,
) -> str:
    """Sign an RS512 client assertion the way a well-behaved client does; overrides bend single claims."""
    claims: dict[str, object] = {
        "iss": creds.api_key,
        "sub": creds.api_key,
        "aud": token_url,
        "jti": jti or str(uuid.uuid4()),
        "exp": int(time.time()) + lifetime_s,
    }
    claims.update(overrides)
    key = creds.private_key_path.read_bytes()
    return jwt.encode(claims, key, algorithm="RS512", headers={"kid": creds.kid})


def fetch_token(server: RunningReference, creds: ClientCredentials) -> str:
    response = httpx.post(
        server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(creds, server.token_url),
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture(scope="session")
def access_token(integration_server: RunningReference, integration_credentials: ClientCredentials) -> str:
    return fetch_token(integration_server, integration_credentials)


# --------------------------------------------------------------------------------------------------------
# Helpers for the reference API's own focused tests (test_gateway, test_validation, test_oauth, test_state,
# test_sandbox, test_server). Expected strings are typed out from the reference documents on purpose, not
# imported from conformance.reference.catalogue, so a typo in the catalogue makes these tests fail.

ABOUT_LINK = "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"
CACHE_CONTROL = "no-cache, no-store, must-revalidate"
VALID_NHS_NUMBER = "9990548609"
GLOBAL_NHSAPP_PLAN = "00000000-0000-0000-0000-000000000001"


def _expected(code: str, status: str, title: str, detail: str, **source: str) -> dict[str, object]:
    error: dict[str, object] = {
        "code": code,
        "links": {"about": ABOUT_LINK},
        "status": status,
        "title": title,
        "detail": detail,
    }
    if source:
        error["source"] = dict(source)
    return error


EXPECTED_ERRORS: dict[str, dict[str, object]] = {
    "denied": _expected(
        "CM_DENIED",
        "401",
        "Access denied",
        "Access token missing, invalid or expired, or calling application not configured for this operation.",
        header="Authorization",
    ),
    "forbidden": _expected(
        "CM_FORBIDDEN",
        "403",
        "Forbidden",
        "Client not recognised or not yet onboarded.",
        header="Authorization",
    ),
    "service_ban": _expected(
        "CM_SERVICE_BAN",
        "403",
        "Service ban in effect",
        "A service ban is in effect on your account.",
        header="Authorization",
    ),
    "not_found": _expected(
        "CM_NOT_FOUND", "404", "Resource not found", "The resource at the requested URI was not found."
    ),
    "report_not_found": _expected("CM_NOT_FOUND", "404", "Resource not found", "Report not found"),
    "no_such_routing_plan": _expected(
        "CM_NO_SUCH_ROUTING_PLAN",
        "404",
        "No such routing plan",
        "The routing plan specified either does not exist or is not in a usable state.",
        pointer="/data/attributes/routingPlanId",
    ),
    "not_allowed": _expected(
        "CM_NOT_ALLOWED", "405", "Method not allowed", "The method at the requested URI was not allowed."
    ),
    "not_acceptable": _expected(
        "CM_NOT_ACCEPTABLE",
        "406",
        "Not acceptable",
        "This service can only generate application/vnd.api+json or application/json.",
        header="Accept",
    ),
    "request_timeout": _expected(
        "CM_TIMEOUT",
        "408",
        "Request timeout",
        "The service was unable to receive your request within the timeout period.",
    ),
    "too_large": _expected(
        "CM_TOO_LARGE",
        "413",
        "Request too large",
        "Request message was larger than the service limit",
        pointer="/",
    ),
    "too_many_items": _expected(
        "CM_TOO_MANY_ITEMS",
        "413",
        "Too many items",
        "The property at the specified location contains too many items.",
        pointer="/data/attributes/messages",
    ),
    "unsupported_media": _expected(
        "CM_UNSUPPORTED_MEDIA",
        "415",
        "Unsupported media",
        "Invalid content-type, this API only supports application/vnd.api+json or application/json.",
        header="Content-Type",
    ),
    "duplicate_message": _expected(
        "CM_DUPLICATE_REQUEST",
        "422",
        "Duplicate message request",
        "Request exists with identical messageReference",
        pointer="/data/attributes/messageReference",
    ),
    "duplicate_batch": _expected(
        "CM_DUPLICATE_REQUEST",
        "422",
        "Duplicate batch request",
        "Request exists with identical messageBatchReference",
        pointer="/data/attributes/messageBatchReference",
    ),
    "retry_too_early": _expected(
        "CM_RETRY_TOO_EARLY",
        "425",
        "Retried too early",
        "You have retried this request too early, the previous request is still being processed. Re-send the "
        "request after the time (in seconds) specified `Retry-After` header.",
    ),
    "quota": _expected(
        "CM_QUOTA",
        "429",
        "Too many requests",
        "You have made too many requests. Re-send the request after the time (in seconds) specified "
        "`Retry-After` header.",
    ),
    "nhsapp_quota": _expected(
        "CM_QUOTA",
        "429",
        "Too many requests",
        "This endpoint is currently receiving a high volume of requests and is being rate limited.",
    ),
    "internal": _expected(
        "CM_INTERNAL_SERVER_ERROR",
        "500",
        "Error processing request",
        "There was an internal error whilst processing this request.",
    ),
    "missing_templates": _expected(
        "CM_MISSING_ROUTING_PLAN_TEMPLATE",
        "500",
        "Templates missing",
        "The templates required to use the routing plan were not found.",
        pointer="/data/attributes/routingPlanId",
    ),
    "bad_gateway": _expected(
        "CM_BAD_GATEWAY", "502", "Unable to call service", "A downstream service is not responding."
    ),
    "service_unavailable": _expected(
        "CM_SERVICE_UNAVAILABLE",
        "503",
        "The service is currently unavailable",
        "The service is currently not able to process this request, try again later.",
    ),
    "gateway_timeout": _expected(
        "CM_TIMEOUT",
        "504",
        "Unable to call service",
        "The downstream service has not responded within the configured timeout period.",
    ),
}


def field_error(kind: str, pointer: str) -> dict[str, object]:
    """An expected body-validation error (§3.8) at ``pointer``."""
    rows = {
        "missing": (
            "CM_MISSING_VALUE",
            "Missing property",
            "The property at the specified location is required, but was not present in the request.",
        ),
        "null": (
            "CM_NULL_VALUE",
            "Property cannot be null",
            "The property at the specified location is required, but a null value was passed in the request.",
        ),
        "invalid": (
            "CM_INVALID_VALUE",
            "Invalid value",
            "The property at the specified location does not allow this value.",
        ),
        "duplicate": (
            "CM_DUPLICATE_VALUE",
            "Duplicate value",
            "The property at the specified location is a duplicate, duplicated values are not allowed.",
        ),
        "too_few": (
            "CM_TOO_FEW_ITEMS",
            "Too few items",
            "The property at the specified location contains too few items.",
        ),
        "nhs_number": (
            "CM_INVALID_NHS_NUMBER",
            "Invalid nhs number",
            "The value provided in this nhsNumber field is not a valid NHS number.",
        ),
    }
    code, title, detail = rows[kind]
    error = _expected(code, "400", title, detail, pointer=pointer)
    if kind == "nhs_number":
        error["links"] = {
            "about": ABOUT_LINK,
            "nhsNumbers": "https://www.datadictionary.nhs.uk/attributes/nhs_number.html",
        }
    return error


def with_detail(expected: Mapping[str, object], detail: str, **source: str) -> dict[str, object]:
    """A copy of an expected error with another detail (and source) - backend-supplied texts."""
    changed = dict(expected, detail=detail)
    if source:
        changed["source"] = dict(source)
    return changed


def assert_standard_headers(response: httpx.Response, correlation_id: str | None = None) -> None:
    """The headers every gateway response carries (§1.7)."""
    headers = response.headers
    assert headers["cache-control"] == CACHE_CONTROL
    assert headers["x-content-type-options"] == "nosniff"
    if correlation_id is None:
        assert headers["x-correlation-id"].startswith("rrt-")
    else:
        assert headers["x-correlation-id"] == correlation_id
    assert not [name for name in headers if name.lower().startswith("x-amz")]


def assert_errors(
    response: httpx.Response, status: int, expected: Sequence[Mapping[str, object]]
) -> list[dict[str, Any]]:
    """Status, standard headers and exactly these errors in this order, ids ``<rrt id>.<index>``."""
    assert response.status_code == status, response.text
    assert_standard_headers(response, response.request.headers.get("x-correlation-id"))
    errors: list[dict[str, Any]] = response.json()["errors"]
    generated = (
        response.headers["x-correlation-id"] if "x-correlation-id" not in response.request.headers else None
    )
    for index, error in enumerate(errors):
        prefix, _, suffix = error.pop("id").rpartition(".")
        assert suffix == str(index)
        assert prefix.startswith("rrt-")
        if generated is not None:
            assert prefix == generated
    assert errors == [dict(error) for error in expected]
    return errors


def assert_error(response: httpx.Response, status: int, expected: Mapping[str, object]) -> None:
    """Exactly one error, equal to ``expected`` once its id is checked and dropped."""
    assert_errors(response, status, [expected])


def message_body(**attributes: object) -> dict[str, object]:
    """A valid single-message body; keyword arguments replace attributes (a value of ... removes one)."""
    base: dict[str, object] = {
        "routingPlanId": GLOBAL_NHSAPP_PLAN,
        "messageReference": str(uuid.uuid4()),
        "recipient": {"nhsNumber": VALID_NHS_NUMBER},
        "originator": {"odsCode": "X26"},
        "personalisation": {"body": "test"},
    }
    base.update(attributes)
    return {"data": {"type": "Message", "attributes": {k: v for k, v in base.items() if v is not ...}}}


def batch_message(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "messageReference": str(uuid.uuid4()),
        "recipient": {"nhsNumber": VALID_NHS_NUMBER},
        "originator": {"odsCode": "X26"},
        "personalisation": {"body": "test"},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def batch_body(
    count: int = 3, *, messages: Sequence[object] | None = None, **attributes: object
) -> dict[str, object]:
    """A valid batch body with ``count`` messages (or the given ``messages``)."""
    base: dict[str, object] = {
        "routingPlanId": GLOBAL_NHSAPP_PLAN,
        "messageBatchReference": str(uuid.uuid4()),
        "messages": list(messages) if messages is not None else [batch_message() for _ in range(count)],
    }
    base.update(attributes)
    return {"data": {"type": "MessageBatch", "attributes": {k: v for k, v in base.items() if v is not ...}}}


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One pooled client for the focused tests (requests go over real loopback sockets)."""
    with httpx.Client(timeout=30.0) as client:
        yield client
