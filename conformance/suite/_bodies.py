"""What the tests send: the documented minimal valid message and batch, and the sandbox's documented
scenarios (its Prefer triggers, routing plans and contact details) with the answer each one gets."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from conformance.checks.catalogue import expected_error
from conformance.environments import GLOBAL_NHSAPP_PLAN

#: A valid test NHS number (the PDS smoke-test patient used across the documentation).
VALID_NHS_NUMBER = "9990548609"
#: Invalid NHS numbers of every kind the gateway rejects (wrong length, letters, bad types, bad checksum).
INVALID_NHS_NUMBERS: tuple[Any, ...] = (
    "999054860",
    "99905486090",
    "abcdefghij",
    "",
    [],
    {},
    5,
    0.1,
    "9990548608",
)


def reference() -> str:
    """A fresh client reference (messageReference / messageBatchReference)."""
    return str(uuid.uuid4())


def message(routing_plan_id: str, nhs_number: str = VALID_NHS_NUMBER, **attributes: Any) -> dict[str, Any]:
    """A create-message body addressed to ``nhs_number``; extra attributes override the defaults."""
    body: dict[str, Any] = {
        "data": {
            "type": "Message",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageReference": reference(),
                "recipient": {"nhsNumber": nhs_number},
                "originator": {"odsCode": "X26"},
                "personalisation": {"body": "test"},
            },
        }
    }
    body["data"]["attributes"].update(attributes)
    return body


def batch_item(nhs_number: str = VALID_NHS_NUMBER) -> dict[str, Any]:
    return {
        "messageReference": reference(),
        "recipient": {"nhsNumber": nhs_number},
        "originator": {"odsCode": "X26"},
        "personalisation": {"body": "test"},
    }


def batch(routing_plan_id: str, count: int = 3, nhs_number: str = VALID_NHS_NUMBER) -> dict[str, Any]:
    """A create-batch body with ``count`` messages."""
    return {
        "data": {
            "type": "MessageBatch",
            "attributes": {
                "routingPlanId": routing_plan_id,
                "messageBatchReference": reference(),
                "messages": [batch_item(nhs_number) for _ in range(count)],
            },
        }
    }


def without(body: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A copy of ``body`` with the member at JSON pointer ``pointer`` removed."""
    result = copy.deepcopy(body)
    node, key = _parent(result, pointer)
    del node[key]
    return result


def replaced(body: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the member at JSON pointer ``pointer`` set to ``value``."""
    result = copy.deepcopy(body)
    node, key = _parent(result, pointer)
    node[key] = value
    return result


def _parent(document: Any, pointer: str) -> tuple[Any, Any]:
    """The container holding the member ``pointer`` names, and that member's key or index."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    node = document
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    last = tokens[-1]
    return node, int(last) if isinstance(node, list) else last


# ------------------------------------------------------------------------------------------------------
# The sandbox's documented scenarios (behaviour §4), shared by the modules of the areas they belong to

#: The NHS documentation section that lists the sandbox's scenarios (an anchor of the API catalogue page).
SANDBOX_SECTION = "overview--environments-and-testing"
#: The plan scenario bodies use when the plan is not on trial (the sandbox accepts it).
SANDBOX_PLAN = GLOBAL_NHSAPP_PLAN

#: Every non-auth Prefer trigger (behaviour §4.1): the status, the catalogue error and the Retry-After it
#: must carry (None: not checked).
PREFER_TRIGGERS: dict[str, tuple[int, str, str | None]] = {
    "408": (408, "request_timeout", None),
    "425": (425, "retry_too_early", "300"),
    "422_batch": (422, "duplicate_batch_request", None),
    "422_message": (422, "duplicate_message_request", None),
    "429": (429, "quota", "5"),
    "500": (500, "internal_server_error", None),
    "503": (503, "service_unavailable", None),
    "504": (504, "gateway_timeout", None),
}
#: The auth triggers, proved on every operation in test_auth.py; they join the routing-order test.
AUTH_PREFER_TRIGGERS: dict[str, tuple[int, str, str | None]] = {
    "401": (401, "denied", None),
    "403": (403, "forbidden", None),
    "403.1": (403, "service_ban", None),
}
ALL_PREFER_TRIGGERS = {**AUTH_PREFER_TRIGGERS, **PREFER_TRIGGERS}

#: Plans the sandbox accepts, with the version a single message reports (behaviour §4.3).
ACCEPTED_PLANS = {
    "b838b13c-f98c-4def-93f0-515d4e4f4ee1": "ztoe2qRAM8M8vS0bqajhyEBcvXacrGPp",
    "49e43b98-70cb-47a9-a55e-fe70c9a6f77c": "G.uwELAFAGMsKEBk2iIeRCBOB6kj6OkE",
    "b402cd20-b62a-4357-8e02-2952959531c8": "J7ZPQIf1yyUB4CiBpUBoy.1ahfOTCCQ7",
    "936e9d45-15de-4a95-bb36-ae163c33ae53": "riOAKoN4ajoVyUf9U2xwHVNRHc5V52A.",
    "9ba00d23-cd6f-4aca-8688-00abc85a7980": "nkz2osS_oc8IZ5GqeN_1yXKSXe9VEUjV",
    "00000000-0000-0000-0000-000000000001": "odbGpMQvYRM7sp7jueU2lRHQiueKujVO",
    "00000000-0000-0000-0000-000000000002": "HXdzlIX2Rv2qy7j9MR3FxbPHhJM7Jjzt",
    "00000000-0000-0000-0000-000000000003": "xoERWoahq12cq8WMXya4yed9hZtZbMxJ",
}


def sandbox_routing_plan(plan_id: str, version: str) -> dict[str, str]:
    """The routingPlan a sandbox 201 reports for ``plan_id`` at ``version``."""
    return {
        "id": plan_id,
        "name": "routing-plan-name",
        "version": version,
        "createdDate": "2022-01-01T00:00:00.000Z",
    }


_DUPLICATE_TEMPLATES = [
    {"name": "EMAIL_TEMPLATE", "type": "EMAIL"},
    {"name": "SMS_TEMPLATE", "type": "SMS"},
    {"name": "LETTER_TEMPLATE", "type": "LETTER"},
    {"name": "LETTER_PDF_TEMPLATE", "type": "LETTER_PDF"},
    {"name": "NHSAPP_TEMPLATE", "type": "NHSAPP"},
]
#: Plans that fail (behaviour §4.3): the plan, the status, the exact error and the Retry-After it carries.
FAILING_PLANS = [
    pytest.param(
        "4ead415a-c033-4b39-9b05-326ac237a3be",
        400,
        expected_error("invalid_value", pointer="/data/attributes/routingPlanId"),
        None,
        id="invalid-config",
    ),
    pytest.param(
        "c8857ccf-06ec-483f-9b3a-7fc732d9ad48",
        500,
        expected_error("missing_routing_plan_template"),
        None,
        id="templates-missing",
    ),
    pytest.param(
        "aeb16ab8-cb9c-4d23-92e9-87c78119175c",
        500,
        expected_error("missing_routing_plan_template"),
        None,
        id="nhsapp-template-missing",
    ),
    pytest.param(
        "a3a4e55d-7a21-45a6-9286-8eb595c872a8",
        500,
        expected_error("routing_plan_duplicate_templates", meta={"duplicateTemplates": _DUPLICATE_TEMPLATES}),
        None,
        id="duplicate-templates",
    ),
    pytest.param(
        "3bb82e6a-9873-4683-b2b9-fdf33c9ba86f",
        500,
        expected_error("internal_server_error"),
        None,
        id="internal-error",
    ),
    pytest.param(
        "d895ade5-0029-4fc3-9fb5-86e1e5370854",
        425,
        expected_error("retry_too_early"),
        "300",
        id="retry-too-early",
    ),
    pytest.param(
        "0badf00d-0000-4000-8000-000000000000",
        404,
        expected_error("no_such_routing_plan"),
        None,
        id="unknown",
    ),
]

#: Phone numbers in each style the sandbox accepts in override contact details (behaviour §4.4).
VALID_SMS_NUMBERS = (
    "+7 (8) (495) 123-45-67",
    "007 (8) (495) 123-45-67",
    "+33122334455",
    "07723456789",
    "+447723456789",
)


def contact_details(sms: str = "07723456789") -> dict[str, Any]:
    """Override contact details the sandbox accepts."""
    return {
        "sms": sms,
        "email": "ab@cd.co.uk",
        "address": {"lines": ["Line 1", "Line 2"], "postcode": "LS7 1BN"},
    }


#: Contact details the backend refuses: the details sent, the field reported and the catalogue problem.
BAD_CONTACT_DETAILS = [
    pytest.param({"sms": 1234}, "sms", "sms_not_string", id="sms-number"),
    pytest.param({"email": 1234}, "email", "email_not_string", id="email-number"),
    pytest.param(
        {"address": {"lines": [f"Line {n}" for n in range(1, 7)], "postcode": "LS7 1BN"}},
        "address",
        "too_many_address_lines",
        id="six-address-lines",
    ),
    pytest.param(
        {"address": {"lines": [1, 2, 3], "postcode": "LS7 1BN"}},
        "address",
        "lines_not_string_array",
        id="lines-numbers",
    ),
    pytest.param(
        {"address": {"lines": ["Line 1", "Line 2"], "postcode": []}},
        "address",
        "postcode_not_string",
        id="postcode-array",
    ),
    pytest.param({"address": "1 High Street"}, "address", "address_invalid", id="address-string"),
    pytest.param({"name": []}, "name", "name_invalid", id="name-array"),
]
