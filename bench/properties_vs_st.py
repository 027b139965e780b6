"""Throughput of the property phase against the Schemathesis CLI (``st run``), same spec, same target
(the embedded reference API in sandbox mode, on loopback) and the same example budget.

    python bench/properties_vs_st.py [--max-examples N] [--seed S] [--workers N] [--json]

Prints generated cases, seconds and cases per second for both, and their ratio. Numbers are for
comparison on one machine, not targets. Like is compared with like:

- the target runs in a process of its own, so neither side shares an interpreter (and its GIL) with it;
- ``st run`` gets the document the property tests generate from (the contract with the domain formats,
  registered through a hooks module, and open answers) and the same expected statuses;
- both run every phase that applies (examples, coverage, fuzzing) once per generation mode with the
  whole budget: ``st run --mode all`` would split one fuzzing budget between the modes and so send half
  the (costliest) fuzzing cases; ``st run`` continues after failures so that it, too, spends its budget;
- ``ignored_auth`` is left out of ``st run``: the sandbox does not enforce authentication, so the
  property tests do not ask that question there;
- ours runs as the main job does by default (``--workers N``, default one per CPU core): processes of
  their own that each take the next operation and mode when free, as xdist gives the main job's workers
  their next test; ``st run`` is measured with one worker and, for N > 1, with ``--workers N`` too (its
  own threads, which on two cores make it slower), and the faster of the two is the one compared;
- each side's time is its run, not its interpreter's start: ours from the first operation to the last
  (once every worker process has started), ``st run``'s the running time it reports itself;
- each side's processor time is printed too (ours over the same span, ``st run``'s from its hooks'
  import to its exit): on a shared machine the wall clock follows the load of the moment, while the
  processor time says how much work each side did for its cases.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from conformance.environments import Budget, Options, Target
from conformance.properties import schema as property_schema
from conformance.properties.engine import PropertyRunner
from conformance.reference.server import ReferenceConfig, start
from conformance.safety import SafetyPolicy
from conformance.spec import load_spec
from conformance.transport import build_client

#: every operation of the contract
OPERATIONS = tuple(load_spec().operations)
MODES = ("positive", "negative")

_HOOKS = """\
import atexit
import os
import time

from conformance.environments import Target
from conformance.properties.schema import register_formats

register_formats(Target(kind="sandbox", base_url={base_url!r}, scenarios=True))

_STARTED = time.process_time()


def _note_processor_time() -> None:
    with open(os.environ["NOTIFY_BENCH_CPU"], "a") as out:
        out.write(repr(time.process_time() - _STARTED) + "\\n")


atexit.register(_note_processor_time)
"""


def _target(base_url: str) -> Target:
    return Target(kind="sandbox", base_url=base_url, scenarios=True)


def ours(base_url: str, examples: int, seed: int, workers: int = 1) -> tuple[int, float, float]:
    """Cases, seconds and processor seconds of the property runs, one per operation and mode, shared by
    ``workers`` processes (in this one for 1)."""
    pairs = [(operation, mode) for operation in OPERATIONS for mode in MODES]
    if workers == 1:
        _start_runner(base_url, examples, seed)
        started = time.perf_counter()
        done = [_run_pair(pair) for pair in pairs]
        return sum(c for c, _ in done), time.perf_counter() - started, sum(p for _, p in done)
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    with context.Pool(workers, _start_runner, (base_url, examples, seed, ready)) as pool:
        for _ in range(workers):  # every worker has imported everything and built its runner
            ready.get(timeout=120)
        started = time.perf_counter()
        done = pool.map(_run_pair, pairs, chunksize=1)
        seconds = time.perf_counter() - started
    return sum(c for c, _ in done), seconds, sum(p for _, p in done)


_RUNNER: list[PropertyRunner] = []


def _start_runner(base_url: str, examples: int, seed: int, ready: Any = None) -> None:
    """A worker's property runner (its client stays open for the worker's life)."""
    target = _target(base_url)
    http = build_client(policy=SafetyPolicy.open(), target=target)
    _RUNNER[:] = [
        PropertyRunner(load_spec(), target, Budget(max_examples=examples), http, seed, production=False)
    ]
    if ready is not None:
        ready.put(os.getpid())


def _run_pair(pair: tuple[str, str]) -> tuple[int, float]:
    """One operation in one mode: its cases and the processor seconds they took."""
    processor = time.process_time()
    cases = _RUNNER[0].run(pair[0], pair[1]).cases  # type: ignore[arg-type]
    return cases, time.process_time() - processor


def _st_config(examples: int) -> str:
    accepted = json.dumps(property_schema.POSITIVE_ACCEPTED)
    rejected = json.dumps(property_schema.NEGATIVE_REJECTED)
    return (
        f"[checks.positive_data_acceptance]\nexpected-statuses = {accepted}\n"
        f"[checks.negative_data_rejection]\nexpected-statuses = {rejected}\n"
    )


def schemathesis_cli(base_url: str, examples: int, seed: int, workers: int = 1) -> tuple[int, float, float]:
    """``st run`` once per generation mode; cases, running times and processor times summed."""
    cases, seconds = 0, 0.0
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        document = folder / "property-document.json"
        document.write_text(json.dumps(property_schema.property_document(load_spec())))
        (folder / "notify_formats.py").write_text(_HOOKS.format(base_url=base_url))
        (folder / "schemathesis.toml").write_text(_st_config(examples))
        processor_log = folder / "processor-seconds"
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "notify_formats", "NOTIFY_BENCH_CPU": str(processor_log)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(folder), env.get("PYTHONPATH"))))
        for mode in MODES:
            report = folder / f"st-{mode}.json"
            command = [
                sys.executable, "-m", "schemathesis.cli", "--config-file", str(folder / "schemathesis.toml"),
                "run", str(document), "--url", base_url, "--max-examples", str(examples), "--seed", str(seed),
                "--phases", "examples,coverage,fuzzing", "--mode", mode, "--continue-on-failure",
                "--workers", str(workers),
                "--exclude-checks", "ignored_auth",
                "--generation-database", "none", "--generation-with-security-parameters", "false",
                "--report", "json", "--report-json-path", str(report), "--no-color",
            ]  # fmt: skip
            # its cache stays out of the tree
            done = subprocess.run(command, capture_output=True, check=False, cwd=folder, env=env)
            if not report.exists():
                sys.exit(f"st run --mode {mode} wrote no report: {done.stderr.decode()[-2000:]}")
            result = json.loads(report.read_text())
            counts = result["test_cases"]
            cases += int(counts.get("generated", counts.get("total", 0)))
            seconds += float(result["running_time"])
        processor = sum(float(line) for line in processor_log.read_text().split())
    return cases, seconds, processor


def _serve(ready: Connection, stop: Connection) -> None:
    with start(ReferenceConfig(mode="sandbox")) as server:
        ready.send(server.base_url)
        stop.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers",
        type=int,
        default=Options().test_processes,
        help="our worker processes, as the main job's (default: one per CPU core)",
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ready_out, ready_in = context.Pipe(duplex=False)
    stop_out, stop_in = context.Pipe(duplex=False)
    server = context.Process(target=_serve, args=(ready_in, stop_out), daemon=True)
    server.start()
    try:
        base_url = ready_out.recv()
        st_runs = {1: schemathesis_cli(base_url, args.max_examples, args.seed)}
        if args.workers > 1:
            st_runs[args.workers] = schemathesis_cli(base_url, args.max_examples, args.seed, args.workers)
        st_workers = max(st_runs, key=lambda n: st_runs[n][0] / st_runs[n][1])  # its faster setting
        st_cases, st_seconds, st_cpu = st_runs[st_workers]
        our_cases, our_seconds, our_cpu = ours(base_url, args.max_examples, args.seed, args.workers)
    finally:
        stop_in.send(None)
        server.join(timeout=10)
    our_rate, st_rate = our_cases / our_seconds, st_cases / st_seconds
    print(f"budget: --max-examples {args.max_examples}, seed {args.seed}; target {base_url}")
    for workers, (cases, seconds, _) in sorted(st_runs.items()):
        print(f"st run --workers {workers}: {cases} cases in {seconds:.2f} s = {cases / seconds:.1f} cases/s")
    for name, cases, seconds, rate in (
        (f"ours, {args.workers} worker(s)", our_cases, our_seconds, our_rate),
        (f"st run, --workers {st_workers}", st_cases, st_seconds, st_rate),
    ):
        print(f"{name:<30} {cases:6d} cases in {seconds:6.2f} s = {rate:8.1f} cases/s")
    print(f"ratio (ours / st run): {our_rate / st_rate:.2f}")
    cpu_ratio = (our_cases / our_cpu) / (st_cases / st_cpu)
    print(
        f"processor time: ours {our_cpu:.2f} s, st run {st_cpu:.2f} s; "
        f"ratio of cases per processor second: {cpu_ratio:.2f}"
    )
    if args.json:
        sides = {
            side: {"cases": cases, "seconds": round(seconds, 3), "cases_per_second": round(rate, 1)}
            for side, cases, seconds, rate in (
                ("ours", our_cases, our_seconds, our_rate),
                ("st_run", st_cases, st_seconds, st_rate),
            )
        }
        figures = {"max_examples": args.max_examples, "seed": args.seed, **sides}
        figures = {**figures, "workers": args.workers, "st_run_workers": st_workers}
        processor = {"ours_cpu_seconds": round(our_cpu, 3), "st_run_cpu_seconds": round(st_cpu, 3)}
        figures = {**figures, **processor, "cpu_ratio": round(cpu_ratio, 3)}
        print(json.dumps({"properties_vs_st": {**figures, "ratio": round(our_rate / st_rate, 3)}}))


if __name__ == "__main__":
    main()
