"""The report as its readers get it, from real runs of ``notify-conformance run`` in a subprocess: the
single-file HTML opened in headless Chromium with the network blocked, trend history across runs, a
failing target explained request by request, no secret anywhere in the folder, and a run without Node.js.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.reference.receiver import ReceiverConfig
from conformance.reference.receiver import start as start_receiver
from conformance.reference.server import ReferenceConfig, start
from tests.reporting.conftest import (
    WRONG_BODY,
    chromium,
    decoded_payloads,
    embedded_files,
    loaded_urls,
    needs_chromium,
)
from tests.suite.conftest import cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="the HTML report needs Node.js and npm"),
]

#: A stable, quick selection of the suite (the negotiation area runs in a couple of seconds).
SELECTION = "negotiation"


def _results(reports: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]


def _steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for step in result.get("steps", []):
        found += [step, *_steps(step)]
    return found


@needs_chromium
def test_the_html_report_opens_offline_and_shows_the_results(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    for _ in range(2):  # the nightly case: the same folder reused, so the report shows a trend
        run = cli("run", "-k", SELECTION, "--reports", str(reports), "-q")
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Onboarding readiness: INCOMPLETE" in run.stdout
    index = reports / "html" / "index.html"
    page = index.read_text(encoding="utf-8")

    # every result reads as evidence: area, operation, behaviour, severity, a sentence for a title, a link
    results = _results(reports)
    assert results
    for result in results:
        labels = {label["name"] for label in result["labels"]}
        assert {"epic", "feature", "story", "severity"} <= labels, result["fullName"]
        assert result["links"] and not result["name"].startswith("test_"), result["fullName"]
        shown = [p["value"] for p in result.get("parameters", [])]
        assert not any(value.startswith("Target(") for value in shown), result["fullName"]

    # self-contained and private: nothing is loaded from outside, no analytics anywhere
    external = [u for u in loaded_urls(page) if re.match(r"(?i)(https?:)?//", u)]
    assert external == []
    assert all(url.startswith("data:") for url in loaded_urls(page))
    everything = page.encode() + b"".join(decoded_payloads(page))
    for marker in (b"googletagmanager", b"google-analytics", b"gtag("):
        assert marker not in everything
    assert "Content-Security-Policy" in page

    # the suite's results are in the page: the headline, and one test's own page with its title
    overview = chromium(index.as_uri(), tmp_path / "chrome-1", screenshot=tmp_path / "overview.png")
    assert "Onboarding readiness: INCOMPLETE" in overview
    assert "Areas failed" in overview and "Areas not run" in overview  # the first rows of the first panel
    by_id = json.loads((reports / "html" / "test-results.json").read_text())["byId"]
    uid, summary = next(iter(by_id.items()))
    assert summary["status"] == "passed"
    test_page = chromium(f"{index.as_uri()}#testresult/{uid}", tmp_path / "chrome-2")
    assert summary["name"] in test_page
    assert (tmp_path / "overview.png").stat().st_size > 10_000

    # history: one line per generation, and the trend widget has both runs
    assert len((reports / "history.jsonl").read_text().splitlines()) == 2
    trend = json.loads(embedded_files(page)["widgets/history-trend.json"])
    assert len(trend) == 2

    # the manifest hashes the final bytes of the HTML
    manifest = json.loads((reports / "manifest.json").read_text())
    listed = {entry["path"]: entry["sha256"] for entry in manifest["artefacts"]}
    assert listed["html/index.html"] == hashlib.sha256(index.read_bytes()).hexdigest()
    assert manifest["html_report"] == "html/index.html"
    assert manifest["run"]["exit_code"] == 0


def _html_case(embedded: dict[str, bytes], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The HTML's test case (uid and data) for one Allure result: same test, same parameters."""
    wanted = sorted((p["name"], p["value"]) for p in result.get("parameters", []))
    for name, data in embedded.items():
        if not name.startswith("data/test-cases/"):
            continue
        case = json.loads(data)
        shown = sorted((p["name"], p["value"]) for p in case["parameters"])
        if case["fullName"] == result["fullName"] and shown == wanted:
            return name.removeprefix("data/test-cases/").removesuffix(".json"), case
    raise AssertionError(f"{result['fullName']} {wanted} is not in the HTML")


@needs_chromium
def test_a_failing_target_is_explained_request_by_request(tmp_path: Path, wrong_api: str) -> None:
    reports = tmp_path / "reports"
    run = cli(
        "run", "--env", "sandbox", "--base-url", wrong_api, "-k", SELECTION, "--reports", str(reports), "-q"
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "Onboarding readiness: NOT READY - 1 of" in run.stdout
    assert (reports / "readiness.md").read_text().startswith("# Onboarding readiness: NOT READY")

    failed = [r for r in _results(reports) if r["status"] == "failed"]
    assert failed
    result = failed[0]
    exchange = next(step for step in _steps(result) if " \u2192 200 OK" in step["name"])
    sources = {a["name"]: a["source"] for a in exchange["attachments"]}
    request = (reports / "allure-results" / sources["Request"]).read_text()
    response = (reports / "allure-results" / sources["Response"]).read_text()
    assert request.startswith(("GET ", "POST ", "HEAD ", "OPTIONS ", "PUT ", "PATCH ", "DELETE "))
    assert "curl -i" in request
    assert response.startswith("HTTP 200 OK") and WRONG_BODY["hello"] in response

    # in the HTML: the failed test's page names the requirement and shows the response as sent
    index = reports / "html" / "index.html"
    uid, case = _html_case(embedded_files(index.read_text(encoding="utf-8")), result)
    assert case["status"] == "failed"
    assert case["extra"]["categories"][0]["name"].startswith("Conformance failures")
    step = next(s for s in case["testStage"]["steps"] if s["name"] == exchange["name"])
    response_uid = next(a["uid"] for a in step["attachments"] if a["name"] == "Response")
    shot = tmp_path / "failed-response.png"
    dom = chromium(
        f"{index.as_uri()}#testresult/{uid}?attachment={response_uid}", tmp_path / "chrome", screenshot=shot
    )
    assert result["name"] in dom
    assert "conformance violation" in dom
    assert WRONG_BODY["hello"] in dom


def _canary_client(tmp_path: Path) -> tuple[str, str, Path, bytes, list[str]]:
    """A client whose every secret the test knows: API key, private key (PEM on disk), and its key lines."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "canary.pem"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    lines = [line for line in pem.decode().splitlines() if "PRIVATE KEY" not in line]
    api_key = "canary-api-key-" + hashlib.sha256(pem).hexdigest()[:24]
    return api_key, "canary-kid-1", path, public, lines


def _searchable(path: Path, name: str) -> list[tuple[str, bytes]]:
    """What a secret could hide in: the file's bytes, the HTML's embedded base64 data decoded, and each
    member of a zip (the evidence bundle, compressed) unpacked, the same way."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return [
                found
                for member in archive.namelist()
                for found in _searchable_bytes(archive.read(member), f"{name}:{member}")
            ]
    return _searchable_bytes(path.read_bytes(), name)


def _searchable_bytes(data: bytes, name: str) -> list[tuple[str, bytes]]:
    if name.endswith(".html"):
        return [(name, data), *((name, blob) for blob in decoded_payloads(data.decode("utf-8", "replace")))]
    return [(name, data)]


def test_no_secret_reaches_the_report_folder(tmp_path: Path) -> None:
    """Seeded API key, private key and every access token the server issued: none in reports/, byte for byte
    (the HTML's embedded base64 data decoded and searched too, and every member of evidence.zip). The
    callbacks area runs too, against a receiver with a seeded callback API key: neither that key nor the
    signing secret made of it appears either."""
    api_key, kid, key_path, public_pem, key_lines = _canary_client(tmp_path)
    callback_key, application_id = "canary-callback-key-" + api_key[-16:], "canary-app-id-1"
    signing_secret = f"{application_id}.{callback_key}"
    issued: list[str] = []
    with (
        start(ReferenceConfig(mode="integration")) as server,
        start_receiver(ReceiverConfig(api_key=callback_key, application_id=application_id)) as receiver,
    ):
        server.registry.register(api_key, kid, public_pem, token_lifetime_s=20)  # 20 s: refreshed mid-run
        issue = server.registry.issue_token

        def recording(client: Any, now: float | None = None) -> str:
            token = issue(client, now)
            issued.append(token)
            return token

        server.registry.issue_token = recording  # type: ignore[method-assign]
        reports = tmp_path / "reports"
        env = {"NOTIFY_API_KEY": api_key, "NOTIFY_KEY_ID": kid, "NOTIFY_PRIVATE_KEY": str(key_path)}
        env |= {"NOTIFY_CALLBACK_API_KEY": callback_key, "NOTIFY_APPLICATION_ID": application_id}
        run = cli(
            "run", "--env", "integration", "--base-url", server.base_url, "--token-url", server.token_url,
            "--callback-receiver-url", receiver.message_status_url,
            "--channel-callback-receiver-url", receiver.channel_status_url,
            "-k", "auth or negotiation or callbacks", "--reports", str(reports), "-q",
            env=env,
        )  # fmt: skip
        callbacks_received = receiver.snapshot()["total"]
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-2000:]
    assert issued, "the run never fetched a token, so the canary proves nothing"
    assert callbacks_received, "the receiver got no callback, so the callback canaries prove nothing"
    canaries = [api_key, *issued, *key_lines, callback_key, signing_secret]

    files = [p for p in reports.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-attachment.txt") for p in files)
    assert (reports / "html" / "index.html") in files
    assert any(
        "Authorization: [REDACTED]" in p.read_text(errors="replace") for p in files if p.suffix == ".txt"
    )
    assert any("x-api-key: [REDACTED]" in p.read_text(errors="replace") for p in files if p.suffix == ".txt")
    with zipfile.ZipFile(reports / "evidence.zip") as bundle:  # the token rows are there, and searched
        assert json.loads(bundle.read("onboarding.json"))["kids"] == [kid]
    for path in files:
        for where, blob in _searchable(path, path.relative_to(reports).as_posix()):
            for canary in canaries:
                assert canary.encode() not in blob, f"{canary[:12]}... found in {where}"
            assert not re.search(rb"eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.", blob), f"a JWT in {where}"
    for canary in canaries:
        assert canary not in run.stdout + run.stderr


def test_without_node_the_run_reports_in_one_line_and_keeps_its_exit_code(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    no_node = tmp_path / "bin"
    no_node.mkdir()
    (no_node / "python").symlink_to(sys.executable)
    run = cli("run", "-k", SELECTION, "--reports", str(reports), "-q", env={"PATH": str(no_node)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    notes = [line for line in run.stderr.splitlines() if "HTML report" in line]
    assert len(notes) == 1 and "Node.js" in notes[0]
    assert (reports / "junit.xml").is_file() and any((reports / "allure-results").glob("*-result.json"))
    assert not (reports / "html").exists()
    assert json.loads((reports / "manifest.json").read_text())["html_report"] is None
    assert os.environ.get("PATH") != str(no_node)
