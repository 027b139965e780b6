"""POST /v1/messages: a single message is created with the documented answer, and every malformed body
is refused with the exact error at the exact field.

Proves api-behaviour.md §1.2 (the 201 answer), §1.6 (recipient and NHS number), §3.8 (body validation,
its pointers and order), §3.9 rule 6 (unknown routing plan) and §3.10 (the per-application rate limits),
and upstream-tests.md §3.6, §3.7 and the message rows of §3.10. Contact-detail and routing-plan scenarios
of the sandbox are in ``test_sandbox_scenarios.py``.
"""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import RATE_LIMIT_DETAILS, expected_error
from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._labels import behaviour

AREA = "messages"
FEATURE = "POST /v1/messages"
SECTION = "post-/v1/messages"
PATH = "/v1/messages"

ATTRIBUTES = "/data/attributes"
RECIPIENT = f"{ATTRIBUTES}/recipient"
NHS_NUMBER = f"{RECIPIENT}/nhsNumber"
PERSONALISATION = f"{ATTRIBUTES}/personalisation"
ORIGINATOR = f"{ATTRIBUTES}/originator"

#: A well-formed UUID that names no routing plan (the upstream tests force a leading zero likewise).
UNKNOWN_ROUTING_PLAN = "0badf00d-0000-4000-8000-000000000000"
LOCATION_DISCREPANCY = (
    "the contract's example Location is an absolute URL; the gateway sends the relative path "
    "/v1/messages/<id>, which this test asserts."
)
ROUTING_PLAN_POINTER_DISCREPANCY = (
    "the contract's pointer enum names /data/attributes/routingPlan; the gateway reports "
    "/data/attributes/routingPlanId, which this test asserts."
)
#: How long to wait before replaying a request the API said is still being processed (upstream waits 5 s).
REPLAY_PAUSE_S = 5.0
JSON = "application/json"
JSONAPI = "application/vnd.api+json"


def pointer_id(pointer: str) -> str:
    """A readable test id for a JSON pointer: ``/data/attributes/recipient`` -> ``attributes.recipient``."""
    return pointer.removeprefix("/data/").strip("/").replace("/", ".") or "data"


def send(api: ApiClient, body: Any, **kwargs: Any) -> httpx.Response:
    return api.post(PATH, json=body, **kwargs)


def valid_body(api: ApiClient, environment: Environment) -> dict[str, Any]:
    """The documented minimal message for this target's routing plan and patient."""
    return _bodies.message(api.target.routing_plan_id, _expect.recipient_nhs_number(environment))


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


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A valid message is created: 201, a Location and self link naming it, status created, "
    "the reference and routing plan echoed",
    severity="blocker",
    section=SECTION,
    ref="api-behaviour §1.2; upstream-tests §3.6",
)
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, JSON], ids=["jsonapi", "plain-json"])
def test_valid_message_is_created(api: ApiClient, notify_environment: Environment, media_type: str) -> None:
    if media_type != JSONAPI:  # production gets as few messages as proves the point
        _expect.skip_in_production(notify_environment)
    _expect.note_known_discrepancy("D4", LOCATION_DISCREPANCY)
    body = valid_body(api, notify_environment)
    response = send(api, body, accept=media_type, content_type=media_type)
    assert_message_created(response, api, body)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A recipient without an NHS number is accepted (the NHS number is optional at the gateway)",
    section=SECTION,
    ref="api-behaviour §1.6; upstream-tests §3.6 (undefined nhs number)",
)
@pytest.mark.writes
def test_recipient_without_nhs_number_is_accepted(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(valid_body(api, notify_environment), NHS_NUMBER)
    assert_message_created(send(api, body), api, body)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Optional members (billingReference, no originator, no personalisation) do not stop a message",
    section=SECTION,
    ref="api-behaviour §1.2, §3.8",
)
@pytest.mark.writes
@pytest.mark.parametrize("variant", ["billing-reference", "no-originator", "no-personalisation"])
def test_optional_members_are_optional(api: ApiClient, notify_environment: Environment, variant: str) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    if variant == "billing-reference":
        body = _bodies.replaced(body, f"{ATTRIBUTES}/billingReference", "cost-centre-42")
    elif variant == "no-originator":
        body = _bodies.without(body, ORIGINATOR)
    else:
        body = _bodies.without(body, PERSONALISATION)
    assert_message_created(send(api, body), api, body)


# ---- body validation ----------------------------------------------------------------------------------

REQUIRED = (
    "/data",
    "/data/type",
    ATTRIBUTES,
    f"{ATTRIBUTES}/routingPlanId",
    f"{ATTRIBUTES}/messageReference",
    RECIPIENT,
)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A body that is not JSON is refused with CM_INVALID_VALUE at '/'",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.7 (invalid body)",
)
@pytest.mark.parametrize("content", ["{}SF{}NOTVALID", ""], ids=["garbage", "empty"])
def test_unparseable_body_is_refused(api: ApiClient, notify_environment: Environment, content: str) -> None:
    _expect.skip_in_production(notify_environment)
    response = api.post(PATH, content=content, content_type=JSONAPI)
    _expect.expect_error(response, 400, "invalid_body")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Each missing required member is reported as CM_MISSING_VALUE at its own pointer",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.7 (property missing)",
)
@pytest.mark.parametrize("pointer", REQUIRED, ids=pointer_id)
def test_missing_member_is_reported(api: ApiClient, notify_environment: Environment, pointer: str) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(valid_body(api, notify_environment), pointer)
    _expect.expect_error(send(api, body), 400, "missing_value", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A body that is a JSON array, not an object, is reported as missing /data",
    section=SECTION,
    ref="api-behaviour §3.8",
)
def test_top_level_array_is_missing_data(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    _expect.expect_error(send(api, []), 400, "missing_value", pointer="/data")


NULLABLE = (*REQUIRED, NHS_NUMBER, ORIGINATOR, PERSONALISATION)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A required or optional member sent as null is reported as CM_NULL_VALUE at its pointer",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.7 (null, null personalisation)",
)
@pytest.mark.parametrize("pointer", NULLABLE, ids=pointer_id)
def test_null_member_is_reported(api: ApiClient, notify_environment: Environment, pointer: str) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), pointer, None)
    _expect.expect_error(send(api, body), 400, "null_value", pointer=pointer)


INVALID_VALUES: list[tuple[str, Any, str]] = [
    ("/data", "invalid string", "data-string"),
    ("/data", [], "data-array"),
    ("/data/type", "invalid string", "type-unknown"),
    ("/data/type", "MessageBatch", "type-batch"),
    (ATTRIBUTES, [], "attributes-array"),
    (f"{ATTRIBUTES}/routingPlanId", "invalid", "routingPlanId-not-uuid"),
    (f"{ATTRIBUTES}/routingPlanId", 5, "routingPlanId-number"),
    (f"{ATTRIBUTES}/messageReference", ["invalid"], "messageReference-array"),
    (f"{ATTRIBUTES}/messageReference", "", "messageReference-empty"),
    (f"{ATTRIBUTES}/messageReference", "   ", "messageReference-blank"),
    (RECIPIENT, "invalid string", "recipient-string"),
    (RECIPIENT, [], "recipient-array"),
    (ORIGINATOR, "X26", "originator-string"),
    (f"{ORIGINATOR}/odsCode", 5, "odsCode-number"),
    (f"{ORIGINATOR}/odsCode", None, "odsCode-null"),
    (PERSONALISATION, 5, "personalisation-number"),
    (PERSONALISATION, "", "personalisation-empty-string"),
    (PERSONALISATION, "some-string", "personalisation-string"),
    (PERSONALISATION, [], "personalisation-array"),
]


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A member of the wrong type or form is reported as CM_INVALID_VALUE at its pointer",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.8; upstream-tests §3.7 (invalid, routingPlanId, messageReference, personalisation)",
)
@pytest.mark.parametrize(
    ("pointer", "value"),
    [(pointer, value) for pointer, value, _ in INVALID_VALUES],
    ids=[name for _, _, name in INVALID_VALUES],
)
def test_invalid_member_is_reported(
    api: ApiClient, notify_environment: Environment, pointer: str, value: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), pointer, value)
    _expect.expect_error(send(api, body), 400, "invalid_value", pointer=pointer)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="An NHS number that is not ten digits with a valid Modulus 11 check digit is refused",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §1.6; upstream-tests §3.7 (invalid NHS number)",
)
@pytest.mark.parametrize("nhs_number", _bodies.INVALID_NHS_NUMBERS, ids=json.dumps)
def test_invalid_nhs_number_is_refused(
    api: ApiClient, notify_environment: Environment, nhs_number: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(valid_body(api, notify_environment), NHS_NUMBER, nhs_number)
    _expect.expect_error(send(api, body), 400, "invalid_nhs_number", pointer=NHS_NUMBER)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Every problem in a body is reported at once, in document order, with ids .0, .1, .2",
    section=SECTION,
    ref="api-behaviour §3.8 (errors accumulate; order)",
)
def test_all_problems_are_reported_in_order(api: ApiClient, notify_environment: Environment) -> None:
    _expect.skip_in_production(notify_environment)
    body = valid_body(api, notify_environment)
    body = _bodies.replaced(body, f"{ATTRIBUTES}/routingPlanId", "invalid")
    body = _bodies.without(body, f"{ATTRIBUTES}/messageReference")
    body = _bodies.replaced(body, NHS_NUMBER, "abcdefghij")
    body = _bodies.replaced(body, PERSONALISATION, [])
    _expect.expect_error_list(
        send(api, body),
        400,
        [
            expected_error("invalid_value", pointer=f"{ATTRIBUTES}/routingPlanId"),
            expected_error("missing_value", pointer=f"{ATTRIBUTES}/messageReference"),
            expected_error("invalid_nhs_number", pointer=NHS_NUMBER),
            expected_error("invalid_value", pointer=PERSONALISATION),
        ],
    )


# ---- routing plans and duplicates ---------------------------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A well-formed routing plan id that names no plan of this client is refused with "
    "CM_NO_SUCH_ROUTING_PLAN",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.9 rule 6; upstream-tests §3.10",
)
@pytest.mark.writes
def test_unknown_routing_plan_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    _expect.note_known_discrepancy("D2", ROUTING_PLAN_POINTER_DISCREPANCY)
    body = _bodies.replaced(
        valid_body(api, notify_environment), f"{ATTRIBUTES}/routingPlanId", UNKNOWN_ROUTING_PLAN
    )
    _expect.expect_error(send(api, body), 404, "no_such_routing_plan")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Sending the same messageReference twice is refused the second time with 422 CM_DUPLICATE_REQUEST",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §1.2 (duplicate messageReference); upstream-tests §3.6 (422 duplicate)",
)
@pytest.mark.stateful
@pytest.mark.writes
def test_duplicate_message_reference_is_refused(api: ApiClient, notify_environment: Environment) -> None:
    body = valid_body(api, notify_environment)
    assert_message_created(send(api, body), api, body)
    replay = send(api, body, retry=False)  # a 425 is an answer this test judges, not one to wait out
    if replay.status_code == 425:  # documented while the first is still being processed; it settles to 422
        _expect.expect_error(replay, 425, "retry_too_early")
        time.sleep(REPLAY_PAUSE_S)
        replay = send(api, body)
    _expect.expect_error(replay, 422, "duplicate_message_request")


# ---- rate limiting ------------------------------------------------------------------------------------

#: The local reference's ``throttled`` client has limits of its own, far below live's 1,200 a minute
#: and spike arrest of 6,000: a quota of 3 requests a minute and a spike arrest of one request a second.
THROTTLED_QUOTA = 3
THROTTLED_SPIKE_INTERVAL_S = 1.0
#: A little over the spike interval, so that paced requests are never a spike.
THROTTLED_PACE_S = THROTTLED_SPIKE_INTERVAL_S + 0.1
#: What the gateway's Retry-After says after a quota breach, and after a spike-arrest breach.
RETRY_AFTER_QUOTA = "60"
RETRY_AFTER_SPIKE = "1"
#: RFC 9110 §10.2.3 delay-seconds: a whole number of seconds.
DELAY_SECONDS = re.compile(r"[0-9]+")
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


def assert_retry_after(response: httpx.Response, expected: str) -> None:
    """Retry-After is there, a whole number of seconds (not a date, not words), and the documented one."""
    value = response.headers.get("Retry-After")
    assert value is not None, f"a rate-limited 429 must carry Retry-After: {_expect.describe(response)}"
    assert DELAY_SECONDS.fullmatch(value), f"Retry-After should be a whole number of seconds, got {value!r}"
    assert value == expected, f"Retry-After should be {expected}, got {value!r}: {_expect.describe(response)}"


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
    assert_retry_after(response, retry_after)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="An application over its quota gets 429 CM_QUOTA naming the application and its quota, "
    "with Retry-After: 60",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.10",
)
@pytest.mark.needs_auth
@pytest.mark.writes
@pytest.mark.extra_client("throttled")
def test_quota_breach_is_rate_limited(extra_api: ApiFactory, notify_environment: Environment) -> None:
    throttled = extra_api("throttled")
    time.sleep(THROTTLED_PACE_S)  # clear of the spike arrest, whatever this client sent before
    response: httpx.Response | None = None
    for _ in range(THROTTLED_QUOTA + 1):
        body = valid_body(throttled, notify_environment)
        response = send(throttled, body, retry=False)  # the 429 is what this test judges
        if response.status_code == 429:
            break
        assert_message_created(response, throttled, body)
        time.sleep(THROTTLED_PACE_S)
    assert response is not None
    expect_rate_limited(response, "app_quota", RETRY_AFTER_QUOTA, limit=str(THROTTLED_QUOTA))


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="An application sending faster than its spike arrest allows gets 429 CM_QUOTA naming the "
    "application, with Retry-After: 1",
    severity="critical",
    section=SECTION,
    ref="api-behaviour §3.10",
)
@pytest.mark.needs_auth
@pytest.mark.writes
@pytest.mark.extra_client("throttled")
def test_spike_arrest_breach_is_rate_limited(extra_api: ApiFactory, notify_environment: Environment) -> None:
    throttled = extra_api("throttled")
    first = send(throttled, valid_body(throttled, notify_environment), retry=False)
    # 429 when this client's quota or an earlier request's spike arrest still holds; either way the
    # next request, straight after this one, is a spike
    assert first.status_code in (201, 429), f"expected 201 or 429: {_expect.describe(first)}"
    second = send(throttled, valid_body(throttled, notify_environment), retry=False)
    expect_rate_limited(second, "app_spike", RETRY_AFTER_SPIKE)
