"""The readiness verdict: a partial or failing run is never reported as READY."""

from __future__ import annotations

from conformance.areas import AREAS
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import AreaCounts


def _all_passing() -> list[tuple[str, AreaCounts]]:
    return [(name, AreaCounts(passed=3)) for name in AREAS]


def test_every_area_passing_is_ready() -> None:
    readiness = Readiness.from_counts(_all_passing())
    assert readiness.overall == "READY"
    assert readiness.headline() == f"Onboarding readiness: READY - all {len(AREAS)} areas passed"


def test_one_failure_makes_the_run_not_ready_and_names_the_area() -> None:
    counted = dict(_all_passing())
    counted["negotiation"] = AreaCounts(passed=70, failed=4)
    readiness = Readiness.from_counts(counted.items())
    assert readiness.overall == "NOT READY"
    assert "1 of" in readiness.headline() and "negotiation" in readiness.headline()
    assert dict(readiness.panel_rows())["Areas failed"] == "negotiation"
    assert dict(readiness.panel_rows())["Area: negotiation"] == "FAIL (70 passed, 4 failed, 0 skipped)"


def test_a_partial_run_is_incomplete_and_lists_every_area() -> None:
    readiness = Readiness.from_counts(
        [("auth", AreaCounts(passed=2)), ("negotiation", AreaCounts(skipped=5))]
    )
    assert readiness.overall == "INCOMPLETE"
    assert [a.name for a in readiness.areas] == list(AREAS)
    assert "negotiation" in dict(readiness.panel_rows())["Areas not run"]


def test_an_area_outside_the_list_is_kept() -> None:
    readiness = Readiness.from_counts([*_all_passing(), ("other", AreaCounts(failed=1))])
    assert readiness.areas[-1].name == "other" and readiness.overall == "NOT READY"


def test_the_terminal_table_starts_each_row_with_the_area_name() -> None:
    lines = Readiness.from_counts(_all_passing()).table().splitlines()
    assert [line.split("  ")[0].strip() for line in lines[1:-1]] == list(AREAS)
    assert lines[-1].startswith("total") and lines[-1].endswith("READY")


def test_markdown_has_a_headline_and_a_row_per_area() -> None:
    markdown = Readiness.from_counts(_all_passing()).markdown()
    assert markdown.startswith("# Onboarding readiness: READY")
    assert markdown.count("| PASS |") == len(AREAS)
