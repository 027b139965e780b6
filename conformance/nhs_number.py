"""NHS number check digit (Modulus 11), as the gateway validates it."""

from __future__ import annotations

import re

_TEN_DIGITS = re.compile(r"[0-9]{10}")


def check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the weighted sum gives 10 (never valid)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True))
    digit = (11 - total % 11) % 11
    return None if digit == 10 else digit


def is_valid(value: object) -> bool:
    """True for a string of ten digits whose last digit is the Modulus 11 check digit."""
    if not isinstance(value, str) or not _TEN_DIGITS.fullmatch(value):
        return False
    return check_digit(value[:9]) == int(value[9])
