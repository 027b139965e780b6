"""The reference's route table is checked against the contract: every operation of
``specs/notify-api.yaml`` routes, by its method and path, to the operation of the same operationId, in
both modes; the only other routes are the sandbox's scenario paths, which the contract does not describe."""

from __future__ import annotations

from typing import get_args

import pytest

from conformance.reference import routing
from conformance.reference.catalogue import NOT_ALLOWED, NOT_FOUND
from conformance.reference.config import Mode
from conformance.spec import OperationId, load_spec, named_operations

MODES: tuple[Mode, ...] = get_args(Mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("operation_id", list(load_spec().operations))
def test_each_contract_operation_routes_to_itself(mode: Mode, operation_id: str) -> None:
    operation = load_spec().operation(operation_id)
    path = operation.path_with(messageId="NotifyConformanceUnknownId0")
    assert routing.resolve(mode, path, operation.method) == OperationId(operation_id)


def test_routes_lead_to_contract_operations_or_scenario_paths() -> None:
    contract = {str(op_id) for op_id in named_operations()}
    destinations = {route.destination for route in routing._ROUTES + routing._SANDBOX_ROUTES}
    operations = {d for d in destinations if isinstance(d, OperationId)}
    assert {str(op_id) for op_id in operations} == contract
    assert destinations - operations == set(routing.ScenarioPath)


@pytest.mark.parametrize("path", [scenario.value for scenario in routing.ScenarioPath])
def test_scenario_paths_exist_in_sandbox_mode_only(path: str) -> None:
    assert routing.resolve("sandbox", path, "GET") == routing.ScenarioPath(path)
    assert routing.resolve("integration", path, "GET") is NOT_FOUND
    assert routing.resolve("sandbox", path, "POST") is NOT_ALLOWED
