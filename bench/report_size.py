"""How big the report folder gets and how long the single-file HTML takes, for real runs of
``notify-conformance run`` against the embedded reference: clean, with one fault that breaks every
validation error's ``source``, and with several faults at once (every test fails).

    python bench/report_size.py [--only clean,no-source,all-failing] [--runs N] [--keep DIR]

Each scenario runs in a fresh temporary report folder (``--runs N`` reuses it N times, to show that the
manifest and history.jsonl stay bounded). It prints, per scenario: tests, failures, the whole folder's
size, allure-results' size and file count, the HTML's size, manifest.json's and history.jsonl's sizes,
the time ``allure_html.build`` took (the Allure CLI plus our privacy pass) and the run's wall time.

The run is timed from inside: the command runs in a child process whose ``allure_html.build`` is wrapped
with a timer that writes its seconds (or the one-line reason the HTML was skipped) to a file outside the
report folder, so nothing is added to what is measured. Figures are for one machine, not targets.
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

#: Breaks every validation error's source.pointer (the errors' "source" no longer matches the catalogue).
NO_SOURCE = ("error-pointer-wrong",)
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

#: The child: the ordinary command, with allure_html.build timed (publish calls it through the module).
_CHILD = r"""
import json, sys, time
from conformance.reporting import allure_html
timing_file = sys.argv[1]
original = allure_html.build
def timed(*args, **kwargs):
    started = time.perf_counter()
    outcome = "built"
    try:
        return original(*args, **kwargs)
    except Exception as problem:
        outcome = str(problem)
        raise
    finally:
        with open(timing_file, "w") as stream:
            json.dump({"seconds": time.perf_counter() - started, "outcome": outcome}, stream)
allure_html.build = timed
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
    history_bytes: int
    history_lines: int
    largest_result_bytes: int
    longest_message_chars: int
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
    html_note = {"seconds": None, "outcome": "not run"}
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
        history_bytes=_bytes(history),
        history_lines=len(history.read_text().splitlines()) if history.is_file() else 0,
        largest_result_bytes=largest,
        longest_message_chars=longest,
        html_seconds=html_note["seconds"],
        html_outcome=skipped[0] if skipped else str(html_note["outcome"]),
        wall_seconds=wall,
    )


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} MB"


def show(figures: Figures, run: int) -> None:
    seconds = "-" if figures.html_seconds is None else f"{figures.html_seconds:.1f} s"
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
        ("history.jsonl", f"{_mb(figures.history_bytes)} ({figures.history_lines} lines)"),
        ("HTML generation", f"{seconds} ({figures.html_outcome})"),
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
    parser.add_argument("--runs", type=int, default=1, help="runs per scenario into the same folder")
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
            for run in range(1, args.runs + 1):
                figures = measure(name, SCENARIOS[name], reports, Path(scratch) / f"{name}.timing.json")
                show(figures, run)
                if args.json:
                    print(json.dumps(figures.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
