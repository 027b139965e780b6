"""POST /v1/messages: a single message is created with the documented answer, a message reference is
used once, and the per-application rate limits hold.

Proves behaviour §1.2 (the 201 answer, duplicates), §1.6 (recipient and NHS number), §3.10 (the
per-application rate limits) and upstream §3.6 and §3.7. The body validation of a message is in
``test_create_validation.py`` and the sandbox's scenarios for a message in ``test_sandbox_triggers.py``.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import RATE_LIMIT_DETAILS
from conformance.client import JSONAPI, ApiClient
from conformance.environments import ClientLimits, Environment
from conformance.suite import _bodies, _expect
from conformance.suite._expect import MESSAGE

#: this module's labels: CREATE_MESSAGE's area, feature and NHS documentation section
behaviour = _expect.operation_labels(_expect.CREATE_MESSAGE)

ATTRIBUTES = "/data/attributes"
RECIPIENT = f"{ATTRIBUTES}/recipient"
NHS_NUMBER = f"{RECIPIENT}/nhsNumber"
PERSONALISATION = f"{ATTRIBUTES}/personalisation"
ORIGINATOR = f"{ATTRIBUTES}/originator"

LOCATION_DISCREPANCY = (
    "the contract's example Location is an absolute URL; the gateway sends the relative path "
    "/v1/messages/<id>, which this test asserts."
)


send = MESSAGE.send
valid_body = MESSAGE.valid_body


def assert_message_created(response: httpx.Response, api: ApiClient, body: dict[str, Any]) -> str:
    """The documented 201 answer for ``body``; returns the new message id."""
    data = _expect.success_data(response, 201)
    sent = body["data"]["attributes"]
    assert data.get("type") == "Message", f"data.type should be 'Message', got {data.get('type')!r}"
    message_id = data.get("id")
    _expect.assert_ksuid(message_id, "data.id")
    attributes = data["attributes"]
    assert attributes.get("messageStatus") == "created", (
        f"messageStatus is {attributes.get('messageStatus')!r}"
    )
    assert attributes.get("messageReference") == sent["messageReference"], "messageReference is not echoed"
    _expect.assert_routing_plan(attributes.get("routingPlan"), sent["routingPlanId"])
    _expect.assert_timestamp(attributes.get("timestamps", {}).get("created"), "timestamps.created")
    self_link = data.get("links", {}).get("self")
    assert isinstance(self_link, str), f"data.links.self is missing: {data.get('links')!r}"
    assert self_link.startswith(api.target.base_url + "/"), (
        f"links.self {self_link!r} is not under the base URL"
    )
    assert self_link.endswith(f"/v1/messages/{message_id}"), (
        f"links.self {self_link!r} does not name the message"
    )
    location = response.headers.get("Location")
    assert location == f"/v1/messages/{message_id}", (
        f"Location should be /v1/messages/{message_id}, got {location!r}"
    )
    return str(message_id)


# ---- success ------------------------------------------------------------------------------------------


@behaviour(severity="blocker", ref="behaviour §1.2; upstream §3.6")
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, _expect.PLAIN_JSON], ids=["jsonapi", "plain-json"])
def test_valid_message_is_created(api: ApiClient, notify_environment: Environment, media_type: str) -> None:
    """A valid message is created: 201, a Location and self link naming it, status created, the reference and
    routing plan echoed."""
    if media_type != JSONAPI:  # production gets as few messages as proves the point
        _expect.skip_in_production(notify_environment)
    _expect.note_known_discrepancy("D1", LOCATION_DISCREPANCY)
    body = valid_body(api, notify_environment)
    response = send(api, body, accept=media_type, content_type=media_type)
    assert_message_created(response, api, body)


@behaviour(ref="behaviour §1.6; upstream §3.6 (undefined nhs number)")
@pytest.mark.writes
def test_recipient_without_nhs_number_is_accepted(api: ApiClient, notify_environment: Environment) -> None:
    """A recipient without an NHS number is accepted (the NHS number is optional at the gateway)."""
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(valid_body(api, notify_environment), NHS_NUMBER)
    assert_message_created(send(api, body), api, body)


@behaviour(ref="behaviour §1.2, §3.8")
@pytest.mark.writes
@pytest.mark.parametrize("variant", ["billing-reference", "no-originator", "no-personalisation"])
def test_optional_members_are_optional(api: ApiClient, notify_environment: Environment, variant: str) -> None:
    """Optional members (billingReference, no originator, no personalisation) do not stop a message."""
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    if variant == "billing-reference":
        body = _bodies.replaced(body, f"{ATTRIBUTES}/billingReference", "cost-centre-42")
    elif variant == "no-originator":
        body = _bodies.without(body, ORIGINATOR)
    else:
        body = _bodies.without(body, PERSONALISATION)
    assert_message_created(send(api, body), api, body)


# ---- duplicates ---------------------------------------------------------------------------------------


@behaviour(
    severity="critical", ref="behaviour §1.2 (duplicate messageReference); upstream §3.6 (422 duplicate)"
)
@pytest.mark.stateful
@pytest.mark.writes
def test_duplicate_message_reference_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    """Sending the same messageReference twice is refused the second time with 422 CM_DUPLICATE_REQUEST."""
    body = valid_body(api, notify_environment)
    assert_message_created(send(api, body), api, body)
    _expect.expect_error(MESSAGE.send_again(api, body), 422, "duplicate_message_request")


# ---- rate limiting ------------------------------------------------------------------------------------

#: The ``throttled`` client has limits of its own, far below live's quota of 1,200 a minute and spike
#: arrest of 6,000; the environment that made it says what they are (``Credentials.limits``).
#: Requests paced this much over the spike interval are never a spike.
THROTTLED_PACE_MARGIN_S = 0.05
#: What the gateway's Retry-After says after a quota breach, and after a spike-arrest breach.
RETRY_AFTER_QUOTA = "60"
RETRY_AFTER_SPIKE = "1"
ApiFactory = Callable[[str], ApiClient]


def detail_pattern(template: str) -> re.Pattern[str]:
    """A regex for a rate-limit detail template: ``{app_name}`` is any name, other fields whole numbers."""
    parts: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name == "app_name":
            parts.append("(?P<app_name>.+?)")
        elif name:
            parts.append(f"(?P<{name}>[0-9]+)")
    return re.compile("".join(parts))


def first_error_detail(response: httpx.Response) -> object:
    try:
        return response.json()["errors"][0]["detail"]
    except (ValueError, LookupError, TypeError):
        return None


def own_limits(client: ApiClient) -> ClientLimits:
    """The limits the environment gave the special client ``client`` is authenticated as."""
    credentials = client.target.credentials
    if credentials is None or credentials.limits is None:
        pytest.skip("the environment does not say what this client's own rate limits are")
    return credentials.limits


def expect_rate_limited(response: httpx.Response, kind: str, retry_after: str, **fields: str) -> None:
    """Exactly the rate limiter's 429 CM_QUOTA of ``kind`` (``app_quota``, ``app_spike``), whose detail
    names the application (and, for ``fields``, says these values), with a usable Retry-After."""
    _expect.expect_status(response, 429)
    template = RATE_LIMIT_DETAILS[kind]
    detail = first_error_detail(response)
    match = detail_pattern(template).fullmatch(detail) if isinstance(detail, str) else None
    assert match, f"the CM_QUOTA detail should read {template!r}: {_expect.describe(response)}"
    for name, value in fields.items():
        assert match[name] == value, f"the detail should say {name} {value}, got {match[name]!r}"
    _expect.expect_error(response, 429, "rate_limited", detail=template.format(**match.groupdict()))
    _expect.expect_retry_after(response, retry_after)


@behaviour(severity="critical", ref="behaviour §3.10")
@pytest.mark.needs_auth
@pytest.mark.writes
@pytest.mark.extra_client("throttled")
def test_quota_breach_is_rate_limited(extra_api: ApiFactory, notify_environment: Environment) -> None:
    """An application over its quota gets 429 CM_QUOTA naming the application and its quota, with Retry-After:
    60."""
    throttled = extra_api("throttled")
    limits = own_limits(throttled)
    pace_s = limits.spike_interval_s + THROTTLED_PACE_MARGIN_S
    time.sleep(pace_s)  # clear of the spike arrest, whatever this client sent before
    response: httpx.Response | None = None
    for _ in range(limits.quota_per_minute + 1):
        body = valid_body(throttled, notify_environment)
        response = send(throttled, body, judge=(429,))  # the 429 is what this test judges
        if response.status_code == 429:
            break
        assert_message_created(response, throttled, body)
        time.sleep(pace_s)
    assert response is not None
    expect_rate_limited(response, "app_quota", RETRY_AFTER_QUOTA, limit=str(limits.quota_per_minute))


@behaviour(severity="critical", ref="behaviour §3.10")
@pytest.mark.needs_auth
@pytest.mark.writes
@pytest.mark.extra_client("throttled")
def test_spike_arrest_breach_is_rate_limited(extra_api: ApiFactory, notify_environment: Environment) -> None:
    """An application sending faster than its spike arrest allows gets 429 CM_QUOTA naming the application,
    with Retry-After: 1."""
    throttled = extra_api("throttled")
    first = send(throttled, valid_body(throttled, notify_environment), judge=(429,))
    # 429 when this client's quota or an earlier request's spike arrest still holds; either way the
    # next request, straight after this one, is a spike
    assert first.status_code in (201, 429), f"expected 201 or 429: {_expect.describe(first)}"
    second = send(throttled, valid_body(throttled, notify_environment), judge=(429,))
    expect_rate_limited(second, "app_spike", RETRY_AFTER_SPIKE)
