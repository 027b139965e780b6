"""Mistakes the user can make end before anything is sent: one line, exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.reference.receiver import RunningReceiver
from tests.callbacks.conftest import QUICK, Run, receiver_args


def _usage(run: Run, receiver: RunningReceiver | None = None) -> str:
    assert run.code == 2, run.out + run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err
    if receiver is not None:
        snapshot = receiver.snapshot()
        assert snapshot["total"] == 0 and snapshot["refused"] == {}, "something was sent"
    return lines[0]


@pytest.mark.parametrize("missing", ["NOTIFY_CALLBACK_API_KEY", "NOTIFY_APPLICATION_ID"])
def test_missing_credentials(
    missing: str,
    receiver: RunningReceiver,
    run_callbacks: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(missing)
    line = _usage(run_callbacks(*receiver_args(receiver), *QUICK, reports=False), receiver)
    assert "NC002" in line and missing in line


def test_a_short_api_key_is_refused(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_CALLBACK_API_KEY", "abc")
    line = _usage(run_callbacks(*receiver_args(receiver), *QUICK, reports=False), receiver)
    assert "NC003" in line and "abc" not in line.split(":", 3)[-1].replace("NOTIFY_CALLBACK_API_KEY", "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/callbacks",
        "127.0.0.1:8000/callbacks",
        "http:///callbacks",
        "http://user:pass@127.0.0.1/callbacks",
        "http://127.0.0.1:99999/callbacks",
        "http://127.0.0.1/callbacks#part",
    ],
)
def test_bad_urls(url: str, run_callbacks: Callable[..., Run], creds: object) -> None:
    line = _usage(run_callbacks("--receiver-url", url, *QUICK, reports=False))
    assert "NC001" in line and "--receiver-url" in line


def test_a_bad_channel_url(receiver: RunningReceiver, run_callbacks: Callable[..., Run]) -> None:
    run = run_callbacks(
        "--receiver-url", receiver.message_status_url, "--channel-receiver-url", "nope", *QUICK
    )
    assert "--channel-receiver-url" in _usage(run, receiver)


def test_too_small_a_budget(receiver: RunningReceiver, run_callbacks: Callable[..., Run]) -> None:
    run = run_callbacks(*receiver_args(receiver), "--max-callbacks", "20", reports=False)
    assert "--max-callbacks 20 is too few" in _usage(run, receiver)


def test_a_bad_rate_limit(receiver: RunningReceiver, run_callbacks: Callable[..., Run]) -> None:
    run = run_callbacks(*receiver_args(receiver), "--rate-limit", "fast", reports=False)
    assert "--rate-limit" in _usage(run, receiver)


def test_reports_that_cannot_be_written(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    run = run_callbacks(
        *receiver_args(receiver), *QUICK, "--reports", str(blocker / "reports"), reports=False
    )
    assert "--reports" in _usage(run, receiver)


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--max-callbacks", "zero"], ["--seed", "-1"], []],
)
def test_bad_options_are_argparse_errors(
    args: list[str], run_callbacks: Callable[..., Run], creds: object
) -> None:
    receiver_url = [] if not args else ["--receiver-url", "http://127.0.0.1:9/cb"]
    run = run_callbacks(*receiver_url, *args, reports=False)
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1
