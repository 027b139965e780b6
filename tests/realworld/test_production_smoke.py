"""Issue §9: production-smoke is frugal. By default it creates at most one message, stays inside its
200-request budget, and --plan tells what a run would cost without sending anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import run_cli
from tests.support.runs import (
    FAST,
    TEST_PATIENT,
    assert_names_the_problem,
    assert_no_traceback,
    assert_one_line,
    authenticated_run,
)

REQUEST_BUDGET = 200


def _smoke(target_args: list[str], *extra: str) -> list[str]:
    return [*target_args, "--test-patient", TEST_PATIENT, *extra]


@pytest.mark.slow
def test_default_run_creates_at_most_one_message(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    target = start_target("integration")
    args = authenticated_run(target, reports, *FAST, env="production-smoke")
    outcome = run_cli(*_smoke(args), env=target.client_env(tmp_path), timeout=400)
    assert outcome.returncode == 0, outcome.tail()
    # the documented footprint: at most one message, and at most one batch (of one message)
    created = [hit.path.rstrip("/") for hit in target.traffic.hits if hit.is_create]
    assert created.count("/comms/v1/messages") <= 1, target.traffic.summary()
    assert created.count("/comms/v1/message-batches") <= 1, target.traffic.summary()
    assert target.traffic.count <= REQUEST_BUDGET, target.traffic.summary()
    assert_no_traceback(outcome)


@pytest.mark.slow
def test_plan_sends_nothing(start_target: StartTarget, tmp_path: Path, reports: Path) -> None:
    target = start_target("integration")
    args = authenticated_run(target, reports, env="production-smoke")
    outcome = run_cli(*_smoke(args, "--plan"), env=target.client_env(tmp_path), timeout=180)
    assert outcome.returncode == 0, outcome.tail()
    assert target.traffic.count == 0, target.traffic.summary()
    assert str(REQUEST_BUDGET) in outcome.stdout, outcome.tail()
    assert "request" in outcome.stdout.lower(), outcome.tail()
    assert_no_traceback(outcome)


@pytest.mark.slow
def test_a_large_max_examples_fits_or_is_refused_up_front(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    target = start_target("integration")
    args = authenticated_run(target, reports, *FAST, env="production-smoke")
    outcome = run_cli(*_smoke(args, "--max-examples", "50"), env=target.client_env(tmp_path), timeout=400)
    assert outcome.returncode in (0, 2), outcome.tail()
    if outcome.returncode == 2:
        assert_names_the_problem(assert_one_line(outcome))
        assert target.traffic.count == 0, target.traffic.summary()
    else:
        assert target.traffic.creates <= 1, target.traffic.summary()
        assert target.traffic.count <= REQUEST_BUDGET, target.traffic.summary()
    assert_no_traceback(outcome)
