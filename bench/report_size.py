"""How big the report folder gets and how long the single-file HTML takes, for real runs of
``notify-conformance run`` against the embedded reference: clean, with one fault that breaks every
validation error's ``source`` (``error-source-missing``: the errors carry no ``source`` at all, the run
the report issue measured), with several faults at once (every test that
sends fails), and a clean folder reused by several runs (the nightly CI case).

    python bench/report_size.py [--only clean,no-source,all-failing] [--runs N] [--keep DIR] [--json]

One invocation runs every scenario (``--only`` picks some). Each runs in a fresh temporary report folder;
the clean one is run 3 times into the same folder (``--runs N``: every scenario N times), to see the
folder, the manifest and history.jsonl stay bounded when runs share it. It prints, per run: tests,
failures, the whole folder's size (file bytes and bytes on disk, as ``du`` counts them: whole blocks,
folders included), allure-results' size and file count, the sizes of the HTML, manifest.json,
evidence.zip and history.jsonl, the seconds of the Allure CLI itself (``allure_html.generate``) and of
the whole HTML step (``allure_html.build``: the CLI, our privacy and size passes, and the history
compaction), and the run's wall time. ``--json`` adds each run's figures as one JSON line, to compare
across commits.

The run is timed from inside: the command runs in a child process whose ``allure_html.generate`` and
``allure_html.build`` are wrapped with timers that write their seconds (or the one-line reason the HTML
was skipped) to a file outside the report folder, so nothing is added to what is measured. Figures are
for one machine (and upper bounds when it is busy), not targets: the limits are in conformance/limits.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Drops every validation error's "source" (the errors no longer match the catalogue).
NO_SOURCE = ("error-source-missing",)
#: Faults that, together, touch every response the suite sees, so every test that sends fails.
ALL_FAILING = (
    "nosniff-missing",
    "cache-control-missing",
    "x-amz-header-leaked",
    "correlation-id-not-echoed",
    "error-pointer-wrong",
    "about-link-missing",
    "error-id-not-positional",
    "error-status-number",
)
SCENARIOS: dict[str, tuple[str, ...]] = {"clean": (), "no-source": NO_SOURCE, "all-failing": ALL_FAILING}
#: Runs into one folder for the clean scenario by default (for the others with ``--runs``).
REUSED_RUNS = 3

#: The child: the ordinary command, with allure_html.generate (the CLI) and allure_html.build (the whole
#: HTML step) timed; publish and build call them through the module.
_CHILD = r"""
import json, sys, time
from conformance.reporting import allure_html
timing_file = sys.argv[1]
note = {"cli_seconds": None, "seconds": None, "outcome": "not run"}
original_generate, original_build = allure_html.generate, allure_html.build
def generate(*args, **kwargs):
    started = time.perf_counter()
    try:
        return original_generate(*args, **kwargs)
    finally:
        note["cli_seconds"] = time.perf_counter() - started
def build(*args, **kwargs):
    started = time.perf_counter()
    note["outcome"] = "built"
    try:
        return original_build(*args, **kwargs)
    except Exception as problem:
        note["outcome"] = str(problem)
        raise
    finally:
        note["seconds"] = time.perf_counter() - started
        with open(timing_file, "w") as stream:
            json.dump(note, stream)
allure_html.generate, allure_html.build = generate, build
from conformance.cli import main
sys.argv = ["notify-conformance", *sys.argv[2:]]
sys.exit(main())
"""


@dataclass(frozen=True)
class Figures:
    scenario: str
    exit_code: int
    tests: int
    failures: int
    folder_bytes: int
    folder_disk_bytes: int
    results_bytes: int
    results_disk_bytes: int
    results_files: int
    html_bytes: int | None
    manifest_bytes: int
    bundle_bytes: int
    history_bytes: int
    history_lines: int
    largest_result_bytes: int
    longest_message_chars: int
    cli_seconds: float | None
    html_seconds: float | None
    html_outcome: str
    wall_seconds: float


def _size(path: Path) -> tuple[int, int, int]:
    """Bytes, bytes on disk (what ``du`` counts: whole blocks, folders included) and files under ``path``."""
    entries = [path, *path.rglob("*")] if path.is_dir() else []
    files = [p for p in entries if p.is_file()]
    disk = sum(p.stat().st_blocks * 512 for p in entries)
    return sum(p.stat().st_size for p in files), disk, len(files)


def _bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _junit_counts(junit: Path) -> tuple[int, int]:
    if not junit.is_file():
        return 0, 0
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests, failures


def _results_extremes(results: Path) -> tuple[int, int]:
    largest = longest = 0
    for path in results.glob("*-result.json"):
        largest = max(largest, path.stat().st_size)
        message = json.loads(path.read_text(encoding="utf-8")).get("statusDetails", {}).get("message", "")
        longest = max(longest, len(message))
    return largest, longest


def measure(scenario: str, faults: tuple[str, ...], reports: Path, timing: Path) -> Figures:
    command = [sys.executable, "-c", _CHILD, str(timing), "run", "--reports", str(reports), "-q"]
    for fault in faults:
        command += ["--fault", fault]
    timing.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    html_note: dict[str, Any] = {"cli_seconds": None, "seconds": None, "outcome": "not run"}
    if timing.is_file():
        html_note = json.loads(timing.read_text())
    skipped = [line for line in done.stderr.splitlines() if "HTML report" in line]
    tests, failures = _junit_counts(reports / "junit.xml")
    results = reports / "allure-results"
    folder_bytes, folder_disk, _ = _size(reports)
    results_bytes, results_disk, results_files = _size(results)
    largest, longest = _results_extremes(results)
    history = reports / "history.jsonl"
    index = reports / "html" / "index.html"
    return Figures(
        scenario=scenario,
        exit_code=done.returncode,
        tests=tests,
        failures=failures,
        folder_bytes=folder_bytes,
        folder_disk_bytes=folder_disk,
        results_bytes=results_bytes,
        results_disk_bytes=results_disk,
        results_files=results_files,
        html_bytes=_bytes(index) if index.is_file() else None,
        manifest_bytes=_bytes(reports / "manifest.json"),
        bundle_bytes=_bytes(reports / "evidence.zip"),
        history_bytes=_bytes(history),
        history_lines=len(history.read_text().splitlines()) if history.is_file() else 0,
        largest_result_bytes=largest,
        longest_message_chars=longest,
        cli_seconds=html_note["cli_seconds"],
        html_seconds=html_note["seconds"],
        html_outcome=skipped[0] if skipped else str(html_note["outcome"]),
        wall_seconds=wall,
    )


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} MB"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def show(figures: Figures, run: int) -> None:
    rows = [
        ("tests / failures", f"{figures.tests} / {figures.failures} (exit {figures.exit_code})"),
        ("report folder", f"{_mb(figures.folder_bytes)} ({_mb(figures.folder_disk_bytes)} on disk)"),
        (
            "allure-results",
            f"{_mb(figures.results_bytes)} ({_mb(figures.results_disk_bytes)} on disk)"
            f" in {figures.results_files} files",
        ),
        ("largest result file", _mb(figures.largest_result_bytes)),
        ("longest failure message", f"{figures.longest_message_chars:,} chars"),
        ("html/index.html", _mb(figures.html_bytes)),
        ("manifest.json", _mb(figures.manifest_bytes)),
        ("evidence.zip", _mb(figures.bundle_bytes)),
        ("history.jsonl", f"{_mb(figures.history_bytes)} ({figures.history_lines} lines)"),
        ("Allure CLI (generate)", f"{_seconds(figures.cli_seconds)} ({figures.html_outcome})"),
        ("HTML step (build)", _seconds(figures.html_seconds)),
        ("run wall time", f"{figures.wall_seconds:.0f} s"),
    ]
    faults = ", ".join(SCENARIOS[figures.scenario]) or "none"
    print(f"== {figures.scenario} (run {run}; faults: {faults})")
    for name, value in rows:
        print(f"  {name:<25} {value}")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument(
        "--runs",
        type=int,
        help=f"runs per scenario into the same folder (default: {REUSED_RUNS} for clean, 1 for the others)",
    )
    parser.add_argument("--keep", type=Path, help="leave the report folders under this directory")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON lines")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    with tempfile.TemporaryDirectory(prefix="report-size-") as scratch:
        base = args.keep if args.keep is not None else Path(scratch)
        for name in chosen:
            reports = base / name
            runs = args.runs if args.runs is not None else (REUSED_RUNS if name == "clean" else 1)
            for run in range(1, runs + 1):
                figures = measure(name, SCENARIOS[name], reports, Path(scratch) / f"{name}.timing.json")
                show(figures, run)
                if args.json:
                    print(json.dumps({"run": run, **figures.__dict__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
