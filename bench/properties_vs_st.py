"""Throughput of the property phase against the Schemathesis CLI (``st run``), same spec, same target
(the embedded reference API in sandbox mode, on loopback) and the same example budget.

    python bench/properties_vs_st.py [--max-examples N] [--seed S] [--json]

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
- each side's time is its run, not its interpreter's start: ours from the first operation to the last,
  ``st run``'s the running time it reports itself;
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

from conformance.environments import Budget, Target
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


def ours(base_url: str, examples: int, seed: int) -> tuple[int, float, float]:
    """Cases, seconds and processor seconds of the property runs, one per operation and mode."""
    spec = load_spec()
    target = _target(base_url)
    with build_client(policy=SafetyPolicy.open(), target=target) as http:
        runner = PropertyRunner(spec, target, Budget(max_examples=examples), http, seed, production=False)
        started, processor = time.perf_counter(), time.process_time()
        cases = 0
        for operation in OPERATIONS:
            for mode in MODES:
                cases += runner.run(operation, mode).cases  # type: ignore[arg-type]
        return cases, time.perf_counter() - started, time.process_time() - processor


def _st_config(examples: int) -> str:
    accepted = json.dumps(property_schema.POSITIVE_ACCEPTED)
    rejected = json.dumps(property_schema.NEGATIVE_REJECTED)
    return (
        f"[checks.positive_data_acceptance]\nexpected-statuses = {accepted}\n"
        f"[checks.negative_data_rejection]\nexpected-statuses = {rejected}\n"
    )


def schemathesis_cli(base_url: str, examples: int, seed: int) -> tuple[int, float, float]:
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
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ready_out, ready_in = context.Pipe(duplex=False)
    stop_out, stop_in = context.Pipe(duplex=False)
    server = context.Process(target=_serve, args=(ready_in, stop_out), daemon=True)
    server.start()
    try:
        base_url = ready_out.recv()
        st_cases, st_seconds, st_cpu = schemathesis_cli(base_url, args.max_examples, args.seed)
        our_cases, our_seconds, our_cpu = ours(base_url, args.max_examples, args.seed)
    finally:
        stop_in.send(None)
        server.join(timeout=10)
    our_rate, st_rate = our_cases / our_seconds, st_cases / st_seconds
    print(f"budget: --max-examples {args.max_examples}, seed {args.seed}, target {base_url}")
    for name, cases, seconds, rate in (
        ("notify-conformance properties", our_cases, our_seconds, our_rate),
        ("schemathesis st run", st_cases, st_seconds, st_rate),
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
        processor = {"ours_cpu_seconds": round(our_cpu, 3), "st_run_cpu_seconds": round(st_cpu, 3)}
        figures = {**figures, **processor, "cpu_ratio": round(cpu_ratio, 3)}
        print(json.dumps({"properties_vs_st": {**figures, "ratio": round(our_rate / st_rate, 3)}}))


if __name__ == "__main__":
    main()
