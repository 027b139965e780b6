"""The sandbox's scenario triggers on the operations: each Prefer code, routing plan, set of override
contact details and account switch gets the answer the sandbox documents for it.

One test serves every operation a scenario applies to. Each case belongs to its operation's area
(``messages``, ``batches``, ``get message`` or ``NHS App accounts``) and carries that area itself, so this
module has none of its own. The tests run only where the target offers scenario triggers (the sandbox,
and the local reference in sandbox mode). The sandbox's auth triggers are in ``test_auth.py``, its
triggers before routing and fault paths in ``test_routing.py``, its stored messages in
``test_get_message.py`` and its practices in ``test_nhsapp_accounts.py``.

Proves behaviour §1.6, §3.9 rules 6 and 8-10, §4.1-§4.4, §7.3, §7.6 and §7.13, and upstream §3.5, §4 and
the sandbox rows of §3.6-§3.10.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from conformance.checks.catalogue import CONTACT_DETAIL_PROBLEMS, expected_error
from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._bodies import SANDBOX_SECTION
from conformance.suite._expect import BATCH, CREATES, MESSAGE, Create, OperationRequest
from conformance.suite._labels import for_module

#: this module's labels: each case names its own area and operation (``_labels.case``)
behaviour = for_module(area=None, feature=None)

pytestmark = pytest.mark.scenario

#: Where a message's override contact details go (``{message}``: see ``Create.pointer``).
CONTACT_DETAILS = "{message}/recipient/contactDetails"


# ---- Prefer triggers ----------------------------------------------------------------------------------


@behaviour(ref="behaviour §4.1; upstream §3.5, §4")
@pytest.mark.parametrize(
    ("operation", "code"),
    [
        _expect.operation_case(op, op, code, id=f"{op.id}-code={code}", section=SANDBOX_SECTION)
        for op in _expect.ALL_OPERATIONS
        for code in _bodies.PREFER_TRIGGERS
    ],
)
def test_prefer_trigger(
    api: ApiClient, notify_environment: Environment, operation: OperationRequest, code: str
) -> None:
    """Each sandbox Prefer trigger gives its canned error on every operation."""
    status, error, retry_after = _bodies.PREFER_TRIGGERS[code]
    # the trigger's 425, 429 or 503 is what this test judges; any other throttling is waited out
    headers = {"Prefer": f"code={code}"}
    response = _expect.send(api, operation, notify_environment, headers=headers, judge=(status,))
    _expect.expect_error(response, status, error)
    _expect.expect_retry_after(response, retry_after)


# ---- routing plans ------------------------------------------------------------------------------------

#: The version every sandbox batch reports, whatever the plan (behaviour §7.13).
SANDBOX_BATCH_PLAN_VERSION = "1"
#: Global free-text plans the documentation lists but the sandbox's table lacks (behaviour §7.6).
MISSING_GLOBAL_PLANS = tuple(f"00000000-0000-0000-0000-00000000000{n}" for n in range(4, 8))


@behaviour(ref="behaviour §4.3, §7.13; upstream §3.8 (valid routing plan ids), §4")
@pytest.mark.parametrize(
    ("create", "plan_id", "version"),
    [
        MESSAGE.case(plan_id, version, id=plan_id, section=SANDBOX_SECTION)
        for plan_id, version in _bodies.ACCEPTED_PLANS.items()
    ]
    + [
        BATCH.case(plan_id, SANDBOX_BATCH_PLAN_VERSION, id=plan_id, section=SANDBOX_SECTION)
        for plan_id in _bodies.ACCEPTED_PLANS
    ],
)
def test_sandbox_plan_is_accepted(api: ApiClient, create: Create, plan_id: str, version: str) -> None:
    """Each routing plan the sandbox offers accepts a message, which reports the plan's published version, and
    a batch, which reports version '1' (known discrepancy D31)."""
    if version != _bodies.ACCEPTED_PLANS[plan_id]:  # not the plan's own version: a batch's "1"
        _expect.note_known_discrepancy("D31")
    data = _expect.success_data(create.send(api, create.sandbox_body(plan_id)), 201)
    plan = data["attributes"]["routingPlan"]
    expected = _bodies.sandbox_routing_plan(plan_id, version)
    assert plan == expected, f"routingPlan should be {expected!r}, got {plan!r}"


@behaviour(severity="critical", ref="behaviour §3.9 rules 6, 8-10, §4.3; upstream §3.5 (425), §3.10")
@pytest.mark.parametrize(
    ("create", "plan_id", "status", "error", "retry_after"),
    [
        create.case(*plan.values, id=str(plan.id), section=SANDBOX_SECTION)
        for create in CREATES
        for plan in _bodies.FAILING_PLANS
    ],
)
def test_sandbox_plan_failure(
    api: ApiClient,
    create: Create,
    plan_id: str,
    status: int,
    error: Mapping[str, Any],
    retry_after: str | None,
) -> None:
    """The sandbox's failing routing plans give their documented errors for a message and a batch."""
    response = create.send(api, create.sandbox_body(plan_id), judge=(status,))
    _expect.expect_errors(response, status, [error])
    _expect.expect_retry_after(response, retry_after)


@behaviour(severity="minor", ref="behaviour §1.6, §4.3, §7.6")
@pytest.mark.parametrize(
    ("create", "plan_id"),
    [MESSAGE.case(plan, id=f"plan-{plan[-4:]}", section=SANDBOX_SECTION) for plan in MISSING_GLOBAL_PLANS],
)
def test_sandbox_lacks_cascade_global_plans(api: ApiClient, create: Create, plan_id: str) -> None:
    """Known discrepancy D27: the global NHS App cascade plans ...0004 to ...0007 are documented but the
    sandbox answers 404 No such routing plan."""
    _expect.note_known_discrepancy("D27")
    _expect.expect_error(create.send(api, create.sandbox_body(plan_id)), 404, "no_such_routing_plan")


# ---- override contact details -------------------------------------------------------------------------


@behaviour(ref="behaviour §1.6, §4.4; upstream §3.6 (valid contact details), §3.8 (valid contact details)")
@pytest.mark.parametrize(
    ("create", "sms"),
    [
        create.case(sms, id=sms, section=SANDBOX_SECTION)
        for create in CREATES
        for sms in _bodies.VALID_SMS_NUMBERS
    ],
)
def test_contact_details_are_accepted(api: ApiClient, create: Create, sms: str) -> None:
    """The sandbox accepts override contact details, on a message and on a batch's first message, in each
    documented phone-number style."""
    details = _bodies.contact_details(sms)
    body = _bodies.replaced(create.sandbox_body(), create.pointer(CONTACT_DETAILS), details)
    _expect.success_data(create.send(api, body), 201)


@behaviour(
    severity="critical", ref="behaviour §4.4; upstream §2 (contact details), §3.7, §3.9 (contact details)"
)
@pytest.mark.parametrize(
    ("create", "details", "field", "problem"),
    [
        create.case(*bad.values, id=str(bad.id), section=SANDBOX_SECTION)
        for create in CREATES
        for bad in _bodies.BAD_CONTACT_DETAILS
    ],
)
def test_bad_contact_details_are_refused(
    api: ApiClient, create: Create, details: Any, field: str, problem: str
) -> None:
    """Contact details of the wrong type are refused with CM_INVALID_VALUE and a detail naming the problem, at
    the message that sends them (in a batch, that message's index)."""
    at = create.pointer(CONTACT_DETAILS, index=1)
    body = _bodies.replaced(create.sandbox_body(), at, details)
    expected = expected_error(
        "invalid_value", pointer=f"{at}/{field}", detail=CONTACT_DETAIL_PROBLEMS[problem]
    )
    _expect.expect_errors(create.send(api, body), 400, [expected])


@behaviour(ref="behaviour §4.4 (all failing fields are reported)")
@pytest.mark.parametrize("create", [MESSAGE.case(section=SANDBOX_SECTION)])
def test_every_bad_contact_detail_is_reported(api: ApiClient, create: Create) -> None:
    """Every wrongly typed contact detail is reported, one error per field."""
    details = {"sms": 1234, "email": 1234, "name": {"firstName": 5}}
    at = create.pointer(CONTACT_DETAILS)
    body = _bodies.replaced(create.sandbox_body(), at, details)
    expected = [
        expected_error("invalid_value", pointer=f"{at}/sms", detail="'sms' is not a string"),
        expected_error("invalid_value", pointer=f"{at}/email", detail="'email' is not a string"),
        expected_error("invalid_value", pointer=f"{at}/name", detail="'firstName' is not a string"),
    ]
    _expect.expect_error_list(create.send(api, body), 400, expected)


# ---- account switches (Authorization values the sandbox backend reads) --------------------------------


@behaviour(severity="critical", ref="behaviour §4.2 (notAllowedContactDetailOverride); upstream §3.7, §3.9")
@pytest.mark.parametrize(
    ("create", "sent_at"),  # sent_at: the message that carries contact details (None: no message does)
    [
        MESSAGE.case(0, id="with-contact-details", section=SANDBOX_SECTION),
        MESSAGE.case(None, id="without", section=SANDBOX_SECTION),
        BATCH.case(2, id="at-message-2", section=SANDBOX_SECTION),
    ],
)
def test_contact_detail_override_not_allowed(api: ApiClient, create: Create, sent_at: int | None) -> None:
    """A client not allowed to override contact details is refused at the message that sends them, and
    accepted when it sends none."""
    headers = {"Authorization": "notAllowedContactDetailOverride"}
    if sent_at is None:
        _expect.success_data(create.send(api, create.sandbox_body(), headers=headers), 201)
        return
    pointer = create.pointer(CONTACT_DETAILS, sent_at)
    body = _bodies.replaced(create.sandbox_body(), pointer, _bodies.contact_details())
    response = create.send(api, body, headers=headers)
    _expect.expect_error(response, 400, "cannot_set_contact_details", pointer=pointer)


#: (create, Authorization switch, which of its messages name an originator ODS code, the error or None for
#: 201); in a batch only message 1 offends
ODS_SWITCHES = [
    (MESSAGE, "noDefaultOds", (False,), "ods_code_required", "noDefaultOds-without-ods"),
    (MESSAGE, "noDefaultOds", (True,), None, "noDefaultOds-with-ods"),
    (MESSAGE, "noOdsChange", (True,), "cannot_set_ods_code", "noOdsChange-with-ods"),
    (MESSAGE, "noOdsChange", (False,), None, "noOdsChange-without-ods"),
    (BATCH, "noDefaultOds", (True, False, True), "ods_code_required", "noDefaultOds-one-without"),
    (BATCH, "noDefaultOds", (True, True, True), None, "noDefaultOds-all-with"),
    (BATCH, "noOdsChange", (False, True, False), "cannot_set_ods_code", "noOdsChange-one-with"),
    (BATCH, "noOdsChange", (False, False, False), None, "noOdsChange-none-with"),
]


@behaviour(ref="behaviour §3.9 rule 8, §4.2, §7.3")
@pytest.mark.parametrize(
    ("create", "switch", "named", "error"),
    [
        create.case(switch, named, error, id=name, section=SANDBOX_SECTION)
        for create, switch, named, error, name in ODS_SWITCHES
    ],
)
def test_ods_code_switches(
    api: ApiClient, create: Create, switch: str, named: tuple[bool, ...], error: str | None
) -> None:
    """An account without a default ODS code must name one in every message, and an account that may not
    change it must name none: one offending message refuses a batch (the error points at
    /data/attributes/messages: known discrepancy D12)."""
    body = create.sandbox_body(count=len(named))
    for index, has_ods in enumerate(named):
        if not has_ods:
            body = _bodies.without(body, create.pointer("{message}/originator", index))
    response = create.send(api, body, headers={"Authorization": switch})
    if error is None:
        _expect.success_data(response, 201)
    else:
        _expect.note_known_discrepancy("D12")
        _expect.expect_error(response, 400, error)
