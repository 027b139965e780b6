"""Argument lists and assertions shared by the real-world tests and the benchmark."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import TRACEBACK, Outcome
from tests.support.targets import ReferenceTarget

#: pacing high enough not to matter on loopback, where pacing is not what a test is about
FAST = ("--rate-limit", "50/s")
TEST_PATIENT = "9990548609"


def sandbox_run(target: ReferenceTarget | str, reports: Path, *extra: str) -> list[str]:
    """``run --env sandbox`` against ``target`` (a running target or a base URL)."""
    base_url = target if isinstance(target, str) else target.base_url
    return ["run", "--env", "sandbox", "--base-url", base_url, "--reports", str(reports), "-q", *extra]


def authenticated_run(
    target: ReferenceTarget, reports: Path, *extra: str, env: str = "integration"
) -> list[str]:
    """``run --env integration`` (or production-smoke) against ``target`` and its token endpoint."""
    return [
        "run", "--env", env, "--base-url", target.base_url, "--token-url", target.token_url,
        "--reports", str(reports), "-q", *extra,
    ]  # fmt: skip


def readiness(reports: Path) -> str:
    """``readiness.md`` (an assertion error naming the folder when it is missing)."""
    path = reports / "readiness.md"
    present = sorted(p.name for p in reports.iterdir()) if reports.is_dir() else "no folder"
    assert path.is_file(), f"no readiness.md in {reports} ({present})"
    return path.read_text(encoding="utf-8")


def assert_no_traceback(outcome: Outcome) -> None:
    assert TRACEBACK not in outcome.output, outcome.tail(6000)


def assert_one_line(outcome: Outcome) -> str:
    """Exactly one line on stderr (besides the note about the optional HTML report); returns it."""
    lines = outcome.error_lines
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n" + outcome.tail()
    return lines[0]


def assert_names_the_problem(line: str) -> None:
    """A usage line about the situation under test, not argparse refusing an option it does not know
    (which would also be exit 2 with nothing sent, for the wrong reason)."""
    for symptom in ("unrecognized arguments", "invalid choice", "expected one argument"):
        assert symptom not in line, line


def assert_not_a_verdict_on_the_api(text: str) -> None:
    """A readiness that must not judge the API: neither NOT READY nor READY."""
    assert "NOT READY" not in text, text
    assert "readiness: READY" not in text, text
