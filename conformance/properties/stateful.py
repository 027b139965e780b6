"""Stateful property tests where the target keeps state: schemathesis chains operations through the
contract's OpenAPI links (create a message, then get it by the id the 201 returned), sending every step
through the suite's guarded httpx client."""

from __future__ import annotations

import time
from typing import Any

import hypothesis
import schemathesis
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.core.failures import FailureGroup

from conformance.properties.engine import Case, PropertyOutcome, PropertyRunner, _fresh_references, _request
from conformance.properties.schemathesis_checks import CUSTOM_CHECKS


def run_stateful(runner: PropertyRunner, *, steps: int = 10) -> PropertyOutcome:
    """Drive the link-based state machine for the runner's target; failures end up in the outcome."""
    loaded = runner.schema("positive")
    outcome = PropertyOutcome("stateful", "positive", runner.seed)
    base = loaded.as_state_machine()

    class NotifyStateMachine(base):  # type: ignore[misc, valid-type]
        def call(self, case: Case, **kwargs: Any) -> schemathesis.Response:
            _fresh_references(case)
            response = runner.http.send(_request(runner.http, case, runner.target.base_url), auth=None)
            outcome.cases += 1
            outcome.statuses[response.status_code] += 1
            return schemathesis.Response.from_any(response)

        def validate_response(
            self, response: schemathesis.Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                super().validate_response(response, case, additional_checks=list(CUSTOM_CHECKS), **kwargs)
            except FailureGroup as group:
                operation_id = case.operation.definition.raw.get("operationId", "")
                url = str(response.request.url)
                unexplained = outcome.set_aside_known(group, operation_id, runner.target, url, runner.spec)
                if unexplained:
                    raise FailureGroup(unexplained) from None

    settings = hypothesis.settings(
        max_examples=max(3, runner.budget.max_examples // 5),
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    started = time.monotonic()
    try:
        run_state_machine_as_test(NotifyStateMachine, settings=settings)
    except FailureGroup as group:
        outcome.failures += [str(failure) for failure in group.exceptions]
    except AssertionError as error:
        outcome.failures.append(str(error))
    outcome.elapsed_s = time.monotonic() - started
    return outcome
