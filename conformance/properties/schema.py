"""Load ``specs/`` as a schemathesis schema for one target and generation mode.

Domain knowledge the OpenAPI types cannot carry is added to a private copy of the contract as custom
string formats (NHS numbers with a valid check digit, KSUIDs, ODS codes, routing plans that exist), each
backed by a strategy from :mod:`conformance.properties.strategies`.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from conformance.environments import Budget, Target
from conformance.properties import strategies
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
    schemathesis.openapi.format(FORMAT_NHS_NUMBER, strategies.nhs_numbers())
    schemathesis.openapi.format(FORMAT_KSUID, strategies.ksuids())
    schemathesis.openapi.format(FORMAT_ODS_CODE, strategies.ods_codes())
    schemathesis.openapi.format(FORMAT_ROUTING_PLAN, strategies.routing_plan_ids((target.routing_plan_id,)))


def property_document(spec: Spec) -> dict[str, Any]:
    """A copy of the contract with the domain formats attached to the request-side schemas."""
    document = copy.deepcopy(spec.raw)
    schemas = document["components"]["schemas"]
    schemas["NhsNumber"]["format"] = FORMAT_NHS_NUMBER
    schemas["MessageId"]["format"] = FORMAT_KSUID
    schemas["OdsCode"]["format"] = FORMAT_ODS_CODE
    for name in ("CreateMessageAttributes", "CreateMessageBatchAttributes"):
        schemas[name]["properties"]["routingPlanId"] = {"type": "string", "format": FORMAT_ROUTING_PLAN}
    return document


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
