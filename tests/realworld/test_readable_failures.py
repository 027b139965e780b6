"""Issue §8: failures read well. Against a reference with deliberate faults the output names what broke
without internal paths or walls of text, and stays short even when hundreds of tests fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli import longest_line, run_cli
from tests.support.runs import assert_no_traceback

FAILURES = 1
MAX_LINE = 400
MAX_LINES = 1500
#: faults in several areas at once, so that hundreds of tests fail
MANY_FAULTS = (
    "correlation-id-not-echoed",
    "cache-control-missing",
    "406-ignored",
    "415-ignored",
    "405-as-404",
)
FAILED_COUNT = re.compile(r"\b([0-9]+) failed\b")


def _fault_args(*faults: str) -> list[str]:
    return [arg for fault in faults for arg in ("--fault", fault)]


@pytest.mark.slow
def test_one_fault_reads_well(reports: Path) -> None:
    outcome = run_cli(
        "run", "--fault", "correlation-id-not-echoed", "-q", "-k", "headers", "--reports", str(reports),
        timeout=300,
    )  # fmt: skip
    assert outcome.returncode == FAILURES, outcome.tail()
    assert "site-packages" not in outcome.stdout, outcome.tail()
    assert longest_line(outcome.stdout) <= MAX_LINE, max(outcome.stdout.splitlines(), key=len)
    assert "correlation" in outcome.stdout.lower(), outcome.tail()
    assert_no_traceback(outcome)


@pytest.mark.slow
def test_many_failures_stay_short(reports: Path) -> None:
    outcome = run_cli(
        "run", *_fault_args(*MANY_FAULTS), "-q", "-k", "headers or negotiation",
        "--reports", str(reports), timeout=400,
    )  # fmt: skip
    assert outcome.returncode == FAILURES, outcome.tail()
    counted = FAILED_COUNT.findall(outcome.stdout)
    assert counted and int(counted[-1]) >= 100, f"too few failures to prove anything: {counted}"
    lines = outcome.stdout.count("\n")
    assert lines <= MAX_LINES, f"{lines} lines of output for {counted[-1]} failures"
    assert "site-packages" not in outcome.stdout
    assert longest_line(outcome.stdout) <= MAX_LINE, max(outcome.stdout.splitlines(), key=len)
    assert_no_traceback(outcome)
