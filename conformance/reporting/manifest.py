"""The evidence manifest (``reports/manifest.json``): what was run, against what, when, and the sha256 of
every file the run left in the report folder, so an auditor can tell later that nothing was changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from conformance.reporting.metadata import RunFacts, iso, now
from conformance.reporting.readiness import Readiness

MANIFEST_NAME = "manifest.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artefacts(reports: Path) -> list[dict[str, Any]]:
    """Every file under ``reports`` except the manifest itself, by path relative to the folder."""
    entries = []
    for path in sorted(p for p in reports.rglob("*") if p.is_file() and not p.is_symlink()):
        relative = path.relative_to(reports).as_posix()
        if relative == MANIFEST_NAME:
            continue
        entries.append({"path": relative, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return entries


def build_manifest(reports: Path, facts: RunFacts, readiness: Readiness, html: Path | None) -> dict[str, Any]:
    return {
        "manifest_version": 1,
        "suite": {"name": "notify-conformance", "version": facts.as_dict()["suite_version"]},
        "run": facts.as_dict(),
        "readiness": readiness.as_dict(),
        "html_report": html.relative_to(reports.resolve()).as_posix() if html is not None else None,
        "generated_at": iso(now()),
        "artefacts": artefacts(reports),
    }


def write_manifest(reports: Path, facts: RunFacts, readiness: Readiness, html: Path | None) -> Path:
    path = reports / MANIFEST_NAME
    document = build_manifest(reports, facts, readiness, html)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
