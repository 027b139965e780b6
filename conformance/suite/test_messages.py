"""POST /v1/messages: a single message is created with the documented answer, a message reference is
used once, the per-application rate limits hold, and the sandbox's scenarios for a message (Prefer
triggers, routing plans, contact details, account switches) give their documented answers.

Proves behaviour §1.2 (the 201 answer, duplicates), §1.6 (recipient and NHS number), §3.10 (the
per-application rate limits), §4.1-§4.4 (the sandbox's scenarios) and upstream §3.6, §3.7 and the
message rows of §3.10. The body validation of a message is in ``test_create_validation.py``.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import CONTACT_DETAIL_PROBLEMS, RATE_LIMIT_DETAILS, expected_error
from conformance.client import JSONAPI, ApiClient
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

LOCATION_DISCREPANCY = (
    "the contract's example Location is an absolute URL; the gateway sends the relative path "
    "/v1/messages/<id>, which this test asserts."
)
#: How long to wait before replaying a request the API said is still being processed (upstream waits 5 s).
REPLAY_PAUSE_S = 5.0


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
    ref="behaviour §1.2; upstream §3.6",
)
@pytest.mark.writes
@pytest.mark.smoke
@pytest.mark.parametrize("media_type", [JSONAPI, _expect.PLAIN_JSON], ids=["jsonapi", "plain-json"])
def test_valid_message_is_created(api: ApiClient, notify_environment: Environment, media_type: str) -> None:
    if media_type != JSONAPI:  # production gets as few messages as proves the point
        _expect.skip_in_production(notify_environment)
    _expect.note_known_discrepancy("D1", LOCATION_DISCREPANCY)
    body = valid_body(api, notify_environment)
    response = send(api, body, accept=media_type, content_type=media_type)
    assert_message_created(response, api, body)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A recipient without an NHS number is accepted (the NHS number is optional at the gateway)",
    section=SECTION,
    ref="behaviour §1.6; upstream §3.6 (undefined nhs number)",
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
    ref="behaviour §1.2, §3.8",
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


# ---- duplicates ---------------------------------------------------------------------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Sending the same messageReference twice is refused the second time with 422 CM_DUPLICATE_REQUEST",
    severity="critical",
    section=SECTION,
    ref="behaviour §1.2 (duplicate messageReference); upstream §3.6 (422 duplicate)",
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
    ref="behaviour §3.10",
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
    ref="behaviour §3.10",
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


# ---- sandbox scenarios --------------------------------------------------------------------------------
# Prefer triggers, the routing-plan outcome table, contact details and account switches; they run only
# where the target offers scenario triggers (the sandbox, and the local reference in sandbox mode).


def message_with_contact_details(details: Any) -> dict[str, Any]:
    return _bodies.replaced(_bodies.message(_bodies.SANDBOX_PLAN), f"{RECIPIENT}/contactDetails", details)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story=f"Each sandbox Prefer trigger gives its canned error on {FEATURE}",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.1; upstream §3.5, §4",
)
@pytest.mark.scenario
@pytest.mark.parametrize("code", list(_bodies.PREFER_TRIGGERS), ids=lambda code: f"code={code}")
def test_prefer_trigger_on_create_message(api: ApiClient, notify_environment: Environment, code: str) -> None:
    status, error, retry_after = _bodies.PREFER_TRIGGERS[code]
    # retry=False: the 425, 429 and 503 answers are what this test judges, not something to wait out
    headers = {"Prefer": f"code={code}"}
    response = _expect.send(api, _expect.CREATE_MESSAGE, notify_environment, headers=headers, retry=False)
    _expect.expect_error(response, status, error)
    got = response.headers.get("Retry-After")
    assert retry_after in (None, got), f"Retry-After should be {retry_after}, got {got!r}"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Each routing plan the sandbox offers accepts a message and reports its own published version",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.3; upstream §3.8 (valid routing plan ids), §4",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", list(_bodies.ACCEPTED_PLANS))
def test_sandbox_plan_accepts_message(api: ApiClient, plan_id: str) -> None:
    data = _expect.success_data(send(api, _bodies.message(plan_id)), 201)
    plan = data["attributes"]["routingPlan"]
    expected = _bodies.sandbox_routing_plan(plan_id, _bodies.ACCEPTED_PLANS[plan_id])
    assert plan == expected, f"routingPlan should be {expected!r}, got {plan!r}"


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="The sandbox's failing routing plans give their documented errors for a message",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.9 rules 6, 8-10, §4.3; upstream §3.10",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("plan_id", "status", "error", "retry_after"), _bodies.FAILING_PLANS)
def test_sandbox_plan_failure_for_message(
    api: ApiClient, plan_id: str, status: int, error: Mapping[str, Any], retry_after: str | None
) -> None:
    response = send(api, _bodies.message(plan_id), retry=False)
    _expect.expect_errors(response, status, [error])
    got = response.headers.get("Retry-After")
    assert retry_after in (None, got), f"Retry-After should be {retry_after}, got {got!r}"


#: Global free-text plans the documentation lists but the sandbox's table lacks (behaviour §7.6).
MISSING_GLOBAL_PLANS = tuple(f"00000000-0000-0000-0000-00000000000{n}" for n in range(4, 8))


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Known discrepancy D27: the global NHS App cascade plans ...0004 to ...0007 are documented but "
    "the sandbox answers 404 No such routing plan",
    severity="minor",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §1.6, §4.3, §7.6",
)
@pytest.mark.scenario
@pytest.mark.parametrize("plan_id", MISSING_GLOBAL_PLANS, ids=lambda plan: f"plan-{plan[-4:]}")
def test_sandbox_lacks_cascade_global_plans(api: ApiClient, plan_id: str) -> None:
    _expect.note_known_discrepancy("D27")
    _expect.expect_error(send(api, _bodies.message(plan_id)), 404, "no_such_routing_plan")


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="The sandbox accepts override contact details in each documented phone-number style",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §1.6, §4.4; upstream §3.6 (valid contact details)",
)
@pytest.mark.scenario
@pytest.mark.parametrize("sms", _bodies.VALID_SMS_NUMBERS)
def test_contact_details_are_accepted(api: ApiClient, sms: str) -> None:
    response = send(api, message_with_contact_details(_bodies.contact_details(sms)))
    _expect.success_data(response, 201)


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Contact details of the wrong type are refused with CM_INVALID_VALUE and a detail naming "
    "the problem",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.4; upstream §2 (contact details), §3.7",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("details", "field", "problem"), _bodies.BAD_CONTACT_DETAILS)
def test_bad_contact_details_in_message(api: ApiClient, details: Any, field: str, problem: str) -> None:
    pointer = f"{RECIPIENT}/contactDetails/{field}"
    expected = expected_error("invalid_value", pointer=pointer, detail=CONTACT_DETAIL_PROBLEMS[problem])
    _expect.expect_errors(send(api, message_with_contact_details(details)), 400, [expected])


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="Every wrongly typed contact detail is reported, one error per field",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.4 (all failing fields are reported)",
)
@pytest.mark.scenario
def test_every_bad_contact_detail_is_reported(api: ApiClient) -> None:
    details = {"sms": 1234, "email": 1234, "name": {"firstName": 5}}
    prefix = f"{RECIPIENT}/contactDetails"
    expected = [
        expected_error("invalid_value", pointer=f"{prefix}/sms", detail="'sms' is not a string"),
        expected_error("invalid_value", pointer=f"{prefix}/email", detail="'email' is not a string"),
        expected_error("invalid_value", pointer=f"{prefix}/name", detail="'firstName' is not a string"),
    ]
    _expect.expect_error_list(send(api, message_with_contact_details(details)), 400, expected)


# ---- sandbox account switches (Authorization values the sandbox backend reads) -------------------------


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="A client not allowed to override contact details is refused when it sends them, and "
    "accepted when it does not",
    severity="critical",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §4.2 (notAllowedContactDetailOverride); upstream §3.7",
)
@pytest.mark.scenario
@pytest.mark.parametrize("with_details", [True, False], ids=["with-contact-details", "without"])
def test_contact_detail_override_not_allowed_for_message(api: ApiClient, with_details: bool) -> None:
    plain = _bodies.message(_bodies.SANDBOX_PLAN)
    body = message_with_contact_details(_bodies.contact_details()) if with_details else plain
    response = send(api, body, headers={"Authorization": "notAllowedContactDetailOverride"})
    if with_details:
        _expect.expect_error(response, 400, "cannot_set_contact_details")
    else:
        _expect.success_data(response, 201)


#: (Authorization switch, whether the message names an originator ODS code, the error or None for 201)
ODS_SWITCHES = [
    pytest.param("noDefaultOds", False, "ods_code_required", id="noDefaultOds-without-ods"),
    pytest.param("noDefaultOds", True, None, id="noDefaultOds-with-ods"),
    pytest.param("noOdsChange", True, "cannot_set_ods_code", id="noOdsChange-with-ods"),
    pytest.param("noOdsChange", False, None, id="noOdsChange-without-ods"),
]


@behaviour(
    area=AREA,
    feature=FEATURE,
    story="An account without a default ODS code must name one, and an account that may not change it "
    "must not (the error points at /data/attributes/messages: known discrepancy D12)",
    section=_bodies.SANDBOX_SECTION,
    ref="behaviour §3.9 rule 8, §4.2, §7.3",
)
@pytest.mark.scenario
@pytest.mark.parametrize(("switch", "with_ods", "error"), ODS_SWITCHES)
def test_ods_code_switches_for_message(
    api: ApiClient, switch: str, with_ods: bool, error: str | None
) -> None:
    body = _bodies.message(_bodies.SANDBOX_PLAN)
    if not with_ods:
        body = _bodies.without(body, ORIGINATOR)
    response = send(api, body, headers={"Authorization": switch})
    if error is None:
        _expect.success_data(response, 201)
    else:
        _expect.note_known_discrepancy("D12")
        _expect.expect_error(response, 400, error)
