"""The evidence bundle (``reports/evidence.zip``): the files a supplier hands over, in one archive that
checks itself.

It holds the HTML, JUnit, readiness, the changes since the last run, the drift, the onboarding evidence,
the behaviour document the HTML links to, and ``manifest.json`` as it was before the bundle existed (the
sha256 of every other file of the folder). The folder's own ``manifest.json`` is then written once more,
last, naming the bundle: its sha256, the files in it, and the sha256 of the manifest inside it. So an
auditor given only the zip checks its files against the manifest inside; one given the folder (or the
zip's sha256 from the CI log) checks the zip first. docs/report.md says how, step by step.

The archive is reproducible: members in a fixed order, each stamped with the run's finish time, so two
bundles of the same files are the same bytes.
"""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

BUNDLE_NAME = "evidence.zip"
#: What the bundle holds, in this order, when the run wrote it (paths relative to the report folder).
BUNDLED = (
    "readiness.md",
    "onboarding.md",
    "onboarding.json",
    "changes.json",
    "drift.json",
    "junit.xml",
    "html/index.html",
    "behaviour.md",
    "manifest.json",
)


def remove_stale(reports: Path) -> None:
    """An earlier run's bundle goes before this run lists the folder (it would list a stale zip)."""
    (reports / BUNDLE_NAME).unlink(missing_ok=True)


def write_bundle(reports: Path, stamped: datetime) -> tuple[Path, list[str]]:
    """``reports/evidence.zip`` from the :data:`BUNDLED` files present; the zip and its members."""
    path = reports / BUNDLE_NAME
    members = [name for name in BUNDLED if (reports / name).is_file()]
    moment = stamped.timetuple()[:6]
    temporary = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in members:
            info = zipfile.ZipInfo(name, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (reports / name).read_bytes(), compresslevel=6)
    temporary.replace(path)
    return path, members
