"""The callbacks area in the readiness verdict and the fault banks: an optional area with nothing to test
it against is waived (NOT RUN, the run can still be READY), but left out, failing or unassessed it counts
like any other area; and the receiver's faults and the API's never share a name (``run --fault`` takes
both, and the local environment hands each to its own server)."""

from __future__ import annotations

from conformance.areas import AREAS, OPTIONAL
from conformance.reference.faults import FAULTS as API_FAULTS
from conformance.reference.receiver_faults import FAULTS as RECEIVER_FAULTS
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import AreaCounts
from conformance.selftest.bank import every_fault


def _counts(callbacks: AreaCounts) -> list[tuple[str, AreaCounts]]:
    return [(name, callbacks if name == "callbacks" else AreaCounts(passed=3)) for name in AREAS]


def test_callbacks_is_an_optional_area() -> None:
    assert "callbacks" in AREAS and "--callback-receiver-url" in OPTIONAL["callbacks"]


def test_no_receiver_to_test_waives_the_area_and_the_run_is_still_ready() -> None:
    readiness = Readiness.from_counts(_counts(AreaCounts(skipped=22)))
    callbacks = next(area for area in readiness.areas if area.name == "callbacks")
    assert callbacks.verdict == "NOT RUN" and callbacks.waived
    assert readiness.overall == "READY"
    assert readiness.headline() == (
        f"Onboarding readiness: READY - all {len(AREAS) - 1} areas that apply passed; "
        "callbacks not run (optional, nothing to test it against)"
    )
    assert OPTIONAL["callbacks"] in readiness.markdown()
    assert dict(readiness.panel_rows())["Optional area not run: callbacks"] == OPTIONAL["callbacks"]


def test_left_out_failing_or_unassessed_the_area_counts() -> None:
    left_out = Readiness.from_counts(_counts(AreaCounts()))
    assert left_out.overall == "INCOMPLETE" and "1 not run" in left_out.headline()
    failing = Readiness.from_counts(_counts(AreaCounts(passed=20, failed=1, skipped=1)))
    assert failing.overall == "NOT READY" and "callbacks" in failing.headline()
    unassessed = Readiness.from_counts(_counts(AreaCounts(skipped=1, not_assessed=21)))
    assert unassessed.overall == "INCOMPLETE" and "inconclusive: callbacks" in unassessed.headline()
    cut_short = Readiness.from_counts(_counts(AreaCounts(skipped=2, not_run=20)))
    assert cut_short.overall == "INCOMPLETE"


def test_only_an_optional_area_is_waived() -> None:
    counted = dict(_counts(AreaCounts(passed=20)))
    counted["negotiation"] = AreaCounts(skipped=5)
    assert Readiness.from_counts(counted.items()).overall == "INCOMPLETE"


def test_the_two_fault_banks_share_no_name_and_the_selftest_holds_both() -> None:
    assert not set(API_FAULTS) & set(RECEIVER_FAULTS)
    bank = every_fault()
    assert set(bank) == set(API_FAULTS) | set(RECEIVER_FAULTS)
    assert all(bank[name].areas == ("callbacks",) for name in RECEIVER_FAULTS)
    assert all(set(fault.areas) <= set(AREAS) for fault in bank.values())
