"""``notify-conformance run``: validate the options, check the target answers, run the suite under
pytest with our plugin, write the reports and a terminal summary, and map the outcome to an exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from conformance import environments, plugin
from conformance.environments import Options
from conformance.errors import ExitCode, UsageError
from conformance.plugin import probe_reachable
from conformance.reporting.metadata import RunFacts
from conformance.reporting.publish import SessionFacts, publish
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import SummaryCollector

SUITE_DIR = Path(__file__).resolve().parent / "suite"


def options_from_args(args: argparse.Namespace) -> Options:
    return Options(
        env=args.env,
        base_url=args.base_url,
        token_url=args.token_url,
        max_examples=args.max_examples,
        test_patient=args.test_patient,
        routing_plan_id=args.routing_plan,
        faults=tuple(getattr(args, "fault", ())),
    )


def pytest_args(options: Options, args: argparse.Namespace, reports: Path) -> list[str]:
    argv = [
        str(SUITE_DIR),
        # The plugin is passed as an object below; blocking its entry point avoids a double registration.
        "-p",
        "no:notify_conformance",
        "-c",
        str(SUITE_DIR / "suite.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "--notify-env",
        options.env,
        "--alluredir",
        str(reports / "allure-results"),
        "--clean-alluredir",
        "--junitxml",
        str(reports / "junit.xml"),
        "-r",
        "fE",
    ]
    for flag, value in (
        ("--notify-base-url", options.base_url),
        ("--notify-token-url", options.token_url),
        ("--notify-max-examples", options.max_examples),
        ("--notify-test-patient", options.test_patient),
        ("--notify-routing-plan", options.routing_plan_id),
        ("--notify-seed", getattr(args, "seed", None)),
        ("-k", args.keyword),
        ("-m", args.markers),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for fault in options.faults:
        argv += ["--notify-fault", fault]
    if args.quiet:
        argv.append("-q")
    return argv


def run(args: argparse.Namespace) -> ExitCode:
    options = environments.validate(options_from_args(args))
    if options.env != "local":
        environment = environments.resolve_remote(options)
        for target in environment.targets:
            probe_reachable(target.base_url)
    reports: Path = args.reports
    try:
        reports.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--reports: cannot create {reports}: {error.strerror}") from None
    collector = SummaryCollector()
    session_facts = SessionFacts(RunFacts(environment=options.env))
    code = pytest.main(pytest_args(options, args, reports), plugins=[plugin, collector, session_facts])
    exit_code = _exit_code(int(code))
    if exit_code != ExitCode.USAGE:  # a usage error ran nothing worth reporting; its one line says why
        _write_reports(reports, session_facts.facts, collector, exit_code)
    return exit_code


def _write_reports(reports: Path, facts: RunFacts, collector: SummaryCollector, exit_code: ExitCode) -> None:
    """The readiness summary on the terminal, then the report folder (metadata, HTML, manifest)."""
    readiness = Readiness.from_collector(collector)
    sys.stdout.write(f"\n{readiness.headline()}\nConformance by area\n{readiness.table()}\n")
    sys.stdout.flush()
    facts.exit_code = int(exit_code)
    publish(reports, facts, readiness, out=sys.stdout, err=sys.stderr)


def _exit_code(code: int) -> ExitCode:
    if code == pytest.ExitCode.OK:
        return ExitCode.OK
    if code == pytest.ExitCode.TESTS_FAILED:
        return ExitCode.FAILURES
    if code == int(ExitCode.UNREACHABLE):
        return ExitCode.UNREACHABLE
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        sys.stderr.write("notify-conformance: error: no test matched the selection\n")
        return ExitCode.USAGE
    if code == pytest.ExitCode.USAGE_ERROR:
        return ExitCode.USAGE
    return ExitCode.FAILURES
