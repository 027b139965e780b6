"""Throughput of the property phase against the Schemathesis CLI (``st run``), same spec, same target
(the embedded reference API in sandbox mode, on loopback) and the same example budget.

    python bench/properties_vs_st.py [--max-examples N] [--seed S]

Prints generated cases, seconds and cases per second for both, and their ratio. Both run every phase
that applies (examples, coverage, fuzzing) in both generation modes; ``st run`` continues after failures
so that it, too, spends its whole budget. Numbers are for comparison on one machine, not targets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.environments import Budget, Target
from conformance.properties.engine import PropertyRunner
from conformance.reference.server import ReferenceConfig, start
from conformance.safety import SafetyPolicy
from conformance.spec import load_spec
from conformance.transport import build_client

#: every operation of the contract
OPERATIONS = tuple(load_spec().operations)


def ours(base_url: str, examples: int, seed: int) -> tuple[int, float]:
    spec = load_spec()
    target = Target(kind="sandbox", base_url=base_url, scenarios=True)
    with build_client(policy=SafetyPolicy.open(), target=target) as http:
        runner = PropertyRunner(spec, target, Budget(max_examples=examples), http, seed, production=False)
        started = time.perf_counter()
        cases = 0
        for operation in OPERATIONS:
            for mode in ("positive", "negative"):
                cases += runner.run(operation, mode).cases  # type: ignore[arg-type]
        return cases, time.perf_counter() - started


def schemathesis_cli(base_url: str, examples: int, seed: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "st.json"
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", str(load_spec().path),
            "--url", base_url, "--max-examples", str(examples), "--seed", str(seed),
            "--phases", "examples,coverage,fuzzing", "--mode", "all", "--continue-on-failure",
            "--generation-database", "none", "--generation-with-security-parameters", "false",
            "--report", "json", "--report-json-path", str(report), "--no-color",
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(
            command, capture_output=True, check=False, cwd=folder
        )  # its cache stays out of the tree
        elapsed = time.perf_counter() - started
        counts = json.loads(report.read_text())["test_cases"]
        return int(counts.get("generated", counts.get("total", 0))), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with start(ReferenceConfig(mode="sandbox")) as server:
        st_cases, st_seconds = schemathesis_cli(server.base_url, args.max_examples, args.seed)
        our_cases, our_seconds = ours(server.base_url, args.max_examples, args.seed)
    our_rate, st_rate = our_cases / our_seconds, st_cases / st_seconds
    print(f"budget: --max-examples {args.max_examples}, seed {args.seed}, target {server.base_url}")
    for name, cases, seconds, rate in (
        ("notify-conformance properties", our_cases, our_seconds, our_rate),
        ("schemathesis st run", st_cases, st_seconds, st_rate),
    ):
        print(f"{name:<30} {cases:6d} cases in {seconds:6.2f} s = {rate:8.1f} cases/s")
    print(f"ratio (ours / st run): {our_rate / st_rate:.2f}")


if __name__ == "__main__":
    main()
