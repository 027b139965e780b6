"""Pure judgements of one callback attempt: nothing here sends anything.

What the receiver should answer comes from the contract (behaviour §5): 202 for a valid callback, 401
for a missing or wrong key, 403 for a wrong signature, 429 with an optional ``Retry-After`` to push back.
What each answer means to the sender comes from the delivery code (ops §1.3): any 2xx is delivered, any
other 4xx is final (the event is dropped), 5xx and timeouts are retried, and a request gets 30 s.
"""

from __future__ import annotations

import email.utils
import http
import math
from datetime import UTC, datetime

from conformance.callbacks.deliveries import Attempt, Expect, NoAnswer
from conformance.callbacks.rules import violation
from conformance.checks import Violation
from conformance.exchange import Exchange

#: the documented Retry-After range: at least 5 s (the schema's expectation), at most 43,200 s (above
#: that the sender gives the event up: ops §1.3)
RETRY_AFTER_MIN_S = 5
RETRY_AFTER_MAX_S = 43_200


def shown_status(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (negative allowed): whole seconds or an HTTP date; None when unusable."""
    if value is None:
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return float(int(text))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - (now or datetime.now(UTC))).total_seconds()


def check_retry_after(exchange: Exchange, now: datetime | None = None) -> list[Violation]:
    """A 429 must say, in a way the sender can read, when to come back (behaviour §5, ops §1.3)."""
    if exchange.status != 429:
        return []
    value = exchange.response_headers.get("retry-after")
    seconds = retry_after_seconds(value, now)
    if seconds is None:
        carries = (
            "no Retry-After"
            if value is None
            else f"Retry-After {value!r}, which is neither whole seconds nor an HTTP date"
        )
        return [
            violation(
                "CB-006",
                f"the 429 carries {carries}: the sender cannot tell how long to wait and falls back to "
                "its own backoff",
            )
        ]
    if seconds < 0:
        return [
            violation(
                "CB-007",
                f"Retry-After is {value!r}: by the contract a negative value stops retries of the event "
                "(it is lost); the delivery code treats it as 0",
            )
        ]
    if seconds < RETRY_AFTER_MIN_S:
        return [violation("CB-007", f"Retry-After is {value!r}, below the documented minimum of 5 s")]
    if seconds > RETRY_AFTER_MAX_S:
        return [
            violation(
                "CB-007",
                f"Retry-After is {value!r} ({math.ceil(seconds)} s): above 43,200 s the sender gives the "
                "event up (dead-letter queue)",
            )
        ]
    return []


def check_answer(expect: Expect, status: int) -> list[Violation]:
    """The final status of a delivery (after any 429s were waited out) against what it should get."""
    if status == 429:
        return []  # pushing back is always allowed; the runner resends, and check_retry_after judges it
    shown = shown_status(status)
    if expect.valid:
        if 200 <= status < 300:
            if status == 202:
                return []
            return [violation("CB-002", f"answered {shown}; the sender counts any 2xx as delivered")]
        if status >= 500:
            return [
                violation(
                    "CB-003",
                    f"answered {shown}: the sender retries it with backoff for up to 2 hours and then gives "
                    "the event up",
                )
            ]
        if 400 <= status < 500:
            code = "CB-010" if expect is Expect.TOLERATE else "CB-001"
            return [
                violation(
                    code, f"answered {shown}: any 4xx but 429 is final to the sender, the event is dropped"
                )
            ]
        return [violation("CB-001", f"answered {shown}, which is not a 2xx: the sender does not count it")]
    wanted, code, why = (
        (401, "CB-004", "the API key is missing or wrong")
        if expect is Expect.KEY_REJECTED
        else (403, "CB-005", "the signature does not match the body")
    )
    if status == wanted:
        return []
    if 200 <= status < 300:
        return [violation(code, f"answered {shown} although {why}: the callback was taken as genuine")]
    return [violation(code, f"answered {shown} although {why}; expected {shown_status(wanted)}")]


def check_in_time(attempt: Attempt, timeout_s: float) -> list[Violation]:
    """The answer came within the sender's timeout, and it was HTTP (ops §1.3: 30 s by default)."""
    if attempt.no_answer is NoAnswer.TIMEOUT:
        return [violation("CB-008", f"no answer within {timeout_s:g} s: the sender gives up and retries")]
    if attempt.no_answer is not None:
        return [violation("CB-009", f"{attempt.problem}: the sender retries it as a network error")]
    if attempt.latency_ms > timeout_s * 1000:
        return [
            violation(
                "CB-008",
                f"answered after {attempt.latency_ms / 1000:.1f} s, later than the {timeout_s:g} s timeout",
            )
        ]
    return []


def check_attempt(attempt: Attempt, timeout_s: float, *, final: bool) -> list[Violation]:
    """Everything one attempt shows: timing, a 429's Retry-After and, for the final attempt of a delivery,
    whether its answer is the one it should get."""
    found = check_in_time(attempt, timeout_s)
    if attempt.exchange is None:
        return found
    found += check_retry_after(attempt.exchange)
    if final:
        found += check_answer(attempt.delivery.expect, attempt.exchange.status)
    return found
