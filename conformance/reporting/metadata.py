"""What a run was: when, against what, with which contract, suite and tools; and the Allure files that show
it (``environment.properties``, ``executor.json`` in CI, ``categories.json``).

The categories sort failures by cause so a reader sees at once whether the API broke a requirement or the
run itself could not do its job. Our own errors carry stable codes (``NCnnn``) in their messages, which
is what the category patterns match.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance._version import __version__
from conformance.spec import SpecError, load_spec

#: Packages whose versions decide what the suite does; shown in the report and the manifest.
KEY_PACKAGES = (
    "pytest",
    "allure-pytest",
    "schemathesis",
    "hypothesis",
    "httpx",
    "pyjwt",
    "cryptography",
    "jsonschema",
    "starlette",
    "uvicorn",
)

#: Allure's categories, first match wins (Allure 3 reads them in order), so the specific causes come before
#: the general ones. Tests whose answer said nothing about the API are reported skipped (see
#: conformance.outcome), so they are named here apart from conformance failures.
#: The patterns are JavaScript regexes that Allure 3 searches for anywhere in a message (``RegExp.test``), so
#: each names only its codes: wrapped in ``[\s\S]*`` a search took time growing with the square of the
#: message's length.
CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Not assessed: the token endpoint refused your client (NC004)",
        "matchedStatuses": ["skipped", "failed", "broken"],
        "messageRegex": r"\bNC004\b",
    },
    {
        "name": "Not assessed: the target did not answer (NC005, NC009)",
        "matchedStatuses": ["skipped", "failed", "broken"],
        "messageRegex": r"\bNC00[59]\b",
    },
    {
        "name": "Inconclusive: rate limited beyond the retry budget (NC007)",
        "matchedStatuses": ["skipped"],
        "messageRegex": r"\bNC007\b",
    },
    {
        "name": "Inconclusive: refused by the safety policy or its budget (NC006, NC008)",
        "matchedStatuses": ["skipped", "failed", "broken"],
        "messageRegex": r"\bNC00[68]\b",
    },
    {
        "name": "Not run: --max-duration reached or interrupted (NC010, NC012)",
        "matchedStatuses": ["skipped"],
        "messageRegex": r"\bNC01[02]\b",
    },
    {
        "name": "Setup problems (NC001-NC003): options, configuration or credentials",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"\bNC00[123]\b",
    },
    {
        "name": "Conformance failures: the API did not meet a requirement",
        "matchedStatuses": ["failed"],
    },
    {
        "name": "Suite errors: a test could not run to its end",
        "matchedStatuses": ["broken"],
    },
)


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class TargetFacts:
    kind: str
    base_url: str
    token_url: str | None


@dataclass
class RunFacts:
    """Facts about one run, gathered by the runner and the pytest session."""

    environment: str
    started_at: datetime = field(default_factory=now)
    finished_at: datetime | None = None
    targets: tuple[TargetFacts, ...] = ()
    seed: str = "n/a"
    exit_code: int | None = None
    #: how the run talked to its targets: requests sent, pacing, throttling waited out
    conduct: tuple[tuple[str, str], ...] = ()
    #: how many processes ran the tests (pytest-xdist workers; 1: the command's own process)
    test_processes: int = 1

    @property
    def spec(self) -> dict[str, str]:
        try:
            spec = load_spec()
        except SpecError as error:
            return {"version": "unknown", "sha256": "unknown", "error": str(error)}
        return {"version": spec.version, "sha256": spec.sha256}

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "targets": [
                {"kind": t.kind, "base_url": t.base_url, "token_url": t.token_url} for t in self.targets
            ],
            "spec": self.spec,
            "suite_version": __version__,
            "seed": self.seed,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at) if self.finished_at else None,
            "exit_code": self.exit_code,
            "conduct": dict(self.conduct),
            "test_processes": self.test_processes,
            "python": platform.python_version(),
            "packages": package_versions(),
        }


def package_versions() -> dict[str, str]:
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def environment_entries(
    facts: RunFacts, readiness: list[tuple[str, str]], allure_cli_version: str
) -> list[tuple[str, str]]:
    """The rows of the report's Environment panel: readiness first, then what the run was."""
    rows = list(readiness)
    rows.append(("Environment", facts.environment))
    rows += facts.conduct
    for target in facts.targets:
        rows.append((f"Base URL ({target.kind})", target.base_url))
        if target.token_url:
            rows.append((f"Token URL ({target.kind})", target.token_url))
    spec = facts.spec
    rows += [
        ("Contract version", spec["version"]),
        ("Contract sha256", spec["sha256"]),
        ("Suite version", __version__),
        ("Seed", facts.seed),
        ("Test processes", str(facts.test_processes)),
        ("Started", iso(facts.started_at)),
        ("Python", platform.python_version()),
        *package_versions().items(),
        ("Allure report CLI", allure_cli_version),
    ]
    return rows


def write_environment_properties(results: Path, rows: list[tuple[str, str]]) -> Path:
    path = results / "environment.properties"
    lines = [f"{_escape(key, is_key=True)}={_escape(value, is_key=False)}" for key, value in rows]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def _escape(text: str, *, is_key: bool) -> str:
    """Java properties escaping (what both Allure readers understand); non-ASCII as ``\\uXXXX``."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif (is_key and char in "=:#! ") or (char == " " and index == 0):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) > 126 or ord(char) < 32:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def write_categories(results: Path) -> Path:
    path = results / "categories.json"
    path.write_text(json.dumps(list(CATEGORIES), indent=2) + "\n", encoding="utf-8")
    return path


def ci_executor(environ: Mapping[str, str] | None = None, report_name: str = "") -> dict[str, str] | None:
    """``executor.json`` content for the CI system this runs under, or None outside CI."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name, "")

    executor: dict[str, str] | None = None
    if get("GITHUB_ACTIONS") == "true":
        run_url = ""
        if get("GITHUB_SERVER_URL") and get("GITHUB_REPOSITORY") and get("GITHUB_RUN_ID"):
            run_url = (
                f"{get('GITHUB_SERVER_URL')}/{get('GITHUB_REPOSITORY')}/actions/runs/{get('GITHUB_RUN_ID')}"
            )
        executor = {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": _build_name(get("GITHUB_WORKFLOW"), get("GITHUB_RUN_NUMBER")),
            "buildUrl": run_url,
        }
    elif get("GITLAB_CI") == "true":
        executor = {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": _build_name(get("CI_JOB_NAME"), get("CI_PIPELINE_ID")),
            "buildUrl": get("CI_JOB_URL") or get("CI_PIPELINE_URL"),
        }
    elif get("TF_BUILD").lower() == "true":
        url = ""
        if get("SYSTEM_COLLECTIONURI") and get("SYSTEM_TEAMPROJECT") and get("BUILD_BUILDID"):
            url = (
                f"{get('SYSTEM_COLLECTIONURI').rstrip('/')}/{get('SYSTEM_TEAMPROJECT')}"
                f"/_build/results?buildId={get('BUILD_BUILDID')}"
            )
        executor = {
            "name": "Azure Pipelines",
            "type": "azure",
            "buildName": _build_name(get("BUILD_DEFINITIONNAME"), get("BUILD_BUILDNUMBER")),
            "buildUrl": url,
        }
    elif get("CI").lower() in ("true", "1", "yes"):
        executor = {
            "name": "CI",
            "type": "generic",
            "buildName": get("BUILD_NUMBER") or get("BUILD_ID") or "CI run",
            "buildUrl": get("BUILD_URL"),
        }
    if executor is not None:
        executor["reportName"] = report_name
        executor = {key: value for key, value in executor.items() if value}
    return executor


def _build_name(pipeline: str, number: str) -> str:
    return " ".join(part for part in (pipeline, f"#{number}" if number else "") if part)


def write_executor(results: Path, executor: dict[str, str]) -> Path:
    path = results / "executor.json"
    path.write_text(json.dumps(executor, indent=2) + "\n", encoding="utf-8")
    return path
