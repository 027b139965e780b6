"""The callbacks command against the clean reference receiver: every check passes, every exchange is
recorded, and neither the API key nor the signing secret appears in anything printed or written."""

from __future__ import annotations

from collections.abc import Callable

from conformance.callbacks.report import JSON_REPORT, JUNIT_REPORT
from conformance.reference.receiver import RunningReceiver
from tests.callbacks.conftest import QUICK, Run, Secrets, receiver_args

EXAMPLE_CHECKS = {
    "valid-example",
    "plain-json",
    "every-status",
    "optional-members",
    "several-items",
    "duplicate",
    "out-of-order",
    "unknown-members",
    "unlisted-values",
    "api-key-missing",
    "api-key-wrong",
    "signature-wrong-secret",
    "signature-body-changed",
    "signature-reserialised",
    "signature-empty",
    "signature-missing",
}
GENERATED_CHECKS = {"generated-message-status", "generated-channel-status"}
ACROSS = {"retry-after", "no-server-errors", "answers-in-time"}


def test_every_check_passes_against_the_reference_receiver(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run], creds: Secrets
) -> None:
    run = run_callbacks(*receiver_args(receiver), *QUICK)
    assert run.code == 0, run.out + run.err
    report = run.report
    assert report["verdict"] == "PASSED" and report["exit_code"] == 0
    names = {check["name"] for check in report["checks"]}
    assert names == EXAMPLE_CHECKS | GENERATED_CHECKS
    assert run.checks("passed") == EXAMPLE_CHECKS | GENERATED_CHECKS | ACROSS
    assert all(check["violations"] == [] for check in report["checks"])
    assert 0 < report["sent"] <= 110
    # the receiver saw exactly what was sent, and refused exactly the key and signature checks
    snapshot = receiver.snapshot()
    refused = snapshot["refused"]
    key_checks = [c for c in report["checks"] if c["name"].startswith("api-key")]
    signature_checks = [c for c in report["checks"] if c["name"].startswith("signature")]
    assert refused == {
        "401": sum(c["sent"] for c in key_checks),
        "403": sum(c["sent"] for c in signature_checks),
    }
    assert snapshot["total"] + sum(refused.values()) == report["sent"]
    assert snapshot["duplicates"] >= 2  # the duplicate check's repeats, recognised by idempotencyKey


def test_the_summary_is_a_table_with_latencies_and_a_verdict(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks(*receiver_args(receiver), *QUICK)
    lines = run.out.splitlines()
    header = next(line for line in lines if line.startswith("check "))
    assert header.split() == ["check", "sent", "expects", "result", "median", "p95", "max"]
    for name in EXAMPLE_CHECKS | GENERATED_CHECKS | ACROSS:
        assert any(line.startswith(name + " ") for line in lines), name
    assert any(line.startswith("Latency of the ") and "95th percentile" in line for line in lines)
    assert lines[-2].startswith("Verdict: PASSED")
    assert run.err == ""


def test_every_exchange_is_recorded_with_headers_body_status_and_latency(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks(*receiver_args(receiver), *QUICK)
    report = run.report
    exchanges = [exchange for check in report["checks"] for exchange in check["exchanges"]]
    assert len(exchanges) == report["sent"]
    for exchange in exchanges:
        assert exchange["status"] in (202, 401, 403)
        assert exchange["latency_ms"] > 0
        headers = dict(exchange["request"]["headers"])
        assert headers["content-type"] in ("application/vnd.api+json", "application/json")
        assert headers.get("x-api-key", "[REDACTED]") == "[REDACTED]"
        assert headers.get("x-hmac-sha256-signature", "[REDACTED]") == "[REDACTED]"
        assert exchange["request"]["body"].startswith('{"data":[')
        assert exchange["text"].startswith("POST http://127.0.0.1:")
        assert "-> HTTP " in exchange["text"]
    junit = (run.reports / JUNIT_REPORT).read_text(encoding="utf-8")
    assert junit.count("<testcase ") == len(report["checks"]) + len(ACROSS) and "<failure" not in junit
    assert (run.reports / JSON_REPORT).exists()


def test_no_secret_is_printed_or_written(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run], creds: Secrets
) -> None:
    run = run_callbacks(*receiver_args(receiver), *QUICK)
    assert run.code == 0
    everything = run.out + run.err + run.written()
    for secret in creds.values:
        assert secret not in everything
    assert "[REDACTED]" in run.written()


def test_one_url_takes_both_kinds(receiver: RunningReceiver, run_callbacks: Callable[..., Run]) -> None:
    run = run_callbacks("--receiver-url", receiver.message_status_url, *QUICK)
    assert run.code == 0, run.out
    urls = {exchange["url"] for check in run.report["checks"] for exchange in check["exchanges"]}
    assert urls == {receiver.message_status_url}
    kinds = {item["type"] for callback in receiver.snapshot()["callbacks"] for item in callback["items"]}
    assert kinds == {"MessageStatus", "ChannelStatus"}


def test_the_command_sends_no_more_than_max_callbacks(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks(*receiver_args(receiver), "--rate-limit", "off", "--max-callbacks", "150")
    snapshot = receiver.snapshot()
    assert run.report["sent"] <= 150
    assert snapshot["total"] + sum(snapshot["refused"].values()) == run.report["sent"]


def test_pacing_spaces_the_callbacks(receiver: RunningReceiver, run_callbacks: Callable[..., Run]) -> None:
    run = run_callbacks(
        *receiver_args(receiver), "--rate-limit", "100/s", "--max-callbacks", "110", "--seed", "1"
    )
    assert run.code == 0
    # 100 a second, evenly spaced: n callbacks take at least (n - 1) / 100 s
    assert run.report["duration_s"] >= (run.report["sent"] - 1) / 100 * 0.95


def test_the_same_seed_generates_the_same_callbacks(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run]
) -> None:
    def generated(run: Run) -> list[str]:
        check = next(c for c in run.report["checks"] if c["name"] == "generated-channel-status")
        return [exchange["request"]["body"] for exchange in check["exchanges"]]

    first = run_callbacks(*receiver_args(receiver), *QUICK)
    second = run_callbacks(*receiver_args(receiver), *QUICK)
    assert generated(first) == generated(second) and first.report["seed"] == second.report["seed"] == 7
