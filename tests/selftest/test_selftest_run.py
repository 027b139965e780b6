"""The quick self-test end to end, as a user runs it: every fault is caught in its own area and the
clean reference passes. A check that stops failing shows up here as a missed fault."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.reference.faults import FAULTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "kill-matrix.md"


@pytest.mark.slow
def test_quick_selftest_catches_every_fault(tmp_path: Path) -> None:
    before = DOC.read_bytes() if DOC.exists() else None
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "selftest",
            "--quick",
            "--max-examples",
            "2",
            "--reports",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads((tmp_path / "kill-matrix.json").read_text())
    missed = [fault["fault"] for fault in report["faults"] if not fault["caught"]]
    print(f"quick selftest: {report['seconds']} s for {len(report['faults'])} faults")
    assert report["clean"]["failed"] == 0 and report["clean"]["error"] is None, result.stdout[-3000:]
    assert missed == [], result.stdout[-3000:]
    assert report["score"] == {"caught": len(FAULTS), "total": len(FAULTS)}
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (tmp_path / "kill-matrix.md").read_text().startswith("# Kill matrix")
    assert (DOC.read_bytes() if DOC.exists() else None) == before, "a quick run must not rewrite the document"
