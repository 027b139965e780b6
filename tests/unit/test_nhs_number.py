from __future__ import annotations

import pytest

from conformance import nhs_number


@pytest.mark.parametrize("value", ["9990548609", "9074662803", "9903002157", "9999999018"])
def test_valid_numbers(value: str) -> None:
    assert nhs_number.is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "9990548608",
        "9990548609\n",
        "９９９０５４８６０９",
        "999054860",
        "99905486090",
        "abcdefghij",
        "",
        None,
        9990548609,
        [],
        {},
        0.1,
    ],
    ids=repr,
)
def test_invalid_numbers(value: object) -> None:
    assert not nhs_number.is_valid(value)


def test_a_remainder_of_ten_is_never_valid() -> None:
    # some nine-digit prefixes have no valid check digit at all (the formula gives 10)
    prefix = next(f"{n:09d}" for n in range(1000) if nhs_number.check_digit(f"{n:09d}") is None)
    assert all(not nhs_number.is_valid(prefix + str(d)) for d in range(10))
