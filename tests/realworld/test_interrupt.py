"""Issue §7: Ctrl-C ends a run cleanly: exit 130, one line, no warnings or tracebacks, and a readiness
that says the run is incomplete."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import interrupt, start_cli
from tests.support.runs import FAST, assert_no_traceback, assert_one_line, readiness, sandbox_run
from tests.support.targets import Slow

INTERRUPTED = 130


@pytest.mark.slow
def test_ctrl_c_mid_run(start_target: StartTarget, reports: Path) -> None:
    target = start_target("sandbox", Slow(0.2))
    process = start_cli(*sandbox_run(target, reports, *FAST))
    try:
        # wait until tests are under way (beyond the probe), then press Ctrl-C a moment later
        started = target.traffic.wait_for(5, timeout_s=90)
        time.sleep(1.0)
    finally:
        outcome = interrupt(process, timeout=90)
    assert started, outcome.tail()
    assert outcome.returncode == INTERRUPTED, outcome.tail()
    assert_one_line(outcome)
    assert_no_traceback(outcome)
    for noise in ("PluggyTeardownRaisedWarning", "Warning", "KeyboardInterrupt"):
        assert noise not in outcome.output, f"{noise!r} printed:\n{outcome.tail(6000)}"
    text = readiness(reports).lower()
    assert "incomplete" in text or "interrupted" in text, text
    assert "not ready" not in text, text
