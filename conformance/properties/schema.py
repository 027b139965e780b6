"""Load ``specs/`` as a schemathesis schema for one target and generation mode.

Domain knowledge the OpenAPI types cannot carry is added to a private copy of the contract as custom
string formats (NHS numbers with a valid check digit, KSUIDs, ODS codes, routing plans that exist), each
backed by a strategy from :mod:`conformance.properties.strategies`.

The copy's answers are open: the API may add members to them without notice (behaviour ops §1.2), so
``additionalProperties: false`` is lifted from every schema only answers use. Schemathesis still judges
each answer's types, required members and values; an added member is contract drift, which
:mod:`conformance.checks.drift` reports (and only ``--strict-contract`` fails), judged against the
contract as written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Literal

import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from conformance.environments import Budget, Target
from conformance.properties import strategies
from conformance.properties._schemathesis_adapter import register_format
from conformance.spec import Spec

Mode = Literal["positive", "negative"]

FORMAT_NHS_NUMBER = "notify-nhs-number"
FORMAT_KSUID = "notify-ksuid"
FORMAT_ODS_CODE = "notify-ods-code"
FORMAT_ROUTING_PLAN = "notify-routing-plan"

#: Statuses a schema-valid request may get without the API having wrongly rejected it: success, an
#: unknown resource or routing plan, a duplicate reference, throttling. Not 401/403: the suite always
#: sends valid credentials where auth is enforced, so an auth refusal of a valid case is a failure.
POSITIVE_ACCEPTED = ["2XX", "404", "409", "422", "425", "429"]
#: Statuses that count as rejecting a schema-violating request.
NEGATIVE_REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]


def register_formats(target: Target) -> None:
    """Register the domain formats (global in schemathesis, so registered for the target in use)."""
    register_format(FORMAT_NHS_NUMBER, strategies.nhs_numbers())
    register_format(FORMAT_KSUID, strategies.ksuids())
    register_format(FORMAT_ODS_CODE, strategies.ods_codes(), strategies.ODS_CODE_LENGTHS)
    register_format(FORMAT_ROUTING_PLAN, strategies.routing_plan_ids((target.routing_plan_id,)))


def property_document(spec: Spec) -> dict[str, Any]:
    """A copy of the contract with the domain formats attached to the request-side schemas."""
    document = copy.deepcopy(spec.raw)
    schemas = document["components"]["schemas"]
    schemas["NhsNumber"]["format"] = FORMAT_NHS_NUMBER
    schemas["MessageId"]["format"] = FORMAT_KSUID
    schemas["OdsCode"]["format"] = FORMAT_ODS_CODE
    for name in ("CreateMessageAttributes", "CreateMessageBatchAttributes"):
        schemas[name]["properties"]["routingPlanId"] = {"type": "string", "format": FORMAT_ROUTING_PLAN}
    open_answers(document)
    return document


_SCHEMAS = "#/components/schemas/"
_RESPONSES = "#/components/responses/"


def open_answers(document: dict[str, Any]) -> list[str]:
    """Lift ``additionalProperties: false`` from the answers' schemas, in place: the inline ones and
    every component only answers use (a schema requests use too keeps it, so negative generation still
    sends unknown members). Returns the components opened."""
    components = document.get("components", {})
    schemas, responses = components.get("schemas", {}), components.get("responses", {})
    answer_roots: list[Any] = []
    request_roots: list[Any] = [components.get("parameters", {})]
    for item in document.get("paths", {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            if not isinstance(operation, dict):
                continue
            request_roots += [operation.get("requestBody"), operation.get("parameters")]
            answer_roots += [r for r in (operation.get("responses") or {}).values() if isinstance(r, dict)]
    request_only = _reachable(request_roots, schemas, responses)
    opened = sorted(_reachable(answer_roots, schemas, responses) - request_only)
    for node in [*answer_roots, *(schemas[name] for name in opened)]:
        for schema in _inline(node, responses):
            if schema.get("additionalProperties") is False:
                del schema["additionalProperties"]
    return opened


def _reachable(roots: list[Any], schemas: dict[str, Any], responses: dict[str, Any]) -> set[str]:
    """The component schemas ``roots`` refer to, directly or through other components."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMAS):
                name = ref.removeprefix(_SCHEMAS)
                if name not in found and name in schemas:
                    found.add(name)
                    pending.append(schemas[name])
            elif isinstance(ref, str) and ref.startswith(_RESPONSES):
                pending.append(responses.get(ref.removeprefix(_RESPONSES)))
            pending += [value for key, value in node.items() if key != "examples"]
        elif isinstance(node, list):
            pending += node
    return found


def _inline(node: Any, responses: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object of ``node`` (following references to component responses, not to schemas)."""
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            yield current
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith(_RESPONSES):
                pending.append(responses.get(ref.removeprefix(_RESPONSES)))
            pending += [value for key, value in current.items() if key != "examples"]
        elif isinstance(current, list):
            pending += current


def load(spec: Spec, target: Target, *, mode: Mode, budget: Budget, seed: int) -> OpenApiSchema:
    """A schemathesis schema configured for ``target``'s environment budget and one generation mode."""
    register_formats(target)
    config = schemathesis.Config.from_dict(
        {
            "seed": seed,
            "base-url": target.base_url,
            "warnings": False,
            "generation": {
                "mode": mode,
                "max-examples": budget.max_examples,
                "database": "none",
                # where auth is not enforced (sandbox) there is no token to send, so none is generated
                "with-security-parameters": target.auth_required,
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {
                    "enabled": budget.coverage_phase,
                    **({} if budget.undeclared_methods else {"unexpected-methods": []}),
                },
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": 10},
            },
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_ACCEPTED},
                "negative_data_rejection": {"expected-statuses": NEGATIVE_REJECTED},
            },
        }
    )
    loaded = schemathesis.openapi.from_dict(property_document(spec), config=config)
    assert isinstance(loaded, OpenApiSchema)
    return loaded
