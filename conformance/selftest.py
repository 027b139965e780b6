"""``notify-conformance selftest``: prove the suite can fail.

The suite runs against the clean reference API (nothing may fail) and then once per deliberate fault of
:mod:`conformance.reference.faults` (a test in the fault's area must fail). The result is the kill
matrix: which tests caught which fault. A fault no test notices means a check has gone blind, so any
score under 100% fails the command.

Runs are spread over worker processes (``--jobs``, by default one more than the CPUs: runs spend part of
their time in sleeps and timeouts the suite waits out). A worker runs one job after another in-process
(``pytest.main`` with our plugin and a small recording plugin), which saves the interpreter and plugin
start-up a fresh process would pay for every fault. Each worker has its own scratch folder as working
directory, so hypothesis and schemathesis caches never land in the user's tree.

``--quick`` answers only "is every fault caught?": a fault's run holds just the tests of its declared
areas, puts the tests earlier runs found slow last, and stops at the first failure (the clean run still
runs every test of those areas). Our own tests use it. The full mode, the default and the source of the
checked-in matrix, runs every test against every fault and counts every test that caught it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest

from conformance.errors import ExitCode, UsageError
from conformance.runner import SUITE_DIR

CLEAN = "clean reference"
DEFAULT_DOC = Path("docs") / "kill-matrix.md"
DEFAULT_MAX_EXAMPLES = 5
#: per job; a job past it is stopped and counted as an error
JOB_TIMEOUT_S = {"full": 900.0, "quick": 300.0}
_EXAMPLE_IDS = 3


@dataclass(frozen=True)
class Job:
    """One suite run: the faults the reference starts with and the areas whose tests run (all if empty)."""

    name: str
    faults: tuple[str, ...]
    areas: tuple[str, ...]
    max_examples: int
    seed: int
    log: str
    #: stop at the first failing test (quick mode: whether a fault is caught, not by how many tests)
    first_failure_only: bool = False
    #: seconds earlier runs took per slow test; with ``first_failure_only`` they run last
    slow: dict[str, float] = field(default_factory=dict)


@dataclass
class Failure:
    nodeid: str
    area: str


@dataclass
class JobResult:
    """What one run did: outcome counts, every failing test with its area, and any breakdown."""

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    #: pytest's exit code (1 = tests failed); None when the run never finished
    exit_code: int | None = None
    #: why the run broke down (timeout, crash, usage error), if it did
    error: str | None = None
    #: tests that took a while, by node id (a hint for ordering later quick runs)
    durations: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        failures = [Failure(**failure) for failure in data.pop("failures", [])]
        return cls(failures=failures, **data)


# ------------------------------------------------------------------------------------------------------
# Inside a worker: one pytest session per job

#: A test is "slow" (worth running last when only the first failure matters) from this many seconds.
_SLOW_S = 0.2
#: Which suite modules hold each area's tests, learnt from this worker's first full collection; later
#: runs of a few areas then collect only those modules.
_MODULES_BY_AREA: dict[str, set[str]] = {}
_collected_everything = False


class _Recorder:
    """A pytest plugin object: keeps only the wanted areas' tests and records every outcome."""

    def __init__(self, job: Job, result: JobResult) -> None:
        self.job = job
        self.areas = set(job.areas)
        self.result = result
        self.area_of: dict[str, str] = {}

    @staticmethod
    def _area(item: pytest.Item) -> str:
        mark = item.get_closest_marker("area")
        return str(mark.args[0]) if mark is not None and mark.args else "other"

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            area = self._area(item)
            (kept if not self.areas or area in self.areas else dropped).append(item)
            self.area_of[item.nodeid] = area
            _MODULES_BY_AREA.setdefault(area, set()).add(str(item.path))
        if self.job.first_failure_only:
            kept.sort(key=lambda item: self.job.slow.get(item.nodeid, 0.0))  # stable: suite order otherwise
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.result
        if report.failed:
            result.failed += 1
            result.failures.append(Failure(report.nodeid, self.area_of.get(report.nodeid, "other")))
        elif report.when == "call" and report.passed:
            result.passed += 1
        elif report.skipped:
            result.skipped += 1
        if report.when == "call" and report.duration >= _SLOW_S:
            result.durations[report.nodeid] = round(report.duration, 2)


def _paths(areas: Sequence[str]) -> list[str]:
    """What to collect: the areas' modules once they are known, else the whole suite."""
    if not areas or not _collected_everything or any(area not in _MODULES_BY_AREA for area in areas):
        return [str(SUITE_DIR)]
    return sorted({module for area in areas for module in _MODULES_BY_AREA[area]})


def pytest_argv(job: Job) -> list[str]:
    """The suite's pytest arguments for one job (local environment, faults, budget, quiet)."""
    argv = [
        *_paths(job.areas),
        "-p",
        "no:notify_conformance",  # passed as an object instead
        "-c",
        str(SUITE_DIR / "suite.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "--notify-env",
        "local",
        "--notify-max-examples",
        str(job.max_examples),
        "--notify-seed",
        str(job.seed),
        "-q",
        "-r",
        "fE",
        "-p",
        "no:unraisableexception",  # its garbage collection at the end of every session costs ~0.2 s
    ]
    for fault in job.faults:
        argv += ["--notify-fault", fault]
    if job.faults:
        argv.append("--tb=line")  # hundreds of expected failures: their tracebacks would cost seconds
    if job.first_failure_only:
        argv.append("--maxfail=1")
    return argv


def run_job(job: Job) -> JobResult:
    """Run the suite once, in this process, as ``job`` says."""
    global _collected_everything
    from conformance import plugin

    result = JobResult(job.name)
    started = time.monotonic()
    argv = pytest_argv(job)
    try:
        result.exit_code = int(pytest.main(argv, plugins=[plugin, _Recorder(job, result)]))
        _collected_everything = _collected_everything or argv[0] == str(SUITE_DIR)
    except Exception as error:  # a broken session must not take the worker (and its other jobs) down
        result.error = f"{type(error).__name__}: {error}"
    result.seconds = round(time.monotonic() - started, 2)
    if result.error is None and result.exit_code not in (0, 1):
        result.error = f"pytest ended with exit code {result.exit_code} (see {job.log})"
    return result


@contextlib.contextmanager
def _output_to(path: str) -> Iterator[None]:
    """Send everything written to fds 1 and 2 (pytest's terminal output included) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def worker_main() -> int:
    """Read jobs (JSON lines) on stdin; answer each with a result line on the original stdout."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must never corrupt the answers
    for line in sys.stdin:
        raw = json.loads(line)
        job = Job(**{**raw, "faults": tuple(raw["faults"]), "areas": tuple(raw["areas"])})
        with _output_to(job.log):
            result = run_job(job)
        answers.write(json.dumps(asdict(result)) + "\n")
    return 0


# ------------------------------------------------------------------------------------------------------
# The conductor: worker processes, a job queue, timeouts


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, scratch: Path, stderr_log: Path) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        scratch.mkdir(parents=True, exist_ok=True)
        self._stderr = stderr_log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.selftest"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=scratch,
            env=env,
            text=True,
        )

    def ask(self, job: Job, timeout_s: float) -> JobResult:
        """Send one job and wait for its result; a timeout or a dead worker gives an error result."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(asdict(job)) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return JobResult(job.name, error="the worker process had stopped")
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s):
                self.stop()
                return JobResult(job.name, seconds=timeout_s, error=f"timed out after {timeout_s:g} s")
        line = self.process.stdout.readline()
        if not line:
            return JobResult(job.name, error=f"the worker process died (exit code {self.process.poll()})")
        return JobResult.from_json(json.loads(line))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.process.kill()  # only ever our own child, by its handle
        self.process.wait()
        self._stderr.close()

    def close(self) -> None:
        """Let the worker finish (end of its input), then make sure it is gone."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def run_jobs(
    jobs: Sequence[Job], workers: int, timeout_s: float, scratch: Path, logs: Path, on_result: Any = None
) -> dict[str, JobResult]:
    """Run every job on ``workers`` processes; ``on_result(result, done, total)`` reports progress.

    Each worker works in its own folder under ``scratch``; its stderr goes to ``logs``. The slow tests
    any run reports are passed on to the jobs sent after it (quick runs put them last).
    """
    pending: queue.Queue[Job] = queue.Queue()
    for job in jobs:
        pending.put(job)
    results: dict[str, JobResult] = {}
    slow: dict[str, float] = {}
    lock = threading.Lock()

    def drive(index: int) -> None:
        worker: _Worker | None = None
        try:
            while True:
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    return
                if worker is not None and not worker.alive:  # stopped after a timeout, or died
                    worker.close()
                    worker = None
                if worker is None:
                    worker = _Worker(scratch / f"worker-{index}", logs / f"worker-{index}.stderr.log")
                with lock:
                    job = replace(job, slow=dict(slow))
                result = worker.ask(job, timeout_s)
                with lock:
                    slow.update(result.durations)
                    results[job.name] = result
                    if on_result is not None:
                        on_result(result, len(results), len(jobs))
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(max(1, workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ------------------------------------------------------------------------------------------------------
# The kill matrix


@dataclass
class Verdict:
    """Whether the suite caught one fault, and with which tests."""

    fault: str
    areas: tuple[str, ...]
    modes: tuple[str, ...]
    breaks: str
    section: str
    #: failing tests in the fault's declared areas
    caught_by: list[str]
    #: failing tests in other areas (noticed, but not where the fault lives)
    also_failed: list[str]
    error: str | None
    seconds: float

    @property
    def caught(self) -> bool:
        return bool(self.caught_by) and self.error is None


@dataclass
class KillMatrix:
    mode: str
    max_examples: int
    seed: int
    workers: int
    clean: JobResult
    verdicts: list[Verdict]
    seconds: float
    generated: str

    @property
    def clean_passed(self) -> bool:
        return self.clean.error is None and self.clean.exit_code == 0 and self.clean.failed == 0

    @property
    def caught(self) -> int:
        return sum(verdict.caught for verdict in self.verdicts)

    @property
    def score(self) -> float:
        return self.caught / len(self.verdicts) if self.verdicts else 0.0

    @property
    def passed(self) -> bool:
        return self.clean_passed and self.caught == len(self.verdicts) and bool(self.verdicts)


def verdict_for(fault: Any, result: JobResult) -> Verdict:
    caught = [f.nodeid for f in result.failures if f.area in fault.areas]
    others = [f.nodeid for f in result.failures if f.area not in fault.areas]
    return Verdict(
        fault=fault.name,
        areas=fault.areas,
        modes=fault.modes,
        breaks=fault.breaks,
        section=fault.section,
        caught_by=caught,
        also_failed=others,
        error=result.error,
        seconds=result.seconds,
    )


def _modes_text(modes: Sequence[str]) -> str:
    return "both" if len(modes) > 1 else modes[0]


def _short(nodeid: str) -> str:
    """``test_x.py::test_y[...]`` whatever folder the node id starts with."""
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


def render_markdown(matrix: KillMatrix) -> str:
    """The kill matrix as a Markdown document (reports/ and the checked-in copy)."""
    clean = matrix.clean
    mode = (
        "full mode: every test runs against every fault"
        if matrix.mode == "full"
        else "quick mode: only the tests of each fault's declared areas run"
    )
    lines = [
        "# Kill matrix",
        "",
        "Generated by `notify-conformance selftest`: the suite against the reference API with one deliberate",
        "fault at a time (`conformance/reference/faults.py`). A fault is caught when at least one test in",
        "its expected area fails. Sections are those of api-behaviour.md unless named otherwise.",
        "",
        f"- Run: {matrix.generated}, {mode}; {matrix.max_examples} examples per property test, "
        f"seed {matrix.seed}, {matrix.workers} workers.",
        f"- Score: **{matrix.caught}/{len(matrix.verdicts)} faults caught ({matrix.score:.0%})**.",
        f"- Clean reference: {clean.passed} passed, {clean.failed} failed, {clean.skipped} skipped"
        + (f" ({clean.error})" if clean.error else "")
        + f" — {'PASS' if matrix.clean_passed else 'FAIL'}.",
        f"- Total time: {matrix.seconds:.0f} s.",
        "",
        "| fault | modes | behaviour it breaks | expected area | caught | tests that caught it | examples "
        "| failures in other areas |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in matrix.verdicts:
        examples = ", ".join(f"`{_short(nodeid)}`" for nodeid in v.caught_by[:_EXAMPLE_IDS])
        if v.error:
            examples = f"error: {v.error}"
        caught = "yes" if v.caught else "**NO**"
        lines.append(
            f"| `{v.fault}` | {_modes_text(v.modes)} | {v.breaks} ({v.section}) | {', '.join(v.areas)} "
            f"| {caught} | {len(v.caught_by)} | {examples} | {len(v.also_failed)} |"
        )
    if clean.failures:
        lines += ["", "## Failures on the clean reference", ""]
        lines += [f"- `{_short(failure.nodeid)}` ({failure.area})" for failure in clean.failures]
    return "\n".join(lines) + "\n"


def render_terminal(matrix: KillMatrix) -> str:
    width = max([len(v.fault) for v in matrix.verdicts] + [5])
    lines = [f"{'fault':<{width}}  {'expected area':<24} {'caught':>6} {'tests':>6}  example"]
    for v in matrix.verdicts:
        example = v.error or (_short(v.caught_by[0]) if v.caught_by else "-")
        caught = "yes" if v.caught else "NO"
        areas = ", ".join(v.areas)
        lines.append(f"{v.fault:<{width}}  {areas:<24} {caught:>6} {len(v.caught_by):>6}  {example}")
    clean = matrix.clean
    lines += [
        "",
        f"clean reference: {clean.passed} passed, {clean.failed} failed, {clean.skipped} skipped"
        f" -> {'PASS' if matrix.clean_passed else 'FAIL'}" + (f" ({clean.error})" if clean.error else ""),
        f"score: {matrix.caught}/{len(matrix.verdicts)} faults caught ({matrix.score:.0%})",
        f"total time: {matrix.seconds:.1f} s ({matrix.mode} mode, {matrix.workers} workers)",
    ]
    return "\n".join(lines)


def matrix_json(matrix: KillMatrix) -> dict[str, Any]:
    return {
        "mode": matrix.mode,
        "generated": matrix.generated,
        "max_examples": matrix.max_examples,
        "seed": matrix.seed,
        "workers": matrix.workers,
        "seconds": round(matrix.seconds, 1),
        "score": {"caught": matrix.caught, "total": len(matrix.verdicts)},
        "passed": matrix.passed,
        "clean": asdict(matrix.clean),
        "faults": [{**asdict(v), "caught": v.caught} for v in matrix.verdicts],
    }


# ------------------------------------------------------------------------------------------------------
# The command


def _chosen_faults(names: Sequence[str]) -> list[Any]:
    from conformance.reference.faults import FAULTS, unknown

    if missing := unknown(names):
        raise UsageError(f"unknown fault {missing[0]!r} (see 'notify-conformance serve --list-faults')")
    wanted = set(names)
    return [fault for name, fault in FAULTS.items() if not wanted or name in wanted]


def selftest(
    *,
    quick: bool,
    faults: Sequence[str] = (),
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    workers: int = 2,
    seed: int | None = None,
    reports: Path,
    out: IO[str] = sys.stdout,
) -> KillMatrix:
    """Run the clean suite and one suite per fault; return the kill matrix (nothing written yet)."""
    chosen = _chosen_faults(faults)
    mode = "quick" if quick else "full"
    seed = random.randrange(2**32) if seed is None else seed
    logs = reports / "selftest"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    clean_areas: tuple[str, ...] = ()
    if quick:
        clean_areas = tuple(sorted({area for fault in chosen for area in fault.areas}))

    def job(name: str, with_faults: tuple[str, ...], areas: tuple[str, ...]) -> Job:
        log = str((logs / f"{name.replace(' ', '-')}.log").resolve())
        return Job(
            name, with_faults, areas, max_examples, seed, log, first_failure_only=quick and bool(with_faults)
        )

    jobs = [job(CLEAN, (), clean_areas)]  # first: it is the longest
    jobs += [job(f.name, (f.name,), f.areas if quick else ()) for f in chosen]

    def progress(result: JobResult, done: int, total: int) -> None:
        if result.error:
            outcome = f"error: {result.error}"
        else:
            outcome = f"{result.failed} failed, {result.passed} passed"
        out.write(f"[{done:>3}/{total}] {result.name}: {outcome} ({result.seconds:.1f} s)\n")
        out.flush()

    out.write(f"selftest: {len(chosen)} faults + the clean reference, {mode} mode, {workers} workers\n")
    out.flush()
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="notify-selftest-"))
    try:
        results = run_jobs(jobs, workers, JOB_TIMEOUT_S[mode], scratch, logs, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    missing = JobResult(CLEAN, error="never ran")
    return KillMatrix(
        mode=mode,
        max_examples=max_examples,
        seed=seed,
        workers=workers,
        clean=results.get(CLEAN, missing),
        verdicts=[verdict_for(f, results.get(f.name, JobResult(f.name, error="never ran"))) for f in chosen],
        seconds=time.monotonic() - started,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_matrix(matrix: KillMatrix, reports: Path, doc: Path | None) -> list[Path]:
    """Write reports/kill-matrix.md and .json, and the checked-in document if asked; return the paths."""
    markdown = render_markdown(matrix)
    written = [reports / "kill-matrix.md", reports / "kill-matrix.json"]
    written[0].write_text(markdown, encoding="utf-8")
    written[1].write_text(json.dumps(matrix_json(matrix), indent=2) + "\n", encoding="utf-8")
    if doc is not None:
        doc.write_text(markdown, encoding="utf-8")
        written.append(doc)
    return written


def selftest_command(args: argparse.Namespace) -> ExitCode:
    """``notify-conformance selftest``: exit 0 only for a clean pass and every fault caught."""
    reports: Path = args.reports
    try:
        reports.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--reports: cannot create {reports}: {error.strerror}") from None
    complete = not args.quick and not args.fault
    doc: Path | None = args.doc if complete else None
    if doc is not None and not doc.parent.is_dir():
        doc = None
        sys.stdout.write(f"selftest: {args.doc} not written (folder {args.doc.parent} does not exist)\n")
    matrix = selftest(
        quick=args.quick,
        faults=args.fault,
        max_examples=args.max_examples,
        workers=args.jobs,
        seed=args.seed,
        reports=reports,
    )
    sys.stdout.write("\n" + render_terminal(matrix) + "\n")
    written = write_matrix(matrix, reports, doc)
    sys.stdout.write("kill matrix: " + ", ".join(str(path) for path in written) + "\n")
    if not complete:
        sys.stdout.write(f"({args.doc} is regenerated only by a full run of every fault)\n")
    return ExitCode.OK if matrix.passed else ExitCode.FAILURES


if __name__ == "__main__":
    raise SystemExit(worker_main())
