"""The evidence manifest (``reports/manifest.json``): what was run, against what, when, and the sha256 of
every file the run left in the report folder, so an auditor can tell later that nothing was changed.

Its size is bounded by one run's files, however many runs share the folder (``allure-results/`` is
emptied by each run, ``history.jsonl`` keeps a fixed number of runs): the facts are indented to read, and
the artefacts are listed one compact line each. ``allure_results`` adds one sha256 over the whole results
folder (each file's path and sha256, in path order), to check it at once.

The manifest is written twice: once before the evidence bundle (``evidence.zip``, which holds that
manifest), then, last, with ``evidence_bundle`` naming the zip (:func:`with_bundle`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from conformance.reporting.metadata import RunFacts, iso, now
from conformance.reporting.readiness import Readiness

MANIFEST_NAME = "manifest.json"
RESULTS_DIR = "allure-results"


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


def tree_digest(entries: list[dict[str, Any]], under: str) -> dict[str, Any]:
    """Files, bytes and one sha256 over the entries below ``under``: sha256 of ``"<sha256>  <path>\\n"``
    per file in path order (the lines ``sha256sum`` prints, paths relative to the report folder)."""
    prefix = under.rstrip("/") + "/"
    inside = sorted((e for e in entries if e["path"].startswith(prefix)), key=lambda e: e["path"])
    digest = hashlib.sha256()
    for entry in inside:
        digest.update(f"{entry['sha256']}  {entry['path']}\n".encode())
    return {
        "path": prefix,
        "files": len(inside),
        "bytes": sum(e["bytes"] for e in inside),
        "sha256": digest.hexdigest(),
    }


def build_manifest(reports: Path, facts: RunFacts, readiness: Readiness, html: Path | None) -> dict[str, Any]:
    listed = artefacts(reports)
    return {
        "manifest_version": 1,
        "suite": {"name": "notify-conformance", "version": facts.as_dict()["suite_version"]},
        "run": facts.as_dict(),
        "readiness": readiness.as_dict(),
        "html_report": html.relative_to(reports.resolve()).as_posix() if html is not None else None,
        "generated_at": iso(now()),
        "allure_results": tree_digest(listed, RESULTS_DIR),
        "artefacts": listed,
    }


def manifest_text(document: dict[str, Any]) -> str:
    """``document`` as JSON: indented, except the artefacts (last), which take one compact line each."""
    rest = {key: value for key, value in document.items() if key != "artefacts"}
    head = json.dumps(rest, indent=2, ensure_ascii=False)
    if "artefacts" not in document:
        return head + "\n"
    entries = document["artefacts"]
    lines = ",\n".join("    " + json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries)
    listing = f"[\n{lines}\n  ]" if entries else "[]"
    opening = head[: head.rindex("}")].rstrip()
    separator = "," if rest else ""
    return f'{opening}{separator}\n  "artefacts": {listing}\n}}\n'


def write_manifest(reports: Path, facts: RunFacts, readiness: Readiness, html: Path | None) -> Path:
    return save_manifest(reports, build_manifest(reports, facts, readiness, html))


def save_manifest(reports: Path, document: dict[str, Any]) -> Path:
    path = reports / MANIFEST_NAME
    path.write_text(manifest_text(document), encoding="utf-8")
    return path


def with_bundle(document: dict[str, Any], reports: Path, bundle: Path, members: list[str]) -> dict[str, Any]:
    """``document`` (the manifest the bundle holds, already on disk) naming the bundle: its sha256 and
    size, the files in it, and the sha256 of the manifest inside it; the bundle joins the artefacts.
    Written last, so nothing it hashes changes after it (see :mod:`conformance.reporting.bundle`)."""
    relative = bundle.relative_to(reports).as_posix()
    entry = {"path": relative, "bytes": bundle.stat().st_size, "sha256": sha256_file(bundle)}
    described = {
        **entry,
        "files": members,
        "manifest_sha256": sha256_file(reports / MANIFEST_NAME),
    }
    artefacts = sorted([*document.get("artefacts", []), entry], key=lambda e: str(e["path"]))
    rest = {key: value for key, value in document.items() if key != "artefacts"}
    return {**rest, "evidence_bundle": described, "artefacts": artefacts}
