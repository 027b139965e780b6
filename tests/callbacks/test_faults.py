"""Every deliberate fault of the reference receiver is caught: the command exits 1 and at least one of the
checks the fault names fails. A fault nobody notices would be a check gone blind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.callbacks.plan import Credentials, build_plan
from conformance.callbacks.report import CROSS_CUTTING
from conformance.reference.receiver_faults import FAULTS
from tests.callbacks.conftest import QUICK, ReceiverFactory, Run, receiver_args

#: per fault, what its run needs: the slow one a short sender timeout and a delay just above it, the
#: throttling one fewer 429s (each costs a second of backoff)
OPTIONS: dict[str, dict[str, Any]] = {
    "slow_answer": {"slow_s": 2.0},
    "throttles_without_retry_after": {"throttle_every": 40},
}
ARGS = {"slow_answer": ("--timeout", "1")}


def test_every_fault_names_checks_that_exist() -> None:
    plan = build_plan(Credentials("app-id-for-names", "key-for-names"), 110, 1)
    known = {check.name for check in plan.checks} | {name for name, _, _ in CROSS_CUTTING}
    for fault in FAULTS.values():
        assert fault.caught_by and set(fault.caught_by) <= known, fault.name


def test_every_fault_cites_the_behaviour_document() -> None:
    from conformance.citations import citations

    assert [name for name, fault in FAULTS.items() if not citations(fault.section)] == []


#: the faults whose runs wait (a timeout, a backoff after each 429)
SLOW = {"slow_answer", "throttles_without_retry_after"}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in sorted(FAULTS)]
)
def test_the_fault_is_caught(
    name: str, receivers: ReceiverFactory, run_callbacks: Callable[..., Run]
) -> None:
    receiver = receivers(name, **OPTIONS.get(name, {}))
    run = run_callbacks(*receiver_args(receiver), *QUICK, *ARGS.get(name, ()))
    assert run.code == 1, run.out + run.err
    failed = run.checks("failed")
    caught = failed & set(FAULTS[name].caught_by)
    assert caught, f"{name}: expected one of {FAULTS[name].caught_by} to fail, failed: {sorted(failed)}"
    assert run.report["verdict"] == "FAILED"
    assert "Verdict: FAILED" in run.out and "Traceback" not in run.out + run.err
    assert "<failure " in (run.reports / "callbacks-junit.xml").read_text(encoding="utf-8")
