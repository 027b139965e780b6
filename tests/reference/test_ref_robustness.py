"""Malformed input never makes the reference API fail: arbitrary bytes and arbitrarily bent request bodies get
a documented 4xx (or a 201), never a 500, in both modes. Generated with Hypothesis, sent over real sockets."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.reference.server import RunningReference
from conformance.reference.validation import problems_in
from tests.reference.conftest import GLOBAL_NHSAPP_PLAN, VALID_NHS_NUMBER

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DROP = object()

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def either(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all, sometimes absent."""
    return st.one_of(plausible, plausible, json_values, st.just(DROP))


def shaped(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({name: either(value) for name, value in fields.items()}).map(
        lambda built: {name: value for name, value in built.items() if value is not DROP}
    )


contact_details = shaped(
    sms=st.sampled_from(["07723456789", "+447723456789"]),
    email=st.just("ab@cd.co.uk"),
    address=shaped(lines=st.lists(st.text(max_size=5), max_size=7), postcode=st.just("LS7 1BN")),
    name=shaped(firstName=st.just("Jo"), lastName=st.just("Bloggs")),
)
recipient = shaped(
    nhsNumber=st.sampled_from([VALID_NHS_NUMBER, "9990548608"]), contactDetails=contact_details
)
message_fields = {
    "messageReference": st.uuids().map(str),
    "recipient": recipient,
    "originator": shaped(odsCode=st.just("X26")),
    "personalisation": st.just({"body": "test"}),
}
messages = st.builds(
    lambda attributes: {"data": {"type": "Message", "attributes": attributes}},
    shaped(routingPlanId=st.just(GLOBAL_NHSAPP_PLAN), **message_fields),
)
batches = st.builds(
    lambda attributes: {"data": {"type": "MessageBatch", "attributes": attributes}},
    shaped(
        routingPlanId=st.just(GLOBAL_NHSAPP_PLAN),
        messageBatchReference=st.uuids().map(str),
        messages=st.lists(st.one_of(shaped(**message_fields), json_values), min_size=1, max_size=4),
    ),
)


@given(raw=st.binary(max_size=300), batch=st.booleans())
def test_any_bytes_validate_without_raising(raw: bytes, batch: bool) -> None:
    problems_in(raw, batch=batch)


@given(body=json_values, batch=st.booleans())
def test_any_json_validates_without_raising(body: Any, batch: bool) -> None:
    problems_in(json.dumps(body).encode(), batch=batch)


def _send(
    http: httpx.Client, server: RunningReference, path: str, body: Any, headers: dict[str, str]
) -> None:
    response = http.post(server.base_url + path, content=json.dumps(body), headers=headers)
    assert response.status_code in (201, 400, 413, 422), response.text
    if response.status_code != 201:
        assert response.json()["errors"]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/message-batches"])
@SETTINGS
@given(data=st.data())
def test_bent_bodies_never_cause_a_server_error_in_sandbox(
    http: httpx.Client, sandbox_server: RunningReference, path: str, data: st.DataObject
) -> None:
    body = data.draw(messages if path == "/v1/messages" else batches)
    authorization = data.draw(
        st.sampled_from([None, "noDefaultOds", "noOdsChange", "notAllowedContactDetailOverride"])
    )
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    _send(http, sandbox_server, path, body, headers)


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/message-batches"])
@SETTINGS
@given(data=st.data())
def test_bent_bodies_never_cause_a_server_error_in_integration(
    http: httpx.Client,
    integration_server: RunningReference,
    access_token: str,
    path: str,
    data: st.DataObject,
) -> None:
    body = data.draw(messages if path == "/v1/messages" else batches)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {access_token}"}
    _send(http, integration_server, path, body, headers)


@SETTINGS
@given(
    query=st.dictionaries(
        st.sampled_from(["ods-organisation-code", "page", "x"]), st.text(max_size=8), max_size=3
    )
)
def test_any_accounts_query_gets_a_documented_answer(
    http: httpx.Client, sandbox_server: RunningReference, query: dict[str, str]
) -> None:
    response = http.get(sandbox_server.base_url + "/channels/nhsapp/accounts", params=query)
    code = query.get("ods-organisation-code", "").upper()
    documented_failures = {"T00502": 502, "T00429": 429}
    assert response.status_code in (200, 400, 404, documented_failures.get(code, 200)), response.text
