"""``notify-conformance run``: check everything that can be checked before sending, run the suite under
pytest with our plugin, write the reports and a terminal summary, and map the outcome to an exit code.

The exit code keeps three things apart: the API deviates from the contract (1); the user's own setup is
wrong (2, or 4 when the token endpoint refuses the client); the target could not be assessed (3:
unreachable, stopped answering, rate limited beyond the retry budget, out of time). Ctrl-C is 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import plan, settings
from conformance.environments import Options
from conformance.errors import ConformanceError, ExitCode, NotAssessable, UsageError
from conformance.outcome import RunRecord
from conformance.reporting import changes
from conformance.reporting.drift import DriftCollector
from conformance.reporting.metadata import RunFacts, iso, now
from conformance.reporting.onboarding import OnboardingEvidence
from conformance.reporting.publish import SessionFacts, publish
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import SummaryCollector
from conformance.reporting.terminal import FailureDigest
from conformance.run_config import RunConfig, options_from

SUITE_DIR = Path(__file__).resolve().parent / "suite"
PROG = "notify-conformance"

#: what the suite imports from the pytest plugins' distributions (schemathesis, hypothesis, Allure and
#: this package), imported before pytest starts (the local reference servers run in a child process)
_SUITE_IMPORTS = (
    "schemathesis.pytest.plugin",
    "_hypothesis_pytestplugin",
    "allure_pytest.plugin",
    "conformance.plugin",
    "conformance.distributed",
    "conformance.properties.engine",
    "conformance.properties.stateful",
    "conformance.callbacks.area",
    "conformance.reporting.evidence",
)
_LOCAL_IMPORTS = ("conformance.local_env",)


def options_from_args(args: argparse.Namespace) -> tuple[Options, Path]:
    """The run's options and report folder: flags, then NOTIFY_* variables, then the config file."""
    flags = {setting.attribute: getattr(args, setting.attribute, None) for setting in settings.SETTINGS}
    options, reports = options_from(flags, faults=tuple(getattr(args, "fault", ())))
    return options, Path(reports)


def pytest_args(args: argparse.Namespace, reports: Path) -> list[str]:
    """pytest's own arguments for the suite; the run's settings travel in the RunConfig object."""
    argv = [
        str(SUITE_DIR),
        # The plugin by its module name, so that pytest-xdist's workers load it too; blocking its entry
        # point avoids a double registration.
        "-p",
        "no:notify_conformance",
        "-p",
        "conformance.plugin",
        "-c",
        str(SUITE_DIR / "suite.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "--alluredir",
        str(reports / "allure-results"),  # emptied by run() first: workers must not empty each other's
        "--junitxml",
        str(reports / "junit.xml"),
        # failures are shown by the digest (conformance.reporting.terminal), not by pytest's sections
        "-r",
        "N",
    ]
    for flag, value in (("-k", getattr(args, "keyword", None)), ("-m", getattr(args, "markers", None))):
        if value is not None:
            argv += [flag, str(value)]
    if getattr(args, "quiet", False):
        argv.append("-q")
    return argv


def notify_flags(options: Options) -> list[str]:
    """The same settings as ``--notify-*`` options, for a plain pytest process (the plan's rehearsal)."""
    argv = ["--notify-env", options.env]
    for flag, value in (
        ("--notify-base-url", options.base_url),
        ("--notify-token-url", options.token_url),
        ("--notify-max-examples", options.max_examples),
        ("--notify-test-patient", options.test_patient),
        ("--notify-routing-plan", options.routing_plan_id),
        ("--notify-timeout", options.timeout_s),
        ("--notify-max-creates", options.max_creates),
        ("--notify-seed", options.seed),
    ):
        if value is not None:
            argv += [flag, str(value)]
    for fault in options.faults:
        argv += ["--notify-fault", fault]
    if options.strict_contract:
        argv.append("--notify-strict-contract")
    return argv


def unreported_pytest_args(options: Options, args: argparse.Namespace) -> list[str]:
    """The run's pytest arguments and settings as --notify-* options, without report writers: for a
    process that runs the suite but writes no report (the plan's rehearsal, a self-test worker)."""
    argv = pytest_args(args, Path("unused"))
    for flag in ("--alluredir", "--junitxml"):
        at = argv.index(flag)
        del argv[at : at + 2]
    return argv + notify_flags(options)


def worker_args(processes: int) -> list[str]:
    """pytest-xdist's arguments for a run shared by ``processes`` test processes (none for one): a
    worker that dies is not replaced (its test is reported, and xdist's restarts can hang)."""
    if processes <= 1:
        return []
    return ["-n", str(processes), "--dist", "load", "--max-worker-restart", "0"]


def _empty(results: Path) -> None:
    """The Allure results of an earlier run removed (what ``--clean-alluredir`` does, once per run)."""
    try:
        for entry in results.iterdir() if results.is_dir() else ():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as error:
        raise UsageError(f"--reports: cannot empty {results}: {error.strerror or error}") from None


def import_ahead(options: Options) -> None:
    """Import the suite's libraries before pytest does. pytest rewrites the asserts of every module of a
    plugin's distribution that it imports itself, and where bytecode is not written (a fresh install's
    first run, ``PYTHONDONTWRITEBYTECODE``) it does so from source on every run: some 440 modules, most
    of a run's start-up. Modules already imported are left alone; the suite's own test modules are still
    rewritten, so their asserts keep pytest's explanations."""
    for name in _SUITE_IMPORTS + (_LOCAL_IMPORTS if options.env == "local" else ()):
        importlib.import_module(name)


def prepare_reports(reports: Path) -> None:
    """The report folder exists and takes files, or the run stops here, before anything is sent."""
    try:
        reports.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=reports, prefix=".write-check-"):
            pass
    except OSError as error:
        raise UsageError(f"--reports: cannot write to {reports}: {error.strerror or error}") from None


def run(args: argparse.Namespace) -> ExitCode:
    options, reports = options_from_args(args)
    run_config = RunConfig.build(options)  # validated and resolved once; nothing sent yet
    options = run_config.options
    prepare_reports(reports)
    # the run to compare with, read before this run touches the folder (its Allure results, outcomes.json)
    baseline, no_baseline = changes.load_baseline(reports, getattr(args, "baseline", None))
    if getattr(args, "plan", False):
        return plan.print_plan(options, args, unreported_pytest_args(options, args))
    if options.env == "production-smoke":
        budget = plan.check_budget(options, unreported_pytest_args(options, args))
        sys.stdout.write(f"{PROG}: production-smoke plan: {budget.lines(options)[0]}\n")
    record = RunRecord()
    collector = SummaryCollector()
    facts = RunFacts(environment=options.env, test_processes=options.test_processes)
    session_facts = SessionFacts(facts, record)
    digest = FailureDigest(take_over_terminal=True)
    outcome_log = changes.OutcomeLog()
    drift = DriftCollector(strict=options.strict_contract)
    onboarding = OnboardingEvidence()
    plugins: list[object] = [
        run_config,
        record,
        collector,
        session_facts,
        digest,
        outcome_log,
        drift,
        onboarding,
    ]
    import_ahead(options)
    argv = pytest_args(args, reports) + worker_args(options.test_processes)
    _empty(reports / "allure-results")
    with _interrupts_stop_the_run(record), _local_servers(run_config):
        code = pytest.main(argv, plugins=plugins)
    exit_code = _exit_code(int(code), record)
    if exit_code != ExitCode.USAGE:  # a usage error ran nothing worth reporting; its one line says why
        news = _News(baseline, no_baseline, outcome_log, drift, _selection(args, options), onboarding)
        _write_reports(reports, session_facts.facts, collector, record, exit_code, news)
    if record.stop is not None:
        sys.stderr.write(f"{PROG}: {_stop_line(record.stop)}\n")
    return exit_code


@contextlib.contextmanager
def _local_servers(run_config: RunConfig) -> Iterator[None]:
    """``local``: the reference servers started before pytest (in a child process of their own, out of
    the tests' way), once for every test process of the run; servers that cannot start end the run
    here, in one line, before anything is collected."""
    if run_config.environment is not None:  # a remote environment, resolved by RunConfig.build
        yield
        return
    from conformance.local_env import local_environment

    with local_environment(run_config.options) as environment:
        run_config.environment = environment
        yield


@contextlib.contextmanager
def _interrupts_stop_the_run(record: RunRecord) -> Iterator[None]:
    """Ctrl-C stops the run like any other stop (:meth:`RunRecord.on_interrupt`), and the reports are
    still written."""
    previous = signal.signal(signal.SIGINT, record.on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_line(stop: NotAssessable | ConformanceError) -> str:
    if isinstance(stop, ConformanceError):
        return f"error: {stop}"
    return f"{stop.label}: {stop}"


@dataclass(frozen=True)
class _News:
    """What the run tells besides its verdict: the run it is compared with, its outcomes, its drift."""

    baseline: changes.Baseline | None
    no_baseline: str | None
    outcomes: changes.OutcomeLog
    drift: DriftCollector
    selection: dict[str, object]
    onboarding: OnboardingEvidence | None = None


def _selection(args: argparse.Namespace, options: Options) -> dict[str, object]:
    return {
        "keyword": getattr(args, "keyword", None),
        "markers": getattr(args, "markers", None),
        "faults": sorted(options.faults),
        "strict_contract": options.strict_contract or None,
    }


def _write_reports(
    reports: Path,
    facts: RunFacts,
    collector: SummaryCollector,
    record: RunRecord,
    exit_code: ExitCode,
    news: _News,
) -> None:
    """The readiness summary on the terminal (the headline, then what changed since the last run), then
    the report folder (metadata, outcomes and changes, drift, HTML, manifest)."""
    readiness = Readiness.from_run(collector, record)
    facts.exit_code = int(exit_code)
    facts.conduct = record.conduct
    outcomes = news.outcomes.snapshot(
        started_at=iso(facts.started_at),
        finished_at=iso(facts.finished_at or now()),
        environment=facts.environment,
        headline=readiness.headline(),
        drift=news.drift.keys(),
        exercised=news.drift.exercised,
        selection=news.selection,
        stopped=record.stop is not None,
    )
    found = changes.compare(news.baseline, outcomes) if news.baseline is not None else None
    readiness = readiness.with_news(found, news.drift)
    sys.stdout.write(f"\n{readiness.terminal_summary()}\n")
    if news.no_baseline:
        sys.stdout.write(f"({news.no_baseline})\n")
    sys.stdout.flush()
    out, err = sys.stdout, sys.stderr
    publish(
        reports,
        facts,
        readiness,
        out=out,
        err=err,
        outcomes=outcomes,
        no_baseline=news.no_baseline,
        onboarding=news.onboarding,
    )


def _exit_code(code: int, record: RunRecord) -> ExitCode:
    """A stop says more than pytest's code; then failures; then tests that could not be assessed."""
    if record.stop is not None:
        return record.stop.exit_code
    if code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if code == pytest.ExitCode.TESTS_FAILED:
        return ExitCode.FAILURES
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        sys.stderr.write(f"{PROG}: error: no test matched the selection\n")
        return ExitCode.USAGE
    if code == pytest.ExitCode.USAGE_ERROR:
        return ExitCode.USAGE
    if code == pytest.ExitCode.OK:
        if record.not_assessed:
            sys.stderr.write(f"{PROG}: {record.describe_not_assessed()}\n")
            return ExitCode.UNREACHABLE
        return ExitCode.OK
    sys.stderr.write(f"{PROG}: error: the suite itself failed (pytest exit {code}); see the output above\n")
    return ExitCode.FAILURES
