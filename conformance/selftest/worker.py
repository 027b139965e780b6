"""Inside one worker process: each job is one in-process pytest session of the suite.

A worker runs job after job (``pytest.main`` with our plugin and a small recording plugin), which saves
the interpreter and plugin start-up a fresh process would pay for every fault. Jobs arrive as JSON
lines on stdin and each result leaves as one line on the original stdout (see :mod:`.pool`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field

import pytest

from conformance import runner
from conformance.environments import Options
from conformance.outcome import area_of
from conformance.reporting import drift
from conformance.runner import SUITE_DIR
from conformance.selftest.jobs import Failure, Job, JobResult

#: A test is "slow" (worth running last when only the first failure matters) from this many seconds.
_SLOW_S = 0.2


@dataclass
class _SuiteModules:
    """Which suite modules hold each area's tests, learnt from this worker's first full collection, so
    that later runs of a few areas collect only those modules."""

    by_area: dict[str, set[str]] = field(default_factory=dict)
    #: a run has collected the whole suite, so ``by_area`` knows every area's modules
    complete: bool = False

    def paths(self, areas: Sequence[str]) -> list[str]:
        """What to collect: the areas' modules once they are known, else the whole suite."""
        if not areas or not self.complete or any(area not in self.by_area for area in areas):
            return [str(SUITE_DIR)]
        return sorted({module for area in areas for module in self.by_area[area]})


_MODULES = _SuiteModules()


def meets_fault(target_kind: str | None, servers: Sequence[str]) -> bool:
    """Whether a test of this target can meet a fault carried by ``servers``. A test of a target of
    another mode sends every request to a server without the fault: it is the clean run's test again.
    A test of no target (the callbacks area: the receiver, and the integration-mode API that sends it
    callbacks) is always run."""
    return not servers or target_kind is None or target_kind in servers


class _Recorder:
    """A pytest plugin object: keeps only the wanted areas' tests and records every outcome."""

    def __init__(self, job: Job, result: JobResult) -> None:
        self.job = job
        self.areas = set(job.areas)
        self.result = result
        self.area_by_nodeid: dict[str, str] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        # after our plugin has dropped the cases a target cannot serve: a case is then left out here,
        # not kept by it as "no target can serve this" because its other target's test was left out
        yield
        from conformance.plugin import target_of  # imported by pytest itself (-p), so that it is rewritten

        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            area = area_of(item)
            target = target_of(item)
            wanted = (not self.areas or area in self.areas) and meets_fault(
                None if target is None else target.kind, self.job.servers
            )
            (kept if wanted else dropped).append(item)
            self.area_by_nodeid[item.nodeid] = area
            _MODULES.by_area.setdefault(area, set()).add(str(item.path))
        if self.job.first_failure_only:
            kept.sort(key=lambda item: self.job.slow.get(item.nodeid, 0.0))  # stable: suite order otherwise
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.result
        if report.failed:
            result.failed += 1
            result.failures.append(Failure(report.nodeid, self.area_by_nodeid.get(report.nodeid, "other")))
        elif report.when == "call" and report.passed:
            result.passed += 1
        elif report.skipped:
            result.skipped += 1
        if report.when == "call" and report.duration >= _SLOW_S:
            result.durations[report.nodeid] = round(report.duration, 2)


def pytest_argv(job: Job) -> list[str]:
    """The suite's pytest arguments for one job: those of ``run --env local`` without its report
    writers, narrowed to the job's modules, quiet, and cheap where hundreds of failures are expected."""
    options = Options(
        env="local",
        max_examples=job.max_examples,
        faults=job.faults,
        seed=job.seed,
        strict_contract=job.strict_contract,
    )
    flags = argparse.Namespace(seed=job.seed, keyword=None, markers=None, quiet=True)
    argv = runner.unreported_pytest_args(options, flags)  # the run's arguments minus Allure and JUnit
    argv[:1] = _MODULES.paths(job.areas)  # in place of the whole suite
    argv += [
        "-r",
        "fE",  # a log is read for its failures (the run's own -r N leaves them to its digest)
        "-p",
        "no:unraisableexception",  # its garbage collection at the end of every session costs ~0.2 s
        "--notify-local-in-process",  # a worker is already a process of its own, with a core of its own
    ]
    if not job.strict_contract:  # only a strict job's verdicts read the contract drift of its answers
        argv += ["-p", f"no:{drift.PLUGIN_NAME}"]
    if job.faults:
        argv.append("--tb=line")  # hundreds of expected failures: their tracebacks would cost seconds
    if job.first_failure_only:
        argv.append("--maxfail=1")
    return argv


def run_job(job: Job) -> JobResult:
    """Run the suite once, in this process, as ``job`` says."""
    result = JobResult(job.name)
    started = time.monotonic()
    argv = pytest_argv(job)
    try:
        result.exit_code = int(pytest.main(argv, plugins=[_Recorder(job, result)]))  # our plugin: -p in argv
        _MODULES.complete = _MODULES.complete or argv[0] == str(SUITE_DIR)
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


#: how often a worker looks whether the conductor that started it is still there
_PARENT_CHECK_S = 0.5


def _exit_with_parent() -> None:
    """Stop this worker, whatever job it is in, as soon as its conductor is gone (killed, or stopped by
    SIGTERM without the chance to close its pipes): otherwise the job would run on for minutes, with
    its reference servers, for nobody. A thread polls the parent's pid: portable, and needs no signal."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="selftest-worker-parent-watch", daemon=True).start()


def worker_main() -> int:
    """Read jobs (JSON lines) on stdin; answer each with a result line on the original stdout."""
    _exit_with_parent()
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must never corrupt the answers
    for line in sys.stdin:
        job = Job.from_json(line)
        with _output_to(job.log):
            result = run_job(job)
        answers.write(result.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(worker_main())
