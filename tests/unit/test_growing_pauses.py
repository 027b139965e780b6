"""The suite's waits: pauses that start short and double, and never add up to more than the old wait."""

from __future__ import annotations

import itertools

import pytest

from conformance.suite._expect import FIRST_REPLAY_PAUSE_S, REPLAY_PAUSE_S, growing_pauses


def test_the_replay_pauses_double_and_add_up_to_the_old_wait() -> None:
    pauses = list(growing_pauses(REPLAY_PAUSE_S))
    assert pauses == [0.25, 0.5, 1.0, 2.0, 1.25]
    assert pauses[0] == FIRST_REPLAY_PAUSE_S
    assert sum(pauses) == pytest.approx(REPLAY_PAUSE_S)


@pytest.mark.parametrize(
    ("total", "first"), [(30.0, 0.05), (0.3, 0.25), (1.0, 1.0), (0.75, 0.25), (0.9, 0.3)]
)
def test_the_pauses_never_go_past_the_total(total: float, first: float) -> None:
    pauses = list(growing_pauses(total, first))
    assert sum(pauses) == pytest.approx(total)
    assert pauses[0] == min(first, total)
    for earlier, later in itertools.pairwise(pauses[:-1]):  # the last one may be shortened
        assert later == pytest.approx(2 * earlier)
    assert all(pause > 1e-6 for pause in pauses), pauses  # no crumb of a pause left by float arithmetic


def test_nothing_to_wait_for_gives_no_pause() -> None:
    assert list(growing_pauses(0.0)) == []
