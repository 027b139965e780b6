"""The sandbox backend: stateless, scenario-driven (behaviour §4.2–§4.7).

Nothing is stored: a created message gets a fresh id, and GET only knows the fixture messages. The
``Authorization`` header doubles as a scenario switch (``banned``, ``noDefaultOds``, ``noOdsChange``,
``notAllowedContactDetailOverride``). Check order follows the backend: for one message ban, routing
plan, ODS, contact details; for a batch ban, ODS (per message), routing plan, contact details (first
failing message only).
"""

from __future__ import annotations

import asyncio
from typing import Any

from conformance.reference import nhsapp
from conformance.reference.bodies import batch_created, iso_now, location_of, message_created
from conformance.reference.catalogue import (
    CANNOT_SET_ODS_CODE,
    GATEWAY_TIMEOUT,
    NOT_FOUND,
    ODS_CODE_REQUIRED,
    SERVICE_BAN,
    SERVICE_UNAVAILABLE,
    Problem,
)
from conformance.reference.contact_details import contact_detail_problems, has_contact_details, not_allowed
from conformance.reference.context import RequestContext
from conformance.reference.fixtures import replace_path_root, stored_message
from conformance.reference.jsvalues import js_falsy, js_parse_int
from conformance.reference.ksuid import new_ksuid, new_ksuids
from conformance.reference.responses import Reply, error_reply, problem_reply
from conformance.reference.routing import ScenarioPath
from conformance.reference.routing_plans import PlanRefusal, look_up

BANNED = "banned"
NO_DEFAULT_ODS = "noDefaultOds"
NO_ODS_CHANGE = "noOdsChange"
CONTACT_DETAILS_NOT_ALLOWED = "notAllowedContactDetailOverride"
DEFAULT_TIMEOUT_SLEEP_MS = 3000
BATCH_PLAN_VERSION = "1"


def _ods_code(message: dict[str, Any]) -> Any:
    originator = message.get("originator")
    return originator.get("odsCode") if isinstance(originator, dict) else None


def _ods_problem(authorization: str | None, message: dict[str, Any]) -> Problem | None:
    ods_code = _ods_code(message)
    if authorization == NO_DEFAULT_ODS and js_falsy(ods_code):
        return Problem(ODS_CODE_REQUIRED)
    if authorization == NO_ODS_CHANGE and not js_falsy(ods_code):
        return Problem(CANNOT_SET_ODS_CODE)
    return None


def _contact_problems(authorization: str | None, message: dict[str, Any], prefix: str) -> list[Problem]:
    if authorization == CONTACT_DETAILS_NOT_ALLOWED and has_contact_details(message):
        return [not_allowed(prefix)]
    return contact_detail_problems(message, prefix)


def _refused(ctx: RequestContext, refusal: PlanRefusal) -> Reply:
    return problem_reply(ctx, refusal.problem, refusal.headers)


class SandboxBackend:
    """Canned answers keyed by routing plan, Authorization value, message id and ODS code."""

    def __init__(self, upstream_timeout_s: float) -> None:
        self.upstream_timeout_s = upstream_timeout_s

    async def create_message(self, ctx: RequestContext, body: dict[str, Any]) -> Reply:
        authorization = ctx.header("authorization")
        if authorization == BANNED:
            return problem_reply(ctx, Problem(SERVICE_BAN))
        attributes = body["data"]["attributes"]
        plan = look_up("sandbox", attributes["routingPlanId"])
        if isinstance(plan, PlanRefusal):
            return _refused(ctx, plan)
        if (ods_problem := _ods_problem(authorization, attributes)) is not None:
            return problem_reply(ctx, ods_problem)
        if problems := _contact_problems(authorization, attributes, "/data/attributes"):
            return error_reply(ctx, problems)
        message_id = new_ksuid()
        document = message_created(
            message_id,
            attributes["messageReference"],
            plan.as_json(),
            iso_now(),
            f"{ctx.public_base}/v1/messages/{message_id}",
        )
        return Reply(status=201, body=document, headers={"Location": location_of(message_id)})

    async def create_batch(self, ctx: RequestContext, body: dict[str, Any]) -> Reply:
        authorization = ctx.header("authorization")
        if authorization == BANNED:
            return problem_reply(ctx, Problem(SERVICE_BAN))
        attributes = body["data"]["attributes"]
        messages: list[dict[str, Any]] = attributes["messages"]
        for message in messages:
            if (ods_problem := _ods_problem(authorization, message)) is not None:
                return problem_reply(ctx, ods_problem)
        plan = look_up("sandbox", attributes["routingPlanId"])
        if isinstance(plan, PlanRefusal):
            return _refused(ctx, plan)
        for index, message in enumerate(messages):
            if problems := _contact_problems(authorization, message, f"/data/attributes/messages/{index}"):
                return error_reply(ctx, problems)
        ids = new_ksuids(len(messages))
        document = batch_created(
            new_ksuid(),
            attributes["messageBatchReference"],
            plan.as_json(version=BATCH_PLAN_VERSION),
            zip((message["messageReference"] for message in messages), ids, strict=True),
        )
        return Reply(status=201, body=document)

    async def get_message(self, ctx: RequestContext, message_id: str) -> Reply:
        if ctx.header("authorization") == BANNED:
            return problem_reply(ctx, Problem(SERVICE_BAN))
        document = stored_message(message_id)
        if document is None:
            return problem_reply(ctx, Problem(NOT_FOUND))
        return Reply(status=200, body=replace_path_root(document, ctx.url_without_query))

    async def nhsapp_accounts(self, ctx: RequestContext) -> Reply:
        if ctx.header("authorization") == BANNED:
            return problem_reply(ctx, Problem(SERVICE_BAN))
        outcome = nhsapp.accounts(ctx.request.query_params, f"{ctx.public_base}/channels/nhsapp/accounts")
        if isinstance(outcome, Problem):
            return problem_reply(ctx, outcome)
        return Reply(status=200, body=outcome)

    async def scenario_path(self, ctx: RequestContext, path: ScenarioPath) -> Reply:
        """The sandbox's simulated upstream trouble (behaviour §4.7)."""
        if path is ScenarioPath.TIMEOUT:
            return await self._sleep_then_answer(ctx)
        if path is ScenarioPath.INVALID_CERTIFICATE:
            # the backend's AWS-style 403 {"message":"Forbidden"} becomes 503 at the gateway
            return problem_reply(ctx, Problem(SERVICE_UNAVAILABLE))
        # /_timeout_504 (backend 504) and /_timeout_408 (backend 408, rethrown as 504)
        return problem_reply(ctx, Problem(GATEWAY_TIMEOUT))

    async def _sleep_then_answer(self, ctx: RequestContext) -> Reply:
        """Sleep ``sleep`` ms (default 3000), but give up with 504 once the upstream timeout passes."""
        raw_sleep = ctx.request.query_params.get("sleep")
        sleep_ms = DEFAULT_TIMEOUT_SLEEP_MS
        if raw_sleep:
            sleep_ms = max(0, js_parse_int(raw_sleep) or 0)
        if sleep_ms / 1000 > self.upstream_timeout_s:
            await asyncio.sleep(self.upstream_timeout_s)
            return problem_reply(ctx, Problem(GATEWAY_TIMEOUT))
        await asyncio.sleep(sleep_ms / 1000)
        return Reply(status=200, body={})
