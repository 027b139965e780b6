"""The onboarding-readiness verdict: for each requirement area, did everything that ran pass; and for the
run as a whole, is the API ready. Rendered for the terminal, the report's headline and ``readiness.md``.

An area passes when nothing in it failed, nothing in it went unassessed, and at least one test passed.
The run is READY only when every area of the suite passed; a run that left areas out (``-k``, ``-m``, a
profile that skips them) or could not assess some tests is INCOMPLETE, and a run that stopped early (the
token endpoint refused the client, the target stopped answering, time ran out, Ctrl-C) is NOT ASSESSED:
none of these can be mistaken for a verdict about the API.

One exception: an optional area (:data:`conformance.areas.OPTIONAL`, the callbacks a supplier may not
receive) whose every test was skipped because the run had nothing to test it against (a remote run
without ``--callback-receiver-url``) is NOT RUN and *waived*: it neither fails the run nor keeps it from
READY, and the headline says it was not run. Left out with ``-k``/``-m`` it counts like any other area.

Two kinds of news travel with the verdict without changing it: what changed since the last run
(:mod:`conformance.reporting.changes`) and the contract drift the run saw
(:mod:`conformance.reporting.drift`). The changes line comes right after the headline everywhere: on the
terminal, at the top of ``readiness.md``, in the HTML report's name and the first rows of its first panel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from conformance.areas import AREAS, OPTIONAL
from conformance.errors import ConformanceError, NotAssessable
from conformance.outcome import RunRecord
from conformance.reporting.summary import AreaCounts, SummaryCollector

if TYPE_CHECKING:
    from conformance.reporting.changes import Changes
    from conformance.reporting.drift import DriftCollector

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE", "INCOMPLETE", "NOT RUN"]
Overall = Literal["READY", "NOT READY", "INCOMPLETE", "NOT ASSESSED"]


@dataclass(frozen=True)
class AreaResult:
    name: str
    counts: AreaCounts

    @property
    def verdict(self) -> Verdict:
        if self.counts.failed:
            return "FAIL"
        if self.counts.not_assessed:
            return "INCONCLUSIVE"
        if not self.counts.passed:
            return "NOT RUN"
        return "INCOMPLETE" if self.counts.not_run else "PASS"

    @property
    def waived(self) -> bool:
        """An optional area the run had nothing to test against: selected, every test skipped."""
        counts = self.counts
        return (
            self.name in OPTIONAL and self.verdict == "NOT RUN" and counts.skipped > 0 and not counts.not_run
        )

    def describe(self) -> str:
        c = self.counts
        text = f"{self.verdict} ({c.passed} passed, {c.failed} failed, {c.skipped} skipped"
        if c.not_assessed:
            text += f", {c.not_assessed} not assessed"
        if c.not_run:
            text += f", {c.not_run} not run"
        return text + ")"


@dataclass(frozen=True)
class Readiness:
    areas: tuple[AreaResult, ...]
    #: why the run stopped before its end, if it did (then nothing here is a verdict)
    stopped: NotAssessable | ConformanceError | None = None
    #: how the run differs from the last one (None: no earlier run to compare with)
    changes: Changes | None = None
    #: what the answers carried that the contract does not document (None: not collected)
    drift: DriftCollector | None = None

    @classmethod
    def from_counts(
        cls,
        counted: Iterable[tuple[str, AreaCounts]],
        stopped: NotAssessable | ConformanceError | None = None,
    ) -> Readiness:
        """Every area of the suite, in reading order, plus any area the run found that the list lacks."""
        seen = dict(counted)
        names = [*AREAS, *(name for name in seen if name not in AREAS)]
        return cls(tuple(AreaResult(name, seen.get(name, AreaCounts())) for name in names), stopped)

    @classmethod
    def from_collector(cls, collector: SummaryCollector) -> Readiness:
        return cls.from_counts(collector.ordered())

    @classmethod
    def from_run(cls, collector: SummaryCollector, record: RunRecord) -> Readiness:
        """The counts, the tests the run never reached, and why it stopped."""
        collector.add_not_run(record.not_run_by_area(collector.ran()))
        return cls.from_counts(collector.ordered(), record.stop)

    def with_news(self, changes: Changes | None, drift: DriftCollector | None) -> Readiness:
        """The same verdict, with the changes since the last run and the run's drift to tell."""
        return replace(self, changes=changes, drift=drift)

    @property
    def overall(self) -> Overall:
        if self.stopped is not None:
            return "NOT ASSESSED"
        verdicts = [area.verdict for area in self.areas if not area.waived]
        if "FAIL" in verdicts:
            return "NOT READY"
        return "READY" if verdicts and all(v == "PASS" for v in verdicts) else "INCOMPLETE"

    def _named(self, verdict: Verdict) -> list[str]:
        return [a.name for a in self.areas if a.verdict == verdict]

    def _waived(self) -> list[str]:
        return [a.name for a in self.areas if a.waived]

    @property
    def stop_reason(self) -> str:
        """Why nothing here is a verdict: "not assessed: the token endpoint refused ...", or ''."""
        stop = self.stopped
        if stop is None:
            return ""
        if isinstance(stop, ConformanceError):
            return f"not assessed: {stop}"
        return f"{stop.label}: {stop.detail}"

    def headline(self) -> str:
        """One short line, first on the report and the terminal: the verdict and why."""
        total = len(self.areas)
        waived = self._waived()
        failed = self._named("FAIL")
        not_run = [name for name in self._named("NOT RUN") if name not in waived]
        inconclusive = self._named("INCONCLUSIVE")
        if self.stopped is not None:
            why = self.stop_reason.split(": ", 1)[-1]
            if failed:
                why += f" (before it stopped, {len(failed)} area(s) failed: {', '.join(failed)})"
        elif failed:
            shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
            why = f"{len(failed)} of {total} areas failed: {shown}"
        elif inconclusive:
            why = f"{len(inconclusive)} of {total} areas inconclusive: {', '.join(inconclusive)}"
        elif not_run:
            why = f"{total - len(not_run) - len(waived)} of {total} areas passed, {len(not_run)} not run"
        elif waived:
            why = f"all {total - len(waived)} areas that apply passed"
        else:
            why = f"all {total} areas passed"
        if waived and self.stopped is None and not failed:
            why += f"; {', '.join(waived)} not run (optional, nothing to test it against)"
        return f"Onboarding readiness: {self.overall} - {why}"

    def report_name(self) -> str:
        """The HTML report's name, on its first page: the headline, then what changed since the last run."""
        if self.changes is None:
            return self.headline()
        return f"{self.headline()}. {self.changes.summary()}"

    def drift_line(self) -> str:
        """``3 undocumented things in the answers (not failures; ...)``, or '' when there is none."""
        if self.drift is None or not self.drift.entries:
            return ""
        return self.drift.describe()

    def terminal_summary(self) -> str:
        """What the command prints after the tests: the headline, what changed, the table, the drift."""
        lines = [self.headline()]
        if self.changes is not None:
            lines += self.changes.terminal_lines()
        lines += ["Conformance by area", self.table()]
        if self.drift is not None:
            lines += self.drift.terminal_lines()
        return "\n".join(lines)

    def panel_rows(self) -> list[tuple[str, str]]:
        """Rows for the report's first panel: what changed, the lists a reader needs, the drift, then each
        area's counts."""
        rows = self.changes.panel_rows() if self.changes is not None else []
        rows += [("Run stopped", self.stop_reason)] if self.stopped is not None else []
        rows += [
            ("Areas failed", ", ".join(self._named("FAIL")) or "none"),
            ("Areas inconclusive", ", ".join(self._named("INCONCLUSIVE")) or "none"),
            ("Areas passed", ", ".join(self._named("PASS")) or "none"),
            ("Areas not run", ", ".join(self._named("NOT RUN")) or "none"),
        ]
        rows += [(f"Optional area not run: {name}", OPTIONAL[name]) for name in self._waived()]
        if self.drift_line():
            rows.append(("Contract drift", self.drift_line()))
        return rows + [(f"Area: {a.name}", a.describe()) for a in self.areas]

    def _total(self) -> AreaCounts:
        total = AreaCounts()
        for area in self.areas:
            for name in ("passed", "failed", "skipped", "not_assessed", "not_run"):
                setattr(total, name, getattr(total, name) + getattr(area.counts, name))
        return total

    def table(self) -> str:
        """The per-area table for the terminal (each row starts with the area's name)."""
        width = max([20, *(len(a.name) + 1 for a in self.areas)])
        header = (
            f"{'area':<{width}} {'passed':>7} {'failed':>7} {'skipped':>8} {'unassessed':>10} {'not run':>8}"
        )
        lines = [header + "  result"]

        def row(name: str, c: AreaCounts, result: str) -> str:
            return (
                f"{name:<{width}} {c.passed:>7} {c.failed:>7} {c.skipped:>8} {c.not_assessed:>10} "
                f"{c.not_run:>8}  {result}"
            )

        lines += [row(area.name, area.counts, area.verdict) for area in self.areas]
        lines.append(row("total", self._total(), self.overall))
        lines += [f"({name} not run: {OPTIONAL[name]})" for name in self._waived()]
        if self._total().not_assessed:
            lines.append(
                "(unassessed: the answer said nothing about the API, e.g. rate limited; not a failure)"
            )
        return "\n".join(lines)

    def markdown(self) -> str:
        """``readiness.md``: the same verdict for people reading the report folder or a CI summary."""
        rows = [
            f"| {a.name} | {a.verdict} | {a.counts.passed} | {a.counts.failed} | {a.counts.skipped} "
            f"| {a.counts.not_assessed} | {a.counts.not_run} |"
            for a in self.areas
        ]
        stopped = [f"**Run stopped early - {self.stop_reason}.** Nothing below is a verdict.", ""]
        changes = [f"**{self.changes.summary()}**", ""] if self.changes is not None else []
        drift = [f"Contract drift: {self.drift_line()} (see below).", ""] if self.drift_line() else []
        sections = [
            part
            for part in (
                self.changes.markdown() if self.changes is not None else "",
                self.drift.markdown() if self.drift is not None else "",
            )
            if part
        ]
        return "\n".join(
            [
                f"# {self.headline()}",
                "",
                *changes,
                *drift,
                *(stopped if self.stopped is not None else []),
                "| area | result | passed | failed | skipped | not assessed | not run |",
                "|---|---|---|---|---|---|---|",
                *rows,
                "",
                *(f"{name} not run: {OPTIONAL[name]}." for name in self._waived()),
                *([""] if self._waived() else []),
                *sections,
            ]
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall,
            "headline": self.headline(),
            "stopped": self.stop_reason or None,
            "changes": self.changes.summary() if self.changes is not None else None,
            "drift": len(self.drift.entries) if self.drift is not None else None,
            "areas": [
                {
                    "area": a.name,
                    "result": a.verdict,
                    "passed": a.counts.passed,
                    "failed": a.counts.failed,
                    "skipped": a.counts.skipped,
                    "not_assessed": a.counts.not_assessed,
                    "not_run": a.counts.not_run,
                }
                for a in self.areas
            ],
        }
