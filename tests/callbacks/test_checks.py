"""The pure judgements: one attempt in, violations with stable codes out; nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from conformance.callbacks.checks import (
    check_answer,
    check_attempt,
    check_in_time,
    check_retry_after,
    retry_after_seconds,
)
from conformance.callbacks.deliveries import Attempt, Delivery, Expect, NoAnswer
from conformance.callbacks.rules import RULES
from conformance.callbacks.schema import Kind
from conformance.checks import Severity
from conformance.exchange import Exchange

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def codes(violations: list) -> list[str]:  # type: ignore[type-arg]
    return [violation.code for violation in violations]


def answer(status: int, headers: dict[str, str] | None = None) -> Exchange:
    return Exchange.build(method="POST", url="http://127.0.0.1/cb", status=status, response_headers=headers)


DELIVERY = Delivery("valid-example", Kind.MESSAGE_STATUS, "example", b"{}", ())


@pytest.mark.parametrize(
    ("expect", "status", "expected"),
    [
        (Expect.ACCEPT, 202, []),
        (Expect.ACCEPT, 200, ["CB-002"]),
        (Expect.ACCEPT, 204, ["CB-002"]),
        (Expect.ACCEPT, 400, ["CB-001"]),
        (Expect.ACCEPT, 404, ["CB-001"]),
        (Expect.ACCEPT, 302, ["CB-001"]),
        (Expect.ACCEPT, 500, ["CB-003"]),
        (Expect.ACCEPT, 503, ["CB-003"]),
        (Expect.ACCEPT, 429, []),
        (Expect.TOLERATE, 202, []),
        (Expect.TOLERATE, 400, ["CB-010"]),
        (Expect.TOLERATE, 500, ["CB-003"]),
        (Expect.KEY_REJECTED, 401, []),
        (Expect.KEY_REJECTED, 403, ["CB-004"]),
        (Expect.KEY_REJECTED, 202, ["CB-004"]),
        (Expect.KEY_REJECTED, 500, ["CB-004"]),
        (Expect.SIGNATURE_REJECTED, 403, []),
        (Expect.SIGNATURE_REJECTED, 401, ["CB-005"]),
        (Expect.SIGNATURE_REJECTED, 200, ["CB-005"]),
        (Expect.SIGNATURE_REJECTED, 400, ["CB-005"]),
    ],
)
def test_answers(expect: Expect, status: int, expected: list[str]) -> None:
    assert codes(check_answer(expect, status)) == expected


def test_another_2xx_is_only_a_warning_and_a_4xx_for_a_closed_object_too() -> None:
    assert RULES["CB-002"].severity is Severity.INFO
    assert RULES["CB-010"].severity is Severity.INFO
    assert RULES["CB-001"].severity is Severity.ERROR


def test_accepting_a_forged_callback_says_so() -> None:
    (violation,) = check_answer(Expect.SIGNATURE_REJECTED, 202)
    assert "taken as genuine" in violation.detail


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ["CB-006"]),
        ("", ["CB-006"]),
        ("soon", ["CB-006"]),
        ("1.5", ["CB-006"]),
        ("30", []),
        ("5", []),
        ("43200", []),
        ("1", ["CB-007"]),
        ("0", ["CB-007"]),
        ("-1", ["CB-007"]),
        ("43201", ["CB-007"]),
        (format_datetime(NOW + timedelta(seconds=60), usegmt=True), []),
        (format_datetime(NOW + timedelta(seconds=2), usegmt=True), ["CB-007"]),
    ],
)
def test_retry_after(value: str | None, expected: list[str]) -> None:
    headers = {} if value is None else {"Retry-After": value}
    assert codes(check_retry_after(answer(429, headers), now=NOW)) == expected


def test_retry_after_is_judged_only_on_429() -> None:
    assert check_retry_after(answer(503)) == []
    assert retry_after_seconds(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90


def test_in_time() -> None:
    late = Attempt(DELIVERY, "http://x/cb", latency_ms=31_000, exchange=answer(202))
    timed_out = Attempt(DELIVERY, "http://x/cb", latency_ms=30_000, no_answer=NoAnswer.TIMEOUT, problem="no")
    closed = Attempt(DELIVERY, "http://x/cb", latency_ms=3, no_answer=NoAnswer.PROTOCOL, problem="closed it")
    fine = Attempt(DELIVERY, "http://x/cb", latency_ms=12, exchange=answer(202))
    assert codes(check_in_time(late, 30)) == ["CB-008"]
    assert codes(check_in_time(timed_out, 30)) == ["CB-008"]
    assert codes(check_in_time(closed, 30)) == ["CB-009"]
    assert check_in_time(fine, 30) == []


def test_a_throttled_attempt_is_judged_by_its_retry_after_not_its_status() -> None:
    throttled = Attempt(DELIVERY, "http://x/cb", latency_ms=1, exchange=answer(429, {"Retry-After": "30"}))
    assert check_attempt(throttled, 30, final=False) == []
    rude = Attempt(DELIVERY, "http://x/cb", latency_ms=1, exchange=answer(429))
    assert codes(check_attempt(rude, 30, final=False)) == ["CB-006"]


def test_every_code_is_registered_once() -> None:
    assert sorted(RULES) == [f"CB-{n:03d}" for n in range(1, 11)]
    assert all(rule.title for rule in RULES.values())


def test_the_exchange_headers_are_case_insensitive() -> None:
    exchange = answer(429, {"retry-after": "10"})
    assert isinstance(exchange.response_headers, httpx.Headers)
    assert check_retry_after(exchange) == []
