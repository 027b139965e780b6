"""The callbacks area of ``notify-conformance run``: the checks of ``notify-conformance callbacks``, one
pytest test each, sent to the run's callback receiver (the reference receiver under ``--env local``, the
supplier's under ``--callback-receiver-url``).

The plan is the callbacks command's (:func:`~.plan.build_plan`, seeded with the run's seed), holding only
the checks the session selected; each test sends its own check when it runs (:meth:`CallbackArea.result`,
through the command's :class:`~.delivery_run.Runner`: pacing, the callback budget, 429s, a receiver that
stops answering), and a row judged across every callback first sends the selected checks not run yet.

Every answer is told to the run's report listeners as an :class:`~conformance.exchange.Exchange`, so it
is attached to its test like an API exchange (headers, body, status, latency). The API key is redacted
like every key, and the signature is shown as the way it was made, never as its value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

import httpx

from conformance import redaction
from conformance.callbacks.deliveries import Attempt
from conformance.callbacks.delivery_run import CheckResult, Runner, Stopped
from conformance.callbacks.plan import Credentials, Plan, build_plan
from conformance.callbacks.report import Latency, duration
from conformance.callbacks.schema import Kind
from conformance.callbacks.sender import Sender
from conformance.callbacks.signing import SIGNATURE_HEADER
from conformance.environments import CallbackReceiver
from conformance.exchange import Exchange
from conformance.pacing import Pacer

Listener = Callable[[Exchange], None]


def shown_exchange(attempt: Attempt) -> Exchange | None:
    """The attempt's exchange as reports show it: the signature replaced by how it was made."""
    exchange = attempt.exchange
    if exchange is None:
        return None
    headers = httpx.Headers(exchange.request_headers)
    if SIGNATURE_HEADER in headers:
        headers[SIGNATURE_HEADER] = f"{redaction.MARKER} ({attempt.delivery.signature_note})"
    return dataclasses.replace(exchange, request_headers=headers)


class CallbackArea:
    """One session's callbacks: the plan, the sender, and each check's result once it has been sent."""

    def __init__(
        self,
        receiver: CallbackReceiver,
        seed: int,
        selected: Collection[str] = (),
        listeners: Sequence[Listener] = (),
    ) -> None:
        """``selected``: the checks (and rows across every callback) the session holds; every check when
        it names none of them."""
        redaction.register(receiver.api_key, f"{receiver.application_id}.{receiver.api_key}")
        self.receiver = receiver
        plan = build_plan(
            Credentials(receiver.application_id, receiver.api_key), receiver.max_callbacks, seed
        )
        chosen = tuple(check for check in plan.checks if check.name in selected)
        self.plan = Plan(chosen or plan.checks, plan.seed, plan.max_callbacks)
        urls = {
            Kind.MESSAGE_STATUS: receiver.message_status_url,
            Kind.CHANNEL_STATUS: receiver.channel_status_url,
        }
        self._sender = Sender(urls, receiver.timeout_s)
        pacer = Pacer(receiver.rate_limit) if receiver.rate_limit is not None else None
        self._runner = Runner(self._sender, self.plan, pacer=pacer)
        self._listeners = list(listeners)
        self._results: dict[str, CheckResult] = {}
        #: why the receiver counts as down (after which nothing more is sent), or None
        self.stopped: str | None = None

    @property
    def sent(self) -> int:
        return self._runner.sent

    def result(self, name: str) -> CheckResult:
        """The check ``name``, sent now unless it already was (a KeyError for a check not in the plan)."""
        if name in self._results:
            return self._results[name]
        result = CheckResult(self.plan.check(name))
        self._results[name] = result
        if self.stopped is not None:
            result.unassessed = [(d, f"not sent: {self.stopped}") for d in result.check.deliveries]
            return result
        try:
            self._runner.run_check(result)
        except Stopped as stop:
            self.stopped = str(stop)
        for attempt in result.attempts:
            shown = shown_exchange(attempt)
            if shown is not None:
                for listener in self._listeners:
                    listener(shown)
        return result

    def every_result(self) -> list[CheckResult]:
        """Every check of the plan, those not sent yet sent now (for the rows across every callback)."""
        return [self.result(check.name) for check in self.plan.checks]

    def describe(self) -> str:
        """One line for the terminal: how many callbacks went where, and their latency."""
        answered = [ms for result in self._results.values() for ms in result.latencies_ms]
        latency = Latency.of(answered)
        timing = (
            f"; latency median {duration(latency.median_ms)}, 95th percentile {duration(latency.p95_ms)}, "
            f"max {duration(latency.max_ms)}"
            if latency is not None
            else ""
        )
        stopped = f"; stopped: {self.stopped}" if self.stopped else ""
        pacing = str(self.receiver.rate_limit) if self.receiver.rate_limit is not None else "off"
        return redaction.redact(
            f"{self.sent} sent to {self.receiver.owner} (seed {self.plan.seed}, pacing {pacing})"
            f"{timing}{stopped}"
        )

    def close(self) -> None:
        self._sender.close()
