"""The callback receiver: NHS Notify's message and channel status callbacks, sent to the run's receiver
as the sender sends them, and each answer judged by what the contract documents and what the sender
does with it.

One test per check of ``notify-conformance callbacks`` (the example checks and the two generated from
the contract's callback schemas), and one per rule judged across every callback; the checks, the sending
and the judgements are that command's (:mod:`conformance.callbacks`). The receiver is the reference
receiver under ``--env local`` and the supplier's under ``--callback-receiver-url``; without one the
tests are skipped and the area is not run (it is optional: see :data:`conformance.areas.OPTIONAL`).

Proves behaviour §5 (the contract's callbacks: 202, 401 for the key, 403 for the signature, 429 with
Retry-After) and ops §1.1-§1.3 (the signature over the raw bytes, additive changes, duplicates, order,
the sender's timeout and what it retries).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import allure
import httpx
import pytest

from conformance import redaction
from conformance.callbacks.area import CallbackArea
from conformance.callbacks.checks import shown_status
from conformance.callbacks.delivery_run import CheckResult, Finding
from conformance.callbacks.plan import Credentials, build_plan
from conformance.callbacks.report import CROSS_CUTTING, Latency, duration
from conformance.checks import ConformanceViolation, Severity, Violation
from conformance.citations import links_for
from conformance.client import ApiClient
from conformance.environments import Environment
from conformance.errors import BudgetSpent, NotAssessable, RateLimited, RequestNotAnswered
from conformance.suite._expect import MESSAGE, growing_pauses, success_data
from conformance.suite._labels import for_module

AREA = "callbacks"
behaviour = for_module(area=AREA, feature="message and channel status callbacks")

#: the plan's checks, by name; built with stand-in credentials only to name the tests (nothing is sent)
CHECKS = {check.name: check for check in build_plan(Credentials("app-naming", "key-naming"), 300, 0).checks}
#: the rules judged across every callback: (name, what is expected, the rule codes)
ACROSS = {name: (expects, codes) for name, expects, codes in CROSS_CUTTING}


def _attempt_line(result: CheckResult, index: int) -> str:
    attempt = result.attempts[index]
    delivery = attempt.delivery
    resend = f" (resend {attempt.number - 1})" if attempt.number > 1 else ""
    if attempt.exchange is None:
        answer = f"no answer: {attempt.problem}"
    else:
        answer = f"{shown_status(attempt.exchange.status)} in {duration(attempt.latency_ms)}"
    return (
        f"{delivery.kind.value}, {delivery.label}{resend}: expects {delivery.expect.shown} -> {answer} "
        f"(signature: {delivery.signature_note})"
    )


def _latency_line(values: list[float]) -> str:
    latency = Latency.of(values)
    if latency is None:
        return "no answers"
    return (
        f"latency of {latency.count} answers: median {duration(latency.median_ms)}, 95th percentile "
        f"{duration(latency.p95_ms)}, max {duration(latency.max_ms)}"
    )


def _show(results: list[CheckResult], heading: str) -> None:
    """One attachment listing every callback of these checks and its answer, then their latency."""
    lines = [heading, ""]
    for result in results:
        lines += [_attempt_line(result, index) for index in range(len(result.attempts))]
        lines += [f"{d.kind.value}, {d.label}: not assessed: {reason}" for d, reason in result.unassessed]
        if result.skipped:
            lines.append(f"{len(result.skipped)} more callback(s) not sent, after one got no answer in time")
    lines += ["", _latency_line([ms for result in results for ms in result.latencies_ms])]
    allure.attach(
        redaction.redact("\n".join(lines)), name="Callbacks sent", attachment_type=allure.attachment_type.TEXT
    )


def _located(finding: Finding) -> Violation:
    """The violation, its detail naming the callback it is about."""
    delivery = finding.attempt.delivery
    resend = f" (resend {finding.attempt.number - 1})" if finding.attempt.number > 1 else ""
    where = f"{delivery.kind.value}, {delivery.label}{resend}"
    return dataclasses.replace(finding.violation, detail=f"{where}: {finding.violation.detail}")


def _not_assessed(area: CallbackArea, results: list[CheckResult]) -> NotAssessable | None:
    """Why these checks say nothing about the receiver, if some callback went without a verdict."""
    reasons = [reason for result in results for _, reason in result.unassessed]
    if not reasons:
        return None
    if area.stopped is not None:
        return RequestNotAnswered(f"{area.receiver.owner}: {area.stopped}")
    if any("budget" in reason for reason in reasons):
        return BudgetSpent(f"callbacks: {reasons[0]}")
    return RateLimited(f"{area.receiver.owner}: {reasons[0]}")


def _judge(area: CallbackArea, results: list[CheckResult], findings: list[Finding], context: str) -> None:
    """Fail on a broken rule; else not assessed when a callback got no verdict; deviations only noted."""
    violations = [_located(finding) for finding in findings]
    if any(violation.severity is Severity.ERROR for violation in violations):
        raise ConformanceViolation(violations, context)
    unassessed = _not_assessed(area, results)
    if unassessed is not None:
        raise unassessed
    if violations:
        allure.attach(
            redaction.redact("\n".join(str(violation) for violation in violations)),
            name="Deviations from the documented answers (warnings)",
            attachment_type=allure.attachment_type.TEXT,
        )


@pytest.mark.parametrize("callback_check", [pytest.param(name, id=name) for name in CHECKS])
@behaviour(severity="critical", ref="behaviour §5; ops §1.1; ops §1.2; ops §1.3")
def test_receiver_answers_as_notify_expects(callback_area: CallbackArea, callback_check: str) -> None:
    """The callback receiver answers each callback of the check as NHS Notify expects.

    Each check sends its callbacks (both kinds, signed as the sender signs them unless the check is
    about a wrong key or signature) and expects the answer the contract documents: 2xx (202) for a
    valid callback, 401 for a missing or wrong key, 403 for a wrong signature.
    """
    check = CHECKS[callback_check]
    allure.dynamic.title(f"{check.name}: {check.sends}; expects {check.expects}")
    for name, link in links_for(check.cites):
        allure.dynamic.link(link, name=name)
    result = callback_area.result(callback_check)
    _show([result], f"sends {check.sends}; expects {check.expects} ({check.cites})")
    _judge(callback_area, [result], result.own_findings, f"callbacks of {check.name}")


@pytest.mark.parametrize("callback_row", [pytest.param(name, id=name) for name in ACROSS])
@behaviour(severity="critical", ref="behaviour §5; ops §1.3")
def test_every_callback_keeps_the_senders_rules(callback_area: CallbackArea, callback_row: str) -> None:
    """Every callback the area sent keeps the sender's rules: a 429 says when to come back, a valid
    callback never gets a 5xx, every answer comes in HTTP within the sender's timeout.

    The checks of the area not sent yet are sent first, so the rule is judged across all of them.
    """
    expects, codes = ACROSS[callback_row]
    allure.dynamic.title(f"{callback_row}: {expects}, across every callback")
    results = callback_area.every_result()
    findings = [
        finding for result in results for finding in result.findings if finding.violation.code in codes
    ]
    judged = [attempt for result in results for attempt in result.attempts]
    allure.attach(
        f"{expects}: judged across {len(judged)} callbacks ({callback_area.sent} sent in all)\n"
        + _latency_line([attempt.latency_ms for attempt in judged if attempt.exchange is not None]),
        name="Callbacks judged",
        attachment_type=allure.attachment_type.TEXT,
    )
    _judge(callback_area, results, findings, f"callbacks, {callback_row}")


#: what one message to the NHS App alone goes through, as callbacks (behaviour §1.4, §5): its message
#: statuses, and its one channel's statuses, each in order
MESSAGE_STATUSES = ("pending_enrichment", "enriched", "sending", "delivered")
NHSAPP_STATUSES = ("created", "sending", "delivered")
#: how long the status callbacks of one message may take to arrive (the local timeline takes well under
#: a second; the wait ends sooner once the sending API has ended them all), and the first pause before
#: looking again (then doubled each time)
ARRIVAL_S = 30.0
FIRST_LOOK_PAUSE_S = 0.05


def _received_for(
    local: httpx.Client, received_url: str, message_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """(callback kind, item) for every callback the reference receiver accepted about ``message_id``,
    a repeat (the sender may deliver one twice, ops §1.3) only once."""
    snapshot = local.get(received_url).json()
    return [
        (callback["kind"], item)
        for callback in snapshot["callbacks"]
        for item in callback["items"]
        if item.get("messageId") == message_id and not item.get("seenBefore")
    ]


def _sender_finished(local: httpx.Client, sent_url: str | None, message_id: str, events: int) -> bool:
    """Whether the sending API has ended (delivered or given up) ``events`` callbacks about
    ``message_id``, so that waiting longer would bring the receiver nothing more."""
    if sent_url is None:
        return False
    snapshot = local.get(sent_url).json()
    ended = [outcome for outcome in snapshot["outcomes"] if outcome["message_id"] == message_id]
    return len(ended) >= events


@behaviour(severity="critical", ref="behaviour §1.4; behaviour §5; ops §1.3")
def test_a_created_message_reaches_the_receiver_as_its_status_callbacks(
    callback_sending_api: ApiClient, notify_environment: Environment
) -> None:
    """A message created in the reference API reaches the reference receiver as its status callbacks.

    The local reference API (integration mode) moves each message it creates through its statuses and
    sends each change as a signed callback, as NHS Notify does, to the reference receiver, which accepts
    only a genuine key and signature. One NHS App message must arrive as four message status callbacks
    (pending_enrichment, enriched, sending, delivered) at the message status URL and three channel status
    callbacks (created, sending, delivered) at the channel status URL, in order, each with its own
    idempotency key (a repeat of one, which the sender may make, counts once).
    """
    receiver = notify_environment.callbacks
    assert receiver is not None and receiver.received_url is not None
    body = MESSAGE.valid_body(callback_sending_api, notify_environment)
    data = success_data(MESSAGE.send(callback_sending_api, body), 201)
    message_id = str(data["id"])
    wanted = len(MESSAGE_STATUSES) + len(NHSAPP_STATUSES)
    with httpx.Client(trust_env=False, timeout=10.0) as local:  # one connection for every look
        for pause in (0.0, *growing_pauses(ARRIVAL_S, FIRST_LOOK_PAUSE_S)):
            time.sleep(pause)
            finished = _sender_finished(local, receiver.sent_url, message_id, wanted)  # asked first: then
            received = _received_for(local, receiver.received_url, message_id)  # this is all that will come
            if finished or len(received) >= wanted:
                break
    allure.attach(
        json.dumps([{"kind": kind, **item} for kind, item in received], indent=2),
        name="Callbacks the receiver accepted for the message",
        attachment_type=allure.attachment_type.JSON,
    )
    message = [item for kind, item in received if kind == "message-status"]
    channel = [item for kind, item in received if kind == "channel-status"]
    assert [item["status"] for item in message] == list(MESSAGE_STATUSES), (
        f"message status callbacks for {message_id}: {[item['status'] for item in message]}"
    )
    assert [(item.get("channel"), item["status"]) for item in channel] == [
        ("nhsapp", status) for status in NHSAPP_STATUSES
    ], f"channel status callbacks for {message_id}: {[(i.get('channel'), i['status']) for i in channel]}"
    assert {item["type"] for item in message} == {"MessageStatus"}
    assert {item["type"] for item in channel} == {"ChannelStatus"}
    keys = [item["idempotencyKey"] for item in message + channel]
    assert all(keys) and len(set(keys)) == len(keys), f"idempotency keys: {keys}"
