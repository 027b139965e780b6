"""Per-area outcome counts, from which the readiness verdict (terminal and report) is built."""

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
        mark = item.get_closest_marker("area")
        report.notify_area = str(mark.args[0]) if mark and mark.args else "other"  # type: ignore[attr-defined]
        return report

    def ordered(self) -> list[tuple[str, AreaCounts]]:
        known = [(name, self.areas[name]) for name in AREAS if name in self.areas]
        others = sorted((name, counts) for name, counts in self.areas.items() if name not in AREAS)
        return known + others
