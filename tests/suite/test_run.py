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


@pytest.mark.slow
def test_a_refused_client_is_its_own_outcome_not_a_crash(
    served_integration: tuple[Served, Path], tmp_path: Path
) -> None:
    """A client the token endpoint does not know: the property tests fail with the token endpoint's
    answer (NC004); collection still succeeds and nothing secret is printed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _, credentials_file = served_integration
    creds = json.loads(credentials_file.read_text())
    stranger = tmp_path / "stranger.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    env = {
        "NOTIFY_API_KEY": "unregistered-api-key-0001",
        "NOTIFY_KEY_ID": "nobody",
        "NOTIFY_PRIVATE_KEY": str(stranger),
    }
    result = cli(
        "run", "--env", "integration", "--base-url", creds["base_url"], "--token-url", creds["token_url"],
        "-k", "test_generated_requests_conform and positive", "--reports", str(tmp_path / "r"), env=env,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-3000:]  # the client refused: not a verdict about the API
    assert "NC004" in output and "token endpoint refused" in output
    assert (
        "error during collection" not in output.lower() and "errors during collection" not in output.lower()
    )
    assert "unregistered-api-key-0001" not in output


@pytest.mark.slow
def test_production_smoke_profile_is_read_mostly(
    served_integration: tuple[Served, Path], tmp_path: Path
) -> None:
    """Against an integration-mode reference: the production profile passes, sends no write, and its
    property tests generate positive read requests only."""
    _, credentials_file = served_integration
    creds = json.loads(credentials_file.read_text())
    env = {
        "NOTIFY_API_KEY": creds["api_key"],
        "NOTIFY_KEY_ID": creds["kid"],
        "NOTIFY_PRIVATE_KEY": creds["private_key_path"],
    }
    result = cli(
        "run", "--env", "production-smoke",
        "--base-url", creds["base_url"], "--token-url", creds["token_url"],
        "--reports", str(tmp_path), "-q", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "refused by the production-smoke safety policy" not in result.stdout
