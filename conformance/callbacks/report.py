"""What a callbacks run shows and writes: the per-check table, the latencies, the verdict, and (with
``--reports DIR``) ``callbacks.json`` and ``callbacks-junit.xml`` holding every exchange as readable text.

Everything shown or written passes :mod:`conformance.redaction`; ``x-api-key`` and
``x-hmac-sha256-signature`` are shown as ``[REDACTED]`` (the way each signature was made is said in words
instead), and each written file is searched once more for the secrets before the run ends.
"""

from __future__ import annotations

import json
import math
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import redaction
from conformance._version import __version__
from conformance.callbacks.checks import shown_status
from conformance.callbacks.deliveries import Attempt
from conformance.callbacks.delivery_run import CheckResult, Finding, RunResult
from conformance.callbacks.rules import RULES
from conformance.callbacks.signing import SIGNATURE_HEADER
from conformance.checks import Severity
from conformance.errors import ExitCode

JSON_REPORT = "callbacks.json"
JUNIT_REPORT = "callbacks-junit.xml"
#: how much of a body the readable text of an exchange shows
BODY_PREVIEW_CHARS = 16 * 1024
#: findings listed per check under the table (all of them are in the written reports)
SHOWN_PER_CHECK = 5


@dataclass(frozen=True)
class Latency:
    count: int
    median_ms: float
    p95_ms: float
    max_ms: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Latency | None:
        ordered = sorted(values)
        if not ordered:
            return None
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
        return cls(len(ordered), statistics.median(ordered), p95, ordered[-1])

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "median_ms": round(self.median_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


def duration(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms"


@dataclass(frozen=True)
class Row:
    """One line of the table: a check, or a rule judged across every callback."""

    name: str
    sent: int
    expects: str
    status: str
    latency: Latency | None
    note: str = ""


#: the rows judged across every callback, and the rules each gathers
CROSS_CUTTING = (
    ("retry-after", "a usable Retry-After on 429", ("CB-006", "CB-007")),
    ("no-server-errors", "no 5xx to a valid callback", ("CB-003",)),
    ("answers-in-time", "an HTTP answer within the timeout", ("CB-008", "CB-009")),
)


def _cross_rows(run: RunResult) -> list[Row]:
    rows = []
    attempts = run.attempts
    for name, expects, codes in CROSS_CUTTING:
        found = [finding for finding in run.findings if finding.violation.code in codes]
        if name == "retry-after":
            judged = [attempt for attempt in attempts if attempt.status == 429]
            note = "" if judged else "no 429 seen"
        elif name == "no-server-errors":
            judged = [attempt for attempt in attempts if attempt.delivery.expect.valid]
            note = ""
        else:
            judged = attempts
            note = ""
        if any(finding.violation.severity is Severity.ERROR for finding in found):
            status = "failed"
        elif found:
            status = "deviates"
        else:
            status = "passed" if attempts else "not run"
        answered = (attempt.latency_ms for attempt in judged if attempt.exchange is not None)
        rows.append(Row(name, len(judged), expects, status, Latency.of(answered), note))
    return rows


def rows(run: RunResult) -> list[Row]:
    table = [
        Row(
            result.check.name,
            len(result.attempts),
            " or ".join(sorted({delivery.expect.shown for delivery in result.check.deliveries})),
            result.status,
            Latency.of(result.latencies_ms),
        )
        for result in run.results
    ]
    return table + _cross_rows(run)


@dataclass(frozen=True)
class Verdict:
    exit_code: ExitCode
    word: str
    line: str


def verdict(run: RunResult) -> Verdict:
    failed = [result.check.name for result in run.results if result.failed]
    failed += [row.name for row in _cross_rows(run) if row.status == "failed" and row.name not in failed]
    deviations = sum(finding.violation.severity is Severity.INFO for finding in run.findings)
    unassessed = sum(len(result.unassessed) for result in run.results)
    if run.stopped:
        return Verdict(
            ExitCode.UNREACHABLE,
            "STOPPED",
            f"STOPPED: {run.stopped}; the checks not reached are not assessed",
        )
    if failed:
        return Verdict(
            ExitCode.FAILURES,
            "FAILED",
            f"FAILED: the receiver deviates from what NHS Notify expects in {len(failed)} check(s): "
            + ", ".join(failed),
        )
    if unassessed:
        return Verdict(
            ExitCode.UNREACHABLE,
            "INCONCLUSIVE",
            f"INCONCLUSIVE: nothing failed, but {unassessed} callback(s) could not be assessed (see above)",
        )
    warning = f", with {deviations} deviation(s) from the documented answers (warnings)" if deviations else ""
    return Verdict(
        ExitCode.OK,
        "PASSED",
        f"PASSED: the receiver handled all {run.sent} callbacks as NHS Notify expects{warning}",
    )


# ------------------------------------------------------------------------------------------------------
# The terminal


def _latency_cells(latency: Latency | None) -> list[str]:
    if latency is None:
        return ["-", "-", "-"]
    return [duration(latency.median_ms), duration(latency.p95_ms), duration(latency.max_ms)]


def _finding_line(finding: Finding) -> str:
    delivery = finding.attempt.delivery
    resend = f" (resend {finding.attempt.number - 1})" if finding.attempt.number > 1 else ""
    where = f"{delivery.kind.value}, {delivery.label}{resend}"
    return redaction.redact(f"    [{finding.violation.code}] {where}: {finding.violation.detail}")


def summary(run: RunResult) -> str:
    """The text printed at the end of a run: addresses, table, findings, latency, verdict."""
    lines = [
        "Callbacks sent as NHS Notify sends them",
        *(f"  {kind.words} callbacks: {redaction.redact(url)}" for kind, url in run.urls.items()),
        f"  {run.sent} callbacks in {run.duration_s:.1f} s (pacing {run.rate_limit}; sender timeout "
        f"{run.timeout_s:g} s; at most {run.plan.max_callbacks} callbacks; seed {run.plan.seed})",
        "",
    ]
    table = [["check", "sent", "expects", "result", "median", "p95", "max"]]
    for row in rows(run):
        status = row.status + (f" ({row.note})" if row.note else "")
        table.append([row.name, str(row.sent), row.expects, status, *_latency_cells(row.latency)])
    widths = [max(len(cells[column]) for cells in table) for column in range(len(table[0]))]
    right = {1, 4, 5, 6}
    for cells in table:
        lines.append(
            "  ".join(
                cell.rjust(widths[n]) if n in right else cell.ljust(widths[n]) for n, cell in enumerate(cells)
            ).rstrip()
        )
    details = _details(run.results)
    if details:
        lines += ["", *details]
    overall = Latency.of(attempt.latency_ms for attempt in run.attempts if attempt.exchange is not None)
    if overall is not None:
        lines += [
            "",
            f"Latency of the {overall.count} answers: median {duration(overall.median_ms)}, 95th percentile "
            f"{duration(overall.p95_ms)}, max {duration(overall.max_ms)} "
            f"(the sender waits {run.timeout_s:g} s)",
        ]
    lines += ["", f"Verdict: {verdict(run).line}"]
    return "\n".join(lines) + "\n"


def _listed(findings: Sequence[Finding]) -> list[str]:
    lines = [_finding_line(finding) for finding in findings[:SHOWN_PER_CHECK]]
    if len(findings) > SHOWN_PER_CHECK:
        lines.append(f"    ... and {len(findings) - SHOWN_PER_CHECK} more (see the reports)")
    return lines


def _details(results: Sequence[CheckResult]) -> list[str]:
    lines: list[str] = []
    for result in results:
        own = result.own_findings
        if not own and not result.unassessed and not result.skipped:
            continue
        check = result.check
        lines.append(f"{check.name} ({result.status}): sends {check.sends}; expects {check.expects}")
        lines += _listed(own)
        reasons: dict[str, int] = {}
        for _, reason in result.unassessed:
            reasons[reason] = reasons.get(reason, 0) + 1
        lines += [f"    not assessed: {count} callback(s): {reason}" for reason, count in reasons.items()]
        if result.skipped:
            lines.append(
                f"    not sent: {len(result.skipped)} more callback(s) of this check, "
                "after one got no answer in time"
            )
    throttling = [f for result in results for f in result.findings if f not in result.own_findings]
    if throttling:
        lines.append("retry-after: the 429 answers, each waited out and the callback sent again")
        lines += _listed(throttling)
    return lines


# ------------------------------------------------------------------------------------------------------
# Written reports


def _headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    shown = redaction.redact_headers(list(pairs))
    return [(name, redaction.MARKER if name.lower() == SIGNATURE_HEADER else value) for name, value in shown]


def _body(raw: bytes) -> str:
    if not raw:
        return "(no body)"
    text = raw.decode("utf-8", errors="replace")
    if len(text) > BODY_PREVIEW_CHARS:
        text = text[:BODY_PREVIEW_CHARS] + f"\n... [cut; the whole body is {len(raw):,} bytes]"
    return redaction.redact(text)


def exchange_text(attempt: Attempt) -> str:
    """One callback as text a person can read: the request as sent (secrets redacted), then the answer."""
    delivery = attempt.delivery
    request = [f"POST {redaction.redact(attempt.url)}"]
    request += [f"{name}: {value}" for name, value in _headers(delivery.headers)]
    request += ["", _body(delivery.body), "", f"(signature: {delivery.signature_note})"]
    if attempt.exchange is None:
        answer = [f"-> no answer: {attempt.problem} (after {duration(attempt.latency_ms)})"]
    else:
        exchange = attempt.exchange
        answer = [f"-> HTTP {shown_status(exchange.status)} in {duration(attempt.latency_ms)}"]
        answer += [
            f"{name}: {value}"
            for name, value in _headers(
                (key.decode("latin-1"), value.decode("latin-1"))
                for key, value in exchange.response_headers.raw
            )
        ]
        answer += ["", _body(exchange.response_body)]
    return "\n".join([*request, "", *answer])


def _attempt_record(attempt: Attempt) -> dict[str, Any]:
    delivery = attempt.delivery
    record: dict[str, Any] = {
        "check": delivery.check,
        "kind": delivery.kind.value,
        "label": delivery.label,
        "expects": delivery.expect.shown,
        "attempt": attempt.number,
        "url": redaction.redact(attempt.url),
        "latency_ms": round(attempt.latency_ms, 2),
        "request": {"headers": _headers(delivery.headers), "body": _body(delivery.body)},
        "signature": delivery.signature_note,
        "status": attempt.status,
        "no_answer": attempt.problem or None,
        "text": exchange_text(attempt),
    }
    if attempt.exchange is not None:
        record["response"] = {
            "headers": _headers(
                (key.decode("latin-1"), value.decode("latin-1"))
                for key, value in attempt.exchange.response_headers.raw
            ),
            "body": _body(attempt.exchange.response_body),
        }
    return record


def _violation_record(finding: Finding) -> dict[str, Any]:
    violation = finding.violation
    return {
        "code": violation.code,
        "severity": "error" if violation.severity is Severity.ERROR else "warning",
        "title": violation.title,
        "detail": redaction.redact(violation.detail),
        "kind": finding.attempt.delivery.kind.value,
        "callback": finding.attempt.delivery.label,
        "attempt": finding.attempt.number,
    }


def report_document(run: RunResult) -> dict[str, Any]:
    result_verdict = verdict(run)
    overall = Latency.of(attempt.latency_ms for attempt in run.attempts if attempt.exchange is not None)
    return {
        "tool": f"notify-conformance {__version__}",
        "command": "callbacks",
        "started_at": run.started_at.isoformat(),
        "duration_s": round(run.duration_s, 3),
        "receiver": {kind.value: redaction.redact(url) for kind, url in run.urls.items()},
        "rate_limit": run.rate_limit,
        "timeout_s": run.timeout_s,
        "max_callbacks": run.plan.max_callbacks,
        "seed": run.plan.seed,
        "sent": run.sent,
        "verdict": result_verdict.word,
        "verdict_line": result_verdict.line,
        "exit_code": int(result_verdict.exit_code),
        "latency": overall.as_dict() if overall else None,
        "rules": {
            code: {"title": rule.title, "severity": rule.severity.value} for code, rule in RULES.items()
        },
        "checks": [
            {
                "name": result.check.name,
                "sends": result.check.sends,
                "expects": result.check.expects,
                "cites": result.check.cites,
                "status": result.status,
                "sent": len(result.attempts),
                "latency": (lambda latency: latency.as_dict() if latency else None)(
                    Latency.of(result.latencies_ms)
                ),
                "violations": [_violation_record(finding) for finding in result.findings],
                "not_assessed": [{"callback": d.label, "reason": reason} for d, reason in result.unassessed],
                "skipped": len(result.skipped),
                "exchanges": [_attempt_record(attempt) for attempt in result.attempts],
            }
            for result in run.results
        ],
        "across_all_callbacks": [
            {
                "name": row.name,
                "expects": row.expects,
                "status": row.status,
                "judged": row.sent,
                "note": row.note,
            }
            for row in _cross_rows(run)
        ],
    }


def _failure(case: ET.Element, findings: Sequence[Finding]) -> None:
    errors = [finding for finding in findings if finding.violation.severity is Severity.ERROR]
    if errors:
        first = errors[0].violation
        failure = ET.SubElement(case, "failure", message=redaction.redact(f"[{first.code}] {first.title}"))
        failure.text = "\n".join(_finding_line(finding).strip() for finding in findings)


def _junit(run: RunResult) -> ET.ElementTree[ET.Element]:
    """One testcase per check and per row judged across every callback."""
    results = run.results
    across = _cross_rows(run)
    suite = ET.Element(
        "testsuite",
        name="callbacks",
        tests=str(len(results) + len(across)),
        failures=str(
            sum(result.failed for result in results) + sum(row.status == "failed" for row in across)
        ),
        skipped=str(sum(result.status in ("inconclusive", "not run") for result in results)),
        time=f"{run.duration_s:.3f}",
        timestamp=run.started_at.isoformat(),
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="callbacks",
            name=result.check.name,
            time=f"{sum(attempt.latency_ms for attempt in result.attempts) / 1000:.3f}",
        )
        _failure(case, result.own_findings)
        if not result.failed and result.status in ("inconclusive", "not run"):
            ET.SubElement(
                case, "skipped", message="; ".join(sorted({reason for _, reason in result.unassessed}))
            )
        out = ET.SubElement(case, "system-out")
        out.text = redaction.redact(
            f"sends: {result.check.sends}\nexpects: {result.check.expects}\n"
            + "".join(f"\n{_finding_line(finding).strip()}" for finding in result.findings)
            + "".join(f"\n\n{exchange_text(attempt)}" for attempt in result.attempts)
        )
    for row, (_, _, codes) in zip(across, CROSS_CUTTING, strict=True):
        case = ET.SubElement(suite, "testcase", classname="callbacks.across", name=row.name, time="0")
        _failure(case, [finding for finding in run.findings if finding.violation.code in codes])
        ET.SubElement(
            case, "system-out"
        ).text = f"expects: {row.expects}; judged {row.sent} callbacks {row.note}"
    ET.indent(suite)
    return ET.ElementTree(suite)


def check_writable(folder: Path) -> None:
    """Create ``folder`` and prove a file can be written there (before anything is sent).

    Raises:
        OSError: it cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".callbacks-write-test"
    probe.write_text("", encoding="utf-8")
    probe.unlink()


def write_reports(run: RunResult, folder: Path, secrets: Sequence[str]) -> list[Path]:
    """Write both reports, then search them for ``secrets`` (replacing any found: none should be)."""
    json_path = folder / JSON_REPORT
    json_path.write_text(
        json.dumps(report_document(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    junit_path = folder / JUNIT_REPORT
    _junit(run).write(junit_path, encoding="utf-8", xml_declaration=True)
    written = [json_path, junit_path]
    for path in written:
        scrub_file(path, secrets)
    return written


def scrub_file(path: Path, secrets: Sequence[str]) -> bool:
    """Replace any of ``secrets`` in ``path``; True when one was there."""
    text = path.read_text(encoding="utf-8")
    found = False
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, redaction.MARKER)
            found = True
    if found:
        path.write_text(text, encoding="utf-8")
    return found
