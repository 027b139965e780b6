"""The quick self-test end to end, as a user runs it: every fault is caught in its own area and the
clean reference passes. A check that stops failing shows up here as a missed fault. Also what one job
hands to pytest: the arguments of ``run --env local``, minus the report writers."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.runner import SUITE_DIR
from conformance.selftest.bank import every_fault
from conformance.selftest.jobs import Job
from conformance.selftest.worker import meets_fault, pytest_argv

DOC = Path(__file__).resolve().parents[2] / "docs" / "kill-matrix.md"


def test_a_fault_job_runs_the_local_suite_with_its_fault_and_no_reports() -> None:
    job = Job("406-ignored", ("406-ignored",), ("negotiation",), 3, 7, "x.log", first_failure_only=True)
    argv = pytest_argv(job)
    assert argv[0] == str(SUITE_DIR)  # a fresh worker knows no area's modules yet: the whole suite
    for pair in [
        ("--notify-env", "local"),
        ("--notify-fault", "406-ignored"),
        ("--notify-max-examples", "3"),
        ("--notify-seed", "7"),
        ("-p", "no:notify_conformance"),
        ("-p", "no:notify-conformance-drift"),  # only a strict job reads drift
    ]:
        assert pair in itertools.pairwise(argv), pair
    assert {"-q", "--tb=line", "--maxfail=1", "--notify-local-in-process"} <= set(argv)
    assert not {"--alluredir", "--junitxml", "--clean-alluredir"} & set(argv)
    report_chars = [chars for flag, chars in itertools.pairwise(argv) if flag == "-r"]
    assert report_chars[-1] == "fE"  # the last -r wins: a job's log lists its failures


def test_the_clean_job_stops_at_nothing() -> None:
    argv = pytest_argv(Job("clean reference", (), (), 3, 7, "x.log"))
    assert "--notify-fault" not in argv and "--maxfail=1" not in argv and "--tb=line" not in argv


def test_a_strict_job_collects_drift() -> None:
    argv = pytest_argv(
        Job("drift", ("created-extra-attribute",), ("messages",), 3, 7, "x.log", strict_contract=True)
    )
    assert "--notify-strict-contract" in argv and "no:notify-conformance-drift" not in argv


def test_a_fault_meets_the_tests_of_its_servers_only() -> None:
    assert meets_fault("integration", ("integration",))
    assert meets_fault("sandbox", ("sandbox", "integration"))
    assert not meets_fault("sandbox", ("integration",))
    assert not meets_fault("integration", ("receiver",))
    assert meets_fault(None, ("sandbox",))  # a test of no target (the callbacks area) always runs
    assert meets_fault("sandbox", ())  # the clean run: every test


def _job_counts(stdout: str) -> dict[str, tuple[int, int]]:
    """(failed, passed) of each job, from the progress lines."""
    lines = re.findall(r"\] (.+): (\d+) failed, (\d+) passed", stdout)
    return {name: (int(failed), int(passed)) for name, failed, passed in lines}


@pytest.mark.slow
def test_a_full_selftest_sends_a_fault_the_tests_of_its_servers(tmp_path: Path) -> None:
    """An integration-only fault's job runs the integration tests and the callbacks area, not the
    sandbox's, and still catches the fault; the clean run runs every test."""
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "selftest", "--fault", "expired-token-accepted",
         "--max-examples", "1", "--jobs", "2", "--reports", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    counts = _job_counts(result.stdout)
    clean, fault = sum(counts["clean reference"]), sum(counts["expired-token-accepted"])
    report = json.loads((tmp_path / "kill-matrix.json").read_text())
    assert clean == report["clean"]["passed"]
    (verdict,) = report["faults"]
    assert verdict["caught"] and all("[integration" in nodeid for nodeid in verdict["caught_by"])
    # about half the suite: every API test of the integration target, the callbacks area, no sandbox test
    assert clean * 0.3 < fault < clean * 0.6, counts


@pytest.mark.slow
def test_quick_selftest_catches_every_fault(tmp_path: Path) -> None:
    before = DOC.read_bytes() if DOC.exists() else None
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "selftest",
            "--quick",
            "--max-examples",
            "2",
            "--reports",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads((tmp_path / "kill-matrix.json").read_text())
    missed = [fault["fault"] for fault in report["faults"] if not fault["caught"]]
    print(f"quick selftest: {report['seconds']} s for {len(report['faults'])} faults")
    assert report["clean"]["failed"] == 0 and report["clean"]["error"] is None, result.stdout[-3000:]
    assert missed == [], result.stdout[-3000:]
    every = every_fault()  # the reference API's faults and the reference receiver's
    assert report["score"] == {"caught": len(every), "total": len(every)}
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (tmp_path / "kill-matrix.md").read_text().startswith("# Kill matrix")
    assert (DOC.read_bytes() if DOC.exists() else None) == before, "a quick run must not rewrite the document"
