"""Body validation of the two create operations: every malformed message or batch is refused with the
exact error at the exact field, and a routing plan the client does not have is refused.

One table serves both operations. A batch's messages are checked like a single message, so the
message members a case names sit at ``/data/attributes`` in a message and at
``/data/attributes/messages/0`` in a batch; a case that only one operation has says so. Each case belongs
to its operation's area (``messages`` or ``batches``) and carries that area itself, so this module has
none of its own. The batch-only rules (limits, repeats, the 100-error cap) are in ``test_batches.py``.

Proves behaviour §1.6 (recipient and NHS number), §3.8 (body validation, its pointers and order) and
§3.9 rule 6 (unknown routing plan), and upstream §3.7 (message validation), §3.9 (batch validation) and
§3.10.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from conformance.checks.catalogue import expected_error
from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._expect import BATCH, MESSAGE, Create
from conformance.suite._labels import for_module

#: this module's labels: each case names its own area and operation (``_labels.case``)
behaviour = for_module(area=None, feature=None)

ATTRIBUTES = "/data/attributes"
MESSAGES = f"{ATTRIBUTES}/messages"
ROUTING_PLAN_ID = f"{ATTRIBUTES}/routingPlanId"
#: A well-formed UUID that names no routing plan (the upstream tests force a leading zero likewise).
UNKNOWN_ROUTING_PLAN = "0badf00d-0000-4000-8000-000000000000"
#: A member a case removes instead of setting.
MISSING = object()
BOTH = _expect.CREATES


def pointer_id(pointer: str) -> str:
    """A readable id for a JSON pointer: ``/data/attributes/messages/0`` -> ``messages.0``."""
    return (
        pointer.removeprefix(ATTRIBUTES + "/").removeprefix("/data/").strip("/").replace("/", ".") or "data"
    )


def edited(body: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with ``value`` at JSON pointer ``pointer`` (``MISSING``: the member removed)."""
    return _bodies.without(body, pointer) if value is MISSING else _bodies.replaced(body, pointer, value)


def expect_refused_at(
    api: ApiClient, environment: Environment, create: Create, pointer: str, value: Any, error: str
) -> None:
    """``create``'s valid body with ``value`` at ``pointer`` (``MISSING``: removed) is refused with the
    catalogue error ``error`` at that pointer. Production is not sent such bodies."""
    _expect.skip_in_production(environment)
    body = edited(create.valid_body(api, environment), pointer, value)
    _expect.expect_error(create.send(api, body), 400, error, pointer=pointer)


def pointer_cases(rows: Iterable[tuple[str, Sequence[Create]]]) -> list[pytest.ParameterSet]:
    """``(create, pointer)`` cases from rows of a pointer template and the operations it applies to."""
    return [
        create.case(create.pointer(template), id=pointer_id(create.pointer(template)))
        for create in BOTH
        for template, creates in rows
        if create in creates
    ]


# ---- bodies that are not a valid document -------------------------------------------------------------

UNPARSEABLE = [("{}SF{}NOTVALID", "garbage", BOTH), ("", "empty", (MESSAGE,))]


@behaviour(ref="behaviour §3.8; upstream §3.7 (invalid body), §3.9 (invalid body)")
@pytest.mark.parametrize(
    ("create", "content"),
    [
        create.case(content, id=name)
        for create in BOTH
        for content, name, creates in UNPARSEABLE
        if create in creates
    ],
)
def test_unparseable_body_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create, content: str
) -> None:
    """A body that is not JSON is refused with CM_INVALID_VALUE at '/'."""
    _expect.skip_in_production(notify_environment)
    response = api.post(create.request.path, content=content, content_type=JSONAPI)
    _expect.expect_error(response, 400, "invalid_body")


@behaviour(ref="behaviour §3.8")
@pytest.mark.parametrize("create", [MESSAGE.case()])
def test_top_level_array_is_missing_data(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
    """A body that is a JSON array, not an object, is reported as missing /data."""
    _expect.skip_in_production(notify_environment)
    _expect.expect_error(create.send(api, []), 400, "missing_value", pointer="/data")


# ---- missing and null members ---------------------------------------------------------------------------

#: Required members, in document order, with the operations that have them.
REQUIRED: list[tuple[str, Sequence[Create]]] = [
    ("/data", BOTH),
    ("/data/type", BOTH),
    (ATTRIBUTES, BOTH),
    (ROUTING_PLAN_ID, BOTH),
    (f"{ATTRIBUTES}/messageBatchReference", (BATCH,)),
    (MESSAGES, (BATCH,)),
    ("{message}/messageReference", BOTH),
    ("{message}/recipient", BOTH),
]
#: Members that must not be null: the required ones, a batch's message itself and the optional members.
NULLABLE: list[tuple[str, Sequence[Create]]] = [
    *REQUIRED,
    ("{message}", (BATCH,)),  # a message's own is the attributes object, already above
    ("{message}/recipient/nhsNumber", BOTH),
    ("{message}/originator", BOTH),
    ("{message}/personalisation", BOTH),
]


@behaviour(
    severity="critical", ref="behaviour §3.8; upstream §3.7 (property missing), §3.9 (property missing)"
)
@pytest.mark.parametrize(("create", "pointer"), pointer_cases(REQUIRED))
def test_missing_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str
) -> None:
    """Each missing required member is reported as CM_MISSING_VALUE at its own pointer."""
    expect_refused_at(api, notify_environment, create, pointer, MISSING, "missing_value")


@behaviour(
    ref="behaviour §3.8; upstream §3.7 (null, null personalisation), §3.9 (null, null message element)"
)
@pytest.mark.parametrize(("create", "pointer"), pointer_cases(NULLABLE))
def test_null_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str
) -> None:
    """A member (or a batch's message) sent as null is reported as CM_NULL_VALUE at its pointer."""
    expect_refused_at(api, notify_environment, create, pointer, None, "null_value")


# ---- members of the wrong type or form ------------------------------------------------------------------

#: (pointer template, value, id, the operations the case is for)
INVALID_VALUES: list[tuple[str, Any, str, Sequence[Create]]] = [
    ("/data", "invalid string", "data-string", BOTH),
    ("/data", [], "data-array", (MESSAGE,)),
    ("/data/type", "invalid string", "type-unknown", BOTH),
    ("/data/type", "MessageBatch", "type-batch", (MESSAGE,)),
    ("/data/type", "Message", "type-message", (BATCH,)),
    (ATTRIBUTES, [], "attributes-array", BOTH),
    (ROUTING_PLAN_ID, "invalid", "routingPlanId-not-uuid", BOTH),
    (ROUTING_PLAN_ID, 5, "routingPlanId-number", (MESSAGE,)),
    (f"{ATTRIBUTES}/messageBatchReference", ["invalid"], "messageBatchReference-array", (BATCH,)),
    (f"{ATTRIBUTES}/messageBatchReference", "  ", "messageBatchReference-blank", (BATCH,)),
    (MESSAGES, "invalid string", "messages-string", (BATCH,)),
    (MESSAGES, {}, "messages-object", (BATCH,)),
    ("{message}", "", "message-empty-string", (BATCH,)),
    ("{message}", [], "message-array", (BATCH,)),
    ("{message}", 5, "message-number", (BATCH,)),
    ("{message}", 0.1, "message-fraction", (BATCH,)),
    ("{message}/messageReference", ["invalid"], "messageReference-array", BOTH),
    ("{message}/messageReference", "", "messageReference-empty", (MESSAGE,)),
    ("{message}/messageReference", "   ", "messageReference-blank", (MESSAGE,)),
    ("{message}/recipient", "invalid string", "recipient-string", BOTH),
    ("{message}/recipient", [], "recipient-array", (MESSAGE,)),
    ("{message}/originator", "X26", "originator-string", BOTH),
    ("{message}/originator/odsCode", 5, "odsCode-number", BOTH),
    ("{message}/originator/odsCode", None, "odsCode-null", (MESSAGE,)),
    ("{message}/personalisation", 5, "personalisation-number", BOTH),
    ("{message}/personalisation", "", "personalisation-empty-string", BOTH),
    ("{message}/personalisation", "some-string", "personalisation-string", BOTH),
    ("{message}/personalisation", [], "personalisation-array", BOTH),
]


@behaviour(
    severity="critical",
    ref="behaviour §3.8; upstream §3.7 (invalid, routingPlanId, messageReference, personalisation), "
    "§3.9 (invalid, invalid message element, personalisation)",
)
@pytest.mark.parametrize(
    ("create", "pointer", "value"),
    [
        create.case(create.pointer(template), value, id=name)
        for create in BOTH
        for template, value, name, creates in INVALID_VALUES
        if create in creates
    ],
)
def test_invalid_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str, value: Any
) -> None:
    """A member (or a batch's message) of the wrong type or form is reported as CM_INVALID_VALUE at its
    pointer."""
    expect_refused_at(api, notify_environment, create, pointer, value, "invalid_value")


@behaviour(
    severity="critical",
    ref="behaviour §1.6, §3.8; upstream §3.7 (invalid NHS number), §3.9 (invalid NHS number)",
)
@pytest.mark.parametrize(
    ("create", "nhs_number"),
    [create.case(number, id=json.dumps(number)) for create in BOTH for number in _bodies.INVALID_NHS_NUMBERS],
)
def test_invalid_nhs_number_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create, nhs_number: Any
) -> None:
    """An NHS number that is not ten digits with a valid Modulus 11 check digit is refused at that message's
    nhsNumber."""
    pointer = create.pointer("{message}/recipient/nhsNumber")
    expect_refused_at(api, notify_environment, create, pointer, nhs_number, "invalid_nhs_number")


# ---- several problems at once ---------------------------------------------------------------------------

#: Four problems in one body, in document order: (pointer, the value set there or MISSING, the error).
#: A batch's are spread over its messages, each reported at its own message's index.
PROBLEMS_IN_ORDER: dict[str, list[tuple[str, Any, str]]] = {
    "message": [
        (ROUTING_PLAN_ID, "invalid", "invalid_value"),
        (f"{ATTRIBUTES}/messageReference", MISSING, "missing_value"),
        (f"{ATTRIBUTES}/recipient/nhsNumber", "abcdefghij", "invalid_nhs_number"),
        (f"{ATTRIBUTES}/personalisation", [], "invalid_value"),
    ],
    "batch": [
        (ROUTING_PLAN_ID, "invalid", "invalid_value"),
        (f"{MESSAGES}/1/recipient", MISSING, "missing_value"),
        (f"{MESSAGES}/2/recipient/nhsNumber", "9990548608", "invalid_nhs_number"),
        (f"{MESSAGES}/2/personalisation", "text", "invalid_value"),
    ],
}


@behaviour(ref="behaviour §3.8 (errors accumulate; order; batch order)")
@pytest.mark.parametrize("create", [create.case() for create in BOTH])
def test_all_problems_are_reported_in_order(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
    """Every problem in a body is reported at once, in document order (a batch's at each message's index),
    with ids .0, .1, .2."""
    _expect.skip_in_production(notify_environment)
    body = create.valid_body(api, notify_environment)
    problems = PROBLEMS_IN_ORDER[create.name]
    for pointer, value, _ in problems:
        body = edited(body, pointer, value)
    expected = [expected_error(error, pointer=pointer) for pointer, _, error in problems]
    _expect.expect_error_list(create.send(api, body), 400, expected)


# ---- routing plans --------------------------------------------------------------------------------------


@behaviour(severity="critical", ref="behaviour §3.9 rule 6; upstream §3.10")
@pytest.mark.writes
@pytest.mark.parametrize("create", [create.case() for create in BOTH])
def test_unknown_routing_plan_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
    """A well-formed routing plan id that names no plan of this client is refused with
    CM_NO_SUCH_ROUTING_PLAN."""
    _expect.note_known_discrepancy("D11")
    body = _bodies.replaced(create.valid_body(api, notify_environment), ROUTING_PLAN_ID, UNKNOWN_ROUTING_PLAN)
    _expect.expect_error(create.send(api, body), 404, "no_such_routing_plan")
