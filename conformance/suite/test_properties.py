"""Property-based conformance: every operation of ``specs/notify-api.yaml`` exercised with generated
requests (schemathesis + hypothesis), positive and negative, each response judged by the contract
(status, content type, headers, schema, acceptance of valid and rejection of invalid data, auth) and by
our JSON:API and header rules. Known contract-versus-gateway discrepancies are counted by name in the
attached summary, never silently passed."""

from __future__ import annotations

import allure
import pytest

from conformance.environments import Environment, Target
from conformance.properties.engine import PropertyOutcome, PropertyRunner
from conformance.properties.stateful import run_stateful
from conformance.spec import OperationId, load_spec
from conformance.suite._labels import behaviour, case

#: Every operation of the contract, by operationId, with its label (``METHOD /path``).
OPERATIONS = {operation.id: operation.label for operation in load_spec().operations.values()}
CREATES = (OperationId.CREATE_MESSAGE, OperationId.CREATE_MESSAGE_BATCH)
STORIES = {
    "positive": "Requests that follow the contract are accepted and answered as the contract says",
    "negative": "Requests that break the contract are rejected with a documented error",
}


def _label(story: str) -> None:
    """Labels set once per test (not per generated example, which would repeat them); the operation
    (feature and suite) is the case's own, given where it is parametrised, like every suite test's."""
    allure.dynamic.story(story)
    allure.dynamic.sub_suite(story)
    allure.dynamic.severity(allure.severity_level.CRITICAL)


def _report(outcome: PropertyOutcome) -> None:
    allure.attach(outcome.summary(), name="generated cases", attachment_type=allure.attachment_type.TEXT)
    if outcome.failures:
        pytest.fail(
            f"{len(outcome.failures)} distinct failure(s) in {outcome.cases} generated cases "
            f"(seed {outcome.seed}):\n\n" + "\n\n".join(outcome.failures),
            pytrace=False,
        )
    assert outcome.cases > 0, "no generated case could be sent"


AREA = "properties"
pytestmark = [pytest.mark.area(AREA), allure.epic(AREA), allure.parent_suite(AREA)]


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(
    "operation_id", [case(op, id=op, area=AREA, feature=label) for op, label in OPERATIONS.items()]
)
def test_generated_requests_conform(
    operation_id: str,
    mode: str,
    target: Target,
    notify_environment: Environment,
    property_runner: PropertyRunner,
) -> None:
    production = notify_environment.name == "production-smoke"
    if production and operation_id in CREATES:
        pytest.skip("generated messages are never sent to production")
    if mode == "negative" and not notify_environment.budget.negative:
        pytest.skip(f"no negative generation in {notify_environment.name}")
    _label(STORIES[mode])
    allure.dynamic.title(f"{OPERATIONS[operation_id]}: generated {mode} requests conform ({target.kind})")
    allure.dynamic.parameter("seed", property_runner.seed, excluded=True)
    _report(property_runner.run(operation_id, "positive" if mode == "positive" else "negative"))


@pytest.mark.stateful
@pytest.mark.writes
@behaviour(
    area=AREA,
    feature=OPERATIONS[OperationId.GET_MESSAGE],
    story="A created message can be fetched by the id the API returned",
    severity="critical",
)
def test_stateful_links_hold(
    target: Target, notify_environment: Environment, property_runner: PropertyRunner
) -> None:
    if notify_environment.name == "production-smoke":
        pytest.skip("generated messages are never sent to production")
    allure.dynamic.title(f"Created messages can be fetched through the contract's links ({target.kind})")
    allure.dynamic.parameter("seed", property_runner.seed, excluded=True)
    _report(run_stateful(property_runner))
