"""``bench/speed_and_memory.py`` reads each part's figures from what the real child wrote (a junit.xml, a
kill matrix, a bench script's JSON line) into one table and one JSON line, and a part that breaks or
outlives its timeout is one line, with everything it started ended. Tiny real invocations: a two-test
main job, one replayed run; no figure is judged, only where it came from (speed goes in bench/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import TRACEBACK, child_env

BENCH = Path(__file__).resolve().parents[2] / "bench" / "speed_and_memory.py"
#: two local tests that send little (bad credentials on a create), so the main job stays short
TWO_TESTS = "test_bad_credentials and missing and create"
_MARKER = "SPEED_BENCH_TEST_MARKER"


def _env(tmp_path: Path, marker: str = "") -> dict[str, str]:
    """The CLI's test environment (no npm on PATH: the HTML step says it skipped), plus git."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    git = shutil.which("git")
    if git is not None and not (tools / "git").exists():
        (tools / "git").symlink_to(git)
    env = child_env({_MARKER: marker} if marker else None)
    env["PATH"] = os.pathsep.join((env["PATH"], str(tools)))
    return env


class Descendants:
    """Every process carrying ``marker`` in its environment while the bench runs (its children and
    theirs inherit it), found in /proc, so the test can tell they all ended."""

    def __init__(self, marker: str, bench_pid: int) -> None:
        self.needle = f"{_MARKER}={marker}".encode()
        self.bench_pid = bench_pid
        #: pid -> command line
        self.seen: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def alive(self) -> dict[int, str]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != self.bench_pid:
                try:
                    environ = (entry / "environ").read_bytes()
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if self.needle in environ.split(b"\0") and state != "Z":
                    found[int(entry.name)] = command
        return found

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self.seen.update(self.alive())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _bench(tmp_path: Path, *arguments: str, marker: str = "") -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run the bench with --json; its result and the parsed JSON line (the last line of stdout)."""
    command = [sys.executable, str(BENCH), *arguments, "--json"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path, marker)
    )
    watcher = Descendants(marker, process.pid) if marker else None
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if watcher is not None:
            watcher.stop()
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    assert TRACEBACK not in stdout + stderr, stderr
    line = json.loads(stdout.splitlines()[-1])
    if watcher is not None:
        line["_descendants_seen"] = list(watcher.seen.values())
        line["_descendants_left"] = list(watcher.alive().values())
    return done, line


def _row(stdout: str, label: str) -> list[str]:
    """The (value, unit) of the table row with this label."""
    for text in stdout.splitlines():
        if text.startswith(label + "  "):
            return text[len(label) :].split()
    raise AssertionError(f"no row {label!r} in:\n{stdout}")


@pytest.mark.slow
def test_the_main_job_is_timed_around_the_child_and_counted_from_its_junit_file(tmp_path: Path) -> None:
    done, line = _bench(tmp_path, "--skip", "selftest,properties,memory", "--main-k", TWO_TESTS)
    assert done.returncode == 0, done.stderr
    assert line["parts"] == {
        "main": "ok",
        "selftest": "skipped",
        "properties": "skipped",
        "memory": "skipped",
    }
    # the two selected tests, both passing, as the child's junit.xml and exit code say
    assert (line["main_tests"], line["main_passed"], line["main_failed"]) == (2, 2, 0)
    assert line["main_exit_codes"] == [0] and line["main_verdict"] == "pass (exit 0)"
    assert line["main_selection"] == f"-k {TWO_TESTS}"
    # the wall time is around the whole child: pytest's own time is a part of it
    assert 0 < line["main_pytest_seconds_median"] < line["main_wall_seconds_median"]
    assert line["main_wall_seconds"] == [line["main_wall_seconds_median"]]
    assert _row(done.stdout, "main job: tests") == ["2", "tests"]
    assert _row(done.stdout, "main job: verdict (last run)") == ["pass", "(exit", "0)"]


@pytest.mark.slow
def test_the_reference_memory_comes_from_its_bench_and_the_line_says_where_and_when(tmp_path: Path) -> None:
    done, line = _bench(tmp_path, "--skip", "main,selftest,properties", "--memory-runs", "1")
    assert done.returncode == 0, done.stderr
    assert line["parts"] == {
        "main": "skipped",
        "selftest": "skipped",
        "properties": "skipped",
        "memory": "ok",
    }
    # the reference's memory, from reference_memory.py's JSON line
    assert line["memory_runs"] == 1
    assert 0 < line["memory_start_mb"] <= line["memory_end_mb"] <= line["memory_peak_mb"]
    assert line["memory_growth_mb"] == pytest.approx(
        line["memory_end_mb"] - line["memory_start_mb"], abs=0.01
    )
    assert _row(done.stdout, "memory: VmRSS after 1 runs") == [f"{line['memory_end_mb']:.1f}", "MB"]
    # where and when, to compare lines across commits
    commit = subprocess.run(["git", "-C", str(BENCH.parent), "rev-parse", "--short", "HEAD"], **_text())
    assert line["commit"] == commit.stdout.strip() and isinstance(line["dirty"], bool)
    assert line["cpus"] == os.cpu_count() and len(line["load_average_start"]) == 3


def _text() -> dict[str, Any]:
    return {"capture_output": True, "text": True, "check": False}


@pytest.mark.slow
def test_a_part_that_breaks_or_outlives_its_timeout_is_one_line_and_everything_it_started_is_ended(
    tmp_path: Path,
) -> None:
    marker = uuid.uuid4().hex
    done, line = _bench(
        tmp_path,
        "--skip", "main,properties",
        "--selftest", "quick", "--selftest-fault", "no-such-fault",  # a usage error: exit 2, no matrix
        "--timeout", "memory=8",  # far less than 100 replayed runs take
        marker=marker,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    parts = line["parts"]
    assert (
        parts["selftest"].startswith("exit 2, no kill-matrix.json:") and "unknown fault" in parts["selftest"]
    )
    # the part after the broken one still ran, until its timeout
    assert parts["memory"] == "reference_memory.py timed out after 8 s (ended)"
    assert "selftest_verdict" not in line and "memory_runs" not in line
    assert _row(done.stdout, "memory: not measured") == parts["memory"].split()
    # the reference that reference_memory.py started was serving, and did not outlive the bench
    assert any("serve --mode integration" in command for command in line["_descendants_seen"])
    assert line["_descendants_left"] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--skip", "main,bogus"], "argument --skip: unknown part 'bogus'"),
        (["--main-runs", "0"], "argument --main-runs: must be at least 1, not 0"),
        (["--timeout", "nowhere=3"], "argument --timeout: unknown part 'nowhere'"),
        (["--timeout", "memory=-1"], "argument --timeout: must be more than 0, not -1"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH), *arguments], env=_env(tmp_path), **_text())
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"speed_and_memory.py: error: {message}")
    assert TRACEBACK not in done.stderr and done.stdout == ""
