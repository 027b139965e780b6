"""The onboarding-readiness verdict: for each requirement area, did everything that ran pass; and for the
run as a whole, is the API ready. Rendered for the terminal, the report's headline and ``readiness.md``.

An area passes when nothing in it failed and at least one test passed. The run is READY only when every
area of the suite passed; a run that left areas out (``-k``, ``-m``, a profile that skips them) is
INCOMPLETE rather than READY, so a partial run can never be mistaken for readiness.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from conformance.areas import AREAS
from conformance.reporting.summary import AreaCounts, SummaryCollector

Verdict = Literal["PASS", "FAIL", "NOT RUN"]
Overall = Literal["READY", "NOT READY", "INCOMPLETE"]


@dataclass(frozen=True)
class AreaResult:
    name: str
    counts: AreaCounts

    @property
    def verdict(self) -> Verdict:
        if self.counts.failed:
            return "FAIL"
        return "PASS" if self.counts.passed else "NOT RUN"

    def describe(self) -> str:
        c = self.counts
        return f"{self.verdict} ({c.passed} passed, {c.failed} failed, {c.skipped} skipped)"


@dataclass(frozen=True)
class Readiness:
    areas: tuple[AreaResult, ...]

    @classmethod
    def from_counts(cls, counted: Iterable[tuple[str, AreaCounts]]) -> Readiness:
        """Every area of the suite, in reading order, plus any area the run found that the list lacks."""
        seen = dict(counted)
        names = [*AREAS, *(name for name in seen if name not in AREAS)]
        return cls(tuple(AreaResult(name, seen.get(name, AreaCounts())) for name in names))

    @classmethod
    def from_collector(cls, collector: SummaryCollector) -> Readiness:
        return cls.from_counts(collector.ordered())

    @property
    def overall(self) -> Overall:
        verdicts = [area.verdict for area in self.areas]
        if "FAIL" in verdicts:
            return "NOT READY"
        return "READY" if verdicts and all(v == "PASS" for v in verdicts) else "INCOMPLETE"

    def _named(self, verdict: Verdict) -> list[str]:
        return [a.name for a in self.areas if a.verdict == verdict]

    def headline(self) -> str:
        """One short line, first on the report and the terminal: the verdict and why."""
        total = len(self.areas)
        failed, not_run = self._named("FAIL"), self._named("NOT RUN")
        if failed:
            shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
            why = f"{len(failed)} of {total} areas failed: {shown}"
        elif not_run:
            why = f"{total - len(not_run)} of {total} areas passed, {len(not_run)} not run"
        else:
            why = f"all {total} areas passed"
        return f"Onboarding readiness: {self.overall} - {why}"

    def panel_rows(self) -> list[tuple[str, str]]:
        """Rows for the report's first panel: the three lists a reader needs, then each area's counts."""
        rows = [
            ("Areas failed", ", ".join(self._named("FAIL")) or "none"),
            ("Areas passed", ", ".join(self._named("PASS")) or "none"),
            ("Areas not run", ", ".join(self._named("NOT RUN")) or "none"),
        ]
        return rows + [(f"Area: {a.name}", a.describe()) for a in self.areas]

    def table(self) -> str:
        """The per-area table for the terminal (each row starts with the area's name)."""
        width = max([20, *(len(a.name) + 1 for a in self.areas)])
        lines = [f"{'area':<{width}} {'passed':>7} {'failed':>7} {'skipped':>8}  result"]
        total = AreaCounts()
        for area in self.areas:
            c = area.counts
            lines.append(f"{area.name:<{width}} {c.passed:>7} {c.failed:>7} {c.skipped:>8}  {area.verdict}")
            total.passed += c.passed
            total.failed += c.failed
            total.skipped += c.skipped
        lines.append(
            f"{'total':<{width}} {total.passed:>7} {total.failed:>7} {total.skipped:>8}  {self.overall}"
        )
        return "\n".join(lines)

    def markdown(self) -> str:
        """``readiness.md``: the same verdict for people reading the report folder or a CI summary."""
        rows = [
            f"| {a.name} | {a.verdict} | {a.counts.passed} | {a.counts.failed} | {a.counts.skipped} |"
            for a in self.areas
        ]
        return "\n".join(
            [
                f"# {self.headline()}",
                "",
                "| area | result | passed | failed | skipped |",
                "|---|---|---|---|---|",
                *rows,
                "",
            ]
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall,
            "headline": self.headline(),
            "areas": [
                {
                    "area": a.name,
                    "result": a.verdict,
                    "passed": a.counts.passed,
                    "failed": a.counts.failed,
                    "skipped": a.counts.skipped,
                }
                for a in self.areas
            ],
        }
