"""Issue §5: a run is bounded in time. A target that stops answering mid-run, or a run that outlasts
--max-duration, ends by itself with exit 3, one line, and the reports written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import TRACEBACK, run_cli, run_pytest
from tests.support.runs import (
    FAST,
    assert_no_traceback,
    assert_not_a_verdict_on_the_api,
    assert_one_line,
    readiness,
    sandbox_run,
)
from tests.support.targets import HangAfter, Slow

UNAVAILABLE = 3
#: requests answered before the hang: the reachability probe, then a test or two
ANSWERED = 3
#: after the hang, a run that stops sends at most a few more (a retry, a liveness check)
AFTER_HANG = 6
STOPPED_WORDS = ("not assessed", "stopped", "not run")


@pytest.mark.slow
def test_a_target_that_stops_answering_ends_the_run(start_target: StartTarget, reports: Path) -> None:
    hang = HangAfter(answered=ANSWERED)
    target = start_target("sandbox", hang)
    outcome = run_cli(
        *sandbox_run(target, reports, *FAST, "--timeout", "2", "-k", "negotiation"), timeout=240
    )
    assert hang.hanging.is_set(), target.traffic.summary()
    assert outcome.returncode == UNAVAILABLE, outcome.tail()
    assert_one_line(outcome)
    assert TRACEBACK not in outcome.stdout, outcome.tail(6000)
    assert_no_traceback(outcome)
    assert target.traffic.count <= ANSWERED + AFTER_HANG, target.traffic.summary()
    text = readiness(reports)
    assert any(word in text.lower() for word in STOPPED_WORDS), text
    assert_not_a_verdict_on_the_api(text)
    assert (reports / "junit.xml").is_file()


@pytest.mark.slow
def test_max_duration_stops_a_long_run(start_target: StartTarget, reports: Path) -> None:
    """The whole sandbox suite against a slow target (0.2 s per answer) would take minutes."""
    target = start_target("sandbox", Slow(0.2))
    outcome = run_cli(*sandbox_run(target, reports, *FAST, "--max-duration", "5"), timeout=240)
    assert outcome.returncode == UNAVAILABLE, outcome.tail()
    assert_one_line(outcome)
    assert_no_traceback(outcome)
    assert target.traffic.count >= 1, "the run stopped before it started"
    text = readiness(reports)
    assert_not_a_verdict_on_the_api(text)
    assert (reports / "junit.xml").is_file()


@pytest.mark.slow
def test_plain_pytest_against_a_hanging_target_ends_without_tracebacks(
    start_target: StartTarget, tmp_path: Path
) -> None:
    """The plugin under plain pytest (with a short per-request timeout, to keep the test short)."""
    hang = HangAfter(answered=ANSWERED)
    target = start_target("sandbox", hang)
    outcome = run_pytest(
        "--pyargs", "conformance.suite", "-p", "no:cacheprovider", "-q",
        "--notify-env", "sandbox", "--notify-base-url", target.base_url, "--notify-timeout", "2",
        "-k", "negotiation",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert hang.hanging.is_set(), target.traffic.summary()
    assert_no_traceback(outcome)
    assert "INTERNALERROR" not in outcome.output, outcome.tail()
    assert outcome.returncode != 0, outcome.tail()  # a target that hangs never passes
    assert target.traffic.count <= ANSWERED + AFTER_HANG, target.traffic.summary()
