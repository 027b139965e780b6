"""``notify-conformance run`` end to end, as a user runs it: the README's main command against the
embedded reference, and the sandbox and integration profiles against ``serve`` in the matching mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.suite.conftest import Served, cli

AREAS = ("auth", "negotiation", "media type", "routing", "headers", "messages", "batches", "get message")


@pytest.mark.slow
def test_local_run_passes_and_writes_reports(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = cli("run", "--reports", str(reports), "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for area in AREAS:
        assert any(line.startswith(area) for line in result.stdout.splitlines()), area
    assert (reports / "junit.xml").is_file()
    assert any((reports / "allure-results").glob("*-result.json"))


@pytest.mark.slow
def test_sandbox_profile_against_serve(served_sandbox: Served, tmp_path: Path) -> None:
    result = cli(
        "run", "--env", "sandbox", "--base-url", served_sandbox.base_url, "--reports", str(tmp_path), "-q"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_integration_profile_against_serve(served_integration: tuple[Served, Path], tmp_path: Path) -> None:
    _, credentials_file = served_integration
    creds = json.loads(credentials_file.read_text())
    env = {
        "NOTIFY_API_KEY": creds["api_key"],
        "NOTIFY_KEY_ID": creds["kid"],
        "NOTIFY_PRIVATE_KEY": creds["private_key_path"],
    }
    result = cli(
        "run",
        "--env",
        "integration",
        "--base-url",
        creds["base_url"],
        "--token-url",
        creds["token_url"],
        "--reports",
        str(tmp_path),
        "-q",
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert creds["api_key"] not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_nonconformant_target_fails_with_exit_1(
    served_integration: tuple[Served, Path], tmp_path: Path
) -> None:
    """The sandbox profile against an auth-enforcing server: every call gets 401, so conformance fails."""
    served, _ = served_integration
    result = cli(
        "run",
        "--env",
        "sandbox",
        "--base-url",
        served.base_url,
        "-k",
        "negotiation",
        "--reports",
        str(tmp_path),
        "-q",
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "failed" in result.stdout
