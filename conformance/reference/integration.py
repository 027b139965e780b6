"""The integration backend: stateful, per client, behind OAuth (the gateway has authenticated already).

Created messages (single or in a batch) are stored with status ``pending_enrichment`` and can be read
back by the client that sent them; another client gets 404, as in live. A client's second use of a
``messageReference`` (single messages) or ``messageBatchReference`` gives 422, or 425 CM_RETRY_TOO_EARLY
with ``Retry-After: 300`` while the first is still "in flight" (``ReferenceConfig.in_flight_s``; see
:mod:`.store`). Checks run routing plan, contact details, then duplicate, so a refused request never
uses up its reference. A batch reaches the store as one template with its ids and references
(:class:`~.store.UniformBatch`), never as a dict per message, and its request's messages are let go once
their references are read.

With a status step (``ReferenceConfig.timeline_step_s``) a stored message moves on through the statuses
of :mod:`.progress`, and GET shows where it has got to; with callbacks configured, the same changes are
handed to :mod:`.callback_delivery` once the message is stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from conformance.reference import memory, nhsapp
from conformance.reference.bodies import batch_created, iso_now, location_of, message_created
from conformance.reference.catalogue import (
    DUPLICATE_BATCH_REQUEST,
    DUPLICATE_MESSAGE_REQUEST,
    NOT_FOUND,
    RETRY_AFTER_TOO_EARLY,
    RETRY_TOO_EARLY,
    ErrorKind,
    Problem,
)
from conformance.reference.contact_details import contact_detail_problems
from conformance.reference.context import RequestContext
from conformance.reference.ksuid import new_ksuid, new_ksuids
from conformance.reference.progress import Progression
from conformance.reference.responses import Reply, error_reply, problem_reply
from conformance.reference.routing import ScenarioPath
from conformance.reference.routing_plans import PlanRefusal, look_up
from conformance.reference.store import Claim, MessageStore, UniformBatch

if TYPE_CHECKING:
    from conformance.reference.callback_delivery import CallbackDelivery

STORED_STATUS = "pending_enrichment"


def _owner(ctx: RequestContext) -> str:
    if ctx.client is None:  # the gateway's auth stage always sets it before a backend call
        raise RuntimeError("integration backend reached without an authenticated client")
    return ctx.client.api_key


def _reference_refused(ctx: RequestContext, claim: Claim, duplicate: ErrorKind) -> Reply:
    """The answer to a reference already claimed: 425 while the first is in flight, else 422."""
    if claim is Claim.IN_FLIGHT:
        return problem_reply(ctx, Problem(RETRY_TOO_EARLY), {"Retry-After": RETRY_AFTER_TOO_EARLY})
    return problem_reply(ctx, Problem(duplicate))


def _stored_data(
    message_id: str, reference: str, plan: dict[str, str], created: str, batch_id: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "Message",
        "id": message_id,
        "attributes": {
            "messageReference": reference,
            "messageStatus": STORED_STATUS,
            "routingPlan": plan,
            "timestamps": {"created": created},
        },
    }
    if batch_id is not None:
        data["relationships"] = {"messageBatch": {"data": {"type": "MessageBatch", "id": batch_id}}}
    return data


class IntegrationBackend:
    """Messages kept in a :class:`MessageStore`, owned by the API key that created them; with
    ``step_s``, their statuses move on, and with ``delivery``, each change is sent as a callback."""

    def __init__(
        self, store: MessageStore, step_s: float | None = None, delivery: CallbackDelivery | None = None
    ) -> None:
        self.store = store
        self.step_s = step_s
        self.delivery = delivery
        memory.keep_large_buffers_mapped()  # a large batch's buffers go back to the system when freed

    def _progressed(self, ctx: RequestContext, stored: Iterable[dict[str, Any]]) -> None:
        """Newly stored messages start their timelines (their callbacks are scheduled)."""
        if self.step_s is None or self.delivery is None:
            return
        for data in stored:
            self.delivery.submit(Progression(data, self.step_s), ctx.public_base)

    async def create_message(self, ctx: RequestContext, body: dict[str, Any]) -> Reply:
        owner = _owner(ctx)
        attributes = body["data"]["attributes"]
        plan = look_up("integration", attributes["routingPlanId"])
        if isinstance(plan, PlanRefusal):
            return problem_reply(ctx, plan.problem, plan.headers)
        if problems := contact_detail_problems(attributes, "/data/attributes"):
            return error_reply(ctx, problems)
        message_id, created, reference = new_ksuid(), iso_now(), attributes["messageReference"]
        stored = _stored_data(message_id, reference, plan.as_json(), created)
        claim = self.store.add_message(owner, reference, stored)
        if claim is not Claim.NEW:
            return _reference_refused(ctx, claim, DUPLICATE_MESSAGE_REQUEST)
        self._progressed(ctx, [stored])
        document = message_created(
            message_id, reference, plan.as_json(), created, f"{ctx.public_base}/v1/messages/{message_id}"
        )
        return Reply(status=201, body=document, headers={"Location": location_of(message_id)})

    async def create_batch(self, ctx: RequestContext, body: dict[str, Any]) -> Reply:
        owner = _owner(ctx)
        attributes = body["data"]["attributes"]
        plan = look_up("integration", attributes["routingPlanId"])
        if isinstance(plan, PlanRefusal):
            return problem_reply(ctx, plan.problem, plan.headers)
        messages: list[dict[str, Any]] = attributes["messages"]
        for index, message in enumerate(messages):
            if problems := contact_detail_problems(message, f"/data/attributes/messages/{index}"):
                return error_reply(ctx, problems)
        # from here on only the references are needed: the messages (most of a large body) are let go
        # now, not when the request ends; the body is the backend's to consume
        references: list[str] = [message["messageReference"] for message in messages]
        del messages, attributes["messages"]
        batch_reference = attributes["messageBatchReference"]
        batch_id, created, plan_json = new_ksuid(), iso_now(), plan.as_json()
        ids = new_ksuids(len(references))
        batch = UniformBatch(_stored_data("", "", plan_json, created, batch_id), ids, references)
        claim = self.store.add_batch(owner, batch_reference, batch)
        if claim is not Claim.NEW:
            return _reference_refused(ctx, claim, DUPLICATE_BATCH_REQUEST)
        self._progressed(ctx, batch)
        document = batch_created(batch_id, batch_reference, plan_json, zip(references, ids, strict=True))
        return Reply(status=201, body=document)

    async def get_message(self, ctx: RequestContext, message_id: str) -> Reply:
        data = self.store.message(_owner(ctx), message_id)
        if data is None:
            return problem_reply(ctx, Problem(NOT_FOUND))
        if self.step_s is not None:
            data = Progression(data, self.step_s).view(data, time.time())
        data["links"] = {"self": ctx.url_without_query}
        return Reply(status=200, body={"data": data})

    async def nhsapp_accounts(self, ctx: RequestContext) -> Reply:
        outcome = nhsapp.accounts(ctx.request.query_params, f"{ctx.public_base}/channels/nhsapp/accounts")
        if isinstance(outcome, Problem):
            return problem_reply(ctx, outcome)
        return Reply(status=200, body=outcome)

    async def scenario_path(self, ctx: RequestContext, path: ScenarioPath) -> Reply:
        """Unreachable: the scenario paths are not routes in integration mode."""
        return problem_reply(ctx, Problem(NOT_FOUND))
