"""What a run could and could not assess, kept apart from the verdict.

Tests that meet a :class:`~conformance.errors.NotAssessable` answer (a refused client, a target that
stopped answering, a rate limit beyond the retry budget, a spent production budget) are reported as
skipped with a reason that starts with the error's label ("inconclusive: ...", "not assessed: ...",
"not run: ..."), so no report (terminal, JUnit, Allure, readiness) can count them as failures. The first
error that stops the run is kept as :attr:`RunRecord.stop`; the command turns it into its one line and
its exit code.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from types import FrameType

import pytest

from conformance.environments import Environment
from conformance.errors import ConformanceError, Interrupted, NotAssessable

#: skip reasons that mean "could not be assessed", as opposed to "does not apply"
NOT_ASSESSED_PREFIXES = ("inconclusive:", "not assessed:", "not run:")


def is_not_assessed(report: pytest.TestReport) -> bool:
    """True for a test reported skipped because its answer said nothing about the API."""
    return report.skipped and _reason(report).startswith(NOT_ASSESSED_PREFIXES)


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return ""


def area_of(item: pytest.Item) -> str:
    mark = item.get_closest_marker("area")
    return str(mark.args[0]) if mark and mark.args else "other"


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class RunRecord:
    """A pytest plugin: classifies not-assessable outcomes, stops the session when one says so, and
    remembers what was collected so that what never ran can be named."""

    #: why the run stopped early: a probe that found no API (a ConformanceError) or a NotAssessable
    stop: NotAssessable | ConformanceError | None = None
    collected: Counter[str] = field(default_factory=Counter)
    not_assessed: Counter[str] = field(default_factory=Counter)
    reported: set[str] = field(default_factory=set)
    #: False under plain pytest, where the plugin itself reports the stop and sets the exit status
    owned_by_command: bool = True
    #: the environment the session resolved (None if no test needed one) and the seed it drew
    environment: Environment | None = None
    seed: int | None = None
    #: lines about how the run talked to its targets (requests, pacing, throttling), set at the end
    conduct: tuple[tuple[str, str], ...] = ()
    #: True while a test function's body runs: Ctrl-C then aborts what it waits on (a request, a pause);
    #: anywhere else (fixtures, other plugins' hooks, between tests) it only stops the loop
    in_test: bool = False
    #: set in pytest-xdist's controller, which runs no test itself: how to stop the workers' tests
    stop_workers: Callable[[str], None] | None = None
    _session: pytest.Session | None = None

    def stop_run(self, error: NotAssessable) -> None:
        """Stop after the current test (the first reason wins)."""
        if self.stop is None:
            self.stop = error
        reason = f"{error.label}: {error.detail}"
        if self._session is not None:
            self._session.shouldstop = reason
        if self.stop_workers is not None:
            self.stop_workers(reason)

    def on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler of a process that runs tests: Ctrl-C stops the run like any other stop (the
        test under way not assessed, nothing more sent); a second Ctrl-C is the usual KeyboardInterrupt.

        It raises only inside a test's body (:meth:`pytest_pyfunc_call`): raised in another plugin's hook
        (Allure's, say), the error would surface as that plugin's warning instead of this one line."""
        signal.signal(signal.SIGINT, signal.default_int_handler)
        error = Interrupted("interrupted (Ctrl-C)")
        self.stop_run(error)
        if self.in_test:
            raise error

    def probe_failed(self, error: NotAssessable | ConformanceError) -> None:
        """The probe before the first test found no API: nothing ran."""
        self.stop = error

    @property
    def not_run(self) -> int:
        return sum(self.collected.values()) - len(self.reported)

    def not_run_by_area(self, ran: Mapping[str, int]) -> dict[str, int]:
        return {area: n - ran.get(area, 0) for area, n in self.collected.items() if n > ran.get(area, 0)}

    def describe_not_assessed(self) -> str:
        """One line: how many tests could not be assessed, and the commonest reason."""
        total = sum(self.not_assessed.values())
        reason, count = self.not_assessed.most_common(1)[0]
        more = f" (and {total - count} for other reasons)" if total > count else ""
        return f"run inconclusive: {total} test(s) could not be assessed: {count} × {reason}{more}"

    # trylast: the innermost wrapper, so between here and the yield's return only the test function runs
    # (pytest-xdist's controller runs no test, so there this never runs)
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_pyfunc_call(self) -> Generator[None, object, object]:
        if isinstance(self.stop, Interrupted):  # Ctrl-C came during this test's setup: its body is not run
            raise self.stop
        self.in_test = True
        try:
            return (yield)
        finally:
            self.in_test = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._session = session
        if self.stop is not None:  # Ctrl-C during collection
            session.shouldstop = str(self.stop)
        self.collected = Counter(area_of(item) for item in session.items)

    # trylast: the innermost wrapper, so Allure's and JUnit's hooks already see the rewritten report
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, NotAssessable):
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"{error.label}: {error.detail}")
            self.not_assessed[f"{error.label}: {error.detail}"] += 1
            if error.stops_run:
                self.stop_run(error)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # a report, not its making: pytest-xdist's controller hears every worker's reports
        if report.when == "call" or not report.passed:
            self.reported.add(report.nodeid)
