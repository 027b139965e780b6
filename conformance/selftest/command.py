"""``notify-conformance selftest``: the jobs to run, the run on the pool, and the kill matrix written.

The suite runs against the clean reference API (nothing may fail) and then once per deliberate fault
(a test in the fault's area must fail): the reference API's faults and the reference receiver's, which
the ``callbacks`` area must catch (:mod:`.bank`). Jobs go to ``--jobs`` workers, by default two more than the
CPUs: runs spend part of their time in sleeps and timeouts the suite waits out.

``--quick`` answers only "is every fault caught?": a fault's run holds just the tests of its declared
areas, puts the tests earlier runs found slow last, and stops at the first failure (the clean run still
runs every test of those areas). Our own tests use it. The full mode, the default and the source of the
checked-in matrix, runs every test against every fault and counts every test that caught it.

"Every test" means every test that meets the fault: a fault lives in the servers of its modes, so a test
of a target of another mode (a sandbox test, for a fault of the integration mode only; every API test,
for a receiver fault) sends nothing to a faulty server and is the clean run's test again; it runs once,
in the clean run (:func:`conformance.selftest.worker.meets_fault`).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from conformance.errors import ExitCode, UsageError
from conformance.selftest.bank import RECEIVER_MODE, BankFault, check_known, every_fault
from conformance.selftest.jobs import CLEAN, Job, JobResult
from conformance.selftest.matrix import KillMatrix, render_json, render_markdown, render_terminal, verdict_for
from conformance.selftest.pool import run_jobs

DEFAULT_MAX_EXAMPLES = 5
#: per job; a job past it is stopped and counted as an error
JOB_TIMEOUT_S = {"full": 900.0, "quick": 300.0}


def _chosen_faults(names: Sequence[str]) -> list[BankFault]:
    """The named faults in bank order, or every fault when none is named."""
    try:
        check_known(names)
    except ValueError as error:
        raise UsageError(str(error)) from None
    wanted = set(names)
    return [fault for name, fault in every_fault().items() if not wanted or name in wanted]


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

    def log_for(name: str) -> str:
        return str((logs / f"{name.replace(' ', '-')}.log").resolve())

    def fault_job(fault: BankFault) -> Job:
        # a drift entry (strict_contract) is caught only by a --strict-contract run; the clean run is not one
        return Job(
            fault.name,
            (fault.name,),
            fault.areas if quick else (),
            max_examples,
            seed,
            log_for(fault.name),
            first_failure_only=quick,
            strict_contract=fault.strict_contract,
            servers=fault.modes,
        )

    jobs = [Job(CLEAN, (), clean_areas, max_examples, seed, log_for(CLEAN))]  # first: it is the longest
    # then the receiver's faults: their runs are short (the callbacks area alone), but one waits out a
    # slow receiver for half a minute, which must not be the last job while the other workers sit idle
    jobs += [fault_job(f) for f in sorted(chosen, key=lambda fault: RECEIVER_MODE not in fault.modes)]

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

    def result_of(name: str) -> JobResult:
        return results.get(name, JobResult(name, error="never ran"))

    return KillMatrix(
        mode=mode,
        max_examples=max_examples,
        seed=seed,
        workers=workers,
        clean=result_of(CLEAN),
        verdicts=[verdict_for(fault, result_of(fault.name)) for fault in chosen],
        seconds=time.monotonic() - started,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_matrix(matrix: KillMatrix, reports: Path, doc: Path | None) -> list[Path]:
    """Write reports/kill-matrix.md and .json, and the checked-in document if asked; return the paths."""
    markdown = render_markdown(matrix)
    written = [reports / "kill-matrix.md", reports / "kill-matrix.json"]
    written[0].write_text(markdown, encoding="utf-8")
    written[1].write_text(render_json(matrix), encoding="utf-8")
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
