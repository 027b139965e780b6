"""A local run shared by pytest-xdist workers (``--workers N``) says what the same run in one process
says: the same outcomes, areas, failures and their exchanges, known discrepancies, drift, onboarding
counts and terminal lines; a Ctrl-C stops it like a run in one process; and --workers is refused where
one process must keep the pacing (a remote target); a target that dies is no verdict."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Outcome, child_env, interrupt, run_cli, start_cli
from tests.support.runs import assert_no_traceback, assert_one_line, readiness

#: a fault that fails tests in several areas and one that is drift; a selection with an area of each kind
#: (the callbacks area and its shared receiver, the throttled client's tests, property tests with a seed,
#: stateful creates, tests that give evidence of known discrepancies, auth with its tokens)
FAULT = ("--fault", "406-ignored", "--fault", "created-extra-attribute")
SELECTION = (
    "-k",
    "test_negotiation or test_callbacks or test_nhsapp or test_messages or create-message-batch",
)
#: what differs between any two runs: correlation ids, key ids, times, latencies, the report folder
_VARYING = re.compile(
    r"X-Correlation-Id: [^)]*|ref-[0-9a-f]{12}|\d+(\.\d+)? ?(ms|s)\b|(/[^\s/]+)*/reports-\d"
    r"|\d{4}-\d\d-\d\dT[\d:.]+Z?|127\.0\.0\.1:\d+"
)


def _run(tmp_path: Path, workers: int, *extra: str) -> tuple[Outcome, Path]:
    reports = tmp_path / f"reports-{workers}"
    outcome = run_cli(
        "run", "--reports", str(reports), "--workers", str(workers), "--seed", "3", "--max-examples", "4",
        *FAULT, *SELECTION, *extra,
    )  # fmt: skip
    assert_no_traceback(outcome)
    return outcome, reports


def _json(reports: Path, name: str) -> Any:
    return json.loads((reports / name).read_text(encoding="utf-8"))


def _digest(outcome: Outcome) -> list[str]:
    """The failure digest and the plugin's own lines, with what differs between any two runs masked."""
    lines = outcome.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "failures by area" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("Onboarding readiness"))
    kept = [line for line in lines[start:end] if not line.startswith(("=", "-")) or "failures by" in line]
    return [_VARYING.sub("…", line) for line in kept]


@pytest.mark.slow
def test_a_shared_run_says_what_one_process_says(tmp_path: Path) -> None:
    single, single_reports = _run(tmp_path, 1)
    shared, shared_reports = _run(tmp_path, 2)
    assert "2 workers" in shared.stdout and "workers" not in single.stdout
    assert single.returncode == shared.returncode == 1, shared.tail()
    one, two = _json(single_reports, "outcomes.json"), _json(shared_reports, "outcomes.json")
    assert two["tests"] == one["tests"]  # every test's outcome, in collection order
    assert "failed" in two["tests"].values() and "passed" in two["tests"].values()
    for key in ("discrepancies", "drift", "exercised", "headline"):
        assert two[key] == one[key], key
        assert one[key], f"the selection shows no {key}"
    assert _digest(shared) == _digest(single)
    assert any("last exchange:" in line for line in _digest(shared))
    assert any(line.startswith("notify-conformance: property-test seed 3") for line in _digest(shared))
    assert any(line.startswith("notify-conformance: callbacks: ") for line in _digest(shared))
    assert _VARYING.sub("…", readiness(shared_reports)) == _VARYING.sub("…", readiness(single_reports))
    evidence_one, evidence_two = (
        _json(single_reports, "onboarding.json"),
        _json(shared_reports, "onboarding.json"),
    )
    for key in ("messages_created", "messages_listed", "batches_created", "unread_answers"):
        assert evidence_two[key] == evidence_one[key], key
    # each worker obtains tokens of its own, from the same clients
    assert len(evidence_two["kids"]) == len(evidence_one["kids"])
    assert evidence_two["tokens_obtained"] >= evidence_one["tokens_obtained"]
    for reports, processes in ((single_reports, 1), (shared_reports, 2)):  # the report says how it ran
        panel = (reports / "allure-results" / "environment.properties").read_text(encoding="ascii")
        assert f"Test\\ processes={processes}" in panel.splitlines()
    results = sorted(p.name for p in (shared_reports / "allure-results").glob("*-result.json"))
    assert len(results) == len(two["tests"])  # no worker emptied the other's results


#: a pytest-xdist worker's command line (execnet starts it so)
_WORKER = "exec(eval(sys.stdin.readline()))"


@pytest.mark.slow
@pytest.mark.parametrize("told", ["the command", "every process, as at a terminal"])
def test_ctrl_c_stops_a_shared_run_and_keeps_its_reports(tmp_path: Path, told: str) -> None:
    reports = tmp_path / "reports"
    process = start_cli("run", "--reports", str(reports), "--workers", "2", "-k", "not test_properties")
    _wait_for_progress(process)
    if told != "the command":  # a terminal's Ctrl-C reaches the workers as well
        workers = [pid for pid, line in _children(process.pid).items() if _WORKER in line]
        assert len(workers) == 2, _children(process.pid)
        for worker in workers:
            os.kill(worker, signal.SIGINT)
    outcome = interrupt(process, timeout=90)
    assert "[test support: the process ignored SIGINT" not in outcome.stderr, outcome.tail()
    assert outcome.returncode == 130, outcome.tail()
    assert assert_one_line(outcome).endswith("interrupted (Ctrl-C)")
    outcomes = _json(reports, "outcomes.json")
    assert "not run" in outcomes["tests"].values(), "the run stopped before its end"
    assert "failed" not in outcomes["tests"].values()
    assert "NOT READY" not in readiness(reports)


def _children(pid: int) -> dict[int, str]:
    """The child processes of ``pid`` and their command lines (Linux's /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return found


def _wait_for_progress(process: subprocess.Popen[str]) -> None:
    """Until pytest's progress shows that tests are under way in the workers."""
    assert process.stdout is not None
    seen, deadline = "", time.monotonic() + 120
    while "%]" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    assert "%]" in seen, seen


@pytest.mark.slow
def test_a_target_that_dies_stops_a_shared_run_as_not_assessed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    process = start_cli("run", "--reports", str(reports), "--workers", "2", "-k", "not test_properties")
    _wait_for_progress(process)
    (servers,) = [pid for pid, line in _children(process.pid).items() if "conformance.local_servers" in line]
    os.kill(servers, signal.SIGKILL)  # every target of the run stops answering at once
    out, err = process.communicate(timeout=180)
    outcome = Outcome(process.returncode, out, err, 0.0)
    assert_no_traceback(outcome)
    assert outcome.returncode == 3, outcome.tail()
    assert "not assessed: NC005: the target stopped answering" in assert_one_line(outcome)
    assert "failed" not in _json(reports, "outcomes.json")["tests"].values()
    assert "NOT READY" not in readiness(reports)


@pytest.mark.parametrize("env", ["sandbox", "integration"])
def test_workers_are_refused_for_a_remote_target(env: str, tmp_path: Path) -> None:
    outcome = run_cli(
        "run",
        "--env",
        env,
        "--base-url",
        "http://127.0.0.1:9/comms",
        "--workers",
        "2",
        "--reports",
        str(tmp_path),
    )
    assert outcome.returncode == 2, outcome.tail()
    line = assert_one_line(outcome)
    assert "--workers applies only to --env local" in line, line


def test_a_bad_worker_count_is_one_line(tmp_path: Path) -> None:
    outcome = run_cli("run", "--workers", "0", "--reports", str(tmp_path))
    assert outcome.returncode == 2, outcome.tail()
    assert "--workers" in assert_one_line(outcome)


@pytest.mark.slow
def test_a_shared_run_in_a_checkouts_root_collects_the_installed_suite(tmp_path: Path) -> None:
    """The README's quick start runs the command in a checkout's root, where ``conformance/`` is the
    source, not the package the command collects from: the workers import what the command imports, so
    no module is collected under another file's name."""
    import conformance

    shutil.copytree(Path(conformance.__file__).parent, tmp_path / "conformance")  # a checkout's source
    command = [str(Path(sys.executable).parent / "notify-conformance"), "run", "--workers", "2"]
    done = subprocess.run(
        [*command, "--reports", str(tmp_path / "reports"), "-k", "test_negotiation"],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env(),
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "import file mismatch" not in output and " error" not in output, output[-3000:]
