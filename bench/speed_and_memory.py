"""Speed and memory, from one invocation: the main job's wall time, the self-test's, the property phase's
throughput against ``st run``, and the reference API's memory after N runs.

    python bench/speed_and_memory.py [--main-runs K] [--selftest full|quick|skip] [--memory-runs N]
                                     [--skip main,selftest,properties,memory]
                                     [--timeout [PART=]S] [--json]

Each part runs as a child process and is read from what it writes, never from inside:

- main: ``notify-conformance run --env local`` (every test, reports and HTML included, its default
  ``--workers``: one test process per CPU core), ``--main-runs K`` times (default 1), each into a fresh
  temporary report folder. The wall time is taken around the child;
  each run's and their median are printed, with the tests, failures, errors and skips from its junit.xml,
  the seconds pytest reports there, and the exit code (the verdict). ``--main-k EXPR`` narrows the run to
  try the bench out; the JSON line then says so (``main_selection``), as those figures are not the job's.
- selftest: ``notify-conformance selftest`` (full by default, ``--selftest quick``; ``--selftest-fault
  NAME`` narrows it), its report folder and kill matrix document in a temporary folder, so the checked-in
  ``docs/kill-matrix.md`` is left alone. Wall time, the seconds it reports itself, faults caught of all,
  the clean reference's counts and the verdict, all from its ``kill-matrix.json``.
- properties: ``bench/properties_vs_st.py --json`` (``--property-examples N``, ``--seed S``): cases per
  second of ours (as many workers as the main job) and of ``st run`` (at its faster of one worker and as
  many), and their ratio.
- memory: ``bench/reference_memory.py --runs N --json`` (``--memory-runs N``, default 100): the reference's
  VmRSS at start, after run 1 and at the end, the growth, and the peak (VmHWM).

It prints a table (figure, value, unit); ``--json`` adds one JSON line with every figure, the commit and
whether the tree had uncommitted changes, the date, the CPU count and the load average at the start and
the end, so lines from different commits can be set side by side. A part that crashes, writes nothing
readable, or outlives its timeout (``--timeout S`` for every part, ``--timeout memory=S`` for one; the main
job's is per run) is one line in the table instead of its figures, its whole process group ended; the
other parts still run, and the exit code is 1. The children get no NOTIFY_* variables and run in a scratch
folder, so no settings of the user's change what is measured.

Figures are for one machine and one moment, not targets: on a busy machine they
are upper bounds. Everything at its default (one main run, the full self-test, 25 examples, 100 runs) takes
the self-test's minutes plus a few more on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PARTS = ("main", "selftest", "properties", "memory")
#: seconds each part may take (the main job's: each run), unless --timeout says otherwise
DEFAULT_TIMEOUT_S = {"main": 1200.0, "selftest": 3600.0, "properties": 1800.0, "memory": 3600.0}
DEFAULT_MEMORY_RUNS = 100
#: seconds a part's processes get to end after SIGTERM (and again after SIGKILL)
_GRACE_S = 10.0
#: the CLI's exit codes (conformance.errors.ExitCode), in words
VERDICTS = {
    0: "pass",
    1: "failures",
    2: "usage error",
    3: "not assessable",
    4: "client refused",
    130: "interrupted",
}

#: the table's value column; a longer value (a -k expression) runs over
_VALUE_WIDTH = 16

Value = int | float | str | bool | list[float] | list[int] | None


class PartFailed(Exception):
    """A part gave no figures; the message is its one line in the table."""


@dataclass(frozen=True)
class Figure:
    """One number of the summary: its JSON key, its row in the table, and its unit."""

    key: str
    label: str
    value: Value
    unit: str = ""
    digits: int = 1

    def text(self) -> str:
        if isinstance(self.value, bool) or self.value is None:
            return "-" if self.value is None else ("yes" if self.value else "no")
        if isinstance(self.value, float):
            return f"{self.value:.{self.digits}f}"
        if isinstance(self.value, list):
            return ", ".join(
                f"{item:.{self.digits}f}" if isinstance(item, float) else str(item) for item in self.value
            )
        return str(self.value)


@dataclass
class PartResult:
    """What one part gave: its figures, or the one line that says why it gave none."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class Child:
    """A finished (or ended) child process: its exit code (None: it outlived its timeout) and output."""

    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float


def _child_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("NOTIFY_")}


def _group_gone(process: subprocess.Popen[str], seconds: float) -> bool:
    """Whether no process of the child's group is left within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        process.poll()  # reaps our own child; its orphans' new parent reaps them
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _end_group(process: subprocess.Popen[str]) -> None:
    """Stop the child and everything it started (it leads its own session) and wait until they are gone:
    SIGTERM, then SIGKILL for whatever is left after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        if _group_gone(process, _GRACE_S):
            break
    process.wait()


def run_child(command: Sequence[str], *, timeout: float, cwd: Path) -> Child:
    """Run ``command`` in its own session; wall time around it; on timeout its whole group is ended."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_child_env(),
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process)
        stdout, stderr = process.communicate()
        return Child(None, stdout, stderr, time.perf_counter() - started)
    except BaseException:  # Ctrl-C: leave nothing behind
        _end_group(process)
        raise
    return Child(process.returncode, stdout, stderr, time.perf_counter() - started)


def _cli() -> list[str]:
    """The CLI of the interpreter running this script (the project's venv)."""
    script = Path(sys.executable).with_name("notify-conformance")
    return [str(script)] if script.exists() else [sys.executable, "-m", "conformance"]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _finished(child: Child, what: str, timeout: float) -> Child:
    if child.exit_code is None:
        raise PartFailed(f"{what} timed out after {timeout:g} s (ended)")
    return child


def _verdict(code: int) -> str:
    return f"{VERDICTS.get(code, 'exit')} (exit {code})"


# -- main job ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JunitCounts:
    tests: int
    failures: int
    errors: int
    skipped: int
    seconds: float

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def read_junit(path: Path) -> JunitCounts:
    """The counts and pytest's seconds over every testsuite of a junit.xml."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise PartFailed(f"no readable {path.name}: {error}") from None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))

    def total(name: str) -> int:
        return sum(int(suite.get(name, 0)) for suite in suites)

    seconds = sum(float(suite.get("time", 0.0)) for suite in suites)
    return JunitCounts(total("tests"), total("failures"), total("errors"), total("skipped"), seconds)


def main_job(runs: int, keyword: str | None, timeout: float, scratch: Path) -> list[Figure]:
    walls: list[float] = []
    pytest_seconds: list[float] = []
    codes: list[int] = []
    counts = JunitCounts(0, 0, 0, 0, 0.0)
    for run in range(1, runs + 1):
        folder = Path(tempfile.mkdtemp(prefix=f"main-{run}-", dir=scratch))
        command = [*_cli(), "run", "--env", "local", "--reports", str(folder / "reports"), "-q"]
        command += ["-k", keyword] if keyword else []
        _progress(f"main job, run {run} of {runs}")
        child = _finished(run_child(command, timeout=timeout, cwd=folder), f"run {run}", timeout)
        if not (folder / "reports" / "junit.xml").is_file():
            raise PartFailed(f"run {run}: exit {child.exit_code}, no junit.xml: {_last_line(child.stderr)}")
        counts = read_junit(folder / "reports" / "junit.xml")
        walls.append(child.seconds)
        pytest_seconds.append(counts.seconds)
        codes.append(int(child.exit_code or 0))
    return [
        Figure("main_selection", "main job: tests selected", f"-k {keyword}" if keyword else "all"),
        Figure(
            "main_wall_seconds_median",
            f"main job: wall time (median of {runs})",
            statistics.median(walls),
            "s",
        ),
        Figure("main_wall_seconds", "main job: wall time of each run", walls, "s"),
        Figure(
            "main_pytest_seconds_median",
            "main job: pytest's own time (median)",
            statistics.median(pytest_seconds),
            "s",
        ),
        Figure("main_tests", "main job: tests", counts.tests, "tests"),
        Figure("main_passed", "main job: passed", counts.passed, "tests"),
        Figure("main_failed", "main job: failed or errors", counts.failures + counts.errors, "tests"),
        Figure("main_skipped", "main job: skipped", counts.skipped, "tests"),
        Figure("main_exit_codes", "main job: exit code of each run", codes),
        Figure("main_verdict", "main job: verdict (last run)", _verdict(codes[-1])),
    ]


# -- self-test -----------------------------------------------------------------------------------------


def read_kill_matrix(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PartFailed(f"no readable {path.name}: {error}") from None
    return document


def selftest_figures(matrix: dict[str, Any], wall: float, exit_code: int) -> list[Figure]:
    caught, total = int(matrix["score"]["caught"]), int(matrix["score"]["total"])
    clean = matrix["clean"]
    return [
        Figure("selftest_mode", "self-test: mode", str(matrix["mode"])),
        Figure("selftest_workers", "self-test: workers", int(matrix["workers"]), "processes"),
        Figure("selftest_wall_seconds", "self-test: wall time", wall, "s"),
        Figure("selftest_seconds", "self-test: its own reported time", float(matrix["seconds"]), "s"),
        Figure("selftest_caught", "self-test: faults caught", caught, "faults"),
        Figure("selftest_faults", "self-test: faults run", total, "faults"),
        Figure(
            "selftest_kill_rate", "self-test: kill rate", caught / total if total else 0.0, "of faults", 3
        ),
        Figure("selftest_clean_passed", "self-test: clean reference passed", int(clean["passed"]), "tests"),
        Figure("selftest_clean_failed", "self-test: clean reference failed", int(clean["failed"]), "tests"),
        Figure("selftest_clean_error", "self-test: clean reference breakdown", clean.get("error") or "none"),
        Figure("selftest_verdict", "self-test: verdict", _verdict(exit_code)),
    ]


def selftest_part(mode: str, faults: Sequence[str], timeout: float, scratch: Path) -> list[Figure]:
    folder = Path(tempfile.mkdtemp(prefix="selftest-", dir=scratch))
    reports = folder / "reports"
    command = [*_cli(), "selftest", "--reports", str(reports), "--doc", str(folder / "kill-matrix-doc.md")]
    command += ["--quick"] if mode == "quick" else []
    for fault in faults:
        command += ["--fault", fault]
    _progress(f"self-test ({mode})")
    child = _finished(run_child(command, timeout=timeout, cwd=folder), "the self-test", timeout)
    if not (reports / "kill-matrix.json").is_file():
        raise PartFailed(
            f"exit {child.exit_code}, no kill-matrix.json: {_last_line(child.stderr or child.stdout)}"
        )
    matrix = read_kill_matrix(reports / "kill-matrix.json")
    return selftest_figures(matrix, child.seconds, int(child.exit_code or 0))


# -- the bench scripts' JSON lines ---------------------------------------------------------------------


def json_line(stdout: str, key: str) -> Any:
    """The value under ``key`` of the last JSON line of ``stdout`` that has it."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and key in document:
                return document[key]
    raise PartFailed(f"no {key!r} JSON line in its output")


def _bench_script(name: str, arguments: Sequence[str], timeout: float, scratch: Path) -> Child:
    command = [sys.executable, str(BENCH / name), *arguments]
    child = _finished(run_child(command, timeout=timeout, cwd=scratch), name, timeout)
    if child.exit_code != 0:
        raise PartFailed(f"{name} exit {child.exit_code}: {_last_line(child.stderr or child.stdout)}")
    return child


def properties_figures(result: dict[str, Any]) -> list[Figure]:
    ours, theirs = result["ours"], result["st_run"]
    return [
        Figure("properties_max_examples", "properties: --max-examples", int(result["max_examples"])),
        Figure("properties_seed", "properties: --seed", int(result["seed"])),
        Figure("properties_workers", "properties: our workers", int(result.get("workers", 1)), "processes"),
        Figure("properties_st_workers", "properties: st run --workers", int(result.get("st_run_workers", 1))),
        Figure("properties_ours_cases", "properties: ours, cases", int(ours["cases"]), "cases"),
        Figure("properties_ours_cases_per_s", "properties: ours", float(ours["cases_per_second"]), "cases/s"),
        Figure("properties_st_cases", "properties: st run, cases", int(theirs["cases"]), "cases"),
        Figure(
            "properties_st_cases_per_s", "properties: st run", float(theirs["cases_per_second"]), "cases/s"
        ),
        Figure("properties_ratio", "properties: ratio (ours / st run)", float(result["ratio"]), "", 2),
    ]


def properties_part(examples: int | None, seed: int | None, timeout: float, scratch: Path) -> list[Figure]:
    arguments = ["--json"]
    arguments += ["--max-examples", str(examples)] if examples is not None else []
    arguments += ["--seed", str(seed)] if seed is not None else []
    _progress("properties against st run")
    child = _bench_script("properties_vs_st.py", arguments, timeout, scratch)
    return properties_figures(json_line(child.stdout, "properties_vs_st"))


def memory_figures(samples: list[dict[str, Any]]) -> list[Figure]:
    if not samples:
        raise PartFailed("reference_memory.py gave no samples")
    start, last = samples[0], samples[-1]
    first = next((sample for sample in samples if sample["run"] == 1), start)
    runs = int(last["run"])
    return [
        Figure("memory_runs", "memory: runs answered", runs, "runs"),
        Figure("memory_start_mb", "memory: VmRSS at start", float(start["rss_mb"]), "MB"),
        Figure("memory_after_run_1_mb", "memory: VmRSS after run 1", float(first["rss_mb"]), "MB"),
        Figure("memory_end_mb", f"memory: VmRSS after {runs} runs", float(last["rss_mb"]), "MB"),
        Figure(
            "memory_growth_mb", "memory: growth since start", float(last["rss_mb"] - start["rss_mb"]), "MB"
        ),
        Figure(
            "memory_growth_since_run_1_mb",
            "memory: growth since run 1",
            float(last["rss_mb"] - first["rss_mb"]),
            "MB",
        ),
        Figure("memory_peak_mb", "memory: peak (VmHWM)", float(last["peak_mb"]), "MB"),
    ]


def memory_part(runs: int, timeout: float, scratch: Path) -> list[Figure]:
    _progress(f"reference memory over {runs} runs")
    child = _bench_script("reference_memory.py", ["--runs", str(runs), "--json"], timeout, scratch)
    return memory_figures(json_line(child.stdout, "reference_memory"))


# -- the summary ---------------------------------------------------------------------------------------


def _progress(text: str) -> None:
    print(f"speed_and_memory: {text} ...", file=sys.stderr, flush=True)


def run_part(name: str, measure: Callable[[], list[Figure]]) -> PartResult:
    """One part, its failure turned into its one line."""
    try:
        return PartResult(name, measure())
    except PartFailed as problem:
        return PartResult(name, note=str(problem))
    except (KeyError, TypeError, ValueError) as problem:  # output of an unexpected shape
        return PartResult(name, note=f"unreadable output: {type(problem).__name__}: {problem}")


def _git(*arguments: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def context() -> dict[str, Any]:
    """Where and when the figures were taken, to tell lines from different commits and moments apart."""
    status = _git("status", "--porcelain")
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "dirty": None if status is None else bool(status),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_start": [round(value, 2) for value in os.getloadavg()],
    }


def render_table(results: Sequence[PartResult]) -> str:
    """One row per figure, and a part that gave none as one row with the reason in the value column."""
    rows = [("figure", "value", "unit")]
    notes: list[tuple[str, str]] = []
    for result in results:
        rows += [(figure.label, figure.text(), figure.unit) for figure in result.figures]
        if result.note is not None:
            notes.append((f"{result.name}: not measured", result.note))
    label_width = max(len(row[0]) for row in rows + notes)
    value_width = min(_VALUE_WIDTH, max(len(row[1]) for row in rows))
    lines = [f"{a:<{label_width}}  {b:>{value_width}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines + [f"{label:<{label_width}}  {note}" for label, note in notes])


def _rounded(value: Value) -> Value:
    """Floats to the millisecond (or the kB): enough to compare, without float noise."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, list):
        return [round(item, 3) if isinstance(item, float) else item for item in value]
    return value


def render_json(results: Sequence[PartResult], taken: dict[str, Any]) -> str:
    document: dict[str, Any] = {"bench": "speed_and_memory", **taken}
    document["parts"] = {
        result.name: result.note or ("ok" if result.figures else "skipped") for result in results
    }
    for result in results:
        document.update({figure.key: _rounded(figure.value) for figure in result.figures})
    return json.dumps(document)


def _parts(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(chosen - set(PARTS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part {unknown[0]!r}; choose from {', '.join(PARTS)}")
    return chosen


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _timeout(text: str) -> tuple[str | None, float]:
    """``SECONDS`` (every part) or ``PART=SECONDS``."""
    part, _, seconds = text.rpartition("=")
    if part and part not in PARTS:
        raise argparse.ArgumentTypeError(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
    try:
        value = float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {seconds!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {seconds}")
    return part or None, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip", type=_parts, default=set(), help=f"parts to leave out, of {','.join(PARTS)}"
    )
    parser.add_argument("--main-runs", type=_positive, default=1, help="main job runs (default 1)")
    parser.add_argument(
        "--main-k", metavar="EXPR", help="only the main job's tests matching this -k expression"
    )
    parser.add_argument("--selftest", choices=("full", "quick", "skip"), default="full")
    parser.add_argument("--selftest-fault", action="append", default=[], metavar="NAME", help="repeatable")
    parser.add_argument("--property-examples", type=_positive, help="properties_vs_st.py --max-examples")
    parser.add_argument("--seed", type=int, help="properties_vs_st.py --seed")
    parser.add_argument("--memory-runs", type=_positive, default=DEFAULT_MEMORY_RUNS, help="default 100")
    parser.add_argument(
        "--timeout",
        type=_timeout,
        action="append",
        default=[],
        metavar="[PART=]S",
        help="seconds a part (the main job: each run) may take; repeatable (default: by part)",
    )
    parser.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    skipped: set[str] = set(args.skip) | ({"selftest"} if args.selftest == "skip" else set())

    def timeout(part: str) -> float:
        """The last --timeout for this part, else the last for every part, else the part's default."""
        given: dict[str | None, float] = dict(args.timeout)
        return given.get(part, given.get(None, DEFAULT_TIMEOUT_S[part]))

    taken = context()
    with tempfile.TemporaryDirectory(prefix="speed-and-memory-") as name:
        scratch = Path(name)
        measures: dict[str, Callable[[], list[Figure]]] = {
            "main": lambda: main_job(args.main_runs, args.main_k, timeout("main"), scratch),
            "selftest": lambda: selftest_part(
                args.selftest, args.selftest_fault, timeout("selftest"), scratch
            ),
            "properties": lambda: properties_part(
                args.property_examples, args.seed, timeout("properties"), scratch
            ),
            "memory": lambda: memory_part(args.memory_runs, timeout("memory"), scratch),
        }
        results = [PartResult(part) if part in skipped else run_part(part, measures[part]) for part in PARTS]
    taken["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    commit = taken["commit"] or "unknown commit"
    dirty = " (uncommitted changes)" if taken["dirty"] else ""
    load = ", ".join(f"{value:.2f}" for value in taken["load_average_start"])
    print(f"{commit}{dirty}, {taken['date']}, {taken['cpus']} CPUs, load average at start {load}")
    if skipped:
        print(f"skipped: {', '.join(part for part in PARTS if part in skipped)}")
    print(render_table(results))
    if args.json:
        print(render_json(results, taken))
    return 1 if any(result.note is not None for result in results) else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # as Ctrl-C: the running part's processes are ended too
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("speed_and_memory: interrupted")
