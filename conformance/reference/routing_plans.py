"""Routing plans each mode knows, and what using one leads to (behaviour §1.6, §4.3).

A plan lookup gives either the plan (id, version, name, createdDate) or the problem the backend
reports. Lookups are case-sensitive, as the backends' tables are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.reference.catalogue import (
    INTERNAL_SERVER_ERROR,
    INVALID_VALUE,
    MISSING_ROUTING_PLAN_TEMPLATE,
    NO_SUCH_ROUTING_PLAN,
    RETRY_AFTER_TOO_EARLY,
    RETRY_TOO_EARLY,
    ROUTING_PLAN_DUPLICATE_TEMPLATES,
    ROUTING_PLAN_POINTER,
    Problem,
)
from conformance.reference.config import Mode

PLAN_CREATED_DATE = "2022-01-01T00:00:00.000Z"
SANDBOX_PLAN_NAME = "routing-plan-name"


@dataclass(frozen=True)
class RoutingPlan:
    id: str
    version: str
    name: str

    def as_json(self, *, version: str | None = None) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version if version is None else version,
            "createdDate": PLAN_CREATED_DATE,
        }


@dataclass(frozen=True)
class PlanRefusal:
    """A plan the backend refuses: the problem to report and any headers that go with it."""

    problem: Problem
    headers: Mapping[str, str]


_SANDBOX_SPECIFIC_VERSIONS = {
    "b838b13c-f98c-4def-93f0-515d4e4f4ee1": "ztoe2qRAM8M8vS0bqajhyEBcvXacrGPp",
    "49e43b98-70cb-47a9-a55e-fe70c9a6f77c": "G.uwELAFAGMsKEBk2iIeRCBOB6kj6OkE",
    "b402cd20-b62a-4357-8e02-2952959531c8": "J7ZPQIf1yyUB4CiBpUBoy.1ahfOTCCQ7",
    "936e9d45-15de-4a95-bb36-ae163c33ae53": "riOAKoN4ajoVyUf9U2xwHVNRHc5V52A.",
    "9ba00d23-cd6f-4aca-8688-00abc85a7980": "nkz2osS_oc8IZ5GqeN_1yXKSXe9VEUjV",
}
_GLOBAL_VERSIONS = {
    "00000000-0000-0000-0000-000000000001": "odbGpMQvYRM7sp7jueU2lRHQiueKujVO",
    "00000000-0000-0000-0000-000000000002": "HXdzlIX2Rv2qy7j9MR3FxbPHhJM7Jjzt",
    "00000000-0000-0000-0000-000000000003": "xoERWoahq12cq8WMXya4yed9hZtZbMxJ",
}
# The sandbox table lacks …0004–…0007 (behaviour §7.6); integration has every global plan. These four
# versions are the reference's own (the real ones are not published).
_INTEGRATION_ONLY_GLOBAL_VERSIONS = {
    "00000000-0000-0000-0000-000000000004": "rfGlobalNhsAppEmail24hVersion0004",
    "00000000-0000-0000-0000-000000000005": "rfGlobalNhsAppEmail4hVersion00005",
    "00000000-0000-0000-0000-000000000006": "rfGlobalNhsAppSms24hVersion000006",
    "00000000-0000-0000-0000-000000000007": "rfGlobalNhsAppSms4hVersion0000007",
}
_INTEGRATION_NAMES = {
    "00000000-0000-0000-0000-000000000001": "Global free text: NHS App",
    "00000000-0000-0000-0000-000000000002": "Global free text: email",
    "00000000-0000-0000-0000-000000000003": "Global free text: SMS",
    "00000000-0000-0000-0000-000000000004": "Global free text: NHS App then email (24h)",
    "00000000-0000-0000-0000-000000000005": "Global free text: NHS App then email (4h)",
    "00000000-0000-0000-0000-000000000006": "Global free text: NHS App then SMS (24h)",
    "00000000-0000-0000-0000-000000000007": "Global free text: NHS App then SMS (4h)",
}

DUPLICATE_TEMPLATES: tuple[dict[str, str], ...] = (
    {"name": "EMAIL_TEMPLATE", "type": "EMAIL"},
    {"name": "SMS_TEMPLATE", "type": "SMS"},
    {"name": "LETTER_TEMPLATE", "type": "LETTER"},
    {"name": "LETTER_PDF_TEMPLATE", "type": "LETTER_PDF"},
    {"name": "NHSAPP_TEMPLATE", "type": "NHSAPP"},
)


def _refusal(problem: Problem, **headers: str) -> PlanRefusal:
    return PlanRefusal(problem, headers)


def _duplicate_templates_meta() -> dict[str, Any]:
    return {"duplicateTemplates": [dict(template) for template in DUPLICATE_TEMPLATES]}


_SANDBOX_REFUSALS: Mapping[str, PlanRefusal] = {
    "4ead415a-c033-4b39-9b05-326ac237a3be": _refusal(Problem(INVALID_VALUE, ROUTING_PLAN_POINTER)),
    "c8857ccf-06ec-483f-9b3a-7fc732d9ad48": _refusal(Problem(MISSING_ROUTING_PLAN_TEMPLATE)),
    "aeb16ab8-cb9c-4d23-92e9-87c78119175c": _refusal(Problem(MISSING_ROUTING_PLAN_TEMPLATE)),
    "a3a4e55d-7a21-45a6-9286-8eb595c872a8": _refusal(
        Problem(ROUTING_PLAN_DUPLICATE_TEMPLATES, meta=_duplicate_templates_meta())
    ),
    "3bb82e6a-9873-4683-b2b9-fdf33c9ba86f": _refusal(Problem(INTERNAL_SERVER_ERROR)),
    "d895ade5-0029-4fc3-9fb5-86e1e5370854": PlanRefusal(
        Problem(RETRY_TOO_EARLY), {"Retry-After": RETRY_AFTER_TOO_EARLY}
    ),
}
_INTEGRATION_REFUSALS: Mapping[str, PlanRefusal] = {
    "191b5bf4-1a69-4798-ba8e-fbbd7dc3dea2": _refusal(Problem(MISSING_ROUTING_PLAN_TEMPLATE)),
    "d66ace32-20c2-4aff-a1fc-9ffa3f9fa577": _refusal(Problem(MISSING_ROUTING_PLAN_TEMPLATE)),
}

_SANDBOX_PLANS = {
    plan_id: RoutingPlan(plan_id, version, SANDBOX_PLAN_NAME)
    for plan_id, version in {**_SANDBOX_SPECIFIC_VERSIONS, **_GLOBAL_VERSIONS}.items()
}
_INTEGRATION_PLANS = {
    plan_id: RoutingPlan(plan_id, version, _INTEGRATION_NAMES.get(plan_id, SANDBOX_PLAN_NAME))
    for plan_id, version in {
        **_GLOBAL_VERSIONS,
        **_INTEGRATION_ONLY_GLOBAL_VERSIONS,
        **_SANDBOX_SPECIFIC_VERSIONS,
    }.items()
}

NO_SUCH_PLAN = PlanRefusal(Problem(NO_SUCH_ROUTING_PLAN), {})


def look_up(mode: Mode, plan_id: str) -> RoutingPlan | PlanRefusal:
    """The usable plan, or why not: a refusal from the mode's table, else 404 no such routing plan."""
    plans, refusals = (
        (_SANDBOX_PLANS, _SANDBOX_REFUSALS)
        if mode == "sandbox"
        else (_INTEGRATION_PLANS, _INTEGRATION_REFUSALS)
    )
    plan = plans.get(plan_id)
    if plan is not None:
        return plan
    return refusals.get(plan_id, NO_SUCH_PLAN)
