"""The report folder after a run: metadata, readiness, scrubbed files and a manifest that hashes them all,
even where the HTML cannot be built."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from conformance import redaction
from conformance.reporting.metadata import RunFacts
from conformance.reporting.publish import publish
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import AreaCounts

SECRET = "publish-test-secret-0c1d2e"


def _reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    results = reports / "allure-results"
    results.mkdir(parents=True)
    (results / "1-result.json").write_text(
        json.dumps({"name": "t", "status": "failed", "statusDetails": {"message": SECRET}})
    )
    (reports / "junit.xml").write_text(
        f'<testsuite><testcase name="t"><failure message="{SECRET}"/></testcase></testsuite>'
    )
    return reports


def test_without_node_the_run_still_leaves_results_junit_and_a_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redaction.register(SECRET)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    reports = _reports(tmp_path)
    readiness = Readiness.from_counts([("negotiation", AreaCounts(passed=1, failed=1))])
    out, err = io.StringIO(), io.StringIO()

    published = publish(reports, RunFacts(environment="sandbox"), readiness, out=out, err=err)

    assert published.html is None
    assert err.getvalue().count("\n") == 1 and "Node.js" in err.getvalue()
    assert "Reports: " in out.getvalue()
    results = reports / "allure-results"
    for name in ("environment.properties", "categories.json", "1-result.json"):
        assert (results / name).is_file()
    assert (reports / "readiness.md").read_text().startswith("# Onboarding readiness: NOT READY")
    for path in reports.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    manifest = json.loads(published.manifest.read_text())
    assert manifest["html_report"] is None
    assert manifest["readiness"]["overall"] == "NOT READY"
    assert manifest["run"]["environment"] == "sandbox"
    assert manifest["run"]["started_at"] <= manifest["run"]["finished_at"]
    assert len(manifest["run"]["spec"]["sha256"]) == 64
    listed = {entry["path"]: entry for entry in manifest["artefacts"]}
    on_disk = {p.relative_to(reports).as_posix() for p in reports.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(listed) == on_disk
    for relative, entry in listed.items():
        data = (reports / relative).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)


def test_in_ci_the_executor_names_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("BUILD_URL", "https://ci.example/builds/7")
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD"):
        monkeypatch.delenv(name, raising=False)
    reports = _reports(tmp_path)
    publish(
        reports,
        RunFacts(environment="local"),
        Readiness.from_counts([]),
        out=io.StringIO(),
        err=io.StringIO(),
    )
    executor = json.loads((reports / "allure-results" / "executor.json").read_text())
    assert executor["buildUrl"] == "https://ci.example/builds/7"
    assert executor["reportName"].startswith("Onboarding readiness: INCOMPLETE")
