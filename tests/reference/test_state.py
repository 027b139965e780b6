"""Integration-mode state: create then read back, batches, duplicate references, ownership, and the
routing plans and backend checks integration knows."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.reference.server import RunningReference
from tests.reference.conftest import (
    EXPECTED_ERRORS,
    assert_error,
    assert_errors,
    batch_body,
    batch_message,
    fetch_token,
    message_body,
    with_detail,
)

KSUID = re.compile(r"[0-9A-Za-z]{27}")
GLOBAL_PLANS = [f"00000000-0000-0000-0000-00000000000{n}" for n in range(1, 8)]
SANDBOX_PLANS = [
    "b838b13c-f98c-4def-93f0-515d4e4f4ee1",
    "49e43b98-70cb-47a9-a55e-fe70c9a6f77c",
    "b402cd20-b62a-4357-8e02-2952959531c8",
    "936e9d45-15de-4a95-bb36-ae163c33ae53",
    "9ba00d23-cd6f-4aca-8688-00abc85a7980",
]


class Api:
    """An authenticated client of the integration reference."""

    def __init__(self, http: httpx.Client, server: RunningReference, token: str) -> None:
        self.http = http
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(self.server.base_url + path, json=body, headers=self.headers)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(self.server.base_url + path, headers=self.headers)


@pytest.fixture(scope="module")
def api(http: httpx.Client, integration_server: RunningReference, access_token: str) -> Api:
    return Api(http, integration_server, access_token)


@pytest.fixture(scope="module")
def other_api(http: httpx.Client, integration_server: RunningReference, key_dir: Path) -> Api:
    from conformance.reference.oauth import generate_client

    client = generate_client(integration_server.registry, key_dir)
    return Api(http, integration_server, fetch_token(integration_server, client))


def is_timestamp(value: object) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")) is not None


# ---- single messages


def test_create_then_get_a_message(api: Api) -> None:
    body = message_body()
    reference = body["data"]["attributes"]["messageReference"]  # type: ignore[index]
    created = api.post("/v1/messages", body)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    message_id = data["id"]
    assert KSUID.fullmatch(message_id)
    assert created.headers["location"] == f"/v1/messages/{message_id}"
    assert data["links"]["self"] == f"{api.server.base_url}/v1/messages/{message_id}"
    assert data["attributes"]["messageStatus"] == "created"
    assert data["attributes"]["messageReference"] == reference
    assert is_timestamp(data["attributes"]["timestamps"]["created"])

    fetched = api.get(f"/v1/messages/{message_id}?ignored=query")
    assert fetched.status_code == 200, fetched.text
    got = fetched.json()["data"]
    assert got["type"] == "Message" and got["id"] == message_id
    assert got["attributes"] == {
        "messageReference": reference,
        "messageStatus": "pending_enrichment",
        "routingPlan": data["attributes"]["routingPlan"],
        "timestamps": {"created": data["attributes"]["timestamps"]["created"]},
    }
    assert got["links"] == {"self": f"{api.server.base_url}/v1/messages/{message_id}"}
    assert "relationships" not in got


def test_head_on_a_stored_message(api: Api) -> None:
    message_id = api.post("/v1/messages", message_body()).json()["data"]["id"]
    head = api.http.head(f"{api.server.base_url}/v1/messages/{message_id}", headers=api.headers)
    assert head.status_code == 200 and head.content == b""


def test_a_repeated_message_reference_is_422(api: Api) -> None:
    body = message_body()
    assert api.post("/v1/messages", body).status_code == 201
    assert_error(api.post("/v1/messages", body), 422, EXPECTED_ERRORS["duplicate_message"])


def test_references_are_per_client(api: Api, other_api: Api) -> None:
    body = message_body()
    assert api.post("/v1/messages", body).status_code == 201
    assert other_api.post("/v1/messages", body).status_code == 201


def test_a_refused_request_does_not_use_up_its_reference(api: Api) -> None:
    reference = str(uuid.uuid4())
    refused = api.post(
        "/v1/messages", message_body(messageReference=reference, routingPlanId=str(uuid.uuid4()))
    )
    assert_error(refused, 404, EXPECTED_ERRORS["no_such_routing_plan"])
    assert api.post("/v1/messages", message_body(messageReference=reference)).status_code == 201


def test_concurrent_duplicates_create_exactly_one_message(api: Api) -> None:
    body = message_body()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(
            pool.map(
                lambda _: (
                    httpx.post(
                        api.server.base_url + "/v1/messages", json=body, headers=api.headers
                    ).status_code
                ),
                range(8),
            )
        )
    assert statuses == [201] + [422] * 7


def test_other_clients_messages_are_not_found(api: Api, other_api: Api) -> None:
    message_id = api.post("/v1/messages", message_body()).json()["data"]["id"]
    assert_error(other_api.get(f"/v1/messages/{message_id}"), 404, EXPECTED_ERRORS["not_found"])
    assert_error(api.get("/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM"), 404, EXPECTED_ERRORS["not_found"])


# ---- batches


def test_create_a_batch_then_get_its_messages(api: Api) -> None:
    body = batch_body(5)
    created = api.post("/v1/message-batches", body)
    assert created.status_code == 201, created.text
    assert "location" not in created.headers
    data = created.json()["data"]
    assert data["type"] == "MessageBatch" and KSUID.fullmatch(data["id"])
    assert "links" not in data
    attributes = data["attributes"]
    sent = body["data"]["attributes"]  # type: ignore[index]
    assert attributes["messageBatchReference"] == sent["messageBatchReference"]
    assert attributes["routingPlan"]["id"] == sent["routingPlanId"]
    assert attributes["routingPlan"]["version"] not in ("", "1"), (
        "integration returns the plan's real version"
    )
    assert [m["messageReference"] for m in attributes["messages"]] == [
        m["messageReference"] for m in sent["messages"]
    ]
    ids = [m["id"] for m in attributes["messages"]]
    assert len(set(ids)) == 5 and all(KSUID.fullmatch(message_id) for message_id in ids)
    for message in attributes["messages"]:
        got = api.get(f"/v1/messages/{message['id']}").json()["data"]
        assert got["attributes"]["messageReference"] == message["messageReference"]
        assert got["attributes"]["messageStatus"] == "pending_enrichment"
        assert got["relationships"] == {"messageBatch": {"data": {"type": "MessageBatch", "id": data["id"]}}}


def test_a_repeated_batch_reference_is_422(api: Api) -> None:
    body = batch_body(2)
    assert api.post("/v1/message-batches", body).status_code == 201
    again = batch_body(2, messageBatchReference=body["data"]["attributes"]["messageBatchReference"])  # type: ignore[index]
    assert_error(api.post("/v1/message-batches", again), 422, EXPECTED_ERRORS["duplicate_batch"])


def test_batch_message_references_may_repeat_across_batches(api: Api) -> None:
    messages = [batch_message(), batch_message()]
    assert api.post("/v1/message-batches", batch_body(messages=messages)).status_code == 201
    assert api.post("/v1/message-batches", batch_body(messages=messages)).status_code == 201


# ---- routing plans and backend checks in integration


@pytest.mark.parametrize("plan", GLOBAL_PLANS + SANDBOX_PLANS)
def test_usable_routing_plans(api: Api, plan: str) -> None:
    message = api.post("/v1/messages", message_body(routingPlanId=plan))
    assert message.status_code == 201, message.text
    routing_plan = message.json()["data"]["attributes"]["routingPlan"]
    assert routing_plan["id"] == plan and routing_plan["version"] and isinstance(routing_plan["name"], str)
    assert is_timestamp(routing_plan["createdDate"])
    assert api.post("/v1/message-batches", batch_body(1, routingPlanId=plan)).status_code == 201


@pytest.mark.parametrize(
    "plan", ["191b5bf4-1a69-4798-ba8e-fbbd7dc3dea2", "d66ace32-20c2-4aff-a1fc-9ffa3f9fa577"]
)
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/message-batches"])
def test_plans_with_missing_templates_are_500(api: Api, plan: str, path: str) -> None:
    body = message_body(routingPlanId=plan) if path == "/v1/messages" else batch_body(routingPlanId=plan)
    assert_error(api.post(path, body), 500, EXPECTED_ERRORS["missing_templates"])


@pytest.mark.parametrize(
    "plan",
    [
        "f0000000-0000-4000-8000-000000000000",
        "ae0f772e-6660-4829-8f11-1ed8a3fc68c2",
        "4ead415a-c033-4b39-9b05-326ac237a3be",  # sandbox-only trigger
        "B838B13C-F98C-4DEF-93F0-515D4E4F4EE1",  # lookups are case-sensitive
    ],
)
def test_other_plans_do_not_exist(api: Api, plan: str) -> None:
    assert_error(
        api.post("/v1/messages", message_body(routingPlanId=plan)),
        404,
        EXPECTED_ERRORS["no_such_routing_plan"],
    )


def test_contact_details_are_type_checked(api: Api) -> None:
    body = batch_body(
        messages=[batch_message(), batch_message(recipient={"contactDetails": {"sms": 1, "email": 2}})]
    )
    invalid = {
        "code": "CM_INVALID_VALUE",
        "links": {"about": "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"},
        "status": "400",
        "title": "Invalid value",
    }
    prefix = "/data/attributes/messages/1/recipient/contactDetails"
    assert_errors(
        api.post("/v1/message-batches", body),
        400,
        [
            with_detail(invalid, "'sms' is not a string", pointer=f"{prefix}/sms"),
            with_detail(invalid, "'email' is not a string", pointer=f"{prefix}/email"),
        ],
    )


def test_nhsapp_accounts_in_integration(api: Api) -> None:
    response = api.get("/channels/nhsapp/accounts?ods-organisation-code=T00001&page=8")
    assert response.status_code == 200
    assert response.json()["links"]["self"] == (
        f"{api.server.base_url}/channels/nhsapp/accounts?ods-organisation-code=T00001&page=8"
    )
    assert_error(
        api.get("/channels/nhsapp/accounts?ods-organisation-code=T00404"),
        404,
        EXPECTED_ERRORS["report_not_found"],
    )
