"""Every usage or configuration error answers with one line on stderr and exit code 2, before any
request is sent (the targets named here do not exist; nothing listens on port 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main

NO_CREDS = {"NOTIFY_API_KEY": "", "NOTIFY_PRIVATE_KEY": "", "NOTIFY_KEY_ID": ""}


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--env", "staging"],
        ["run", "--base-url", "http://127.0.0.1:9/comms"],
        ["run", "--env", "sandbox", "--base-url", "not-a-url"],
        ["run", "--env", "sandbox", "--token-url", "http://127.0.0.1:9/oauth2/token"],
        ["run", "--env", "integration"],
        ["run", "--env", "production-smoke", "--base-url", "http://127.0.0.1:9/comms"],
        ["run", "--env", "production-smoke", "--test-patient", "1234567890"],
        ["run", "--max-examples", "lots"],
        ["run", "--no-such-option"],
        ["serve", "--mode", "staging"],
        ["serve", "--port", "-1"],
        ["serve", "--mode", "sandbox", "--credentials-out", "creds.json"],
        ["serve", "--mode", "integration", "--register-client", "only-two:parts"],
        [],
    ],
    ids=lambda argv: " ".join(argv) or "no-command",
)
def test_usage_errors_are_one_line_with_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in NO_CREDS.items():
        monkeypatch.setenv(name, value)
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("notify-conformance")
    assert "Traceback" not in captured.err and captured.out == ""


def test_missing_private_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOTIFY_API_KEY", "a" * 32)
    monkeypatch.setenv("NOTIFY_KEY_ID", "local")
    monkeypatch.setenv("NOTIFY_PRIVATE_KEY", str(tmp_path / "nope.pem"))
    assert main(["run", "--env", "integration"]) == 2
    err = capsys.readouterr().err
    assert "NOTIFY_PRIVATE_KEY" in err and "a" * 32 not in err


def test_unreachable_target_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--env", "sandbox", "--base-url", "http://127.0.0.1:9/comms"]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot reach" in err


def test_console_script_prints_no_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--env", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
