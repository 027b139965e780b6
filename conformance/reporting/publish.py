"""Turn a finished pytest session into the report folder people and CI read:

1. the run's metadata into the Allure results (environment with what changed since the last run and the
   readiness table, categories, executor in CI), ``readiness.md``, and the files the next run and
   machines read: ``outcomes.json`` (this run, for the next one to compare with), ``changes.json`` and
   ``drift.json``;
2. every text file of the folder through the redaction layer (belt and braces: the writer already
   redacted what it wrote);
3. the single-file HTML (skipped with one line when Node.js/npm are missing; nothing else depends on it);
4. the evidence manifest, so it hashes the final bytes of everything else; then the evidence bundle
   (``evidence.zip``, holding that manifest), and last the manifest once more, naming the bundle.

Integration and production-smoke runs (and local, for its integration-mode target) also get the onboarding
evidence: ``onboarding.json``, ``onboarding.md``, its tables on the HTML's Run page and one row of the
first page's panel (:mod:`conformance.reporting.onboarding`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pytest

from conformance._resources import behaviour_doc
from conformance.outcome import RunRecord
from conformance.reporting import allure_html, bundle, metadata
from conformance.reporting.changes import RunOutcomes, write_changes
from conformance.reporting.manifest import build_manifest, save_manifest, with_bundle
from conformance.reporting.onboarding import OnboardingEvidence
from conformance.reporting.readiness import Readiness
from conformance.reporting.scrubbing import scrub_tree

#: the first page's row that sums up the onboarding evidence
ONBOARDING_ROW = "Onboarding evidence"


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class SessionFacts:
    """A pytest plugin that notes what the session ran against, from the run's record (the
    environment is resolved lazily, so only the end of the session knows it)."""

    facts: metadata.RunFacts
    record: RunRecord

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        environment = self.record.environment
        if environment is not None:
            self.facts.targets = tuple(
                metadata.TargetFacts(t.kind, t.base_url, t.token_url) for t in environment.targets
            )
        seed = self.record.seed
        self.facts.seed = "n/a" if seed is None else str(seed)
        self.facts.finished_at = metadata.now()


@dataclass(frozen=True)
class Published:
    html: Path | None
    manifest: Path
    readiness: Path
    #: evidence.zip (see conformance.reporting.bundle)
    bundle: Path | None = None


def publish(
    reports: Path,
    facts: metadata.RunFacts,
    readiness: Readiness,
    out: TextIO,
    err: TextIO,
    *,
    outcomes: RunOutcomes | None = None,
    no_baseline: str | None = None,
    onboarding: OnboardingEvidence | None = None,
) -> Published:
    """Write everything after the tests; problems with the HTML are one line on ``err``, never an error.

    ``outcomes`` is this run for the next one to compare with (``outcomes.json``); ``no_baseline`` says
    why ``changes.json`` compares with nothing, when it does not; ``onboarding`` the run's creates and
    tokens (written when the run had an authenticated target).
    """
    if facts.finished_at is None:
        facts.finished_at = metadata.now()
    results = reports / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    bundle.remove_stale(reports)
    _write_metadata(results, facts, readiness, onboarding)
    readiness_file = reports / "readiness.md"
    readiness_file.write_text(readiness.markdown(), encoding="utf-8")
    if outcomes is not None:
        outcomes.write(reports)
        write_changes(reports, readiness.changes, no_baseline)
    if readiness.drift is not None:
        readiness.drift.write(reports)
    if onboarding is not None:
        onboarding.write(reports)
        onboarding.write_allure(results)
    # the report's links to the behaviour each test proves point here (see conformance.citations)
    shutil.copyfile(behaviour_doc(), reports / "behaviour.md")
    scrub_tree(reports, skip=("html",))
    html = _build_html(reports, readiness.report_name(), err)
    document = build_manifest(reports, facts, readiness, html)
    manifest = save_manifest(reports, document)
    bundled, members = bundle.write_bundle(reports, facts.finished_at)
    manifest = save_manifest(reports, with_bundle(document, reports, bundled, members))
    written = [str(reports / "html" / "index.html")] if html is not None else []
    written += [str(reports / "junit.xml"), str(results), str(manifest), str(bundled)]
    out.write("Reports: " + ", ".join(written) + "\n")
    return Published(html=html, manifest=manifest, readiness=readiness_file, bundle=bundled)


def _write_metadata(
    results: Path, facts: metadata.RunFacts, readiness: Readiness, onboarding: OnboardingEvidence | None
) -> None:
    """The Environment panel (readiness first, the onboarding evidence before the per-area rows), the
    failure categories, and the CI executor if any."""
    cli_version = f"allure {allure_html.pinned_version()}"
    rows = readiness.panel_rows()
    if onboarding is not None and onboarding.applies():
        row = (ONBOARDING_ROW, f"{onboarding.summary()}: tables on the Run page, onboarding.md, evidence.zip")
        at = next((i for i, (key, _) in enumerate(rows) if key.startswith("Area: ")), len(rows))
        rows.insert(at, row)
    metadata.write_environment_properties(results, metadata.environment_entries(facts, rows, cli_version))
    metadata.write_categories(results)
    executor = metadata.ci_executor(report_name=readiness.report_name())
    if executor is not None:
        metadata.write_executor(results, executor)


def _build_html(reports: Path, headline: str, err: TextIO) -> Path | None:
    def announce(note: str) -> None:
        err.write(f"notify-conformance: {note}\n")
        err.flush()

    try:
        return allure_html.build(allure_html.find_or_install(announce=announce), reports, headline)
    except allure_html.HtmlUnavailable as problem:
        err.write(f"notify-conformance: {problem}\n")
    except OSError as problem:
        err.write(f"notify-conformance: HTML report skipped: {problem}\n")
    return None
