"""Hypothesis strategies for the API's domain values, which the OpenAPI types alone cannot express:
NHS numbers that pass (or fail) the Modulus 11 check, KSUIDs, ODS codes and routing plans that exist."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from conformance import nhs_number

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
#: The global free-text routing plans that every environment accepts (NHS App, email, SMS).
GLOBAL_ROUTING_PLANS = (
    "00000000-0000-0000-0000-000000000001",
    "00000000-0000-0000-0000-000000000002",
    "00000000-0000-0000-0000-000000000003",
)
#: ODS codes the sandbox turns into canned 404/429/502 answers; never generated as ordinary values.
_TRIGGER_ODS_CODES = ("T00404", "T00429", "T00502")
#: Every length :func:`ods_codes` draws ("X26", letter-digit alternation, letter + five digits).
ODS_CODE_LENGTHS = frozenset({3, 5, 6})


def _with_check_digit(prefix: str) -> str:
    """Complete nine digits to a valid NHS number, nudging the ninth digit when no check digit exists."""
    for nudge in range(10):
        candidate = prefix[:8] + str((int(prefix[8]) + nudge) % 10)
        digit = nhs_number.check_digit(candidate)
        if digit is not None:
            return candidate + str(digit)
    raise AssertionError("unreachable: some ninth digit always gives a check digit")


def nhs_numbers() -> st.SearchStrategy[str]:
    """Valid NHS numbers: ten digits, the last the Modulus 11 check digit of the first nine."""
    return st.text(alphabet=string.digits, min_size=9, max_size=9).map(_with_check_digit)


def invalid_nhs_numbers() -> st.SearchStrategy[object]:
    """Values the gateway must reject as NHS numbers: a wrong check digit, a wrong length, letters, not a
    string."""
    wrong_digit = nhs_numbers().map(lambda valid: valid[:9] + str((int(valid[9]) + 1) % 10))
    return st.one_of(
        wrong_digit,
        st.text(alphabet=string.digits, min_size=0, max_size=9),
        st.text(alphabet=string.digits, min_size=11, max_size=12),
        st.text(alphabet=string.ascii_letters, min_size=10, max_size=10),
        st.integers(),
        st.none(),
    )


def ksuids() -> st.SearchStrategy[str]:
    """Syntactically valid KSUIDs (27 base62 characters)."""
    return st.text(alphabet=_BASE62, min_size=27, max_size=27)


def ods_codes() -> st.SearchStrategy[str]:
    """GP practice ODS codes in the formats the API accepts (letter + five digits, or letter-digit
    alternation), excluding the sandbox's trigger codes."""
    return st.one_of(
        st.just("X26"),
        st.from_regex(r"\A[A-Z][0-9]{5}\Z"),
        st.from_regex(r"\A[A-Z][0-9][A-Z][0-9][A-Z]\Z"),
    ).filter(lambda code: code not in _TRIGGER_ODS_CODES)


def routing_plan_ids(extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Routing plans that exist in the environment: the global plans plus any the user configured."""
    return st.sampled_from(tuple(dict.fromkeys((*extra, *GLOBAL_ROUTING_PLANS))))
