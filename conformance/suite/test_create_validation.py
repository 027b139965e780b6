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
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conformance.checks.catalogue import expected_error
from conformance.client import JSONAPI, ApiClient
from conformance.environments import Environment
from conformance.suite import _bodies, _expect
from conformance.suite._expect import CREATE_BATCH, CREATE_MESSAGE, OperationRequest
from conformance.suite._labels import behaviour, case

ATTRIBUTES = "/data/attributes"
MESSAGES = f"{ATTRIBUTES}/messages"
ROUTING_PLAN_ID = f"{ATTRIBUTES}/routingPlanId"
#: A well-formed UUID that names no routing plan (the upstream tests force a leading zero likewise).
UNKNOWN_ROUTING_PLAN = "0badf00d-0000-4000-8000-000000000000"
#: A member a case removes instead of setting.
MISSING = object()


@dataclass(frozen=True)
class Create:
    """One create operation as body validation sees it."""

    #: the case ids' prefix
    name: str
    request: OperationRequest
    area: str
    #: the NHS documentation anchor of the operation
    section: str
    #: where the members of a message are: a message's attributes, a batch's first message
    message: str

    @property
    def label(self) -> str:
        """How reports name the case's operation parameter."""
        return self.request.label

    def pointer(self, template: str) -> str:
        """``template`` with ``{message}`` replaced by where this operation keeps a message's members."""
        return template.format(message=self.message)

    def valid_body(self, api: ApiClient, environment: Environment) -> dict[str, Any]:
        """The documented minimal body for this target's routing plan and patient (a batch of three)."""
        nhs_number = _expect.recipient_nhs_number(environment)
        if self.request is CREATE_BATCH:
            count = 1 if environment.name == "production-smoke" else 3  # production: as few as prove it
            return _bodies.batch(api.target.routing_plan_id, count, nhs_number)
        return _bodies.message(api.target.routing_plan_id, nhs_number)

    def send(self, api: ApiClient, body: Any, **kwargs: Any) -> httpx.Response:
        return api.post(self.request.path, json=body, **kwargs)


MESSAGE = Create("message", CREATE_MESSAGE, "messages", "post-/v1/messages", ATTRIBUTES)
BATCH = Create("batch", CREATE_BATCH, "batches", "post-/v1/message-batches", f"{MESSAGES}/0")
BOTH = (MESSAGE, BATCH)


def pointer_id(pointer: str) -> str:
    """A readable id for a JSON pointer: ``/data/attributes/messages/0`` -> ``messages.0``."""
    return (
        pointer.removeprefix(ATTRIBUTES + "/").removeprefix("/data/").strip("/").replace("/", ".") or "data"
    )


def create_case(create: Create, *values: object, id: str = "") -> pytest.ParameterSet:
    """One case of a test of this module: ``create`` and ``values``, in ``create``'s area."""
    name = f"{create.name}-{id}" if id else create.name
    return case(create, *values, id=name, area=create.area, feature=create.label, section=create.section)


def pointer_cases(rows: Iterable[tuple[str, Sequence[Create]]]) -> list[pytest.ParameterSet]:
    """``(create, pointer)`` cases from rows of a pointer template and the operations it applies to."""
    return [
        create_case(create, create.pointer(template), id=pointer_id(create.pointer(template)))
        for create in BOTH
        for template, creates in rows
        if create in creates
    ]


# ---- bodies that are not a valid document -------------------------------------------------------------

UNPARSEABLE = [("{}SF{}NOTVALID", "garbage", BOTH), ("", "empty", (MESSAGE,))]


@behaviour(
    area=None,
    feature=None,
    story="A body that is not JSON is refused with CM_INVALID_VALUE at '/'",
    ref="behaviour §3.8; upstream §3.7 (invalid body), §3.9 (invalid body)",
)
@pytest.mark.parametrize(
    ("create", "content"),
    [
        create_case(create, content, id=name)
        for create in BOTH
        for content, name, creates in UNPARSEABLE
        if create in creates
    ],
)
def test_unparseable_body_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create, content: str
) -> None:
    _expect.skip_in_production(notify_environment)
    response = api.post(create.request.path, content=content, content_type=JSONAPI)
    _expect.expect_error(response, 400, "invalid_body")


@behaviour(
    area=None,
    feature=None,
    story="A body that is a JSON array, not an object, is reported as missing /data",
    ref="behaviour §3.8",
)
@pytest.mark.parametrize("create", [create_case(MESSAGE)])
def test_top_level_array_is_missing_data(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
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
    area=None,
    feature=None,
    story="Each missing required member is reported as CM_MISSING_VALUE at its own pointer",
    severity="critical",
    ref="behaviour §3.8; upstream §3.7 (property missing), §3.9 (property missing)",
)
@pytest.mark.parametrize(("create", "pointer"), pointer_cases(REQUIRED))
def test_missing_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.without(create.valid_body(api, notify_environment), pointer)
    _expect.expect_error(create.send(api, body), 400, "missing_value", pointer=pointer)


@behaviour(
    area=None,
    feature=None,
    story="A member (or a batch's message) sent as null is reported as CM_NULL_VALUE at its pointer",
    ref="behaviour §3.8; upstream §3.7 (null, null personalisation), §3.9 (null, null message element)",
)
@pytest.mark.parametrize(("create", "pointer"), pointer_cases(NULLABLE))
def test_null_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(create.valid_body(api, notify_environment), pointer, None)
    _expect.expect_error(create.send(api, body), 400, "null_value", pointer=pointer)


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
    area=None,
    feature=None,
    story="A member (or a batch's message) of the wrong type or form is reported as CM_INVALID_VALUE at "
    "its pointer",
    severity="critical",
    ref="behaviour §3.8; upstream §3.7 (invalid, routingPlanId, messageReference, personalisation), "
    "§3.9 (invalid, invalid message element, personalisation)",
)
@pytest.mark.parametrize(
    ("create", "pointer", "value"),
    [
        create_case(create, create.pointer(template), value, id=name)
        for create in BOTH
        for template, value, name, creates in INVALID_VALUES
        if create in creates
    ],
)
def test_invalid_member_is_reported(
    api: ApiClient, notify_environment: Environment, create: Create, pointer: str, value: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    body = _bodies.replaced(create.valid_body(api, notify_environment), pointer, value)
    _expect.expect_error(create.send(api, body), 400, "invalid_value", pointer=pointer)


@behaviour(
    area=None,
    feature=None,
    story="An NHS number that is not ten digits with a valid Modulus 11 check digit is refused at that "
    "message's nhsNumber",
    severity="critical",
    ref="behaviour §1.6, §3.8; upstream §3.7 (invalid NHS number), §3.9 (invalid NHS number)",
)
@pytest.mark.parametrize(
    ("create", "nhs_number"),
    [
        create_case(create, number, id=json.dumps(number))
        for create in BOTH
        for number in _bodies.INVALID_NHS_NUMBERS
    ],
)
def test_invalid_nhs_number_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create, nhs_number: Any
) -> None:
    _expect.skip_in_production(notify_environment)
    pointer = create.pointer("{message}/recipient/nhsNumber")
    body = _bodies.replaced(create.valid_body(api, notify_environment), pointer, nhs_number)
    _expect.expect_error(create.send(api, body), 400, "invalid_nhs_number", pointer=pointer)


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


@behaviour(
    area=None,
    feature=None,
    story="Every problem in a body is reported at once, in document order (a batch's at each message's "
    "index), with ids .0, .1, .2",
    ref="behaviour §3.8 (errors accumulate; order; batch order)",
)
@pytest.mark.parametrize("create", [create_case(create) for create in BOTH])
def test_all_problems_are_reported_in_order(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
    _expect.skip_in_production(notify_environment)
    body = create.valid_body(api, notify_environment)
    problems = PROBLEMS_IN_ORDER[create.name]
    for pointer, value, _ in problems:
        body = _bodies.without(body, pointer) if value is MISSING else _bodies.replaced(body, pointer, value)
    expected = [expected_error(error, pointer=pointer) for pointer, _, error in problems]
    _expect.expect_error_list(create.send(api, body), 400, expected)


# ---- routing plans --------------------------------------------------------------------------------------


@behaviour(
    area=None,
    feature=None,
    story="A well-formed routing plan id that names no plan of this client is refused with "
    "CM_NO_SUCH_ROUTING_PLAN",
    severity="critical",
    ref="behaviour §3.9 rule 6; upstream §3.10",
)
@pytest.mark.writes
@pytest.mark.parametrize("create", [create_case(create) for create in BOTH])
def test_unknown_routing_plan_is_refused(
    api: ApiClient, notify_environment: Environment, create: Create
) -> None:
    _expect.note_known_discrepancy("D11")
    body = _bodies.replaced(create.valid_body(api, notify_environment), ROUTING_PLAN_ID, UNKNOWN_ROUTING_PLAN)
    _expect.expect_error(create.send(api, body), 404, "no_such_routing_plan")
