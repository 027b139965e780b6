"""Upstream sandbox suite, routing-plan outcomes on both POST endpoints (upstream-tests.md §3.10).

Like upstream, these send no Accept or Content-Type of their own; httpx's `json=` adds
`Content-Type: application/json` just as requests does.

Not reproduced here (api suite only):
- "plan belongs to another client" (`ae0f772e-...`): needs live client ownership.
- missing templates with the live plans `191b5bf4-...`/`d66ace32-...`: the sandbox has its own two
  plans, used below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference import upstream_assertions as up

ROUTING_PLAN_POINTER = "/data/attributes/routingPlanId"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with up.open_client() as client:
        yield client


@pytest.fixture(scope="module")
def base(sandbox_server: RunningReference) -> str:
    return sandbox_server.base_url


by_correlation = pytest.mark.parametrize("correlation_id", up.CORRELATION_IDS, ids=up.correlation_label)
by_missing_template_plan = pytest.mark.parametrize("routing_plan_id", up.MISSING_TEMPLATE_PLANS)


def unknown_plan() -> str:
    """A random UUID starting with 0, as upstream makes them; no sandbox plan looks like that by chance."""
    return "0" + str(uuid.uuid4())[1:]


@by_correlation
def test_message_no_such_routing_plan(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    body = up.message_body(routing_plan_id=unknown_plan())
    response = up.send(http, "POST", f"{base}/v1/messages", up.with_correlation(correlation_id), json=body)
    up.assert_error(response, 404, up.NO_SUCH_ROUTING_PLAN, correlation_id)


@by_correlation
def test_batch_no_such_routing_plan(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    body = up.batch_body(routing_plan_id=unknown_plan())
    response = up.send(
        http, "POST", f"{base}/v1/message-batches", up.with_correlation(correlation_id), json=body
    )
    up.assert_error(response, 404, up.NO_SUCH_ROUTING_PLAN, correlation_id)


@by_correlation
def test_batch_invalid_routing_config(http: httpx.Client, base: str, correlation_id: str | None) -> None:
    """A well-formed UUID the sandbox backend rejects as an invalid routing config."""
    body = up.batch_body(routing_plan_id=up.INVALID_CONFIG_PLAN)
    response = up.send(
        http, "POST", f"{base}/v1/message-batches", up.with_correlation(correlation_id), json=body
    )
    up.assert_error(response, 400, up.INVALID_VALUE.at(ROUTING_PLAN_POINTER), correlation_id)


@by_missing_template_plan
@by_correlation
def test_message_missing_routing_plan_templates(
    http: httpx.Client, base: str, routing_plan_id: str, correlation_id: str | None
) -> None:
    body = up.message_body(routing_plan_id=routing_plan_id)
    response = up.send(http, "POST", f"{base}/v1/messages", up.with_correlation(correlation_id), json=body)
    up.assert_error(response, 500, up.MISSING_ROUTING_PLAN_TEMPLATE, correlation_id)


@by_missing_template_plan
@by_correlation
def test_batch_missing_routing_plan_templates(
    http: httpx.Client, base: str, routing_plan_id: str, correlation_id: str | None
) -> None:
    body = up.batch_body(routing_plan_id=routing_plan_id)
    response = up.send(
        http, "POST", f"{base}/v1/message-batches", up.with_correlation(correlation_id), json=body
    )
    up.assert_error(response, 500, up.MISSING_ROUTING_PLAN_TEMPLATE, correlation_id)
