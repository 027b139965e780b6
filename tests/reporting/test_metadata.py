"""Run metadata as the Allure report reads it: environment rows, the CI executor, failure categories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conformance.errors import (
    BudgetSpent,
    CredentialsError,
    RateLimited,
    RequestNotAnswered,
    RunTimeUp,
    SafetyRefusal,
    TargetUnreachable,
    TokenEndpointError,
)
from conformance.reporting import metadata
from conformance.reporting.metadata import RunFacts, TargetFacts


def _category(message: str, status: str) -> str | None:
    """The category Allure 3 gives a result: the first whose status and regex match (JS ``s`` flag)."""
    for category in metadata.CATEGORIES:
        if status not in category["matchedStatuses"]:
            continue
        regex = category.get("messageRegex")
        if regex is None or re.search(regex, message, re.DOTALL):
            return str(category["name"])
    return None


@pytest.mark.parametrize(
    ("error", "status", "starts"),
    [
        (SafetyRefusal("POST to production refused"), "skipped", "Inconclusive: refused by the safety"),
        (BudgetSpent("the request budget of 200 requests is spent"), "skipped", "Inconclusive: refused"),
        (
            TokenEndpointError("the token endpoint refused the client assertion (HTTP 401)"),
            "skipped",
            "Not assessed: the token endpoint",
        ),
        (CredentialsError("cannot read the private key /x.pem"), "broken", "Setup problems"),
        (TargetUnreachable("cannot reach 127.0.0.1:9"), "skipped", "Not assessed: the target"),
        (RequestNotAnswered("GET /x got no answer in time"), "skipped", "Not assessed: the target"),
        (RateLimited("still 429 after 4 retries"), "skipped", "Inconclusive: rate limited"),
        (RunTimeUp("--max-duration of 60 s"), "skipped", "Not run"),
    ],
)
def test_our_errors_land_in_their_own_category(error: BaseException, status: str, starts: str) -> None:
    message = f"{type(error).__module__}.{type(error).__name__}: {error}\nmore lines"
    category = _category(message, status)
    assert category is not None and category.startswith(starts), category


def test_other_failures_are_conformance_failures_or_suite_errors() -> None:
    violation = "ConformanceViolation: 2 conformance violations:\n  [HDR-001] mentions NC0045 in a body"
    assert str(_category(violation, "failed")).startswith("Conformance failures")
    assert str(_category("KeyError: 'data'", "broken")).startswith("Suite errors")


def test_categories_file_is_what_allure_reads(tmp_path: Path) -> None:
    written = json.loads(metadata.write_categories(tmp_path).read_text())
    assert [c["name"] for c in written] == [c["name"] for c in metadata.CATEGORIES]


def test_environment_properties_escape_keys_and_values(tmp_path: Path) -> None:
    rows = [
        ("Area: NHS App accounts", "PASS (1 passed)"),
        ("Base URL (sandbox)", "http://127.0.0.1:1/comms"),
        ("Note", "caf\u00e9 #1\nline"),
    ]
    text = metadata.write_environment_properties(tmp_path, rows).read_text(encoding="ascii")
    assert text.splitlines() == [
        "Area\\:\\ NHS\\ App\\ accounts=PASS (1 passed)",
        "Base\\ URL\\ (sandbox)=http://127.0.0.1:1/comms",
        "Note=caf\\u00e9 #1\\nline",
    ]


def test_environment_rows_put_readiness_first_and_describe_the_run() -> None:
    facts = RunFacts(
        environment="local", targets=(TargetFacts("integration", "http://h/comms", "http://h/token"),)
    )
    rows = metadata.environment_entries(facts, [("Areas failed", "none")], "allure 3.18.0")
    names = [name for name, _ in rows]
    assert names[0] == "Areas failed"
    for expected in (
        "Environment",
        "Base URL (integration)",
        "Token URL (integration)",
        "Contract version",
        "Contract sha256",
        "Suite version",
        "Seed",
        "Test processes",
        "Python",
        "pytest",
        "Allure report CLI",
    ):
        assert expected in names
    values = dict(rows)
    assert values["Test processes"] == "1"
    assert values["Seed"] == "n/a" and re.fullmatch(r"[0-9a-f]{64}", values["Contract sha256"])


@pytest.mark.parametrize(
    ("environ", "name", "url"),
    [
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_REPOSITORY": "o/r",
                "GITHUB_RUN_ID": "42",
                "GITHUB_RUN_NUMBER": "7",
                "GITHUB_WORKFLOW": "nightly",
                "CI": "true",
            },
            "GitHub Actions",
            "https://github.example/o/r/actions/runs/42",
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_JOB_NAME": "conformance",
                "CI_PIPELINE_ID": "9",
                "CI_JOB_URL": "https://gitlab.example/j/1",
                "CI": "true",
            },
            "GitLab CI",
            "https://gitlab.example/j/1",
        ),
        (
            {
                "TF_BUILD": "True",
                "SYSTEM_COLLECTIONURI": "https://dev.example/org/",
                "SYSTEM_TEAMPROJECT": "p",
                "BUILD_BUILDID": "5",
                "BUILD_DEFINITIONNAME": "nightly",
                "BUILD_BUILDNUMBER": "20261123.1",
            },
            "Azure Pipelines",
            "https://dev.example/org/p/_build/results?buildId=5",
        ),
        ({"CI": "true", "BUILD_URL": "https://ci.example/1"}, "CI", "https://ci.example/1"),
    ],
)
def test_ci_systems_are_recognised(environ: dict[str, str], name: str, url: str) -> None:
    executor = metadata.ci_executor(environ, report_name="Onboarding readiness: READY")
    assert executor is not None
    assert executor["name"] == name and executor["buildUrl"] == url
    assert executor["reportName"] == "Onboarding readiness: READY"


def test_no_executor_outside_ci() -> None:
    assert metadata.ci_executor({"HOME": "/root"}) is None
