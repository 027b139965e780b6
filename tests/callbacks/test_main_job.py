"""The callbacks area of ``notify-conformance run``: against the reference receiver under ``--env local``
(clean, and with a receiver fault that must fail this area alone), against a receiver given with
``--callback-receiver-url`` in a remote run, and not run (and not a failure) without one. Also the
self-test: a receiver fault is a row of the kill matrix, caught in the ``callbacks`` area."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.callbacks.report import CROSS_CUTTING
from conformance.reference.receiver import ReceiverConfig, RunningReceiver
from conformance.reference.receiver import start as start_receiver
from conformance.reference.server import ReferenceConfig, RunningReference, start
from conformance.suite.test_callbacks import CHECKS
from tests.callbacks.conftest import closed_port_url
from tests.suite.conftest import cli

pytestmark = pytest.mark.slow

#: one test per check, one per rule across every callback, and the reference API's end-to-end test
AREA_TESTS = len(CHECKS) + len(CROSS_CUTTING) + 1


def _areas(reports: Path) -> dict[str, dict[str, Any]]:
    """The areas of readiness.md (the readiness verdict as the report folder holds it), by name."""
    names = ("passed", "failed", "skipped", "not_assessed", "not_run")
    found = {}
    for line in (reports / "readiness.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[2].isdigit():
            counts = dict(zip(names, map(int, cells[2:]), strict=True))
            found[cells[0]] = {"area": cells[0], "result": cells[1], **counts}
    return found


def _testcases(reports: Path) -> dict[str, ET.Element]:
    tree = ET.parse(reports / "junit.xml")
    return {case.get("name", ""): case for case in tree.iter("testcase")}


@pytest.fixture
def callback_secrets() -> dict[str, str]:
    return {
        "NOTIFY_CALLBACK_API_KEY": f"cb-key-{secrets.token_hex(12)}",
        "NOTIFY_APPLICATION_ID": f"app-{secrets.token_hex(6)}",
    }


@pytest.fixture
def supplier_receiver(callback_secrets: dict[str, str]) -> Iterator[RunningReceiver]:
    config = ReceiverConfig(
        api_key=callback_secrets["NOTIFY_CALLBACK_API_KEY"],
        application_id=callback_secrets["NOTIFY_APPLICATION_ID"],
    )
    with start_receiver(config) as receiver:
        yield receiver


@pytest.fixture
def sandbox() -> Iterator[RunningReference]:
    with start(ReferenceConfig(mode="sandbox")) as server:
        yield server


def test_a_local_run_passes_the_callbacks_area(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = cli("run", "--env", "local", "-k", "callbacks", "--reports", str(reports), "-q")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    area = _areas(reports)["callbacks"]
    assert (area["result"], area["passed"], area["failed"]) == ("PASS", AREA_TESTS, 0), area
    cases = _testcases(reports)
    assert {f"test_receiver_answers_as_notify_expects[{name}]" for name in CHECKS} <= set(cases)
    # each callback exchange is attached to its test, the signature shown as how it was made
    attachments = [
        p.read_text(encoding="utf-8") for p in (reports / "allure-results").glob("*-attachment.txt")
    ]
    exchanges = [text for text in attachments if text.startswith("POST http://127.0.0.1")]
    assert exchanges, "no callback exchange was attached"
    assert any("x-hmac-sha256-signature: [REDACTED] (HMAC-SHA256" in text for text in exchanges)
    shown_keys = {line for text in exchanges for line in text.splitlines() if line.startswith("x-api-key:")}
    assert shown_keys == {"x-api-key: [REDACTED]"}
    assert any(text.startswith("sends ") and "latency of" in text for text in attachments)


def test_a_receiver_fault_fails_the_callbacks_area_and_nothing_else(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = cli(
        "run", "--env", "local", "-k", "callbacks or negotiation", "--fault", "accepts_bad_signature",
        "--reports", str(reports), "-q",
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    areas = _areas(reports)
    assert areas["callbacks"]["result"] == "FAIL", areas["callbacks"]
    assert areas["negotiation"]["result"] == "PASS" and areas["negotiation"]["failed"] == 0
    failed = {name for name, case in _testcases(reports).items() if case.find("failure") is not None}
    assert failed == {
        f"test_receiver_answers_as_notify_expects[{name}]"
        for name in (
            "signature-wrong-secret",
            "signature-body-changed",
            "signature-reserialised",
            "signature-empty",
            "signature-missing",
        )
    }
    assert "[CB-005]" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_a_remote_run_checks_the_receiver_given(
    tmp_path: Path,
    sandbox: RunningReference,
    supplier_receiver: RunningReceiver,
    callback_secrets: dict[str, str],
) -> None:
    reports = tmp_path / "reports"
    run = cli(
        "run", "--env", "sandbox", "--base-url", sandbox.base_url, "-k", "callbacks",
        "--callback-receiver-url", supplier_receiver.message_status_url,
        "--channel-callback-receiver-url", supplier_receiver.channel_status_url,
        "--reports", str(reports), "-q",
        env=callback_secrets,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    area = _areas(reports)["callbacks"]
    # every check ran against the supplier's receiver; the reference API's own sending is local only
    assert (area["result"], area["passed"], area["skipped"]) == ("PASS", AREA_TESTS - 1, 1), area
    snapshot = supplier_receiver.snapshot()
    assert snapshot["total"] > len(CHECKS) and snapshot["refused"] == {"401": 4, "403": 18}
    written = b"".join(p.read_bytes() for p in reports.rglob("*") if p.is_file())
    key, app = callback_secrets["NOTIFY_CALLBACK_API_KEY"], callback_secrets["NOTIFY_APPLICATION_ID"]
    for secret in (key, f"{app}.{key}"):
        assert secret.encode() not in written and secret not in run.stdout + run.stderr


def test_without_a_receiver_url_the_area_is_not_run_and_fails_nothing(
    tmp_path: Path, sandbox: RunningReference
) -> None:
    reports = tmp_path / "reports"
    run = cli(
        "run", "--env", "sandbox", "--base-url", sandbox.base_url, "-k", "callbacks or negotiation",
        "--reports", str(reports), "-q",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    area = _areas(reports)["callbacks"]
    assert (area["result"], area["passed"], area["failed"], area["not_assessed"]) == ("NOT RUN", 0, 0, 0)
    assert area["skipped"] == AREA_TESTS
    assert "callbacks not run (optional" in run.stdout
    assert "--callback-receiver-url" in (reports / "readiness.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--env", "local", "--callback-receiver-url", "http://127.0.0.1:9/cb"), {}, "--env local"),
        (("--env", "sandbox", "--channel-callback-receiver-url", "http://127.0.0.1:9/cb"), {}, "as well"),
        (("--env", "sandbox", "--callback-receiver-url", "ftp://x/cb"), {}, "http:// or https://"),
        (
            ("--env", "sandbox", "--callback-receiver-url", "http://127.0.0.1:9/cb"),
            {},
            "NOTIFY_CALLBACK_API_KEY",
        ),
    ],
    ids=["local", "channel-alone", "not-http", "no-credentials"],
)
def test_a_wrong_receiver_option_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    blank = {"NOTIFY_CALLBACK_API_KEY": "", "NOTIFY_APPLICATION_ID": "", **env}
    run = cli("run", *args, "--reports", str(tmp_path / "reports"), "-q", env=blank)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1 and says in lines[0], run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_the_selftest_catches_a_receiver_fault_in_the_callbacks_area(tmp_path: Path) -> None:
    run = cli(
        "selftest", "--quick", "--fault", "accepts_bad_signature", "--jobs", "2", "--max-examples", "2",
        "--reports", str(tmp_path),
    )  # fmt: skip
    report = json.loads((tmp_path / "kill-matrix.json").read_text(encoding="utf-8"))
    (verdict,) = report["faults"]
    assert verdict["fault"] == "accepts_bad_signature" and verdict["caught"], verdict
    assert verdict["areas"] == ["callbacks"] and verdict["modes"] == ["receiver"]
    assert all("test_callbacks.py" in nodeid for nodeid in verdict["caught_by"])
    assert report["clean"]["failed"] == 0 and report["passed"], run.stdout[-3000:]
    assert run.returncode == 0
    assert "| `accepts_bad_signature` | receiver |" in (tmp_path / "kill-matrix.md").read_text(
        encoding="utf-8"
    )


def test_a_receiver_that_is_down_leaves_the_area_inconclusive_not_failed(
    tmp_path: Path, sandbox: RunningReference, callback_secrets: dict[str, str]
) -> None:
    reports = tmp_path / "reports"
    run = cli(
        "run", "--env", "sandbox", "--base-url", sandbox.base_url, "-k", "callbacks or negotiation",
        "--callback-receiver-url", closed_port_url(), "--reports", str(reports), "-q",
        env=callback_secrets,
    )  # fmt: skip
    assert run.returncode == 3, run.stdout[-3000:] + run.stderr[-2000:]
    areas = _areas(reports)
    assert areas["callbacks"]["result"] == "INCONCLUSIVE" and areas["callbacks"]["failed"] == 0
    assert areas["callbacks"]["not_assessed"] == AREA_TESTS - 1  # the reference API's own test is local
    assert areas["negotiation"]["result"] == "PASS"
    assert "connection refused" in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr
