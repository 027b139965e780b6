"""Contract drift is seen, not failed: what an answer carries that the contract does not document
(members, headers, enum values, statuses) is named, one example each, in ``drift.json`` and
``readiness.md``; the property tests no longer fail on an added member; only ``--strict-contract`` fails
the tests that saw drift. Unit tests of the pure function, then real runs against a reference that adds
an undocumented member (the ``created-extra-attribute`` entry of the fault bank)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.checks.drift import ContractDrift, Drift, find_drift
from conformance.exchange import Exchange
from conformance.properties.schema import open_answers, property_document
from conformance.reference.faults import FAULTS
from conformance.reporting import drift
from conformance.reporting.drift import DriftCollector
from conformance.spec import load_spec
from conformance.transport import Recorder
from tests.support.cli import run_cli

pytest_plugins = ["pytester"]

BASE = "http://127.0.0.1:8000/comms"
MESSAGE_ID = "2WL3qFTEFM0qMY8xjRbt1LIKCzM"
GATEWAY_HEADERS = {
    "content-type": "application/vnd.api+json",
    "cache-control": "no-cache, no-store, must-revalidate",
    "x-content-type-options": "nosniff",
    "x-correlation-id": "conformance-1",
    "date": "Mon, 01 Jun 2026 02:00:00 GMT",
    "server": "uvicorn",
    "content-length": "10",
}


def _message(**attributes: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "Message",
            "id": MESSAGE_ID,
            "attributes": {
                "messageReference": "ref-1",
                "messageStatus": "created",
                "timestamps": {"created": "2026-06-01T02:00:00.000Z"},
                "routingPlan": {
                    "id": "00000000-0000-0000-0000-000000000001",
                    "name": "NHS App",
                    "version": "1",
                    "createdDate": "2026-01-01T00:00:00.000Z",
                },
                **attributes,
            },
            "links": {"self": f"{BASE}/v1/messages/{MESSAGE_ID}"},
        }
    }


def _answer(
    body: Any,
    *,
    method: str = "GET",
    path: str = f"/v1/messages/{MESSAGE_ID}",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Exchange:
    return Exchange.build(
        method=method,
        url=BASE + path,
        status=status,
        response_headers={**GATEWAY_HEADERS, **(headers or {})},
        response_body=json.dumps(body).encode(),
    )


def _keys(exchange: Exchange) -> list[str]:
    return sorted(item.key for item in find_drift(exchange))


# -- the pure function ------------------------------------------------------------------------------------


def test_a_documented_answer_has_no_drift() -> None:
    assert _keys(_answer(_message())) == []


def test_an_added_member_is_drift_named_by_operation_status_and_path() -> None:
    found = find_drift(_answer(_message(newField={"a": 1})))
    assert [item.key for item in found] == [
        "GET /v1/messages/{messageId} 200: member data.attributes.newField"
    ]
    assert found[0].sample == '{"a":1}'


def test_members_inside_arrays_and_nested_objects_are_found_once() -> None:
    body = {
        "data": {
            "type": "MessageBatch",
            "id": MESSAGE_ID,
            "attributes": {
                "messageBatchReference": "b-1",
                "routingPlan": {
                    "id": "x",
                    "name": "n",
                    "version": "1",
                    "createdDate": "2026-01-01T00:00:00Z",
                },
                "messages": [{"messageReference": str(n), "id": MESSAGE_ID, "extra": n} for n in range(50)],
            },
        }
    }
    keys = _keys(_answer(body, method="POST", path="/v1/message-batches", status=201))
    assert keys == ["POST /v1/message-batches 201: member data.attributes.messages[].extra"]


def test_undocumented_enum_values_headers_and_statuses_are_drift() -> None:
    answer = _answer(_message(messageStatus="queued"), headers={"x-new-header": "1"})
    assert _keys(answer) == [
        "GET /v1/messages/{messageId} 200: header x-new-header",
        "GET /v1/messages/{messageId} 200: value 'queued' of data.attributes.messageStatus",
    ]
    teapot = _answer({"errors": []}, method="POST", path="/v1/messages", status=418)
    assert _keys(teapot) == ["POST /v1/messages 418: status not documented"]


def test_error_objects_are_judged_against_the_error_schema() -> None:
    error = {
        "id": "rrt-1.0",
        "code": "CM_NOT_FOUND",
        "links": {"about": "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"},
        "status": "404",
        "title": "Resource not found",
        "detail": "The resource at the requested URI was not found.",
        "hint": "try another id",
    }
    assert _keys(_answer({"errors": [error]}, status=404)) == [
        "GET /v1/messages/{messageId} 404: member errors[].hint"
    ]


def test_a_sandbox_canned_answer_is_no_status_drift() -> None:
    canned = Exchange.build(
        method="GET",
        url=f"{BASE}/v1/messages/{MESSAGE_ID}",
        status=425,
        request_headers={"Prefer": "code=425"},
        response_headers=GATEWAY_HEADERS,
        response_body=b'{"errors": []}',
    )
    assert find_drift(canned) == []  # any path and method gets the trigger's answer (behaviour §4.1)


def test_answers_outside_the_contract_are_not_judged() -> None:
    body = _message(newField=1)
    assert _keys(_answer(body, path="/_ping")) == []  # the gateway's own endpoint
    assert _keys(_answer(body, path="/v1/ignore/i-dont-exist")) == []  # no route
    assert _keys(_answer(body, method="DELETE")) == []  # a method the path does not declare
    assert _keys(_answer(body, method="HEAD")) == []  # HEAD is not an operation of the contract (D19)
    assert _keys(_answer(body, method="OPTIONS")) == []  # CORS preflights


def test_the_strict_failure_names_each_thing_on_its_own_line() -> None:
    items = [
        Drift("member", "POST", "/v1/messages", 201, "data.attributes.priority", sample="'normal'"),
        Drift("header", "POST", "/v1/messages", 201, "x-new", sample="'1'"),
    ]
    lines = str(ContractDrift(items)).splitlines()
    assert lines[0] == "contract drift (--strict-contract): 2 undocumented things in the answers"
    assert lines[1:] == [
        "  POST /v1/messages 201: member data.attributes.priority (here: 'normal')",
        "  POST /v1/messages 201: header x-new (here: '1')",
    ]


def test_the_collector_keeps_one_example_per_thing_and_redacts_it(tmp_path: Path) -> None:
    collector = DriftCollector()
    collector.pytest_runtest_logstart("test_a.py::test_one")
    for _ in range(3):
        collector(_answer(_message(newField="Bearer abc.def.ghi")))
    collector.pytest_runtest_logfinish()
    document = json.loads(collector.write(tmp_path).read_text())
    assert document["count"] == 1 and document["strict_contract"] is False
    item = document["items"][0]
    assert item["key"] == "GET /v1/messages/{messageId} 200: member data.attributes.newField"
    assert (item["answers"], item["tests"]) == (3, 1)
    assert item["example"]["test"] == "test_a.py::test_one"
    assert item["example"]["request"] == f"GET /comms/v1/messages/{MESSAGE_ID}"
    assert "abc.def.ghi" not in json.dumps(document)
    assert document["exercised"] == ["GET /v1/messages/{messageId} 200"]


# -- the property tests judge added members as drift, not failures ------------------------------------


def test_the_property_tests_open_only_the_answers_schemas() -> None:
    document = copy.deepcopy(load_spec().raw)
    opened = open_answers(document)
    schemas = document["components"]["schemas"]
    assert {"MessageCreated", "MessageAttributes", "ErrorObject", "RoutingPlan"} <= set(opened)
    for name in opened:
        assert schemas[name].get("additionalProperties") is not False, name
    # what requests use stays closed, so negative generation still sends unknown members
    for name in ("BatchMessage", "Recipient", "Originator"):
        assert schemas[name]["additionalProperties"] is False, name
    # required members and types still hold, and the contract itself is untouched
    assert (
        schemas["MessageAttributes"]["required"]
        == load_spec().raw["components"]["schemas"]["MessageAttributes"]["required"]
    )
    assert load_spec().raw["components"]["schemas"]["MessageAttributes"]["additionalProperties"] is False
    assert (
        property_document(load_spec())["components"]["schemas"]["MessageCreated"].get("additionalProperties")
        is None
    )


def test_strict_contract_is_a_flag_a_variable_or_a_file_setting() -> None:
    from conformance.cli import build_parser
    from conformance.errors import UsageError
    from conformance.run_config import options_from

    args = build_parser().parse_args(["run", "--strict-contract", "--baseline", "earlier"])
    assert args.strict_contract is True and args.baseline == "earlier"
    assert build_parser().parse_args(["run"]).strict_contract is None  # so a variable or the file decides
    assert options_from({}, environ={})[0].strict_contract is False
    assert options_from({}, environ={"NOTIFY_STRICT_CONTRACT": "yes"})[0].strict_contract is True
    assert options_from({"strict_contract": True}, environ={"NOTIFY_STRICT_CONTRACT": "0"})[0].strict_contract
    with pytest.raises(UsageError, match="NOTIFY_STRICT_CONTRACT: expected true or false"):
        options_from({}, environ={"NOTIFY_STRICT_CONTRACT": "maybe"})


def test_the_drift_entry_of_the_bank_is_marked_strict_only() -> None:
    entries = [fault.name for fault in FAULTS.values() if fault.strict_contract]
    assert entries == ["created-extra-attribute"]


# -- real runs ---------------------------------------------------------------------------------------------

#: a few tests that create single messages (one of them a property test), against both reference modes
SELECTION = "test_valid_message_is_created or (test_generated_requests_conform and create-message-positive)"
ADDED = "POST /v1/messages 201: member data.attributes.priority"


@pytest.mark.slow
def test_an_added_member_is_reported_as_drift_and_the_run_passes(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ("run", "--fault", "created-extra-attribute", "-k", SELECTION, "--max-examples", "3")
    run = run_cli(*args, "--reports", str(reports), "-q")
    assert run.returncode == 0, run.tail()

    document = json.loads((reports / "drift.json").read_text())
    assert [item["key"] for item in document["items"]] == [ADDED]
    example = document["items"][0]["example"]
    assert example["request"] == "POST /comms/v1/messages" and example["status"] == 201
    assert example["sample"] == "'normal'" and example["test"]
    assert document["strict_contract"] is False

    readiness = (reports / "readiness.md").read_text()
    assert readiness.startswith("# Onboarding readiness: INCOMPLETE")
    assert "## Contract drift" in readiness and f"- `{ADDED}`" in readiness
    assert f"{ADDED} (here: 'normal'" in run.stdout
    assert "contract drift: 1 undocumented thing in the answers (not failures" in run.stdout


@pytest.mark.slow
def test_with_strict_contract_each_drift_fails_the_tests_that_saw_it(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    args = ("run", "--fault", "created-extra-attribute", "-k", SELECTION, "--max-examples", "3")
    run = run_cli(*args, "--strict-contract", "--reports", str(reports), "-q")
    assert run.returncode == 1, run.tail()
    assert "contract drift (--strict-contract): 1 undocumented thing in the answers" in run.stdout
    assert f"{ADDED} (here: 'normal')" in run.stdout
    assert "failures under --strict-contract" in run.stdout
    outcomes = json.loads((reports / "outcomes.json").read_text())["tests"]
    assert outcomes and set(outcomes.values()) == {"failed"}, outcomes
    assert json.loads((reports / "drift.json").read_text())["strict_contract"] is True

    clean = run_cli(
        "run", "-k", SELECTION, "--max-examples", "3", "--strict-contract", "--reports", str(reports)
    )
    assert clean.returncode == 0, clean.tail()  # the clean reference has no drift
    assert json.loads((reports / "drift.json").read_text())["count"] == 0


@pytest.mark.parametrize("blocked", [False, True])
def test_blocking_the_drift_plugin_leaves_every_answer_unwalked(
    pytester: pytest.Pytester, blocked: bool
) -> None:
    """What a self-test job that is not strict does (``-p no:notify-conformance-drift``): no drift
    collector hears the session's answers, so none is walked."""
    block = ("-p", f"no:{drift.PLUGIN_NAME}") if blocked else ()
    config = pytester.parseconfigure("-p", "no:notify_conformance", *block)
    recorder = Recorder()
    installed = drift.install(config, recorder, strict=lambda: False)
    listening = [listener for listener in recorder.listeners if isinstance(listener, DriftCollector)]
    assert (installed is None, listening == []) == (blocked, blocked)
