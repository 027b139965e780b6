"""Issue §4: Retry-After is obeyed, so a target that rate-limits now and then still passes; and a target
that rate-limits everything makes the run inconclusive, never a failure."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import run_cli
from tests.support.runs import (
    FAST,
    assert_no_traceback,
    assert_not_a_verdict_on_the_api,
    assert_one_line,
    authenticated_run,
    readiness,
    sandbox_run,
)
from tests.support.servers import Traffic
from tests.support.targets import AlwaysQuota, Every429, TooEarlyOnCreates, http_date_in

INCONCLUSIVE = 3
#: pytest's "N failed" in its summary line
FAILED_COUNT = re.compile(r"\b[1-9][0-9]* failed\b")


def _gaps_after_429(traffic: Traffic) -> list[float]:
    """Seconds from each 429 to the next request the server received (the run is sequential)."""
    hits = traffic.hits
    return [later.at - hit.at for hit, later in itertools.pairwise(hits) if hit.status == 429]


@pytest.mark.slow
def test_every_fifth_request_429_with_retry_after_seconds_passes(
    start_target: StartTarget, reports: Path
) -> None:
    quota = Every429(nth=5, retry_after="1")
    target = start_target("sandbox", quota)
    outcome = run_cli(*sandbox_run(target, reports, *FAST, "-k", "negotiation"), timeout=300)
    assert outcome.returncode == 0, outcome.tail()
    assert FAILED_COUNT.search(outcome.stdout) is None, outcome.tail()
    assert "| FAIL |" not in readiness(reports)
    assert quota.injected >= 5, target.traffic.summary()
    gaps = _gaps_after_429(target.traffic)
    assert gaps and min(gaps) >= 0.9, f"a request followed a 429 after {min(gaps):.2f} s (Retry-After: 1)"
    assert_no_traceback(outcome)


@pytest.mark.slow
def test_every_fifth_request_429_with_retry_after_http_date_passes(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    """Retry-After as an HTTP-date two seconds ahead (one to two seconds, at its one-second resolution),
    against the integration mode, whose token requests are never rate limited here."""
    quota = Every429(nth=5, retry_after=lambda: http_date_in(2))
    target = start_target("integration", quota)
    outcome = run_cli(
        *authenticated_run(target, reports, *FAST, "-k", "negotiation"),
        env=target.client_env(tmp_path),
        timeout=300,
    )
    assert outcome.returncode == 0, outcome.tail()
    assert quota.injected >= 5, target.traffic.summary()
    gaps = _gaps_after_429(target.traffic)
    assert gaps and min(gaps) >= 0.9, f"a request followed a 429 after {min(gaps):.2f} s"
    assert_no_traceback(outcome)


@pytest.mark.slow
def test_a_target_that_always_answers_429_is_inconclusive(start_target: StartTarget, reports: Path) -> None:
    """Every API request but the first (the reachability probe) gets 429 with Retry-After: 1."""
    target = start_target("sandbox", AlwaysQuota(retry_after="1", pass_first=1))
    outcome = run_cli(*sandbox_run(target, reports, *FAST, "-k", "test_missing_accept and get"), timeout=300)
    assert outcome.returncode == INCONCLUSIVE, outcome.tail()
    assert_one_line(outcome)
    assert_no_traceback(outcome)
    text = readiness(reports)
    assert "inconclusive" in text.lower(), text
    assert_not_a_verdict_on_the_api(text)


@pytest.mark.slow
def test_a_425_to_a_generated_create_is_judged_not_waited_for(
    start_target: StartTarget, reports: Path
) -> None:
    """425 CM_RETRY_TOO_EARLY (Retry-After: 300), the answer to a reference still in flight, is documented
    for a create: the property test judges it at once, so the run neither waits 300 s nor gives up (a
    local run once ended inconclusive when a generated case repeated a reference)."""
    too_early = TooEarlyOnCreates()
    target = start_target("sandbox", too_early)
    selection = "test_generated_requests_conform and create-message-positive"
    outcome = run_cli(
        *sandbox_run(target, reports, *FAST, "--max-examples", "10", "-k", selection), timeout=300
    )
    assert outcome.returncode == 0, outcome.tail()
    assert "inconclusive" not in outcome.stdout, outcome.tail()
    assert too_early.injected >= 5, target.traffic.summary()
    assert_no_traceback(outcome)
