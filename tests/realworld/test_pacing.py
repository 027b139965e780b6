"""Issue §3: requests are paced. The server's own arrival timestamps are the judge: no one-second window
holds more than the limit plus one, token requests included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import run_cli
from tests.support.runs import authenticated_run, sandbox_run


@pytest.mark.slow
def test_rate_limit_five_per_second_holds_at_the_server(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    target = start_target("integration")
    outcome = run_cli(
        *authenticated_run(target, reports, "--rate-limit", "5/s", "-k", "negotiation"),
        env=target.client_env(tmp_path),
        timeout=240,
    )
    assert outcome.returncode == 0, outcome.tail()
    traffic = target.traffic
    assert traffic.count >= 20, traffic.summary()  # enough requests for the window to mean something
    assert traffic.token_requests >= 1, traffic.summary()
    assert traffic.peak(1.0) <= 5 + 1, f"peak {traffic.peak(1.0)} requests in one second; {traffic.summary()}"


@pytest.mark.slow
def test_sandbox_is_paced_by_default(start_target: StartTarget, reports: Path) -> None:
    """No --rate-limit: sandbox defaults to 10/s (and 900/min)."""
    target = start_target("sandbox")
    outcome = run_cli(*sandbox_run(target, reports, "-k", "negotiation"), timeout=240)
    assert outcome.returncode == 0, outcome.tail()
    traffic = target.traffic
    assert traffic.count >= 30, traffic.summary()
    assert traffic.peak(1.0) <= 10 + 1, f"peak {traffic.peak(1.0)} requests in one second"


@pytest.mark.slow
def test_rate_limit_covers_the_requests_property_tests_send(
    start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    """The generated create-message cases, whose checks include schemathesis's own ignored-auth probes
    (two extra requests per case, without and with a bad token): every one of them is paced too."""
    target = start_target("integration")
    selection = "test_generated_requests_conform and integration-create-message-positive"
    outcome = run_cli(
        *authenticated_run(target, reports, "--rate-limit", "10/s", "--max-examples", "2", "-k", selection),
        env=target.client_env(tmp_path),
        timeout=300,
    )
    assert outcome.returncode == 0, outcome.tail()
    traffic = target.traffic
    assert traffic.count >= 30, traffic.summary()
    unauthenticated = sum(hit.status == 401 for hit in traffic.hits)
    assert traffic.peak(1.0) <= 10 + 1, (
        f"peak {traffic.peak(1.0)} requests in one second at --rate-limit 10/s "
        f"({traffic.count} received, {unauthenticated} of them answered 401)"
    )
