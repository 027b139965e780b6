"""Helpers the suite modules share, so every test judges errors, correlation ids and the four
operations the same way.

The operations (ids, methods, path templates, documented statuses) and the known discrepancies (ids and
what each says) come from the contract (:mod:`conformance.spec`); this module adds only what the suite
sends: a concrete, well-formed request for each operation, the area that judges each operation's own
answers (so one test can hold cases of several operations, each in its operation's area), and the two
creates as tests that edit a body see them (:class:`Create`: where a message's members are).

Errors are judged by the checks catalogue (the API team's own assertion contract: exact error object,
ids ending .0, .1, ...), never by ad-hoc comparisons in a test module; failure messages name the
exchange with every secret redacted.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import allure
import httpx
import pytest

from conformance import limits, redaction
from conformance.checks import assert_no_violations, catalogue
from conformance.client import ApiClient
from conformance.environments import Environment, Target
from conformance.exchange import Exchange
from conformance.spec import Operation, OperationId, load_spec, named_operations
from conformance.suite import _bodies
from conformance.suite._labels import Labeller, case, for_module

PLAIN_JSON = "application/json"
#: The Cache-Control value the gateway puts on every response.
NO_CACHE = "no-cache, no-store, must-revalidate"
#: The Origin the CORS tests present (any https origin would do).
ORIGIN = "https://conformance.example.org"
#: A message id shaped like a KSUID that no environment holds.
UNKNOWN_MESSAGE_ID = "NotifyConformanceUnknownId0"
#: A path under the base that no route matches.
UNKNOWN_PATH = "/v1/ignore/i-dont-exist"
#: A GP practice code the NHS App accounts endpoint answers for in every environment.
KNOWN_ODS_CODE = "X26"


def describe(response: httpx.Response) -> str:
    """One line naming the exchange, for assertion messages (secrets redacted, body shortened)."""
    request = response.request
    body = response.content[: limits.FAILURE_BODY_BYTES].decode("utf-8", "replace")
    return redaction.redact(f"{request.method} {request.url} -> {response.status_code} {body!r}")


def expect_status(response: httpx.Response, status: int) -> None:
    """Assert the HTTP status, showing the exchange when it differs."""
    assert response.status_code == status, f"expected HTTP {status}: {describe(response)}"


def expect_error(
    response: httpx.Response,
    status: int,
    name: str,
    *,
    pointer: str | None = None,
    detail: str | None = None,
) -> None:
    """Assert that ``response`` is exactly the catalogue error ``name`` (HEAD/OPTIONS: status only)."""
    expected = catalogue.expected_error(name, pointer=pointer, detail=detail)
    expect_errors(response, status, [expected])


def expect_errors(response: httpx.Response, status: int, expected: Sequence[Mapping[str, Any]]) -> None:
    """Assert that every error object in ``expected`` is in the response (a lone one exactly)."""
    exchange = Exchange.from_httpx(response)
    wanted: Mapping[str, Any] | Sequence[Mapping[str, Any]] = expected[0] if len(expected) == 1 else expected
    assert_no_violations(catalogue.check_error_response(exchange, status, wanted), exchange)


#: RFC 9110 §10.2.3 delay-seconds: a whole number of seconds.
DELAY_SECONDS = re.compile(r"[0-9]+")


def expect_retry_after(response: httpx.Response, expected: str | None) -> None:
    """Assert Retry-After is there, a whole number of seconds (not a date, not words), and ``expected``
    (None: the header is not judged)."""
    if expected is None:
        return
    got = response.headers.get("Retry-After")
    assert got is not None, f"a {response.status_code} must carry Retry-After: {describe(response)}"
    assert DELAY_SECONDS.fullmatch(got), f"Retry-After should be a whole number of seconds, got {got!r}"
    assert got == expected, f"Retry-After should be {expected}, got {got!r}: {describe(response)}"


#: Ids of the contract's ``x-known-discrepancies`` (specs/notify-api.yaml) that suite tests give evidence for.
DISCREPANCY_CHARSET = "D3"
DISCREPANCY_HEAD_GET_MESSAGE = "D19"


def note_known_discrepancy(discrepancy_id: str, reason: str | None = None) -> None:
    """Tag the running test as evidence of the contract's known discrepancy ``discrepancy_id``.

    The test still asserts what the gateway does; the tag and description tell the report's reader
    that the documentation says otherwise, so a pass is never mistaken for the documented behaviour.
    What the discrepancy is comes from the contract (an id it lacks is an error): ``reason`` is accepted
    only so that older call sites keep working, and is not shown.
    """
    discrepancy = load_spec().discrepancy(discrepancy_id)
    dynamic: Any = allure.dynamic  # allure ships no type hints
    dynamic.tag(f"known discrepancy {discrepancy.id}")
    dynamic.description(
        f"Known discrepancy {discrepancy.id}: {discrepancy.title}.\n\n"
        f"The upstream specification: {discrepancy.upstream_spec}\n\n"
        f"The gateway: {discrepancy.gateway}\n\n"
        f"This test asserts what the gateway does ({discrepancy.reference})."
    )


# ------------------------------------------------------------------------------------------------------
# Correlation ids


def new_correlation_id() -> str:
    """A fresh client correlation id (no '.', which the documentation advises against)."""
    return f"conformance-{uuid.uuid4()}"


def correlation_id(response: httpx.Response) -> str | None:
    """The response's X-Correlation-Id (header names are case-insensitive)."""
    value = response.headers.get("X-Correlation-Id")
    return None if value is None else str(value)


def expect_correlation_id(response: httpx.Response, sent: str | None) -> None:
    """Assert the id the client sent is echoed unchanged, or that the API generated one."""
    returned = correlation_id(response)
    if sent is not None:
        assert returned == sent, f"X-Correlation-Id {returned!r} does not echo {sent!r}: {describe(response)}"
    else:
        assert returned, f"no X-Correlation-Id was generated: {describe(response)}"


# ------------------------------------------------------------------------------------------------------
# The four documented operations, sendable with a well-formed request


def recipient_nhs_number(environment: Environment) -> str:
    """The NHS number created messages go to: production's named test patient, else the sample one."""
    return environment.safety.test_patient or _bodies.VALID_NHS_NUMBER


#: Each operation's own area (the one whose tests judge its answers) and its anchor in the NHS documentation.
_OPERATION_AREAS: dict[str, tuple[str, str]] = {
    OperationId.CREATE_MESSAGE: ("messages", "post-/v1/messages"),
    OperationId.CREATE_MESSAGE_BATCH: ("batches", "post-/v1/message-batches"),
    OperationId.GET_MESSAGE: ("get message", "get-/v1/messages/-messageId-"),
    OperationId.GET_NHSAPP_ACCOUNT_DETAILS: ("NHS App accounts", "get-/channels/nhsapp/accounts"),
}


@dataclass(frozen=True)
class OperationRequest:
    """A well-formed request for one operation of the contract, with a concrete path.

    ``usual_status`` is what that request gets from a conforming API (the get-message request names an
    id that does not exist, so it is 404); it must be a status the contract documents.
    """

    operation: Operation
    path: str
    usual_status: int
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.operation.documents(self.usual_status):
            raise ValueError(f"the contract documents no {self.usual_status} for {self.operation.id}")

    @property
    def id(self) -> str:
        """The contract's operationId."""
        return self.operation.id

    @property
    def label(self) -> str:
        """``METHOD /path/{template}``, as the contract writes it."""
        return self.operation.label

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def area(self) -> str:
        """The requirement area whose tests judge this operation's own answers."""
        return _OPERATION_AREAS[self.id][0]

    @property
    def section(self) -> str:
        """The operation's anchor in the NHS documentation."""
        return _OPERATION_AREAS[self.id][1]

    def body(self, target: Target, environment: Environment) -> dict[str, Any] | None:
        """A valid request body for a create, addressed so the production guard lets it through."""
        nhs_number = recipient_nhs_number(environment)
        if self.id == OperationId.CREATE_MESSAGE:
            return _bodies.message(target.routing_plan_id, nhs_number=nhs_number)
        if self.id == OperationId.CREATE_MESSAGE_BATCH:
            return _bodies.batch(target.routing_plan_id, nhs_number=nhs_number)
        return None


_CONTRACT = named_operations()

CREATE_MESSAGE = OperationRequest(
    _CONTRACT[OperationId.CREATE_MESSAGE], _CONTRACT[OperationId.CREATE_MESSAGE].path, 201
)
CREATE_BATCH = OperationRequest(
    _CONTRACT[OperationId.CREATE_MESSAGE_BATCH], _CONTRACT[OperationId.CREATE_MESSAGE_BATCH].path, 201
)
GET_MESSAGE = OperationRequest(
    _CONTRACT[OperationId.GET_MESSAGE],
    _CONTRACT[OperationId.GET_MESSAGE].path_with(messageId=UNKNOWN_MESSAGE_ID),
    404,
)
GET_NHSAPP_ACCOUNTS = OperationRequest(
    _CONTRACT[OperationId.GET_NHSAPP_ACCOUNT_DETAILS],
    _CONTRACT[OperationId.GET_NHSAPP_ACCOUNT_DETAILS].path,
    200,
    params={"ods-organisation-code": KNOWN_ODS_CODE},
)

#: Operations that create messages: their tests carry the ``writes`` marker.
CREATE_OPERATIONS = (CREATE_MESSAGE, CREATE_BATCH)
#: Operations that only read.
READ_OPERATIONS = (GET_MESSAGE, GET_NHSAPP_ACCOUNTS)
ALL_OPERATIONS = CREATE_OPERATIONS + READ_OPERATIONS


def operation_id(operation: OperationRequest) -> str:
    """Readable pytest id for an operation parameter: the contract's operationId."""
    return operation.id


#: ``operation`` parametrised over every operation, the creates marked ``writes`` (a refused create is
#: still sent as a create), for a test of one area that every operation must pass.
every_operation = pytest.mark.parametrize(
    "operation",
    [
        pytest.param(op, id=op.id, marks=pytest.mark.writes if op in CREATE_OPERATIONS else ())
        for op in ALL_OPERATIONS
    ],
)


def operation_labels(operation: OperationRequest) -> Labeller:
    """The labels of a module about ``operation``: its area, its feature and its NHS documentation."""
    return for_module(area=operation.area, feature=operation.label, section=operation.section)


def operation_case(
    operation: OperationRequest, *values: object, id: str, section: str | None = None
) -> pytest.ParameterSet:
    """One case of a test whose cases span operations (a test labelled with neither area nor feature):
    ``values``, filed under ``operation``'s area and feature and linked to ``section`` (default: the
    operation's own) of the NHS documentation."""
    anchor = operation.section if section is None else section
    return case(*values, id=id, area=operation.area, feature=operation.label, section=anchor)


def send(
    api: ApiClient,
    operation: OperationRequest,
    environment: Environment,
    *,
    method: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send ``operation``'s well-formed request; keyword arguments change it (see ``ApiClient.request``).

    A create gets its valid body unless the test gives ``json`` or ``content``; ``method`` sends the
    same request with another method (the body goes along, as a client would send it).
    """
    if "json" not in kwargs and "content" not in kwargs:
        body = operation.body(api.target, environment)
        if body is not None:
            kwargs["json"] = body
    if operation.params and "params" not in kwargs:
        kwargs["params"] = operation.params
    return api.request(method or operation.method, operation.path, **kwargs)


# ------------------------------------------------------------------------------------------------------
# The two creates as body-level tests see them: where a message's members are in the body

#: How long, in all, to wait before replaying a request the API said is still being processed (upstream
#: waits 5 s at once); the replays come sooner, after pauses that start at FIRST_REPLAY_PAUSE_S and double.
REPLAY_PAUSE_S = 5.0
FIRST_REPLAY_PAUSE_S = 0.25


def growing_pauses(total_s: float, first_s: float = FIRST_REPLAY_PAUSE_S) -> Iterator[float]:
    """Pauses of ``first_s``, twice that, four times... whose sum is ``total_s`` (the last one shortened):
    what is waited for is seen within about its own duration, and never later than after ``total_s``."""
    left, pause = total_s, first_s
    while left > 1e-9:  # not a float's leftover crumb
        yield min(pause, left)
        left -= pause
        pause *= 2


@dataclass(frozen=True)
class Create:
    """A create operation for tests that edit its body: a message's members sit at ``/data/attributes``
    in a message and at ``/data/attributes/messages/{index}`` in a batch."""

    #: the prefix of its cases' ids
    name: str
    request: OperationRequest
    #: where message ``{index}`` of a body keeps its members (a message's own, whatever the index)
    messages: str

    def message(self, index: int = 0) -> str:
        """The JSON pointer of message ``index``'s members."""
        return self.messages.format(index=index)

    def pointer(self, template: str, index: int = 0) -> str:
        """``template`` with ``{message}`` replaced by where message ``index`` keeps its members."""
        return template.format(message=self.message(index))

    def valid_body(self, api: ApiClient, environment: Environment, count: int = 3) -> dict[str, Any]:
        """The documented minimal body for this target's routing plan and patient (a batch of ``count``;
        production's of one, as few messages as prove the point)."""
        nhs_number = recipient_nhs_number(environment)
        if self.request is CREATE_BATCH:
            count = 1 if environment.name == "production-smoke" else count
            return _bodies.batch(api.target.routing_plan_id, count, nhs_number)
        return _bodies.message(api.target.routing_plan_id, nhs_number)

    def sandbox_body(self, plan_id: str = _bodies.SANDBOX_PLAN, count: int = 3) -> dict[str, Any]:
        """A valid body for the sandbox under ``plan_id`` (a batch of ``count``)."""
        if self.request is CREATE_BATCH:
            return _bodies.batch(plan_id, count)
        return _bodies.message(plan_id)

    def send(self, api: ApiClient, body: Any, **kwargs: Any) -> httpx.Response:
        return api.post(self.request.path, json=body, **kwargs)

    def send_again(self, api: ApiClient, body: Any) -> httpx.Response:
        """``body`` sent again, answered as it is once the first is no longer in flight: each 425 in between
        (documented while the first is still being processed) is judged, and the request replayed after a
        growing pause, REPLAY_PAUSE_S at most in all; the last replay's 425 is waited out as any other."""
        replay = self.send(api, body, judge=(425,))  # the 425 is an answer to judge, not one to wait out
        pauses = list(growing_pauses(REPLAY_PAUSE_S))
        for index, pause in enumerate(pauses):
            if replay.status_code != 425:
                break
            expect_error(replay, 425, "retry_too_early")
            time.sleep(pause)
            judged = (425,) if index < len(pauses) - 1 else ()
            replay = self.send(api, body, judge=judged)
        return replay

    def case(self, *values: object, id: str = "", section: str | None = None) -> pytest.ParameterSet:
        """One case of a test that spans both creates: this create and ``values``, in its area."""
        name = f"{self.name}-{id}" if id else self.name
        return operation_case(self.request, self, *values, id=name, section=section)


MESSAGE = Create("message", CREATE_MESSAGE, "/data/attributes")
BATCH = Create("batch", CREATE_BATCH, "/data/attributes/messages/{index}")
CREATES = (MESSAGE, BATCH)


# ------------------------------------------------------------------------------------------------------
# Operation areas (messages, batches, get message, NHS App accounts): production guard, ordered error
# lists and the shapes of success answers. Appended by helper E2.


def skip_in_production(environment: Environment) -> None:
    """Skip a test whose request production's safety policy would refuse.

    Production receives only creates addressed to the named test patient; body-validation and
    scenario requests cannot promise that, and the behaviour they prove is the same elsewhere.
    """
    if environment.name == "production-smoke":
        pytest.skip("production receives only creates addressed to the named test patient")


def expect_error_list(response: httpx.Response, status: int, expected: Sequence[Mapping[str, Any]]) -> None:
    """Assert the response carries exactly ``expected``, in that order (ids aside).

    The upstream contract only asks that each expected error be among several; the gateway documents
    the order it reports them in and the 100-error cap, so these tests hold it to the whole list.
    """
    expect_errors(response, status, expected)
    errors = response.json()["errors"]
    actual = [{name: value for name, value in error.items() if name != "id"} for error in errors]
    count = f"expected {len(expected)} errors, got {len(actual)}"
    assert len(actual) == len(expected), f"{count}: {describe(response)}"
    for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
        assert got == dict(want), f"error {index} should be {dict(want)!r}, got {got!r}"


def success_data(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``data`` object of a success answer, after checking its status."""
    expect_status(response, status)
    body = response.json()
    has_data = isinstance(body, dict) and isinstance(body.get("data"), dict)
    assert has_data, f"no data object: {describe(response)}"
    data: dict[str, Any] = body["data"]
    return data


def assert_ksuid(value: object, what: str) -> None:
    """Message and batch ids are KSUIDs: 27 ASCII letters and digits."""
    is_ksuid = isinstance(value, str) and len(value) == 27 and value.isascii() and value.isalnum()
    assert is_ksuid, f"{what} should be a 27-character KSUID, got {value!r}"


def assert_timestamp(value: object, what: str) -> None:
    """An ISO 8601 date-time with date, time and zone (the contract's RFC 3339 ``date-time``)."""
    assert isinstance(value, str), f"{what} should be a date-time string, got {value!r}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AssertionError(f"{what} is not an ISO 8601 date-time: {value!r}") from None
    complete = "T" in value and parsed.tzinfo is not None
    assert complete, f"{what} should carry a date, a time and a zone: {value!r}"


def assert_routing_plan(plan: object, plan_id: str | None = None, what: str = "routingPlan") -> None:
    """The routing plan a message went out under: id (the requested one), name, version, createdDate."""
    assert isinstance(plan, dict), f"{what} should be an object, got {plan!r}"
    if plan_id is not None:
        got = plan.get("id")
        assert got == plan_id, f"{what}.id should be the requested {plan_id!r}, got {got!r}"
    assert isinstance(plan.get("id"), str) and plan["id"], f"{what}.id should be a non-empty string: {plan!r}"
    assert isinstance(plan.get("name"), str), f"{what}.name should be a string: {plan!r}"
    version = plan.get("version")
    assert isinstance(version, str) and version, f"{what}.version should be a non-empty string: {plan!r}"
    assert_timestamp(plan.get("createdDate"), f"{what}.createdDate")
