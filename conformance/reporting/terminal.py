"""The failure digest on the terminal: for each failed test, the rules it broke and the exchange that
broke them, grouped by requirement area and capped, instead of pytest's traceback of the suite's own code.

A run where everything fails stays readable: each area shows its first :data:`FAILURES_PER_AREA`
failures, then how many more there are and where to read them (the JUnit XML and the HTML report keep
every one). Tests that could not be assessed (pytest skips whose reason starts with "inconclusive:",
"not assessed:" or "not run:", see :mod:`conformance.outcome`) are listed apart, one line per distinct
reason with a count, never among the failures.

:class:`FailureDigest` is both a pytest plugin object and a :class:`~conformance.transport.Recorder`
listener (it remembers the last exchange of each test); :func:`install` connects the listener to the
session's recorder. Everything it prints passes :mod:`conformance.redaction` first.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance import redaction
from conformance.areas import AREAS
from conformance.checks import ConformanceViolation
from conformance.exchange import Exchange
from conformance.outcome import area_of, is_not_assessed
from conformance.reporting import locations
from conformance.transport import Recorder

# -- the limits, in one place ------------------------------------------------------------------------------
#: Failures shown per area; the rest are counted and left to the reports.
FAILURES_PER_AREA = 3
#: Lines of a failure message shown (the last one says how many more there were, if any).
MESSAGE_LINES = 5
#: Characters of any one line printed (longer lines end in an ellipsis).
LINE_CHARS = 200
#: Distinct not-assessed reasons listed; the rest are counted in one line.
NOT_ASSESSED_REASONS = 10
#: The area of a test that has no ``area`` marker (as :func:`conformance.outcome.area_of` names it).
NO_AREA = "other"

ELLIPSIS = "\u2026"
_SKIPPED_PREFIX = "Skipped: "
_SITE_PACKAGES = re.compile(r"[^\s'\"()\[\]]*[\\/]site-packages[\\/]")


@dataclass(frozen=True)
class Failure:
    """One failed test phase as the digest shows it."""

    location: str
    when: str
    lines: tuple[str, ...]
    exchange: str | None = None
    nodeid: str = ""

    def render(self) -> list[str]:
        phase = "" if self.when in ("call", "collect") else f" (error in {self.when})"
        shown = [f"  {self.location}{phase}"]
        shown += [f"      {line}" for line in self.lines]
        if self.exchange is not None:
            shown.append(f"      last exchange: {self.exchange}")
        return [cut(line) for line in shown]


#: the report attribute that carries what makereport learnt about a failure (its lines and last exchange)
#: to wherever the report is logged: this process, or pytest-xdist's controller
FAILURE_ATTRIBUTE = "notify_failure"


@dataclass(eq=False)
class FailureDigest:
    """A pytest plugin and Recorder listener that prints the per-area failure digest.

    Args:
        per_area: failures shown per area.
        see: where the rest can be read (default: the ``--junitxml`` file and the HTML report).
        take_over_terminal: also make pytest's own output fit the digest: progress lines name test files
            relative to the suite folder (the rootdir), the header names that folder as
            ``conformance/suite`` (:mod:`conformance.reporting.locations`), and pytest's FAILURES/ERRORS
            sections and its ``FAILED``/``ERROR`` short-summary lines are switched off once the run is
            over, so the reports (built from the same test reports) keep their full tracebacks.
    """

    per_area: int = FAILURES_PER_AREA
    see: str | None = None
    take_over_terminal: bool = False
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    not_assessed: collections.Counter[str] = field(default_factory=collections.Counter)
    collection_errors: list[Failure] = field(default_factory=list)
    #: the collected tests' node ids in order, so failures read in that order however the run was
    #: shared out (pytest-xdist's controller learns them from its workers)
    collected: list[str] = field(default_factory=list)
    _last: Exchange | None = field(default=None, repr=False)
    _root: Path | None = field(default=None, repr=False)

    # -- the Recorder listener ---------------------------------------------------------------------------
    def __call__(self, exchange: Exchange) -> None:
        # the suite sends from the main thread; anything else (a server, a helper thread) is not the test's
        if threading.current_thread() is threading.main_thread():
            self._last = exchange

    # -- pytest hooks --------------------------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        self._root = config.rootpath
        if self.see is None:
            xml = getattr(config.option, "xmlpath", None)
            self.see = f"{xml} and the HTML report" if xml else "the JUnit XML and the HTML report"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if self.take_over_terminal and reporter is not None and hasattr(reporter, "startpath"):
            reporter.startpath = session.config.rootpath

    @pytest.hookimpl(wrapper=True)
    def pytest_report_header(self, config: pytest.Config) -> Generator[None, list[Any], list[Any]]:
        """pytest's ``rootdir:`` line names the suite folder as the reports do (``conformance/suite``),
        not by where it is installed."""
        found = yield
        if not self.take_over_terminal:
            return found
        rootdir = f"rootdir: {config.rootpath}"
        shown = f"rootdir: {locations.shown(config.rootpath)}"
        return [
            [shown if line == rootdir else line for line in lines] if isinstance(lines, list) else lines
            for lines in found
        ]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = [item.nodeid for item in session.items]

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self._last = None

    # outermost, so the report is final (areas attached, secrets removed) when this sees it
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed:
            lines = failure_lines(call.excinfo.value) if call.excinfo is not None else ()
            exchange = None if self._last is None else exchange_line(self._last)
            # plain data on the report, so that it travels with it to a pytest-xdist controller
            made = {"area": _area(report, item), "lines": list(lines), "exchange": exchange}
            setattr(report, FAILURE_ATTRIBUTE, made)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            if is_not_assessed(report):
                self.not_assessed[skip_reason(report)] += 1
            return
        if not report.failed:
            return
        made: dict[str, Any] = getattr(report, FAILURE_ATTRIBUTE, None) or {}  # none: another plugin's
        lines = made.get("lines") or _longrepr_lines(report)
        area = getattr(report, "notify_area", None) or made.get("area") or NO_AREA
        location, shown = self._relative(report.nodeid), self._condensed(lines)
        failure = Failure(location, report.when, shown, made.get("exchange"), report.nodeid)
        self.failures.setdefault(area, []).append(failure)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A suite module that cannot be collected is the suite's problem, not the API's: listed first."""
        if report.failed:
            lines = self._condensed(_longrepr_lines(report))
            self.collection_errors.append(Failure(self._relative(report.nodeid), "collect", lines))

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(
        self, terminalreporter: Any, exitstatus: int, config: pytest.Config
    ) -> Generator[None, None, None]:
        if self.take_over_terminal:
            # every report exists by now, so this changes only what pytest prints, not what it recorded
            config.option.tbstyle = "no"
            chars = getattr(terminalreporter, "reportchars", None)
            if isinstance(chars, str):
                terminalreporter.reportchars = chars.replace("f", "").replace("E", "")
        for title, lines, colour in self.sections():
            terminalreporter.write_sep("=", title, **{colour: True})
            for line in lines:
                terminalreporter.write_line(line)
        return (yield)

    # -- rendering -----------------------------------------------------------------------------------------
    def sections(self) -> list[tuple[str, list[str], str]]:
        """The digest as (title, lines, colour) sections; empty when nothing failed or went unassessed."""
        found: list[tuple[str, list[str], str]] = []
        if self.collection_errors:
            lines = [line for error in self.collection_errors[: self.per_area] for line in error.render()]
            more = len(self.collection_errors) - self.per_area
            if more > 0:
                lines.append(f"  ... and {more} more (see {self.see})")
            found.append((f"errors collecting the suite: {len(self.collection_errors)}", lines, "red"))
        total = sum(len(failures) for failures in self.failures.values())
        if total:
            found.append((f"failures by area: {total} failed", self.failure_lines(), "red"))
        if self.not_assessed:
            title = f"not assessed (not failures): {_tests(sum(self.not_assessed.values()))}"
            found.append((title, self.not_assessed_lines(), "yellow"))
        return found

    def failure_lines(self) -> list[str]:
        lines: list[str] = []
        for area, failures in self.ordered():
            lines.append(f"{area}: {len(failures)} failed")
            for failure in failures[: self.per_area]:
                lines += failure.render()
            more = len(failures) - self.per_area
            if more > 0:
                noun = "failure" if more == 1 else "failures"
                lines.append(f"  ... and {more} more {noun} in this area (see {self.see})")
        return lines

    def not_assessed_lines(self) -> list[str]:
        ranked = self.not_assessed.most_common()
        lines = [cut(f"  {reason} ({_tests(count)})") for reason, count in ranked[:NOT_ASSESSED_REASONS]]
        rest = ranked[NOT_ASSESSED_REASONS:]
        if rest:
            lines.append(
                f"  ... and {_tests(sum(n for _, n in rest))} for {len(rest)} other reasons (see {self.see})"
            )
        return lines

    def ordered(self) -> list[tuple[str, list[Failure]]]:
        """Areas in the order a supplier reads them, then any others by name, ``other`` last; in each,
        the failures in collection order (a failure of a test not collected here comes last)."""
        position = {nodeid: index for index, nodeid in enumerate(self.collected)}
        by_area = {
            name: sorted(failures, key=lambda f: position.get(f.nodeid, len(position)))
            for name, failures in self.failures.items()
        }
        known = [(name, by_area[name]) for name in AREAS if name in by_area]
        rest = sorted(
            ((name, failures) for name, failures in by_area.items() if name not in AREAS),
            key=lambda pair: (pair[0] == NO_AREA, pair[0]),
        )
        return known + rest

    def _condensed(self, lines: Iterable[str]) -> tuple[str, ...]:
        return tuple(cut(self._relative(line)) for line in _capped(lines))

    def _relative(self, text: str) -> str:
        """``text`` with the suite folder's own path left out and nothing shown through site-packages."""
        if self._root is not None:
            text = text.replace(str(self._root) + os.sep, "")
        return _SITE_PACKAGES.sub("", text)


def install(config: pytest.Config, recorder: Recorder) -> None:
    """Let every :class:`FailureDigest` registered in this session hear the session's exchanges."""
    # list_name_plugin, not get_plugins: that builds a set, which fails on any unhashable plugin object
    for _, candidate in config.pluginmanager.list_name_plugin():
        if isinstance(candidate, FailureDigest) and all(x is not candidate for x in recorder.listeners):
            recorder.listeners.append(candidate)


# -- condensing ---------------------------------------------------------------------------------------
def failure_lines(error: BaseException) -> list[str]:
    """The broken rules, or the failure message, one item per line (redacted, blank lines dropped)."""
    if isinstance(error, ConformanceViolation):
        text = "\n".join(str(violation) for violation in error.violations)
    elif isinstance(error, BaseExceptionGroup):
        return [line for inner in error.exceptions for line in failure_lines(inner)]
    elif isinstance(error, pytest.fail.Exception | pytest.skip.Exception):
        text = error.msg or type(error).__name__
    elif isinstance(error, AssertionError):
        text = str(error) or "assertion failed"
    else:
        text = f"{type(error).__name__}: {error}"
    return _lines(redaction.redact(text))


def exchange_line(exchange: Exchange) -> str:
    """``POST /comms/v1/messages -> 400 application/vnd.api+json (X-Correlation-Id: ...)``, redacted."""
    parts = urlsplit(exchange.url)
    line = f"{exchange.method} {parts.path or '/'}{'?' + parts.query if parts.query else ''}"
    line += f" -> {exchange.status}"
    content_type = exchange.response_headers.get("content-type")
    if content_type:
        line += f" {content_type}"
    got = exchange.response_headers.get("x-correlation-id")
    sent = exchange.request_headers.get("x-correlation-id")
    if sent is not None and got != sent:
        line += f" (X-Correlation-Id: {'none' if got is None else got}, sent {sent})"
    elif got is not None:
        line += f" (X-Correlation-Id: {got})"
    return cut(redaction.redact(line))


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a skipped test gave, without pytest's ``Skipped:`` prefix."""
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr or "")
    return reason.removeprefix(_SKIPPED_PREFIX).strip()


def cut(line: str, limit: int = LINE_CHARS) -> str:
    """``line`` shortened to ``limit`` characters, the last one an ellipsis when anything was cut."""
    return line if len(line) <= limit else line[: limit - 1] + ELLIPSIS


def _capped(lines: Iterable[str], limit: int = MESSAGE_LINES) -> list[str]:
    found = list(lines)
    if len(found) <= limit:
        return found
    more = len(found) - (limit - 1)
    return [*found[: limit - 1], f"{ELLIPSIS} {more} more lines in the reports"]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _longrepr_lines(report: pytest.TestReport | pytest.CollectReport) -> list[str]:
    """The message of a failure known only by its report (an xpass, a collection error, a report from
    elsewhere): the exception pytest names, else the lines it marks ``E``, else the last few."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str) and message:
        return _lines(redaction.redact(message))
    text = redaction.redact(report.longreprtext)
    marked = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return [line for line in marked if line] or _lines(text)[-MESSAGE_LINES:]


def _area(report: pytest.TestReport, item: pytest.Item | None) -> str:
    """The area SummaryCollector attached, else the test's own (the same reading, without it)."""
    attached = getattr(report, "notify_area", None)
    if attached:
        return str(attached)
    return area_of(item) if item is not None else NO_AREA


def _tests(count: int) -> str:
    return f"{count} test{'s' if count != 1 else ''}"
