"""A self-test worker does not outlive its conductor: killed mid-job, the conductor leaves no process
running the suite (and its reference servers) for nobody."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

#: A stand-in conductor: starts one real worker through the pool's own class, hands it a long job (every
#: property test), says the worker's pid once the worker has taken it, then waits to be killed.
_CONDUCTOR = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from conformance.selftest.jobs import Job
    from conformance.selftest.pool import _Worker

    folder = Path(sys.argv[1])
    worker = _Worker(folder / "scratch", folder / "worker.stderr.log")
    job = Job("long", faults=(), areas=("properties",), max_examples=200, seed=1, log=str(folder / "job.log"))
    worker.process.stdin.write(job.to_json())
    worker.process.stdin.flush()
    while not (folder / "job.log").exists():  # the worker has taken the job
        time.sleep(0.1)
    print(worker.process.pid, flush=True)
    time.sleep(600)
    """
)
#: Far longer than a worker takes to notice (it looks twice a second), far shorter than the job.
_GONE_WITHIN_S = 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return False


@pytest.mark.slow
def test_a_worker_stops_mid_job_when_its_conductor_is_killed(tmp_path: Path) -> None:
    conductor = subprocess.Popen(
        [sys.executable, "-c", _CONDUCTOR, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert conductor.stdout is not None
        worker_pid = int(conductor.stdout.readline())
        assert _alive(worker_pid)
        conductor.kill()  # SIGKILL: no handler, no cleanup, the pipes closed by the kernel alone
        conductor.wait()
        deadline = time.monotonic() + _GONE_WITHIN_S
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker_pid), "the worker ran on after its conductor was killed"
        log = (tmp_path / "job.log").read_text()
        assert " passed" not in log, "the job finished: the worker was not stopped mid-job"
    finally:
        if conductor.poll() is None:
            conductor.kill()
            conductor.wait()
        if conductor.stdout is not None:
            conductor.stdout.close()
