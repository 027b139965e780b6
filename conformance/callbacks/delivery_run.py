"""Run a plan against a receiver: one callback at a time, paced, within the callback budget.

* **Pacing.** Every send, resends included, waits its turn at one :class:`~conformance.pacing.Pacer`.
* **Budget.** No more than ``--max-callbacks`` sends, resends included; a delivery the budget cannot pay
  for is not sent and leaves its check inconclusive.
* **429.** The receiver may push back (behaviour §5). The answer is judged (``Retry-After``), then the
  callback is sent again after ``Retry-After`` (seconds or an HTTP date) or, without a usable one, after
  1 s and then 2 s, at most twice; a wait longer than :data:`MAX_WAIT_S` is not waited. A callback still
  throttled at the end leaves its check inconclusive, not failed.
* **No answer.** When a URL's first callback gets no HTTP answer (refused, no answer in time, not HTTP),
  or three callbacks in a row to it get none, the run stops: :class:`Stopped`. A single callback without
  an answer otherwise fails its check (``CB-008``/``CB-009``), and after a timeout the rest of that check
  is not sent (each one would cost the whole timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conformance.callbacks.checks import check_attempt, retry_after_seconds
from conformance.callbacks.deliveries import Attempt, Delivery, NoAnswer
from conformance.callbacks.plan import Check, Plan
from conformance.callbacks.schema import Kind
from conformance.callbacks.sender import Sender
from conformance.checks import Severity, Violation
from conformance.pacing import Pacer

#: the longest Retry-After this command waits before sending a throttled callback again
MAX_WAIT_S = 30.0
#: how often one callback is sent again after a 429
MAX_RESENDS = 2
#: callbacks in a row without an HTTP answer, to one URL, after which the receiver counts as down
SILENT_IN_A_ROW = 3
#: the rules about a 429's Retry-After: they fail the ``retry-after`` row, not the check that met the 429
THROTTLING_CODES = frozenset({"CB-006", "CB-007"})


@dataclass(frozen=True)
class Finding:
    """A broken rule, and the attempt that broke it."""

    attempt: Attempt
    violation: Violation


@dataclass
class CheckResult:
    check: Check
    attempts: list[Attempt] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: deliveries without a verdict, and why (throttled, budget spent, the run stopped)
    unassessed: list[tuple[Delivery, str]] = field(default_factory=list)
    #: deliveries not sent because the check had already failed for want of an answer
    skipped: list[Delivery] = field(default_factory=list)

    @property
    def own_findings(self) -> list[Finding]:
        """The findings about what this check tests; a 429's Retry-After is judged by its own row."""
        return [finding for finding in self.findings if finding.violation.code not in THROTTLING_CODES]

    @property
    def failed(self) -> bool:
        return any(finding.violation.severity is Severity.ERROR for finding in self.own_findings)

    @property
    def status(self) -> str:
        """``failed``, ``deviates`` (warnings only), ``inconclusive``, ``not run`` or ``passed``."""
        if self.failed:
            return "failed"
        if self.own_findings:
            return "deviates"
        if self.unassessed:
            return "inconclusive" if self.attempts else "not run"
        return "passed"

    @property
    def latencies_ms(self) -> list[float]:
        """Latency of every attempt that got an answer."""
        return [attempt.latency_ms for attempt in self.attempts if attempt.exchange is not None]


@dataclass
class RunResult:
    plan: Plan
    urls: dict[Kind, str]
    timeout_s: float
    rate_limit: str
    results: list[CheckResult]
    started_at: datetime
    duration_s: float = 0.0
    sent: int = 0
    #: set when the run stopped early because a receiver URL did not answer
    stopped: str | None = None
    #: the stop came at a URL's first callback: nothing about the receiver could be assessed
    stopped_at_first: bool = False

    def result(self, name: str) -> CheckResult:
        return next(result for result in self.results if result.check.name == name)

    @property
    def attempts(self) -> list[Attempt]:
        return [attempt for result in self.results for attempt in result.attempts]

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.results for finding in result.findings]


class Stopped(Exception):
    """A receiver URL did not answer: the run cannot go on."""

    def __init__(self, message: str, at_first: bool) -> None:
        super().__init__(message)
        self.at_first = at_first


class Runner:
    def __init__(
        self,
        sender: Sender,
        plan: Plan,
        *,
        pacer: Pacer | None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sender = sender
        self.plan = plan
        self.pacer = pacer
        self.sleep = sleep
        self.sent = 0
        self._answered: dict[str, bool] = {}
        self._silent: dict[str, int] = {}

    def _send(self, delivery: Delivery, number: int) -> Attempt:
        if self.pacer is not None:
            self.pacer.wait_turn()
        self.sent += 1
        return self.sender.send(delivery, number)

    def _stop_for(self, attempt: Attempt) -> Stopped | None:
        """Whether this attempt shows the receiver URL is down (its first callback, or several in a row)."""
        url = attempt.url
        if attempt.exchange is not None:
            self._answered[url] = True
            self._silent[url] = 0
            return None
        self._silent[url] = self._silent.get(url, 0) + 1
        whose = f"the {attempt.delivery.kind.words} receiver at {url}"
        if not self._answered.get(url):
            return Stopped(f"{whose} {attempt.problem}", at_first=True)
        if self._silent[url] >= SILENT_IN_A_ROW:
            return Stopped(
                f"{whose} stopped answering: {SILENT_IN_A_ROW} callbacks in a row got no answer "
                f"(the last {attempt.problem})",
                at_first=False,
            )
        return None

    def _deliver(self, delivery: Delivery, result: CheckResult) -> Attempt:
        """Send one delivery, resending after 429s; record every attempt and what it shows."""
        timeout_s = self.sender.timeout_s
        attempt = self._send(delivery, 1)
        while True:
            throttled = attempt.status == 429
            result.attempts.append(attempt)
            stop = self._stop_for(attempt)
            if stop is not None:
                raise stop
            found = check_attempt(attempt, timeout_s, final=not throttled)
            result.findings += [Finding(attempt, v) for v in found]
            if not throttled:
                return attempt
            if attempt.number > MAX_RESENDS:
                result.unassessed.append((delivery, f"still answered 429 after {MAX_RESENDS} resends"))
                return attempt
            assert attempt.exchange is not None
            wait = retry_after_seconds(
                attempt.exchange.response_headers.get("retry-after"), datetime.now(UTC)
            )
            if wait is None or wait < 0:
                wait = float(2 ** (attempt.number - 1))
            if wait > MAX_WAIT_S:
                result.unassessed.append(
                    (delivery, f"answered 429 asking for {wait:.0f} s, longer than this command waits")
                )
                return attempt
            if self.sent >= self.plan.max_callbacks:
                result.unassessed.append((delivery, "answered 429, and the callback budget is spent"))
                return attempt
            self.sleep(wait)
            attempt = self._send(delivery, attempt.number + 1)

    def _run_check(self, check: Check, result: CheckResult) -> None:
        timed_out = False
        for delivery in check.deliveries:
            if timed_out:
                result.skipped.append(delivery)
                continue
            if self.sent >= self.plan.max_callbacks:
                result.unassessed.append(
                    (delivery, "not sent: the callback budget (--max-callbacks) is spent")
                )
                continue
            attempt = self._deliver(delivery, result)
            if attempt.no_answer is NoAnswer.TIMEOUT:
                timed_out = True

    def run_check(self, result: CheckResult) -> None:
        """Send ``result.check`` and record what happened in ``result`` (the main run's callbacks area
        sends one check per test). Raises :class:`Stopped`, with what was not sent listed unassessed."""
        check = result.check
        try:
            self._run_check(check, result)
        except Stopped:
            done = {id(attempt.delivery) for attempt in result.attempts}
            result.unassessed += [
                (delivery, "not sent: the run stopped")
                for delivery in check.deliveries
                if id(delivery) not in done
            ]
            raise

    def run(self, run_result: RunResult) -> RunResult:
        started = time.monotonic()
        try:
            for check in self.plan.checks:
                result = CheckResult(check)
                run_result.results.append(result)
                self.run_check(result)
        except Stopped as stop:
            run_result.stopped = str(stop)
            run_result.stopped_at_first = stop.at_first
            for check in self.plan.checks[len(run_result.results) :]:
                run_result.results.append(
                    CheckResult(
                        check, unassessed=[(d, "not sent: the run stopped") for d in check.deliveries]
                    )
                )
        finally:
            run_result.sent = self.sent
            run_result.duration_s = time.monotonic() - started
        return run_result


def run_plan(
    plan: Plan,
    sender: Sender,
    *,
    pacer: Pacer | None,
    rate_limit: str,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Send every check of ``plan`` through ``sender``; never raises for what the receiver does."""
    run_result = RunResult(
        plan=plan,
        urls=dict(sender.urls),
        timeout_s=sender.timeout_s,
        rate_limit=rate_limit,
        results=[],
        started_at=datetime.now(UTC),
    )
    return Runner(sender, plan, pacer=pacer, sleep=sleep).run(run_result)
