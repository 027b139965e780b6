"""Per-area outcome counts, from which the readiness verdict (terminal and report) is built."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pytest

from conformance.areas import AREAS
from conformance.outcome import area_of, is_not_assessed


@dataclass
class AreaCounts:
    passed: int = 0
    failed: int = 0
    #: does not apply to this target or environment
    skipped: int = 0
    #: ran, but its answer said nothing about the API (rate limited, not answered, budget spent, stopped)
    not_assessed: int = 0
    #: selected, but the run stopped before reaching it
    not_run: int = 0


@dataclass
class SummaryCollector:
    """A pytest plugin object that counts outcomes per area."""

    areas: dict[str, AreaCounts] = field(default_factory=dict)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        area = getattr(report, "notify_area", None) or "other"
        counts = self.areas.setdefault(area, AreaCounts())
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                counts.passed += 1
            elif is_not_assessed(report):
                counts.not_assessed += 1
            elif report.skipped:
                counts.skipped += 1
            else:
                counts.failed += 1
        elif report.when == "teardown" and report.failed:
            counts.failed += 1

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        report.notify_area = area_of(item)  # type: ignore[attr-defined]
        return report

    def ran(self) -> dict[str, int]:
        """Tests reported per area (passed, failed, skipped or not assessed)."""
        return {name: c.passed + c.failed + c.skipped + c.not_assessed for name, c in self.areas.items()}

    def add_not_run(self, not_run: dict[str, int]) -> None:
        for name, count in not_run.items():
            self.areas.setdefault(name, AreaCounts()).not_run += count

    def ordered(self) -> list[tuple[str, AreaCounts]]:
        known = [(name, self.areas[name]) for name in AREAS if name in self.areas]
        others = sorted((name, counts) for name, counts in self.areas.items() if name not in AREAS)
        return known + others
