"""The worker pool: jobs spread over worker processes, each job under a timeout.

Its whole interface is :func:`run_jobs` (jobs in, results by name out, progress through a callback), so
another way of running jobs in parallel can replace it without touching the command or the matrix.

Each worker is a long-lived ``python -m conformance.selftest.worker`` (see :mod:`.worker`) fed one job
at a time through a pipe, with its own scratch folder as working directory so that hypothesis and
schemathesis caches never land in the user's tree.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from conformance._resources import child_environment
from conformance.selftest.jobs import Job, JobResult

#: ``on_result(result, done, total)``: called as each job finishes, one call at a time
Progress = Callable[[JobResult, int, int], None]

_WORKER_MODULE = "conformance.selftest.worker"


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, scratch: Path, stderr_log: Path) -> None:
        env = child_environment(os.environ)
        scratch.mkdir(parents=True, exist_ok=True)
        self._stderr = stderr_log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", _WORKER_MODULE],
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
            self.process.stdin.write(job.to_json())
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
        return JobResult.from_json(line)

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
    jobs: Sequence[Job],
    workers: int,
    timeout_s: float,
    scratch: Path,
    logs: Path,
    on_result: Progress | None = None,
) -> dict[str, JobResult]:
    """Run every job on ``workers`` processes and return the results by job name.

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
