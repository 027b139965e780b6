"""Per-area outcome counts for the terminal summary (and, later, the readiness summary of the report)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from conformance.areas import AREAS


@dataclass
class AreaCounts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclass
class SummaryCollector:
    """A pytest plugin object that counts outcomes per area."""

    areas: dict[str, AreaCounts] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @staticmethod
    def _area(markers: list[pytest.Mark]) -> str:
        for mark in markers:
            if mark.name == "area" and mark.args:
                return str(mark.args[0])
        return "other"

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        area = getattr(report, "notify_area", None) or "other"
        counts = self.areas.setdefault(area, AreaCounts())
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                counts.passed += 1
            elif report.skipped:
                counts.skipped += 1
            else:
                counts.failed += 1
                self.failures.append(report.nodeid)
        elif report.when == "teardown" and report.failed:
            counts.failed += 1
            self.failures.append(report.nodeid + " (teardown)")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        report.notify_area = self._area(list(item.iter_markers("area")))  # type: ignore[attr-defined]
        return report

    def ordered(self) -> list[tuple[str, AreaCounts]]:
        known = [(name, self.areas[name]) for name in AREAS if name in self.areas]
        others = sorted((name, counts) for name, counts in self.areas.items() if name not in AREAS)
        return known + others

    def render(self) -> str:
        lines = [f"{'area':<20} {'passed':>7} {'failed':>7} {'skipped':>8}"]
        total = AreaCounts()
        for name, counts in self.ordered():
            lines.append(f"{name:<20} {counts.passed:>7} {counts.failed:>7} {counts.skipped:>8}")
            total.passed += counts.passed
            total.failed += counts.failed
            total.skipped += counts.skipped
        lines.append(f"{'total':<20} {total.passed:>7} {total.failed:>7} {total.skipped:>8}")
        return "\n".join(lines)
