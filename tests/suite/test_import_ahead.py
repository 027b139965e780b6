"""The command imports the suite's libraries before pytest starts, and so does each pytest-xdist worker
(``conformance._xdist_worker``), so pytest rewrites (from source, where no bytecode is written) only the
suite's own test modules, not some 440 modules of schemathesis, hypothesis and this package: most of a
process's start-up otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: runs the command in-process with a plugin (tests/support/rewritten.py, loaded by the workers too) that
#: lists every module pytest rewrote; the selection matches nothing, so the run ends after collection
_LIST_REWRITTEN = """
import sys
import conformance.runner as runner

workers, reports = sys.argv[1], sys.argv[2]
real_args = runner.pytest_args
runner.pytest_args = lambda *args: [*real_args(*args), "-p", "tests.support.rewritten"]
from conformance.cli import main
sys.exit(main(["run", "-q", "-k", "no-test-is-called-this", "--reports", reports, "--workers", workers]))
"""

HEAVY = ("hypothesis.", "conformance.properties", "conformance.reference.", "conformance.callbacks")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_pytest_rewrites_only_the_suite_modules(tmp_path: Path, workers: str) -> None:
    listing = tmp_path / "rewritten.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", _LIST_REWRITTEN, workers, str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin", "NOTIFY_TEST_REWRITTEN": str(listing)},
    )
    assert done.returncode == 2, done.stderr  # no test matched the selection
    sessions = [json.loads(line) for line in listing.read_text().splitlines()]
    collecting = "command" if workers == "1" else "worker"  # xdist's controller collects nothing
    expected_workers = 0 if workers == "1" else int(workers)
    assert sorted(s["role"] for s in sessions) == ["command"] + ["worker"] * expected_workers
    for session in sessions:
        rewritten = session["rewritten"]
        if session["role"] == collecting:  # the suite's asserts keep pytest's messages
            assert "conformance.suite.test_properties" in rewritten
        assert [name for name in rewritten if name.startswith(HEAVY)] == [], session["role"]
        assert len([name for name in rewritten if name.startswith("schemathesis.")]) < 40, session["role"]
